"""Zero-shot classification on an ImageFolder directory, and image-text retrieval on held-out shards.

Zero-shot (the paper's section 3.1): each class name is put into every prompt template ("a photo
of a {}."), the text embeddings of one class are averaged and re-normalised (prompt ensembling),
and an image is assigned the class whose embedding is most similar. Retrieval: on N held-out
(image, caption) pairs, the fraction of images whose own caption is among the K most similar
captions (image->text R@K), and the same the other way round.
"""

from __future__ import annotations

import logging
import posixpath
from pathlib import Path

import torch

from wit.trainer.data import ShardStream, load_image, make_loader, normalize_images
from wit.core.errors import WitError
from wit.core.storage import is_url, read_bytes, read_text, url_to_fs

log = logging.getLogger(__name__)

# A small ensemble from the 80 ImageNet prompts the CLIP authors published; --templates replaces it.
DEFAULT_TEMPLATES = (
    "a photo of a {}.",
    "a bad photo of a {}.",
    "a photo of the large {}.",
    "a photo of the small {}.",
    "a cropped photo of a {}.",
    "a close-up photo of a {}.",
    "a bright photo of a {}.",
    "a good photo of a {}.",
    "a rendering of a {}.",
    "art of the {}.",
)
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif"}


def load_templates(path: str | None) -> list[str]:
    """Prompt templates, one per line with `{}` where the class name goes; the default set if no file."""
    if not path:
        return list(DEFAULT_TEMPLATES)
    lines = [line.strip() for line in read_text(path).splitlines()]
    templates = [line for line in lines if line and not line.startswith("#")]
    bad = [t for t in templates if "{}" not in t]
    if not templates or bad:
        raise WitError(f"{path}: every template needs a {{}} for the class name (bad: {bad[:3]})")
    return templates


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


@torch.no_grad()
def class_embeddings(model, tokenizer, class_names: list[str], templates: list[str], device) -> torch.Tensor:
    """(classes, dim): per class, the normalised mean of its normalised template embeddings."""
    rows = []
    for name in class_names:
        tokens = tokenizer([template.format(name) for template in templates]).to(device)
        embedding = model.encode_text(tokens).float().mean(dim=0)
        rows.append(embedding / embedding.norm())
    return torch.stack(rows)


@torch.no_grad()
def encode_image_files(model, paths: list[Path | str], image_size: int, device, batch_size: int = 64) -> torch.Tensor:
    chunks = []
    for start in range(0, len(paths), batch_size):
        images = []
        for path in paths[start : start + batch_size]:
            try:
                images.append(load_image(read_bytes(path), image_size, rng=None))
            except Exception as exc:
                raise WitError(f"cannot read image {path}: {exc}") from exc
        chunks.append(model.encode_image(normalize_images(torch.stack(images).to(device))).float())
    return torch.cat(chunks)


def topk_accuracy(logits: torch.Tensor, labels: torch.Tensor, ks: tuple[int, ...] = (1, 5)) -> dict[str, float]:
    top = logits.topk(min(max(ks), logits.shape[1]), dim=1).indices
    hits = top == labels.unsqueeze(1)
    return {f"top{k}": hits[:, :k].any(dim=1).float().mean().item() for k in ks}


def zero_shot(model, tokenizer, root: str, class_names_file: str | None = None, templates_file: str | None = None,
              device="cpu", batch_size: int = 64) -> dict:
    names, samples = image_folder(root, class_names_file)
    templates = load_templates(templates_file)
    classifier = class_embeddings(model, tokenizer, names, templates, device)
    features = encode_image_files(model, [path for path, _ in samples], model.config.image_size, device, batch_size)
    labels = torch.tensor([label for _, label in samples], device=features.device)
    result = topk_accuracy(features @ classifier.t(), labels)
    return {"images": len(samples), "classes": len(names), "templates": len(templates), **result}


def recall_at_k(similarity: torch.Tensor, ks: tuple[int, ...] = (1, 5, 10)) -> dict[str, float]:
    """similarity[i, j] = image i vs text j, with pair i's text at column i."""
    truth = similarity.diagonal().unsqueeze(1)
    rank_of_truth = (similarity > truth).sum(dim=1)  # how many captions beat the true one
    return {f"R@{k}": (rank_of_truth < k).float().mean().item() for k in ks}


@torch.no_grad()
def retrieval_metrics(model, tokenizer, shards: str, device="cpu", batch_size: int = 64, workers: int = 0,
                      rank: int = 0, world_size: int = 1) -> dict:
    """Image->text and text->image R@1/5/10 over every pair of the held-out shards.

    Under torch.distributed (world_size > 1) every rank must call this: each encodes its share of
    the pairs and the features are all-gathered, so no rank sits in a collective while another
    evaluates alone (a long evaluation would trip the process group's timeout).
    """
    from wit.shards.reader import expand_urls
    from wit.trainer.distributed import all_gather_rows, sum_over_ranks

    was_training = model.training
    model.eval()
    stream = ShardStream(expand_urls(shards), tokenizer.with_context_length(model.config.context_length),
                         model.config.image_size, batch_size, training=False, rank=rank, world_size=world_size)
    image_chunks, text_chunks, skipped = [], [], 0
    for batch in make_loader(stream, workers):
        skipped += sum(batch["skipped"].values())
        if not batch["texts"]:
            continue
        image_chunks.append(model.encode_image(normalize_images(batch["images"].to(device))).float())
        text_chunks.append(model.encode_text(batch["tokens"].to(device)).float())
    model.train(was_training)
    empty = torch.empty(0, model.config.embed_dim, device=device)  # a rank may get no pairs; it still gathers
    images = torch.cat(image_chunks) if image_chunks else empty
    texts = torch.cat(text_chunks) if text_chunks else empty
    if world_size > 1:
        images, texts = all_gather_rows(images), all_gather_rows(texts)
        skipped = sum_over_ranks(skipped, images.device)
    if images.shape[0] == 0:
        raise WitError(f"no usable samples in {shards}")
    similarity = images @ texts.t()
    image_to_text = recall_at_k(similarity)
    text_to_image = recall_at_k(similarity.t())
    return {"pairs": images.shape[0], "skipped": skipped,
            **{f"image_to_text_{k}": v for k, v in image_to_text.items()},
            **{f"text_to_image_{k}": v for k, v in text_to_image.items()}}
