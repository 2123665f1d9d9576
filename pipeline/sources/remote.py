"""Reading a remote file over http(s) so that transient failures cost a retry, not the file.

Common Crawl answers 503 "SlowDown" under load, and a 300 MB WAT transfer is sometimes reset
or cut short. `RemoteReader` is a read-only binary stream over one URL that hides both from
the record reader above it: a request that fails with a transient error (HTTP 429, 500, 502,
503, 504; a reset, refused or timed-out connection; a body shorter than its Content-Length) is
sent again after an exponential backoff (Retry-After honoured, up to the cap), and one that
fails after some bytes were delivered continues at the byte reached with `Range: bytes=N-`.
The decompressor and the WARC reader see one continuous byte stream.

Plain stdlib (urllib), so the module needs nothing beyond Python and is testable without
Beam. Every retry and every resume is reported through `on_event` (the read stage counts them
as `read_retries` and `read_resumes`); a file that still fails when the budget is spent raises
`RemoteReadError`, an OSError that the sources turn into one counted `drop_error`.
"""

from __future__ import annotations

import argparse
import http.client
import io
import logging
import random
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, fields

from wit.core.http_headers import parse_retry_after

_LOGGER = logging.getLogger(__name__)

READ_RETRIES = "read_retries"  # requests sent again after a transient failure
READ_RESUMES = "read_resumes"  # of those, the ones that continued mid-file at the byte reached

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Connection-level failures worth another request. ConnectionError covers resets, refusals and
# http.client.RemoteDisconnected; TimeoutError is socket.timeout; SSLEOFError is a TLS
# connection cut mid-record; IncompleteRead a chunked body that ended early.
_TRANSIENT_ERRORS = (ConnectionError, TimeoutError, ssl.SSLEOFError, http.client.IncompleteRead)


@dataclass(frozen=True)
class RemoteReadConfig:
    """How hard a remote input file is retried before it is given up (one drop_error)."""

    attempts: int = 8  # requests in a row that may fail without a byte delivered in between
    backoff: float = 1.0  # seconds before the first retry; doubles with each failure in a row
    backoff_max: float = 60.0  # no wait is longer, a server's Retry-After included
    timeout: float = 60.0  # seconds a connect or a read may stall before it counts as a failure
    # Retries in all for one file, progress or not: a server that always cuts the transfer
    # after a few bytes would otherwise be resumed for as long as the file lasts.
    max_retries: int = 100

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("remote read attempts must be at least 1")
        if self.backoff < 0 or self.backoff_max < 0:
            raise ValueError("remote read backoff must not be negative")
        if self.timeout <= 0:
            raise ValueError("remote read timeout must be positive")
        if self.max_retries < 0:
            raise ValueError("remote read max_retries must not be negative")

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> RemoteReadConfig:
        names = {f.name for f in fields(cls)}
        values = {name: getattr(args, "input_" + name) for name in names if hasattr(args, "input_" + name)}
        return cls(**{key: value for key, value in values.items() if value is not None})


def add_remote_read_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = RemoteReadConfig()
    group = parser.add_argument_group("remote inputs (http(s) files and --crawl)")
    group.add_argument("--input-attempts", type=int, default=defaults.attempts, metavar="N",
                       help=f"give a remote file up after N failed requests in a row (default {defaults.attempts})")
    group.add_argument("--input-backoff", type=float, default=defaults.backoff, metavar="S",
                       help=f"seconds before the first retry, doubling per failure (default {defaults.backoff:g})")
    group.add_argument("--input-backoff-max", type=float, default=defaults.backoff_max, metavar="S",
                       help=f"longest wait between retries, Retry-After included (default {defaults.backoff_max:g})")


class RemoteReadError(OSError):
    """A remote file that could not be read: not found, refused, or still failing after retries."""


class _Transient(Exception):
    """A failed request worth retrying, with the server's Retry-After in seconds if it sent one."""

    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.retry_after = retry_after


def backoff_delay(config: RemoteReadConfig, failures: int, retry_after: float | None,
                  jitter: Callable[[], float] = random.random) -> float:
    """Seconds to wait after `failures` failures in a row.

    Exponential (backoff * 2**(failures-1)), scaled by a random factor in [0.5, 1) so that many
    workers refused at once do not come back at once; a Retry-After is a floor. Never above
    backoff_max.
    """
    delay = config.backoff * (2 ** min(failures - 1, 32)) * (0.5 + jitter() / 2)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return min(delay, config.backoff_max)


# No proxies from the environment: the same as the fsspec/aiohttp reads this replaces.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class RemoteReader(io.RawIOBase):
    """A forward-only binary stream over an http(s) URL that retries and resumes.

    The first request is made on construction, so a missing file (FileNotFoundError) or a
    server that keeps refusing (RemoteReadError) fails where the file is opened. `sleep`,
    `jitter` and `on_event` are injectable for tests and counting.
    """

    def __init__(self, url: str, config: RemoteReadConfig | None = None,
                 on_event: Callable[[str], None] | None = None,
                 sleep: Callable[[float], None] = time.sleep, jitter: Callable[[], float] = random.random):
        super().__init__()
        self.url = url
        self._config = config or RemoteReadConfig()
        self._on_event = on_event or (lambda name: None)
        self._sleep = sleep
        self._jitter = jitter
        self._response: http.client.HTTPResponse | None = None
        self._position = 0  # bytes handed to the reader so far: where a resume starts
        self._size: int | None = None  # the whole file's length, when the server said it
        self._etag: str | None = None
        self._failures = 0  # failed requests since the last byte arrived
        self._retries = 0
        self._eof = False
        self._connect()

    # -- io.RawIOBase ---------------------------------------------------------------------

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        # Only the no-op seeks readers use to ask where they are (FastWARC does).
        if (whence == io.SEEK_CUR and offset == 0) or (whence == io.SEEK_SET and offset == self._position):
            return self._position
        raise io.UnsupportedOperation("a remote stream is read front to back")

    def readinto(self, buffer) -> int:
        if self.closed:
            raise ValueError("read from a closed remote stream")
        view = memoryview(buffer).cast("B")
        if not len(view) or self._eof:
            return 0
        while True:
            try:
                self._connect()
                if self._eof:
                    return 0
                # read1, one receive at most: bytes that arrived before a reset are kept and
                # counted (a filling readinto would lose them with the exception).
                data = self._response.read1(len(view))
                n = len(data)
                view[:n] = data
                if not n and self._size is not None and self._position < self._size:
                    raise _Transient(f"transfer ended at byte {self._position:,} of {self._size:,}")
            except _TRANSIENT_ERRORS as exc:
                self._failed(_Transient(f"{type(exc).__name__}: {exc}"))
                continue
            except _Transient as exc:
                self._failed(exc)
                continue
            if n:
                self._position += n
                self._failures = 0
            else:
                self._eof = True
                self._drop_response()
            return n

    def close(self) -> None:
        self._drop_response()
        super().close()

    # -- requests ---------------------------------------------------------------------------

    def _connect(self) -> None:
        """Make sure a response is open at the current position, retrying transient failures."""
        while self._response is None and not self._eof:
            try:
                self._response = self._request()
            except _TRANSIENT_ERRORS as exc:
                self._failed(_Transient(f"{type(exc).__name__}: {exc}"))
            except _Transient as exc:
                self._failed(exc)

    def _failed(self, failure: _Transient) -> None:
        """Count one failed request; wait before the next or raise when the budget is spent."""
        self._drop_response()
        self._failures += 1
        if self._failures >= self._config.attempts or self._retries >= self._config.max_retries:
            raise RemoteReadError(f"gave up on {self.url} at byte {self._position:,} after {self._failures} failed "
                                  f"request(s) in a row ({self._retries} retries in all): {failure}")
        delay = backoff_delay(self._config, self._failures, failure.retry_after, self._jitter)
        _LOGGER.warning("wit: retrying %s at byte %s in %.3g s (failure %d of %d): %s", self.url,
                        f"{self._position:,}", delay, self._failures, self._config.attempts, failure)
        self._retries += 1
        self._on_event(READ_RETRIES)
        self._sleep(delay)

    def _request(self) -> http.client.HTTPResponse | None:
        offset = self._position
        # identity: byte offsets must be offsets in the file itself, not in a re-encoding of it.
        headers = {"Accept-Encoding": "identity", "User-Agent": "wit"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
        try:
            response = _OPENER.open(urllib.request.Request(self.url, headers=headers), timeout=self._config.timeout)
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code in RETRY_STATUSES:
                retry_after = parse_retry_after(exc.headers.get("Retry-After"))
                raise _Transient(f"HTTP {exc.code} {exc.reason}", retry_after) from exc
            if exc.code == 416 and _unsatisfied_total(exc.headers.get("Content-Range")) == offset:
                self._eof = True  # the cut came after the last byte: nothing was left to read
                return None
            if exc.code in (404, 410):
                raise FileNotFoundError(f"{self.url}: HTTP {exc.code} {exc.reason}") from exc
            raise RemoteReadError(f"{self.url}: HTTP {exc.code} {exc.reason}") from exc
        except urllib.error.URLError as exc:
            # urllib wraps connection failures; only those at the connection level are retried
            # (an unknown host or a bad certificate will not fix itself).
            if isinstance(exc.reason, _TRANSIENT_ERRORS):
                raise exc.reason from exc
            raise RemoteReadError(f"cannot reach {self.url}: {exc.reason}") from exc
        try:
            self._check_response(response, offset)
        except BaseException:
            response.close()
            raise
        return response

    def _check_response(self, response: http.client.HTTPResponse, offset: int) -> None:
        """Record the file's size and identity from the first response; make sure a later one
        continues the same file at `offset`."""
        length = response.headers.get("Content-Length")
        length = int(length) if length and length.strip().isdigit() else None
        etag = response.headers.get("ETag")
        if offset == 0:
            self._size, self._etag = length, etag
            return
        if self._etag and etag and etag != self._etag:
            raise RemoteReadError(f"{self.url} changed while it was read (ETag {self._etag} -> {etag})")
        if response.status == 206:
            start, total = _content_range(response.headers.get("Content-Range"))
            if start != offset:
                raise RemoteReadError(f"{self.url}: asked to resume at byte {offset:,}, "
                                      f"got {response.headers.get('Content-Range')!r}")
            if total is not None and self._size is not None and total != self._size:
                raise RemoteReadError(f"{self.url} changed while it was read ({self._size:,} -> {total:,} bytes)")
            if self._size is None:
                self._size = total if total is not None else (offset + length if length is not None else None)
        else:
            # The server ignored Range and sent the whole file again: skip what was already read.
            if length is not None and self._size is not None and length != self._size:
                raise RemoteReadError(f"{self.url} changed while it was read ({self._size:,} -> {length:,} bytes)")
            _discard(response, offset)
        self._on_event(READ_RESUMES)

    def _drop_response(self) -> None:
        if self._response is not None:
            try:
                self._response.close()
            except OSError:  # closing a broken connection may fail too; it is gone either way
                pass
            self._response = None


def _content_range(value: str | None) -> tuple[int | None, int | None]:
    """(first byte, total or None) of `bytes first-last/total`; (None, None) if malformed."""
    try:
        unit, _, spec = (value or "").strip().partition(" ")
        span, _, total = spec.partition("/")
        if unit != "bytes":
            return None, None
        return int(span.split("-", 1)[0]), (None if total == "*" else int(total))
    except ValueError:
        return None, None


def _unsatisfied_total(value: str | None) -> int | None:
    """The length in a 416's `bytes */total`, or None."""
    unit, _, spec = (value or "").strip().partition(" ")
    total = spec.partition("/")[2] if unit == "bytes" and spec.startswith("*/") else ""
    return int(total) if total.isdigit() else None


def _discard(response: http.client.HTTPResponse, count: int) -> None:
    """Read and drop the first `count` bytes of a response."""
    buffer = bytearray(min(count, 1 << 20))
    while count:
        n = response.readinto(memoryview(buffer)[: min(count, len(buffer))])
        if not n:
            raise _Transient("transfer ended before the byte to resume at")
        count -= n
