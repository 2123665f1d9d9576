"""Common Crawl WAT files: the `IMG@/src` links of each page, with their alt and title.

A WAT file is a WARC file of `metadata` records whose payload is JSON extracted from the crawl's
HTML responses (`Envelope.Payload-Metadata.HTTP-Response-Metadata.HTML-Metadata`). Image links
keep the URL exactly as written in the page, so relative ones are resolved here against the
page's `<base href>` (`Head.Base`) and its URL.
"""

from __future__ import annotations

from collections.abc import Iterator

import orjson

from wit.pipeline.sources.candidates import RecordError, candidates_from_images
from wit.pipeline.sources.html_images import ImageRef, UrlResolver, clean_attribute, resolve_url
from wit.pipeline.sources.warcfile import iter_warc_records

IMAGE_LINK_PATH = "IMG@/src"
# Checked on the raw bytes before parsing: most WAT records (requests, non-HTML, pages without
# images) have no image link, and skipping their JSON parse is the cheapest win in this stage.
_IMAGE_LINK_MARKER = b'"IMG@/src"'


def images_from_wat_json(payload: bytes) -> tuple[str, list[ImageRef]]:
    """(page URL, images) of one WAT metadata record's JSON payload.

    Raises ValueError on JSON that does not parse (a truncated record); a record without HTML
    metadata gives no images.
    """
    if _IMAGE_LINK_MARKER not in payload:
        return "", []
    document = orjson.loads(payload)  # 1.4x json.loads on WAT records (benchmarks/bench_sources.py)
    envelope = document.get("Envelope") or {}
    page_url = (envelope.get("WARC-Header-Metadata") or {}).get("WARC-Target-URI") or ""
    html = ((envelope.get("Payload-Metadata") or {}).get("HTTP-Response-Metadata") or {}).get("HTML-Metadata") or {}
    base_url = page_url
    base_href = (html.get("Head") or {}).get("Base")
    if isinstance(base_href, str) and base_href.strip():
        base_url = resolve_url(base_href, page_url) or page_url
    resolver = UrlResolver(base_url)
    images = []
    for link in html.get("Links") or ():
        if link.get("path") != IMAGE_LINK_PATH:
            continue
        url = resolver.resolve(link.get("url") or "")
        if url:
            images.append(ImageRef(url, clean_attribute(link.get("alt")), clean_attribute(link.get("title"))))
    return page_url, images


def read_wat(stream, path: str) -> Iterator[dict | RecordError]:
    """Candidates from a WAT stream (gzip or plain), one RecordError per unreadable record."""
    for record in iter_warc_records(stream, path, record_types=("metadata",)):
        if isinstance(record, RecordError):
            yield record
            continue
        try:
            page_url, images = images_from_wat_json(record.payload)
        except ValueError as exc:
            yield RecordError(f"{path}@{record.offset}", f"unreadable WAT JSON: {exc}")
            continue
        yield from candidates_from_images(images, page_url, f"{path}@{record.offset}")
