"""Sources: WARC and WAT readers on the real fixtures, HTML image extraction, URL resolution."""

import gzip
import importlib.util
import json
from pathlib import Path

import pytest

from wit.pipeline.sources import read_file
from wit.pipeline.sources.candidates import RecordError
from wit.pipeline.sources.html_images import (
    UrlResolver,
    decode_html,
    extract_images,
    image_source,
    largest_from_srcset,
    resolve_url,
)
from wit.pipeline.sources.inputs import InputFile, detect_format
from wit.pipeline.sources.wat import images_from_wat_json
from wit.core.records import CANDIDATE_FIELDS, make_uid

REPO = Path(__file__).resolve().parent.parent


def read_all(path, fmt):
    items = list(read_file(InputFile(str(path), fmt)))
    return [i for i in items if not isinstance(i, RecordError)], [i for i in items if isinstance(i, RecordError)]


def load_synthetic_wat_module():
    spec = importlib.util.spec_from_file_location("make_synthetic_wat", REPO / "benchmarks" / "make_synthetic_wat.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- real WARC files ---------------------------------------------------------------------------

def test_dolma_warc_alts_titles_and_base_href(shared_data):
    candidates, errors = read_all(shared_data / "real" / "dolma_sample-0000.warc.gz", "warc")
    assert errors == []
    alts = [c for c in candidates if c["text_field"] == "alt"]
    titles = [c for c in candidates if c["text_field"] == "title"]
    # data/README.md: 169 alts in this file.
    assert len(alts) == 169
    assert len(titles) == 8
    texts = {c["text"] for c in alts}
    assert {"prof_pic.jpg", "Untitled.png", "Daniel S. Weld", "Semantic Scholar Icon"} <= texts
    # <base href=https://soldaini.net/> with <img src=personal-me/me-512.webp> and src=/alt.webp
    by_url = {(c["url"], c["text_field"]): c for c in candidates}
    luca = by_url[("https://soldaini.net/personal-me/me-512.webp", "alt")]
    assert luca["text"] == "Luca Soldaini"
    assert by_url[("https://soldaini.net/personal-me/me-512.webp", "title")]["text"].startswith("Portrait of Luca")
    assert ("https://soldaini.net/alt.webp", "alt") in by_url
    # WARC 1.0-draft target URIs in <...> come out clean.
    assert all(c["page_url"].startswith("http") for c in candidates)
    for candidate in candidates:
        assert set(candidate) == set(CANDIDATE_FIELDS)
        assert candidate["uid"] == make_uid(candidate["url"], candidate["text"])
        assert candidate["source"].startswith(str(shared_data / "real" / "dolma_sample-0000.warc.gz") + "@")


def test_resiliparse_warc_charsets(shared_data):
    candidates, errors = read_all(shared_data / "real" / "resiliparse_warcfile.warc.gz", "warc")
    assert errors == []
    alts = {c["text"] for c in candidates if c["text_field"] == "alt"}
    assert len([c for c in candidates if c["text_field"] == "alt"]) == 32  # data/README.md
    assert "Стратегия пожарной безопасности" in alts  # windows-1251 page
    assert {"中国新闻网", "微博", "微信二维码"} <= alts  # gb2312 page
    # The dev set's alts from this file (html.parser, HTTP/meta charset) are all found; the one
    # difference is GB2312 0xA1A4, which browsers (WHATWG gb18030) show as U+00B7, not U+30FB.
    dev_alts = _dev_alts(shared_data, "warc_alt:resiliparse_warcfile.warc.gz")
    assert dev_alts - alts == {"・中山"} and "·中山" in alts


def test_dolma_dev_alts_all_found(shared_data):
    candidates, _ = read_all(shared_data / "real" / "dolma_sample-0000.warc.gz", "warc")
    assert _dev_alts(shared_data, "warc_alt:dolma_sample-0000.warc.gz") <= {c["text"] for c in candidates}


def _dev_alts(shared_data, source):
    import csv

    with open(shared_data / "captions_dev.tsv", encoding="utf-8", newline="") as handle:
        return {row["text"] for row in csv.DictReader(handle, delimiter="\t") if row["source"] == source}


def test_clueweb_quirks_euc_jp_and_lf_headers(shared_data):
    candidates, errors = read_all(shared_data / "real" / "resiliparse_clueweb-quirk.warc.gz", "warc")
    assert errors == []
    pages = {c["page_url"] for c in candidates}
    assert len(pages) == 29  # every HTML response despite LF-only HTTP headers and WARC/0.18
    assert len(candidates) == 556
    assert not any("\ufffd" in c["text"] for c in candidates)  # EUC-JP decoded, no replacement chars
    header = [c for c in candidates if c["url"] == "http://www.uraharajuku.st/design/porter/index-image/header-1.jpg"]
    assert header and "吉田カバン" in header[0]["text"] and "headporter" in header[0]["text"]


# --- real WAT files ----------------------------------------------------------------------------

def test_whirlwind_wat_has_no_image_links(shared_data):
    candidates, errors = read_all(shared_data / "real" / "cc-whirlwind_whirlwind.warc.wat.gz", "wat")
    assert candidates == [] and errors == []


def test_truncated_wat_is_one_counted_error(shared_data):
    candidates, errors = read_all(shared_data / "real" / "priyanlc_CC-MAIN-sample.warc.wat.gz", "wat")
    assert candidates == []
    assert len(errors) == 1 and "WAT JSON" in errors[0].message


def test_synthetic_wat_reads_every_alt(tmp_path):
    stats = load_synthetic_wat_module().write_synthetic_wat(str(tmp_path), links=3000, files=2, seed=3)
    total_alts = 0
    for path in stats["files"]:
        candidates, errors = read_all(path, "wat")
        assert errors == []
        total_alts += sum(1 for c in candidates if c["text_field"] == "alt")
        assert all(c["url"].startswith(("http://", "https://")) for c in candidates)
    assert total_alts == stats["links_with_alt"]


def test_cut_wat_keeps_what_came_before_the_cut(tmp_path):
    stats = load_synthetic_wat_module().write_synthetic_wat(str(tmp_path), links=2000, files=1, seed=5)
    whole, _ = read_all(stats["files"][0], "wat")
    data = Path(stats["files"][0]).read_bytes()
    cut = tmp_path / "cut.warc.wat.gz"
    cut.write_bytes(data[: len(data) * 2 // 3])
    partial, errors = read_all(cut, "wat")
    assert 0 < len(partial) < len(whole)
    assert [c["uid"] for c in partial] == [c["uid"] for c in whole[: len(partial)]]
    assert len(errors) == 1


def test_garbage_and_missing_files_are_counted_errors(tmp_path):
    garbage = tmp_path / "garbage.warc.gz"
    garbage.write_bytes(b"\x1f\x8b this is not gzip at all" * 100)
    candidates, errors = read_all(garbage, "warc")
    assert candidates == [] and len(errors) == 1
    candidates, errors = read_all(tmp_path / "missing.warc.wat.gz", "wat")
    assert candidates == [] and len(errors) == 1 and "cannot read" in errors[0].message


def test_wat_json_resolves_against_base_and_page():
    document = {"Envelope": {"WARC-Header-Metadata": {"WARC-Target-URI": "https://example.com/a/page.html"},
                             "Payload-Metadata": {"HTTP-Response-Metadata": {"HTML-Metadata": {
                                 "Head": {"Base": "https://static.example.com/root/"},
                                 "Links": [
                                     {"path": "IMG@/src", "url": "cat.jpg", "alt": "a  cat\n on a mat"},
                                     {"path": "IMG@/src", "url": "/dog.jpg", "title": "dog"},
                                     {"path": "A@/href", "url": "x.html", "text": "not an image"},
                                     {"path": "IMG@/src", "url": "data:image/gif;base64,R0lGOD", "alt": "pixel"},
                                 ]}}}}}
    page_url, images = images_from_wat_json(json.dumps(document).encode())
    assert page_url == "https://example.com/a/page.html"
    assert [(i.url, i.alt, i.title) for i in images] == [
        ("https://static.example.com/root/cat.jpg", "a cat on a mat", ""),
        ("https://static.example.com/dog.jpg", "", "dog"),
    ]
    with pytest.raises(ValueError):
        images_from_wat_json(b'{"Links": [{"path":"IMG@/src", "url": "x')


# --- HTML extraction ---------------------------------------------------------------------------

def test_extract_images_lazy_loading_srcset_and_base():
    html = """<html><head><base href="/static/"></head><body>
      <img src="data:image/gif;base64,R0lGOD" data-src="lazy/real.jpg" alt="lazy one">
      <img src="placeholder.gif" data-lazy-src="https://cdn.example.com/big.jpg" alt="lazy two">
      <img srcset="small.jpg 320w, large.jpg 1280w, medium.jpg 640w" alt="srcset only">
      <img src="//img.example.org/p.png" title="protocol relative">
      <img src="" alt="no url">
      <IMG SRC="../up.jpg" ALT="upper case">
    </body></html>"""
    images = extract_images(html, "https://example.com/dir/page.html")
    assert [(i.url, i.alt, i.title) for i in images] == [
        ("https://example.com/static/lazy/real.jpg", "lazy one", ""),
        ("https://cdn.example.com/big.jpg", "lazy two", ""),
        ("https://example.com/static/large.jpg", "srcset only", ""),
        ("https://img.example.org/p.png", "", "protocol relative"),
        ("https://example.com/up.jpg", "upper case", ""),
    ]


def test_srcset_and_image_source_rules():
    assert largest_from_srcset("a.jpg 1x, b.jpg 2x") == "b.jpg"
    assert largest_from_srcset("a.jpg, b.jpg 0.5x") == "a.jpg"
    assert image_source({"src": "a.jpg", "data-src": "b.jpg"}) == "b.jpg"
    assert image_source({"src": "data:x", "srcset": "c.jpg 100w"}) == "c.jpg"
    assert image_source({}) == ""


@pytest.mark.parametrize("base", ["https://a.com/x/y/index.html", "http://b.org", "https://c.net/p?q=1#f",
                                  "https://d.com:8080/a/b/", "https://e.com/a/./b/c.html", "https://f.com?q=/x/y",
                                  "https://g.com/dir/page.html#frag/ment", "http://h.org/a/b"])
@pytest.mark.parametrize("raw", ["/img/a.jpg", "//cdn.x.com/a.png", "../up.jpg", "rel/a.jpg", "https://abs.com/x.jpg",
                                 "/a/../b.jpg", "?x=1", "/img/a.jpg?x=1#y", "http://h.com/./x", "a.jpg",
                                 "./a.jpg", "img/a.jpg?w=1#f", "img/../b.jpg", "x/y/z.png"])
def test_url_resolver_agrees_with_urljoin(base, raw):
    from urllib.parse import urljoin

    assert UrlResolver(base).resolve(raw) == urljoin(base, raw)


def test_resolve_url_rejects_what_cannot_be_fetched():
    assert resolve_url("javascript:void(0)", "https://a.com/") == ""
    assert resolve_url("#top", "https://a.com/") == ""
    assert resolve_url("ftp://a.com/x.jpg", "https://a.com/") == ""
    assert resolve_url(" /x\n.jpg ", "https://a.com/") == "https://a.com/x.jpg"


def test_decode_html_prefers_http_then_meta_then_utf8():
    text = "Größe"
    assert decode_html(text.encode("cp1252"), "text/html; charset=windows-1252") == text
    page = b'<meta charset="iso-8859-1"><p>' + text.encode("latin-1")
    assert text in decode_html(page, "text/html")
    # A header that lies (says UTF-8, bytes are EUC-JP) falls through to the meta charset.
    lying = b"<meta http-equiv='Content-Type' content='text/html; charset=EUC-JP'>" + "日本語".encode("euc-jp")
    assert "日本語" in decode_html(lying, "text/html; charset=utf-8")
    assert "\ufffd" in decode_html(b"\xff\xfe\xfa undeclared", None) or decode_html(b"\xff\xfe\xfa undeclared", None)


@pytest.mark.parametrize("name,fmt", [
    ("CC-MAIN-x.warc.wat.gz", "wat"), ("a.warc.gz", "warc"), ("a.warc", "warc"), ("x.parquet", "parquet"),
    ("x.csv.gz", "csv"), ("x.tsv", "tsv"), ("x.jsonl", "jsonl"), ("x.bin", None),
])
def test_detect_format(name, fmt):
    assert detect_format(f"gs://bucket/dir/{name}") == fmt


def test_gzip_member_per_record_synthetic_is_deterministic(tmp_path):
    module = load_synthetic_wat_module()
    first = module.write_synthetic_wat(str(tmp_path / "a"), links=500, files=1, seed=9)
    second = module.write_synthetic_wat(str(tmp_path / "b"), links=500, files=1, seed=9)
    assert Path(first["files"][0]).read_bytes() == Path(second["files"][0]).read_bytes()
    with gzip.open(first["files"][0]) as handle:
        assert handle.read(8) == b"WARC/1.0"
