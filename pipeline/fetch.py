"""Download images: many requests in flight, politely and safely.

One `Fetcher` per event loop (one per shard being processed) holds one aiohttp session:
connection reuse, a DNS cache, a global and a per-host concurrency limit, connect/read/total
timeouts. `Fetcher.fetch(url)` never raises: it returns a `Download` whose `status` is one of
wit.shards.writer.STATUSES with a one-line `error`, so every attempted sample is counted.

Redirects are followed by hand (aiohttp's automatic redirects would skip our checks), so every
hop is checked against the address policy (pipeline/safety.py), robots.txt when asked, and
counted against --max-redirects. Only transient failures (connection errors, HTTP 429 and 5xx
gateway errors) are retried, with exponential backoff; a timeout is not retried, since a
server that stalled once usually stalls again and each retry would cost the full timeout.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import math
import os
import urllib.robotparser
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import aiohttp

from wit.pipeline.fetch_config import (  # noqa: F401 - re-exported: the stage's public interface
    DEFAULT_DISALLOWED_DIRECTIVES,
    USER_AGENT_TOKEN,
    FetchConfig,
    add_fetch_arguments,
)
from wit.pipeline.images import ImageRejected, StoredImage, process_image
from wit.pipeline.safety import SafeResolver, check_host, find_refusal

log = logging.getLogger(__name__)

# Connection-level settings only; the options themselves live in pipeline/fetch_config.py
# (argparse-light, so `wit --help` does not import aiohttp).
TRANSIENT_HTTP_STATUSES = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# aiohttp pauses reading a response whose unread bytes pass twice this (64 KiB by default), so
# a large photo would arrive in many pause/resume rounds; with 1 MiB most photos arrive in one.
READ_BUFFER_BYTES = 1 << 20


@dataclass
class Download:
    """Outcome of one URL: a body with status "success", or a status and a one-line error."""

    status: str
    error: str = ""
    body: bytes = b""
    final_url: str = ""
    transient: bool = False  # worth retrying: connection errors, HTTP 429 and 5xx gateway errors
    attempts: int = 1
    http_status: int = 0  # of a failed response, 0 when there was none


def disallowed_by_header(values: list[str], directives: tuple[str, ...], token: str = USER_AGENT_TOKEN) -> str | None:
    """The X-Robots-Tag directive that opts this response out for us, if any.

    A value is either "noai, noimageai" (everyone) or "botname: noai" (that bot only).
    """
    if not directives:
        return None
    for value in values:
        scope, sep, rest = value.partition(":")
        if sep and scope.strip() and " " not in scope.strip() and not scope.strip().lower().startswith(("unavailable_after", "max-")):
            if scope.strip().lower() not in (token, "*"):
                continue
            value = rest
        for directive in value.split(","):
            if directive.strip().lower() in directives:
                return directive.strip().lower()
    return None


def client_timeout(config: FetchConfig) -> aiohttp.ClientTimeout:
    """The session's timeouts. A read timeout not shorter than the total one could never fire
    first, so it is left unarmed: aiohttp would otherwise re-arm a timer on every received chunk.

    Timeouts fire when they say: aiohttp rounds any timeout of 5 s or more up to the next whole
    second of the loop's clock (`ceil_threshold`), so a 10 s timeout fired after 10.0-11.0 s, and
    the last stalled URL of a shard held it that much longer (~0.5 s of a 13 s benchmark run).
    """
    read = config.read_timeout if config.read_timeout < config.timeout else None
    return aiohttp.ClientTimeout(
        total=config.timeout, sock_connect=config.connect_timeout, sock_read=read, ceil_threshold=math.inf
    )


class Fetcher:
    """One aiohttp session for one event loop. Use as `async with Fetcher(config) as f:`."""

    def __init__(self, config: FetchConfig, archive=None) -> None:
        """archive: a wit.pipeline.archive.ArchiveIndex to answer from instead of the web."""
        self.config = config
        self.archive = archive
        self.policy = config.address_policy()
        self._robots: dict[str, asyncio.Task] = {}
        self.session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Fetcher:
        if self.archive is None:
            connector = aiohttp.TCPConnector(
                limit=self.config.concurrency,
                limit_per_host=self.config.per_host_limit,
                ttl_dns_cache=300,
                resolver=SafeResolver(self.policy),
                enable_cleanup_closed=True,
            )
            self.session = aiohttp.ClientSession(
                connector=connector,
                timeout=client_timeout(self.config),
                read_bufsize=READ_BUFFER_BYTES,
                headers={"User-Agent": self.config.user_agent, "Accept": "image/*,*/*;q=0.8"},
                cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=False,  # never route through a proxy named in the environment
            )
        return self

    async def __aexit__(self, *exc_info) -> None:
        for task in self._robots.values():
            task.cancel()
        if self.session is not None:
            await self.session.close()

    async def fetch(self, url: str) -> Download:
        attempt = 0
        while True:
            attempt += 1
            download = await self._fetch_once(url)
            download.attempts = attempt
            if not download.transient or attempt > self.config.retries:
                return download
            await asyncio.sleep(self.config.retry_backoff * 2 ** (attempt - 1))

    async def _fetch_once(self, url: str, opt_out_checks: bool = True) -> Download:
        """One attempt, redirects included. robots.txt itself is fetched with opt_out_checks off."""
        current = url
        for _hop in range(self.config.max_redirects + 1):
            try:
                parts = urlsplit(current)
                host = parts.hostname or ""
            except ValueError as exc:
                return Download("failed_to_download", f"invalid URL: {exc}", final_url=current)
            scheme = parts.scheme.lower()
            if scheme not in ("http", "https"):
                return Download("failed_to_download", f"unsupported URL scheme {scheme or '(none)'!r}", final_url=current)
            refusal = check_host(host, self.policy)
            if refusal:
                return Download("refused_address", refusal, final_url=current)
            if opt_out_checks and self.config.respect_robots and not await self._robots_allow(current):
                return Download("opted_out", "robots.txt disallows this URL", final_url=current)
            if self.archive is not None:
                answer = await self._from_archive(current, opt_out_checks)
            else:
                answer = await self._from_web(current, opt_out_checks)
            if isinstance(answer, Download):
                return answer
            _status, location = answer
            current = urljoin(current, location)
        return Download("failed_to_download", f"too many redirects (more than {self.config.max_redirects})", final_url=current)

    async def _from_web(self, url: str, opt_out_checks: bool) -> Download | tuple[int, str]:
        """A final Download, or (status, location) when the response is a redirect to follow."""
        assert self.session is not None
        try:
            async with self.session.get(url, allow_redirects=False) as response:
                return await self._judge(
                    url,
                    response.status,
                    response.headers.get("Location"),
                    response.headers.getall("X-Robots-Tag", []) if opt_out_checks else [],
                    response.content_length,
                    response.content,
                )
        except asyncio.TimeoutError:
            return Download("failed_to_download", f"timeout (limit {self.config.timeout:g} s)", final_url=url)
        except aiohttp.ClientPayloadError:
            return Download("failed_to_download", "incomplete body: the connection closed early", final_url=url, transient=True)
        except asyncio.IncompleteReadError as exc:
            message = f"connection closed after {len(exc.partial)} of {exc.expected} bytes"
            return Download("failed_to_download", message, final_url=url, transient=True)
        except aiohttp.InvalidURL as exc:
            return Download("failed_to_download", f"invalid URL: {exc}", final_url=url)
        except aiohttp.ClientConnectorError as exc:
            refused = find_refusal(exc)
            if refused is not None:
                return Download("refused_address", str(refused), final_url=url)
            return Download("failed_to_download", f"connection error: {exc}", final_url=url, transient=True)
        except (aiohttp.ClientError, OSError) as exc:
            refused = find_refusal(exc)
            if refused is not None:
                return Download("refused_address", str(refused), final_url=url)
            message = str(exc) or type(exc).__name__
            return Download("failed_to_download", f"connection error: {message}", final_url=url, transient=True)
        except (UnicodeError, ValueError) as exc:
            return Download("failed_to_download", f"invalid URL: {exc}", final_url=url)

    async def _from_archive(self, url: str, opt_out_checks: bool) -> Download | tuple[int, str]:
        """Like _from_web, with the response read from the archive (file reads off the loop)."""
        assert self.archive is not None
        record = await asyncio.to_thread(self.archive.lookup, url)
        if record is None:
            return Download("not_in_archive", "URL not recorded in the archive", final_url=url)
        robots_tags = record.header_values("X-Robots-Tag") if opt_out_checks else []
        verdict = self._judge_headers(url, record.status, record.header("Location"), robots_tags)
        if verdict is not None:
            return verdict
        if len(record.body) > self.config.max_size:
            message = f"response too large: {len(record.body)} bytes > {self.config.max_size}"
            return Download("failed_to_download", message, final_url=url)
        return Download("success", body=record.body, final_url=url)

    async def _judge(self, url, status, location, robots_tags, content_length, stream) -> Download | tuple[int, str]:
        """Headers first (redirect, HTTP status, opt-out, size), then the body within --max-size."""
        verdict = self._judge_headers(url, status, location, robots_tags)
        if verdict is not None:
            return verdict
        limit = self.config.max_size
        if content_length is not None and content_length > limit:
            return Download("failed_to_download", f"response too large: {content_length} bytes > {limit}", final_url=url)
        if content_length is not None:
            # The usual case: the length is known and allowed, so read it in one call.
            return Download("success", body=await stream.readexactly(content_length), final_url=url)
        chunks, size = [], 0
        async for chunk in stream.iter_chunked(1 << 16):
            size += len(chunk)
            if size > limit:
                return Download("failed_to_download", f"response too large: over {limit} bytes", final_url=url)
            chunks.append(chunk)
        return Download("success", body=b"".join(chunks), final_url=url)

    def _judge_headers(self, url, status, location, robots_tags) -> Download | tuple[int, str] | None:
        """A final Download, (status, location) for a redirect, or None: go on and read the body."""
        if status in REDIRECT_STATUSES:
            if not location:
                return Download("failed_to_download", f"http {status} redirect without Location", final_url=url)
            return status, location
        if not 200 <= status < 300:
            transient = status in TRANSIENT_HTTP_STATUSES
            return Download("failed_to_download", f"http {status}", final_url=url, transient=transient, http_status=status)
        directive = disallowed_by_header(robots_tags, self.config.disallowed_directives)
        if directive:
            return Download("opted_out", f"X-Robots-Tag: {directive}", final_url=url)
        return None

    async def _robots_allow(self, url: str) -> bool:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self._robots:
            self._robots[origin] = asyncio.ensure_future(self._load_robots(origin))
        parser = await asyncio.shield(self._robots[origin])
        return parser.can_fetch(USER_AGENT_TOKEN, url)

    async def _load_robots(self, origin: str) -> urllib.robotparser.RobotFileParser:
        """Per RFC 9309: 4xx means no rules; 5xx or unreachable means disallow everything."""
        parser = urllib.robotparser.RobotFileParser()
        if self.archive is not None:
            record = self.archive.lookup(f"{origin}/robots.txt")
            if record is None or 400 <= record.status < 500:
                parser.parse([])
            elif record.status == 200:
                parser.parse(record.body.decode("utf-8", "replace").splitlines())
            else:
                parser.disallow_all = True
            return parser
        download = await self._fetch_once(f"{origin}/robots.txt", opt_out_checks=False)
        if download.status == "success":
            parser.parse(download.body.decode("utf-8", "replace").splitlines())
        elif 400 <= download.http_status < 500:
            parser.parse([])
        else:
            parser.disallow_all = True
        return parser

def default_decode_threads(config: FetchConfig) -> int:
    return config.decode_threads or max(1, os.cpu_count() or 1)


class ByteBudget:
    """An asyncio budget of bytes: acquire(n) waits until n more bytes fit under the limit.

    A body larger than the whole budget still goes through once nothing else is held, so no
    single image can wait forever. Waiters are served first come, first served, and a release
    wakes only the waiters it lets through: the budget is full for most of a CPU-bound run
    (downloads outpace decoding), with up to --concurrency downloads waiting on it, and waking
    all of them on every release (as an asyncio.Condition's notify_all does) cost the event
    loop a third of its CPU per request in a pool worker (benchmarks/profile_fetch.py
    --decode-buffer-mib 128: 1.02-1.04 -> 0.68-0.69 ms), under the GIL the decode threads need.
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._used = 0
        self._waiting: collections.deque[tuple[int, asyncio.Future]] = collections.deque()

    def _fits(self, n: int) -> bool:
        return self._used == 0 or self._used + n <= self._limit

    async def acquire(self, n: int) -> None:
        if not self._waiting and self._fits(n):
            self._used += n
            return
        granted = asyncio.get_running_loop().create_future()
        self._waiting.append((n, granted))
        try:
            await granted
        except asyncio.CancelledError:
            # Granted, then cancelled before it ran: give the bytes back. Cancelled while
            # waiting: the waiters behind it may fit now.
            self._give_back(0 if granted.cancelled() else n)
            raise

    async def release(self, n: int) -> None:
        self._give_back(n)

    def _give_back(self, n: int) -> None:
        self._used -= n
        while self._waiting:
            wanted, granted = self._waiting[0]
            if granted.done():  # its waiter was cancelled
                self._waiting.popleft()
                continue
            if not self._fits(wanted):
                break
            self._waiting.popleft()
            self._used += wanted
            granted.set_result(None)


async def fetch_image(fetcher: Fetcher, url: str, downloading: asyncio.Semaphore, decoding: ByteBudget,
                      decoder, options) -> tuple[str, str, StoredImage | None]:
    """One sample's outcome: (status, error message, the stored image when it succeeded).

    Downloads `url`, then decodes and resizes it on the `decoder` executor (Pillow releases the
    GIL there). The caller took a `downloading` slot; it is released as soon as the body is in
    (or the download failed), so the next request starts while this one waits for the decoder;
    `decoding` bounds the bytes of bodies waiting for it.
    """
    try:
        download = await fetcher.fetch(url)
        if download.status == "success":
            await decoding.acquire(len(download.body))
    finally:
        downloading.release()
    if download.status != "success":
        return download.status, download.error, None
    try:
        image = await asyncio.get_running_loop().run_in_executor(decoder, process_image, download.body, options)
        return "success", "", image
    except ImageRejected as rejected:
        return rejected.status, str(rejected), None
    finally:
        await decoding.release(len(download.body))
