"""The embedded default sample: a real WARC whose pages' images are all in it, held-out digits
that never are, deterministic bytes, and the caption mix the filters are meant to see."""

import hashlib
import io
import re
import zlib
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("mlxtend", reason="the sample web needs the demo extra: pip install 'wit[demo]'")
pytest.importorskip("warcio", reason="the sample web needs the demo extra: pip install 'wit[demo]'")

from warcio.archiveiterator import ArchiveIterator  # noqa: E402

from wit.app import cli, sample_web  # noqa: E402
from wit.core.errors import WitError  # noqa: E402


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    assert cli.main(["-q", "sample-web", "--out", str(out)]) == 0
    return out


class ImageTagParser(HTMLParser):
    """Collects every <img> of a page with the absolute URLs it can load and its captions."""

    def __init__(self, page_url: str):
        super().__init__()
        self.base = page_url
        self.images: list[dict] = []
        self._in_figcaption = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "base" and attributes.get("href"):
            self.base = urljoin(self.base, attributes["href"])
        elif tag == "img":
            written = [attributes.get("src", ""), attributes.get("data-src", "")]
            written += [part.split()[0] for part in attributes.get("srcset", "").split(",") if part.strip()]
            urls = sorted({urljoin(self.base, value) for value in written if value and not value.startswith("data:")})
            captions = [attributes.get("alt", "")] + ([attributes["title"]] if "title" in attributes else [])
            self.images.append({"urls": urls, "captions": captions, "src": attributes.get("src", "")})
        elif tag == "figcaption":
            self._in_figcaption = True

    def handle_data(self, data):
        if self._in_figcaption and self.images:
            self.images[-1]["captions"].append(data)

    def handle_endtag(self, tag):
        if tag == "figcaption":
            self._in_figcaption = False


@pytest.fixture(scope="module")
def archive(sample_dir):
    """(records by target URI, parsed <img> tags of every page, warcinfo count)."""
    records, tags, types = {}, [], Counter()
    with open(sample_dir / sample_web.ARCHIVE_NAME, "rb") as handle:
        for record in ArchiveIterator(handle, check_digests="raise"):
            types[record.rec_type] += 1
            if record.rec_type != "response":
                continue
            uri = record.rec_headers.get_header("WARC-Target-URI")
            assert uri not in records, f"{uri} recorded twice"
            body = record.content_stream().read()
            content_type = record.http_headers.get_header("Content-Type")
            assert record.http_headers.get_statuscode() == "200"
            assert int(record.http_headers.get_header("Content-Length")) == len(body)
            records[uri] = (content_type, body)
            if content_type.startswith("text/html"):
                parser = ImageTagParser(uri)
                parser.feed(body.decode("utf-8"))
                for image in parser.images:
                    image["page"] = uri
                tags.extend(parser.images)
    return records, tags, types


def test_same_seed_gives_byte_identical_files(sample_dir, tmp_path):
    assert cli.main(["-q", "sample-web", "--out", str(tmp_path)]) == 0

    def digests(root: Path) -> dict:
        return {str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(root.rglob("*")) if path.is_file()}

    first, second = digests(sample_dir), digests(tmp_path)
    assert len(first) > 1000
    assert first == second


def test_another_seed_gives_another_sample(sample_dir, tmp_path):
    other = sample_web.make_sample_web(seed=1)
    first = sample_web.make_sample_web(seed=0)
    assert [page.render() for page in other.pages] != [page.render() for page in first.pages]


def test_archive_is_warc_with_one_gzip_member_per_record(sample_dir, archive):
    records, _, types = archive
    raw = (sample_dir / sample_web.ARCHIVE_NAME).read_bytes()
    assert raw.startswith(b"\x1f\x8b")
    assert len(raw) < 20_000_000
    members, offset = [], 0
    while offset < len(raw):
        decompressor = zlib.decompressobj(zlib.MAX_WBITS | 16)
        members.append(decompressor.decompress(raw[offset:]))
        offset = len(raw) - len(decompressor.unused_data)
    assert len(members) == sum(types.values())
    assert all(member.startswith(b"WARC/1.0\r\n") for member in members)
    assert types["warcinfo"] == 1
    content_types = Counter(content_type.split(";")[0] for content_type, _ in records.values())
    assert content_types["text/html"] > 100
    assert content_types["image/png"] > 1000
    assert content_types["image/jpeg"] > 500


def test_every_img_resolves_to_a_recorded_image(archive):
    records, tags, _ = archive
    assert len(tags) > 4000
    for tag in tags:
        assert tag["urls"], f"<img> with no loadable URL on {tag['page']}"
        for url in tag["urls"]:
            assert url in records, f"{url} (from {tag['page']}) is not in the archive"
            content_type, body = records[url]
            assert content_type in ("image/png", "image/jpeg")
            with Image.open(io.BytesIO(body)) as image:
                assert image.format == {"image/png": "PNG", "image/jpeg": "JPEG"}[content_type]
                assert min(image.size) >= 16


def test_image_urls_come_in_the_forms_parsers_must_resolve(archive):
    records, tags, _ = archive
    html = b"".join(body for content_type, body in records.values() if content_type.startswith("text/html"))
    assert html.count(b"<base href=") > 10
    assert html.count(b"data-src=") > 500
    assert html.count(b"srcset=") > 50
    sources = [tag["src"] for tag in tags]
    assert sum(src.startswith("//") for src in sources) > 100  # protocol-relative
    assert sum(src.startswith("/") and not src.startswith("//") for src in sources) > 100  # root-relative
    assert sum(not re.match(r"^(/|[a-z]+:)", src) for src in sources) > 1000  # relative
    assert sum(src.startswith("data:") for src in sources) > 500  # lazy-loading placeholders


def test_caption_mix(archive, sample_dir):
    _, tags, _ = archive
    captions = Counter()
    pairs = Counter()
    for tag in tags:
        for caption in tag["captions"]:
            pairs[(tag["urls"][0], caption)] += 1
            if not caption.strip():
                captions["empty"] += 1
            elif caption.lower() in sample_web.BOILERPLATE_CAPTIONS + ("logo",):
                captions["boilerplate"] += 1
            elif re.fullmatch(r"[\w-]+\.(jpe?g|png)", caption, re.IGNORECASE):
                captions["filename"] += 1
            elif re.search(r"ISO \d+", caption):
                captions["camera"] += 1
            else:
                captions["text"] += 1
    total = sum(captions.values())
    assert captions["text"] / total > 0.55
    for kind in ("empty", "boilerplate", "filename", "camera"):
        assert captions[kind] / total > 0.02, kind
    foreign = [c for tag in tags for c in tag["captions"] if re.search(r"[éüñàа-я\u3040-\u30ff\u4e00-\u9fff]|numero|número|Ziffer", c)]
    assert len(foreign) > 150
    duplicates = sum(count - 1 for (url, caption), count in pairs.items() if count > 1 and caption and "/static/" not in url)
    assert duplicates > 100
    summary = __import__("json").loads((sample_dir / sample_web.SUMMARY_NAME).read_text())
    assert summary["captions_by_kind"]["duplicate"] == duplicates
    assert summary["captions_by_kind"]["camera"] == captions["camera"]
    assert summary["captions_by_kind"]["filename"] == captions["filename"]


def test_suggested_cap_bites_on_generic_queries_but_not_on_digit_names(archive):
    _, tags, _ = archive
    counts = sample_web.query_match_counts([caption for tag in tags for caption in tag["captions"]])
    cap = sample_web.SUGGESTED_CAP
    assert max(counts[name] for name in sample_web.DIGIT_NAMES) < cap
    assert min(counts[name] for name in sample_web.DIGIT_NAMES) > 150
    for generic in ("handwritten", "digit", "number"):
        assert counts[generic] > 2 * cap, generic
    assert all(counts[subject] > 0 for subject in ("astronaut", "cat", "coffee", "rocket", "flower", "temple"))
    assert counts["zebra"] == 0  # the query list has a tail nothing matches


def test_heldout_digits_form_an_image_folder_never_in_the_archive(sample_dir, archive):
    records, _, _ = archive
    classes = (sample_dir / "classnames.txt").read_text().split()
    assert classes == list(sample_web.DIGIT_NAMES)
    heldout = {name: sorted((sample_dir / "heldout" / name).glob("*.png")) for name in classes}
    assert sorted(path.name for path in (sample_dir / "heldout").iterdir()) == sorted(classes)
    assert all(len(files) == sample_web.HELDOUT_PER_CLASS for files in heldout.values())

    def small(body: bytes) -> np.ndarray:
        with Image.open(io.BytesIO(body)) as image:
            return np.asarray(image.convert("L").resize((16, 16), Image.Resampling.BILINEAR), dtype=np.float32).ravel() / 255

    archived_digits = np.stack([small(body) for url, (ctype, body) in records.items() if re.search(r"/d\d{5}\.(png|jpg)$", url)])
    held = np.stack([small(path.read_bytes()) for files in heldout.values() for path in files])
    assert len(archived_digits) == 4000 and len(held) == 1000
    # Squared distance of every held-out digit to its nearest archived digit (JPEG or PNG): a copy
    # of the same MNIST image, however encoded, would be near zero.
    distances = (held ** 2).sum(1)[:, None] + (archived_digits ** 2).sum(1)[None, :] - 2 * held @ archived_digits.T
    jpeg_copy = small(sample_web.encode(Image.open(heldout["seven"][0]), "JPEG"))
    jpeg_noise = float(((jpeg_copy - held[7 * sample_web.HELDOUT_PER_CLASS]) ** 2).sum())
    assert distances.min(axis=1).min() > 20 * max(jpeg_noise, 1e-3)
    archived_indices = {int(m.group(1)) for url in records if (m := re.search(r"/d(\d{5})(?:@2x)?\.(?:png|jpg)$", url))}
    held_indices = {int(path.stem.rsplit("_", 1)[1]) for files in heldout.values() for path in files}
    assert not archived_indices & held_indices
    assert len(archived_indices | held_indices) == 5000


def test_photographs_are_read_from_files_bundled_in_the_wheels():
    for photo in sample_web.PHOTOS:
        path = sample_web.bundled_file(photo.package, photo.path)
        with Image.open(path) as image:
            assert min(image.size) >= 256, photo.path
    with pytest.raises(WitError, match="does not ship"):
        sample_web.bundled_file("skimage", "data/not-a-bundled-file.png")
    with pytest.raises(WitError, match="not installed"):
        sample_web.bundled_file("no_such_package_for_wit", "x.png")


def test_command_prints_what_it_wrote(tmp_path, capsys):
    assert cli.main(["sample-web", "--out", str(tmp_path / "s"), "--heldout-per-class", "50"]) == 0
    printed = capsys.readouterr().out
    assert "pages" in printed and "500 held-out digits" in printed
    assert len(list((tmp_path / "s" / "heldout").rglob("*.png"))) == 500
    assert (tmp_path / "s" / "queries.txt").read_text().split("\n")[:10] == list(sample_web.DIGIT_NAMES)
