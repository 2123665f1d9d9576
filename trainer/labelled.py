"""Labelled image sets for the linear probe and fine-tuning: an ImageFolder or held-out shards.

An ImageFolder labels an image by its class folder (names as in `wit eval --imagefolder`). Shards
label a sample by a field of its json (`--label-field`, e.g. the query that selected it in a wit
build); a sample without a usable label is dropped and counted by reason, so
samples read = kept + drops. Splits are stratified and seeded, so a figure can be reproduced.
"""

from __future__ import annotations

import posixpath
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from wit.core.errors import WitError
from wit.core.storage import is_url, read_bytes, read_text, url_to_fs


@dataclass
class LabelledImages:
    """Images (paths/URLs, or encoded bytes from shards) with an integer label each."""

    class_names: list[str]
    sources: list[Path | str | bytes]
    labels: list[int]
    drops: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, indices: list[int]) -> "LabelledImages":
        return LabelledImages(self.class_names, [self.sources[i] for i in indices], [self.labels[i] for i in indices])


def image_bytes(source: Path | str | bytes) -> bytes:
    if isinstance(source, bytes):
        return source
    try:
        return read_bytes(source)
    except OSError as exc:
        raise WitError(f"cannot read image {source}: {exc}") from exc


IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif"}


def _list_folder(root: str | Path) -> tuple[list[str], dict[str, list[Path | str]]] | None:
    """(class folder names, folder -> its files, sorted), or None when root is not a folder.

    Local folders through pathlib; a URL (s3://, gs:// ...) through fsspec, its files as URLs.
    """
    if not is_url(root):
        root = Path(root)
        if not root.is_dir():
            return None
        folders = sorted(p.name for p in root.iterdir() if p.is_dir())
        return folders, {folder: sorted((root / folder).iterdir()) for folder in folders}
    fs, base = url_to_fs(str(root))
    if not fs.isdir(base):
        return None
    entries = fs.ls(base, detail=True)
    folders = sorted(posixpath.basename(e["name"].rstrip("/")) for e in entries if e["type"] == "directory")
    files = {}
    for folder in folders:
        listed = fs.ls(posixpath.join(base, folder), detail=True)
        files[folder] = sorted(fs.unstrip_protocol(e["name"]) for e in listed if e["type"] == "file")
    return folders, files


def image_folder(root: str | Path, class_names_file: str | None = None) -> tuple[list[str], list[tuple[Path | str, int]]]:
    """(class names, [(image path, class index)]) from root/<class folder>/<image>, local or a URL.

    Class names are the folder names with _ as spaces, or come from a file: one name per line in
    sorted folder order, or `folder<TAB>name` lines. A file that lists exactly the folder names,
    in any order, names each folder by itself: labelling by position would silently swap them.
    """
    root = str(root).rstrip("/") if is_url(root) else Path(root)
    listing = _list_folder(root)
    if listing is None:
        raise WitError(f"not a directory: {root}")
    folders, files = listing
    if not folders:
        raise WitError(f"{root} has no class folders (expected ImageFolder layout: {root}/<class>/<image>.jpg)")
    names = [folder.replace("_", " ") for folder in folders]
    if class_names_file:
        lines = [line.rstrip("\n") for line in read_text(class_names_file).splitlines() if line.strip()]
        if all("\t" in line for line in lines):
            mapping = dict(line.split("\t", 1) for line in lines)
            missing = [f for f in folders if f not in mapping]
            if missing:
                raise WitError(f"{class_names_file} has no name for folder(s) {missing[:5]}")
            names = [mapping[f] for f in folders]
        elif sorted(lines) == folders:
            pass  # the folder names themselves, listed in another order
        elif len(lines) == len(folders):
            names = lines
        else:
            raise WitError(f"{class_names_file} has {len(lines)} names for {len(folders)} class folders")
    samples = [
        (path, index)
        for index, folder in enumerate(folders)
        for path in files[folder]
        if posixpath.splitext(str(path))[1].lower() in IMAGE_SUFFIXES
    ]
    if not samples:
        raise WitError(f"no images under {root}")
    return names, samples


def from_imagefolder(root: str, class_names_file: str | None = None) -> LabelledImages:
    names, samples = image_folder(root, class_names_file)
    return LabelledImages(names, [path for path, _ in samples], [label for _, label in samples])


def label_of(meta: dict, label_field: str) -> tuple[str | None, str | None]:
    """(label, None) or (None, drop reason) for one sample's json; a one-element list counts as its element."""
    if label_field not in meta or meta[label_field] is None:
        return None, "no_label"
    value = meta[label_field]
    if isinstance(value, list):
        if len(value) != 1:
            return None, "no_label" if not value else "several_labels"
        value = value[0]
    if isinstance(value, (dict, list)) or (isinstance(value, str) and not value.strip()):
        return None, "bad_label"
    return str(value).strip(), None


def from_shards(spec: str, label_field: str) -> LabelledImages:
    """Every sample of the shards whose json has a single `label_field` value; class names are the sorted values."""
    from wit.shards.reader import ReaderStats, iter_samples

    stats = ReaderStats()
    kept: list[tuple[bytes, str]] = []
    drops: Counter = Counter()
    for sample in iter_samples(spec, stats):
        label, reason = label_of(sample["json"], label_field)
        if reason:
            drops[reason] += 1
        else:
            kept.append((sample["jpg"], label))
    drops.update(stats.skipped)
    if not kept:
        raise WitError(f"no sample of {spec} has a usable '{label_field}' in its json (dropped: {dict(drops)})")
    names = sorted({label for _, label in kept})
    if len(names) < 2:
        raise WitError(f"every labelled sample of {spec} has the same '{label_field}' ({names[0]!r}): nothing to classify")
    index = {name: i for i, name in enumerate(names)}
    return LabelledImages(names, [data for data, _ in kept], [index[label] for _, label in kept], dict(drops))


def load_labelled(spec: str, label_field: str | None = None, class_names_file: str | None = None) -> LabelledImages:
    """Shards labelled by a json field when `label_field` is given, else an ImageFolder."""
    if label_field:
        return from_shards(spec, label_field)
    return from_imagefolder(spec, class_names_file)


def stratified_split(labels: list[int], fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """(kept indices, split-off indices): about `fraction` of each class split off, at least one
    per class that has two or more images, so every class is seen on both sides where possible."""
    if not 0 < fraction < 1:
        raise WitError(f"a split fraction must be between 0 and 1 (got {fraction})")
    by_class: dict[int, list[int]] = {}
    for i, label in enumerate(labels):
        by_class.setdefault(label, []).append(i)
    rng = random.Random(seed)
    kept, split_off = [], []
    for label in sorted(by_class):
        members = by_class[label]
        rng.shuffle(members)
        count = min(len(members) - 1, max(1, round(fraction * len(members)))) if len(members) > 1 else 0
        split_off += members[:count]
        kept += members[count:]
    return sorted(kept), sorted(split_off)


def train_test(data: LabelledImages, test: LabelledImages | None, test_fraction: float, seed: int) -> tuple[LabelledImages, LabelledImages]:
    """The given test set (its classes must be the training set's), or a stratified split of `data`."""
    if test is None:
        train_indices, test_indices = stratified_split(data.labels, test_fraction, seed)
        return data.subset(train_indices), data.subset(test_indices)
    if test.class_names == data.class_names:
        return data, test
    unknown = sorted(set(test.class_names) - set(data.class_names))
    if unknown:
        raise WitError(f"the test set has classes the training set lacks: {unknown[:5]}")
    # A test set with fewer classes (held-out shards often have): relabel onto the training classes.
    index = {name: i for i, name in enumerate(data.class_names)}
    relabelled = [index[test.class_names[label]] for label in test.labels]
    return data, LabelledImages(data.class_names, test.sources, relabelled, test.drops)
