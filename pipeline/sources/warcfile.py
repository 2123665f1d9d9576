"""WARC record iteration (FastWARC), tolerant of real-world damage.

FastWARC was chosen by measurement over warcio (docs/pipeline.md). `quirks_mode` is on because
real archives need it: ClueWeb09 writes HTTP headers with bare LF line ends, and Common Crawl's
truncated files otherwise fail on the first record. Any failure while reading yields one
RecordError and ends the file: what was read before it is kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from fastwarc.warc import ArchiveIterator, WarcRecordType

from wit.pipeline.sources.candidates import RecordError

_RECORD_TYPES = {
    "response": WarcRecordType.response,
    "metadata": WarcRecordType.metadata,
    "resource": WarcRecordType.resource,
}


@dataclass(slots=True)
class WarcRecord:
    """The parts of a WARC record the sources use, read into plain Python values."""

    offset: int
    target_uri: str
    http_content_type: str | None
    http_content_encoding: str | None
    payload: bytes


def iter_warc_records(stream, path: str, record_types: tuple[str, ...]) -> Iterator[WarcRecord | RecordError]:
    """Records of the given types from a (gzip, zstd, lz4 or plain) WARC stream."""
    wanted = [_RECORD_TYPES[name] for name in record_types]
    parse_http = "response" in record_types
    offset = 0
    seen = 0
    try:
        # Every record type is iterated (and unwanted ones skipped here, unread) so that a file
        # with no WARC records at all, which FastWARC ends silently on, can be told apart.
        for record in ArchiveIterator(stream, parse_http=parse_http, quirks_mode=True, fsspec_args=False):
            seen += 1
            offset = record.stream_pos
            if record.record_type not in wanted:
                continue
            http_headers = record.http_headers if parse_http and record.is_http else None
            yield WarcRecord(
                offset=offset,
                # WARC 1.0 drafts (and wget) wrap the URI in <...>.
                target_uri=(record.headers.get("WARC-Target-URI") or "").strip().strip("<>"),
                http_content_type=record.http_content_type if http_headers is not None else None,
                http_content_encoding=http_headers.get("Content-Encoding") if http_headers is not None else None,
                payload=record.reader.read(),
            )
    except (OSError, ValueError, EOFError) as exc:
        yield RecordError(f"{path}@{offset}", f"unreadable WARC data after offset {offset}: {exc}")
        return
    if seen == 0 and _consumed_any(stream):
        yield RecordError(path, "no WARC records found: not a WARC/WAT file, or corrupt from the start")


def _consumed_any(stream) -> bool:
    try:
        return stream.tell() > 0
    except (OSError, AttributeError, ValueError):
        return True
