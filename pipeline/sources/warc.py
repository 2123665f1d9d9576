"""WARC files: HTML responses parsed for `<img>` (src, lazy-loading attributes, srcset, alt, title).

The page is decoded with its HTTP charset, then its `<meta>` charset (html_images.decode_html),
and image URLs are resolved against `<base href>` and the page URL.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator

from wit.pipeline.sources.candidates import RecordError, candidates_from_images
from wit.pipeline.sources.html_images import decode_html, extract_images
from wit.pipeline.sources.warcfile import iter_warc_records

HTML_CONTENT_TYPES = ("text/html", "application/xhtml+xml")


def is_html(content_type: str | None) -> bool:
    return bool(content_type) and content_type.split(";", 1)[0].strip().lower() in HTML_CONTENT_TYPES


def response_body(payload: bytes, content_encoding: str | None) -> bytes:
    """The page bytes: gzip-decoded when the body really is gzip, whatever the header claims.

    Crawlers usually store the decoded body but keep `Content-Encoding: gzip` in the headers
    (ClueWeb09 does), so the header alone cannot be trusted.
    """
    if payload[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(payload)
        except (OSError, EOFError, zlib.error):
            return payload
    return payload


def read_warc(stream, path: str) -> Iterator[dict | RecordError]:
    """Candidates from a WARC stream (gzip or plain), one RecordError per unreadable record."""
    for record in iter_warc_records(stream, path, record_types=("response",)):
        if isinstance(record, RecordError):
            yield record
            continue
        if not is_html(record.http_content_type):
            continue
        source = f"{path}@{record.offset}"
        try:
            html = decode_html(response_body(record.payload, record.http_content_encoding), record.http_content_type)
            images = extract_images(html, record.target_uri)
        except Exception as exc:  # noqa: BLE001 - one broken page must not end the file
            yield RecordError(source, f"unparseable HTML: {type(exc).__name__}: {exc}")
            continue
        yield from candidates_from_images(images, record.target_uri, source)
