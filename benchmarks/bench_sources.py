"""Which parsers the sources use, by measurement: WARC readers and HTML parsers on the real pages.

    .venv/bin/python benchmarks/bench_sources.py [--quick]

WARC: FastWARC vs warcio, reading every record of the three real WARC files in
shared/data/real (HTTP headers parsed, payload read). HTML: the `<img>` extraction the WARC
source does (every img's src/alt/title) with selectolax's Lexbor engine (its Modest engine is deprecated),
resiliparse's HTMLTree, and the standard library's html.parser, on the decoded HTML pages of the
same files. WAT JSON: json vs orjson on synthetic WAT payloads. The last line is JSON.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
REAL = REPO.parent / "shared" / "data" / "real"
WARCS = ["dolma_sample-0000.warc.gz", "resiliparse_warcfile.warc.gz", "resiliparse_clueweb-quirk.warc.gz"]


def timed(fn, min_seconds: float):
    """(result, seconds per call): repeats fn until min_seconds have passed."""
    calls, start = 0, time.perf_counter()
    while True:
        result = fn()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return result, elapsed / calls


def read_fastwarc(data: bytes) -> int:
    from fastwarc.warc import ArchiveIterator

    return sum(len(r.reader.read()) for r in ArchiveIterator(io.BytesIO(data), parse_http=True, quirks_mode=True, fsspec_args=False))


def read_warcio(data: bytes) -> int:
    from warcio.archiveiterator import ArchiveIterator

    return sum(len(r.content_stream().read()) for r in ArchiveIterator(io.BytesIO(data)))


def html_pages() -> list[tuple[str, str]]:
    from wit.pipeline.sources.html_images import decode_html
    from wit.pipeline.sources.warc import is_html, response_body
    from wit.pipeline.sources.warcfile import iter_warc_records

    pages = []
    for name in WARCS:
        with open(REAL / name, "rb") as handle:
            for record in iter_warc_records(handle, name, ("response",)):
                if hasattr(record, "payload") and is_html(record.http_content_type):
                    pages.append((decode_html(response_body(record.payload, record.http_content_encoding), record.http_content_type), record.target_uri))
    return pages


def imgs_lexbor(html: str) -> list:
    from selectolax.lexbor import LexborHTMLParser

    return [(n.attributes.get("src"), n.attributes.get("alt"), n.attributes.get("title")) for n in LexborHTMLParser(html).css("img")]


def imgs_resiliparse(html: str) -> list:
    from resiliparse.parse.html import HTMLTree

    tree = HTMLTree.parse(html)
    return [(e.getattr("src"), e.getattr("alt"), e.getattr("title")) for e in tree.body.get_elements_by_tag_name("img")] if tree.body else []


class _ImgCollector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.images = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            attributes = dict(attrs)
            self.images.append((attributes.get("src"), attributes.get("alt"), attributes.get("title")))


def imgs_stdlib(html: str) -> list:
    collector = _ImgCollector()
    collector.feed(html)
    collector.close()
    return collector.images


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short run")
    args = parser.parse_args(argv)
    min_seconds = 0.3 if args.quick else 2.0
    figures = {"warc_mb_per_s": {}, "html_pages_per_s": {}, "html_imgs_found": {}, "wat_json_records_per_s": {}}

    data = [(REAL / name).read_bytes() for name in WARCS]
    raw_mb = sum(len(gzip.decompress(d)) for d in data) / 1e6
    print(f"WARC reading: {len(WARCS)} real files, {raw_mb:.1f} MB uncompressed")
    print(f"{'reader':<12}{'MB/s':>10}")
    for name, fn in [("fastwarc", read_fastwarc), ("warcio", read_warcio)]:
        _, seconds = timed(lambda fn=fn: [fn(d) for d in data], min_seconds)
        figures["warc_mb_per_s"][name] = round(raw_mb / seconds, 1)
        print(f"{name:<12}{raw_mb / seconds:>10.1f}")

    pages = html_pages()
    print(f"\nHTML <img> extraction: {len(pages)} real pages")
    print(f"{'parser':<20}{'pages/s':>10}{'imgs':>8}")
    for name, fn in [("selectolax-lexbor", imgs_lexbor), ("resiliparse", imgs_resiliparse), ("html.parser", imgs_stdlib)]:
        found, seconds = timed(lambda fn=fn: sum(len(fn(html)) for html, _ in pages), min_seconds)
        figures["html_pages_per_s"][name] = round(len(pages) / seconds, 1)
        figures["html_imgs_found"][name] = found
        print(f"{name:<20}{len(pages) / seconds:>10.1f}{found:>8}")

    import importlib.util
    import tempfile

    spec = importlib.util.spec_from_file_location("make_synthetic_wat", REPO / "benchmarks" / "make_synthetic_wat.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with tempfile.TemporaryDirectory() as folder:
        stats = module.write_synthetic_wat(folder, links=5000 if args.quick else 20000, files=1)
        from fastwarc.warc import ArchiveIterator, WarcRecordType

        with open(stats["files"][0], "rb") as handle:
            payloads = [r.reader.read() for r in ArchiveIterator(handle, record_types=WarcRecordType.metadata, fsspec_args=False)]
    print(f"\nWAT JSON: {len(payloads)} synthetic records")
    print(f"{'parser':<12}{'records/s':>12}")
    loaders = [("json", json.loads)]
    try:
        import orjson

        loaders.append(("orjson", orjson.loads))
    except ImportError:
        pass
    for name, loads in loaders:
        _, seconds = timed(lambda loads=loads: [loads(p) for p in payloads], min_seconds)
        figures["wat_json_records_per_s"][name] = round(len(payloads) / seconds, 1)
        print(f"{name:<12}{len(payloads) / seconds:>12.1f}")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
