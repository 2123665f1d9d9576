"""Answer image URLs from WARC files instead of the live web (`--archive FILE.warc.gz ...`).

A build that fetches from archives is reproducible: the same archives give the same bytes, so
the same shards (the tars are written in key order, so even the same sha256). It is also how
`wit` runs offline. Each worker indexes its archives once (target URI -> file and offset of
the response record) and reads a record only when a URL asks for it, so an archive much
larger than memory is fine.

Redirects recorded in the archive are answered like live ones: the fetcher follows the
Location through the archive and checks every hop the same way.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from urllib.parse import urldefrag

from warcio.archiveiterator import ArchiveIterator

from wit.core.errors import WitError
from wit.core.storage import open_url

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ArchivedResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)

    def header_values(self, name: str) -> list[str]:
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]


def normalise_target(uri: str) -> str:
    """WARC-Target-URI as looked up: no <> (WARC 1.0 wrote them), no fragment."""
    return urldefrag(uri.strip().strip("<>"))[0]


class ArchiveIndex:
    """URL -> where its HTTP response record sits in a set of (local or remote) WARC files."""

    def __init__(self, paths: list[str]) -> None:
        self.paths = list(paths)
        self._where: dict[str, tuple[int, int]] = {}
        for file_number, path in enumerate(self.paths):
            try:
                with open_url(path, "rb") as handle:
                    records = ArchiveIterator(handle)
                    for record in records:
                        if record.rec_type != "response" or record.http_headers is None:
                            continue
                        uri = record.rec_headers.get_header("WARC-Target-URI")
                        if uri:
                            # First record wins: a later re-crawl must not change an earlier build.
                            self._where.setdefault(normalise_target(uri), (file_number, records.get_record_offset()))
            except FileNotFoundError:
                raise WitError(f"--archive: no such file: {path}") from None
            except WitError:  # a missing storage extra is not a damaged archive
                raise
            except Exception as exc:  # a damaged archive: keep what was indexed before the damage
                log.warning("archive %s: indexing stopped early: %s", path, exc)
        log.info("archive index: %d responses in %d files", len(self._where), len(self.paths))

    def __len__(self) -> int:
        return len(self._where)

    def __contains__(self, url: str) -> bool:
        return normalise_target(url) in self._where

    def lookup(self, url: str) -> ArchivedResponse | None:
        where = self._where.get(normalise_target(url))
        if where is None:
            return None
        file_number, offset = where
        with open_url(self.paths[file_number], "rb") as handle:
            handle.seek(offset)
            record = next(iter(ArchiveIterator(handle)))
            status = int(record.http_headers.get_statuscode() or 0)
            headers = list(record.http_headers.headers)
            body = record.content_stream().read()  # de-chunked and decompressed by warcio
        return ArchivedResponse(status=status, headers=headers, body=body)


_indexes: dict[tuple[str, ...], ArchiveIndex] = {}
_indexes_lock = threading.Lock()


def archive_index(paths: list[str] | tuple[str, ...]) -> ArchiveIndex:
    """The index for these archives, built once per worker process and then shared."""
    key = tuple(paths)
    with _indexes_lock:
        if key not in _indexes:
            _indexes[key] = ArchiveIndex(list(key))
        return _indexes[key]
