"""Download images: many requests in flight, politely and safely.

One `Fetcher` per event loop (one per shard being processed) holds one aiohttp session:
connection reuse, a DNS cache, a global and a per-host concurrency limit, connect/read/total
timeouts. `Fetcher.fetch(url)` never raises: it returns a `Download` whose `status` is one of
wit.shards.writer.STATUSES with a one-line `error`, so every attempted sample is counted.

Redirects are followed by hand (aiohttp's automatic redirects would skip our checks), so every
hop is checked against the address policy (pipeline/safety.py), robots.txt when asked, and
counted against --max-redirects. Names are resolved by pipeline/resolver.py (c-ares, cached,
bounded) under the same policy.

Retries: only transient failures (connection errors and resets, truncated bodies, HTTP 429 and
5xx gateway errors, DNS SERVFAIL and timeouts) are retried, each in a later pass: the URL gives
its download slot back and waits (exponential backoff, or the Retry-After it was given, up to
--max-retry-after), so other URLs go ahead meanwhile. A host that answers 429 or 503 is paused as
a whole: its other URLs wait too, instead of adding to its load; and from then on it gets fewer
requests at once (`HostTurns`: half as many per refusal, one more per round of successes), its
URLs waiting for a turn without holding a download slot. Permanent failures (404,
NXDOMAIN, ...) and timeouts are not retried: a server that stalled once usually stalls again,
and each retry would cost the full timeout. Every attempt has a hard deadline (--timeout: DNS,
every redirect hop and the whole body, however slowly it trickles in), and every URL one
(--url-deadline) from its first request to its final status, so a run always ends.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import math
import os
import random
import socket
import time
import urllib.robotparser
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.helpers import is_ip_address
from yarl import URL
from wit.pipeline.fetch_config import (  # noqa: F401 - re-exported: the stage's public interface
    DEFAULT_DISALLOWED_DIRECTIVES,
    USER_AGENT_TOKEN,
    FetchConfig,
    add_fetch_arguments,
)
from wit.pipeline.fetch_stats import FetchStats
from wit.pipeline.images import ImageRejected, StoredImage, process_image
from wit.pipeline.resolver import CachingResolver, LookupFailure, base_resolver
from wit.pipeline.safety import SafeResolver, check_host, find_refusal

from wit.core.http_headers import parse_retry_after

log = logging.getLogger(__name__)

# Connection-level settings only; the options themselves live in pipeline/fetch_config.py
# (argparse-light, so `wit --help` does not import aiohttp).
TRANSIENT_HTTP_STATUSES = frozenset({429, 500, 502, 503, 504})
RATE_LIMIT_STATUSES = frozenset({429, 503})  # the host asks to be left alone for a while: pause it
# URLs waiting for a retry or a paused host give their download slot back, up to this many per
# slot; beyond that they wait holding it, which bounds the tasks alive (a list of one host that
# answers 429 to everything would otherwise park the whole list).
PARKED_PER_SLOT = 4
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
    reason: str = ""  # the failure's class in the run's stats (http_404, dns_nxdomain, timeout, ...)
    retry_after: float | None = None  # seconds the response's Retry-After asked for


class HostBackoff:
    """Hosts that asked us to slow down (429/503, Retry-After), and when each may be asked again.

    A host's pause is its Retry-After, else the backoff doubled for each pause in a row, at most
    `cap`; a success ends the row. Responses to requests sent before a pause began do not
    lengthen it, except by an explicit Retry-After.
    """

    def __init__(self, base: float, cap: float, clock=time.monotonic) -> None:
        self.base, self.cap, self.clock = base, cap, clock
        self._resume: dict[str, float] = {}
        self._strikes: dict[str, int] = {}

    def wait_s(self, host: str) -> float:
        resume = self._resume.get(host)
        if resume is None:
            return 0.0
        left = resume - self.clock()
        if left <= 0:
            del self._resume[host]
            return 0.0
        return left

    def slow_down(self, host: str, retry_after: float | None) -> bool:
        """Pause `host`; True when a new pause began (not one already running)."""
        now = self.clock()
        if self._resume.get(host, 0.0) > now:
            if retry_after is not None:
                self._resume[host] = max(self._resume[host], now + min(self.cap, retry_after))
            return False
        strikes = self._strikes[host] = self._strikes.get(host, 0) + 1
        backoff = self.base * 2 ** min(strikes - 1, 16)
        self._resume[host] = now + min(self.cap, retry_after if retry_after is not None else backoff)
        return True

    def recovered(self, host: str) -> None:
        self._strikes.pop(host, None)


class HostTurns:
    """How many requests each host that pushed back may have in flight at once.

    A host is unbounded here (the connector holds --per-host-limit) until it answers 429 or 503:
    from then on it gets at most half of what it had in flight then (at least 1), and one more
    after as many successes in a row as it is allowed (additive increase), until it is back at
    `ceiling` (--per-host-limit; 0: never freed). Without this, the URLs of a host that allows
    two requests at once and has dozens waiting all go again when its pause ends, and all but two
    are refused again, pause after pause, until their retries run out.
    """

    def __init__(self, ceiling: int) -> None:
        self.ceiling = ceiling
        self._allowed: dict[str, int] = {}
        self._successes: dict[str, int] = {}
        self._in_flight: collections.Counter = collections.Counter()
        self._waiting: dict[str, collections.deque[asyncio.Future]] = {}

    def allowed(self, host: str) -> int | None:
        """The host's bound, None while it has none."""
        return self._allowed.get(host)

    def try_take(self, host: str) -> bool:
        """Take a turn now if the host has one free and nobody waits for it."""
        if self._waiting.get(host) or self._full(host):
            return False
        self._in_flight[host] += 1
        return True

    async def take(self, host: str) -> None:
        """Wait for a turn (first come, first served)."""
        if self.try_take(host):
            return
        turn = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(host, collections.deque()).append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.give_back(host)  # handed a turn it will not use: on to the next
            else:
                self._hand_on(host)
            raise

    def give_back(self, host: str) -> None:
        self._in_flight[host] -= 1
        if self._in_flight[host] <= 0:
            del self._in_flight[host]
        self._hand_on(host)

    def pushed_back(self, host: str) -> None:
        """The host answered 429/503 to a request holding a turn: halve what it gets."""
        self._allowed[host] = max(1, min(self._allowed.get(host, self._in_flight[host]), self._in_flight[host]) // 2)
        self._successes[host] = 0

    def served(self, host: str) -> None:
        allowed = self._allowed.get(host)
        if allowed is None:
            return
        self._successes[host] += 1
        if self._successes[host] >= allowed:
            self._successes[host] = 0
            if self.ceiling and allowed + 1 >= self.ceiling:
                del self._allowed[host], self._successes[host]
            else:
                self._allowed[host] = allowed + 1
            self._hand_on(host)

    def _full(self, host: str) -> bool:
        allowed = self._allowed.get(host)
        return allowed is not None and self._in_flight[host] >= allowed

    def _hand_on(self, host: str) -> None:
        waiting = self._waiting.get(host)
        while waiting and not self._full(host):
            turn = waiting.popleft()
            if not turn.done():
                self._in_flight[host] += 1
                turn.set_result(None)
        if waiting is not None and not waiting:
            del self._waiting[host]


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

    def __init__(self, config: FetchConfig, archive=None, stats: FetchStats | None = None) -> None:
        """archive: a wit.pipeline.archive.ArchiveIndex to answer from instead of the web;
        stats: where to count requests, retries and lookups (`self.stats`, new if not given)."""
        self.config = config
        self.archive = archive
        self.policy = config.address_policy()
        self.stats = stats if stats is not None else FetchStats()
        self._robots: dict[str, asyncio.Task] = {}
        self._hosts = HostBackoff(config.retry_backoff, config.max_retry_after)
        self._turns = HostTurns(config.per_host_limit)
        self._parked = 0
        self._max_parked = PARKED_PER_SLOT * config.concurrency
        self.session: aiohttp.ClientSession | None = None
        self._resolver: SafeResolver | None = None

    async def __aenter__(self) -> Fetcher:
        if self.archive is None:
            config = self.config
            names = CachingResolver(
                base_resolver(config.resolver, config.dns_servers, config.dns_timeout), self.stats,
                max_in_flight=config.dns_concurrency, timeout=config.dns_timeout, ttl=config.dns_cache_ttl,
                negative_ttl=config.dns_negative_ttl, transient_ttl=config.retry_backoff,
            )
            # Every answer, cached or not, is filtered by the address policy.
            self._resolver = SafeResolver(self.policy, names)
            connector = aiohttp.TCPConnector(
                limit=self.config.concurrency,
                limit_per_host=self.config.per_host_limit,
                use_dns_cache=False,  # CachingResolver caches (answers and failures) and shares lookups
                resolver=self._resolver,
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
        if self._resolver is not None:
            # Not the connector's to close (it did not make it). Closing cancels c-ares queries
            # still out while the loop runs, so none answers into a closed loop.
            await self._resolver.close()

    async def fetch(self, url: str, slot: asyncio.Semaphore | None = None, looked_up: LookupFailure | None = None,
                    admission: asyncio.Semaphore | None = None) -> Download:
        """Every attempt at `url` until its final outcome (never raises).

        `slot`: the download slot the caller holds, if any. It is given back while the URL waits
        for a retry or for its paused host, and taken again before the next request; a retry
        looks its name up again before it takes the slot back (`resolve_ahead`).
        `looked_up`: the failure `resolve_ahead` met for this URL's name, if any: the first
        attempt ends with it at once, as the request would have.
        `admission`: the URL's place among those admitted (fetch_image's `admitted`), given back
        with the slot while the URL waits, so a new URL starts meanwhile.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.url_deadline
        host = _host_key(url)
        attempt = 0
        failed_lookup = looked_up
        while True:
            paused = self._hosts.wait_s(host)
            if paused > 0:
                if loop.time() + paused >= deadline:
                    message = f"host asked to be left alone {paused:.1f} s more, past --url-deadline"
                    return self._final(Download("failed_to_download", message, final_url=url, reason="host_paused", attempts=attempt))
                await self._wait(paused, slot, admission=admission)
                continue  # the pause may have been lengthened meanwhile
            if not await self._take_turn(host, slot, deadline, admission):
                message = "the host pushed back (429/503) and its turn did not come before --url-deadline"
                return self._final(Download("failed_to_download", message, final_url=url, reason="host_busy", attempts=attempt))
            if self._hosts.wait_s(host) > 0:  # paused while this URL waited for its turn
                self._turns.give_back(host)
                continue
            attempt += 1
            try:
                if failed_lookup is not None:  # found before the slot was taken: no request to make
                    self.stats.add("attempts")
                    download = _lookup_download(url, failed_lookup)
                    failed_lookup = None
                else:
                    download = await self._attempt(url, min(self.config.timeout, max(deadline - loop.time(), 0.001)))
                download.attempts = attempt
                answered_by = _host_key(download.final_url or url)
                if download.http_status in RATE_LIMIT_STATUSES or download.retry_after is not None:
                    if self._hosts.slow_down(answered_by, download.retry_after):
                        self.stats.add("host_pauses")
                    if answered_by == host:
                        self._turns.pushed_back(host)
                elif download.status == "success":
                    self._hosts.recovered(answered_by)
                    self._turns.served(host)
            finally:
                self._turns.give_back(host)
            if not download.transient:
                return self._final(download)
            if download.retry_after is not None and download.retry_after > self.config.max_retry_after:
                download.error += f" (Retry-After {download.retry_after:g} s, more than --max-retry-after {self.config.max_retry_after:g})"
                self.stats.add("retry_after_too_long")
                return self._final(download)
            if attempt > self.config.retries:
                self.stats.add("retries_exhausted")
                return self._final(download)
            backoff = self.config.retry_backoff * 2 ** (attempt - 1) * random.uniform(1.0, 1.25)
            delay = max(backoff, download.retry_after or 0.0, self._hosts.wait_s(answered_by))
            if loop.time() + delay >= deadline:
                self.stats.add("retries_past_deadline")
                return self._final(download)
            self.stats.add("retries")
            self.stats.add(f"retry.{download.reason or 'other'}")
            failed_lookup = await self._wait(delay, slot, url, admission)

    async def _attempt(self, url: str, limit: float) -> Download:
        """One attempt under a hard deadline: DNS, every hop and the whole body, however slow."""
        self.stats.add("attempts")
        try:
            async with asyncio.timeout(limit):
                return await self._fetch_once(url)
        except TimeoutError:
            return Download("failed_to_download", f"timeout (limit {limit:g} s)", final_url=url, reason="timeout")

    async def _take_turn(self, host: str, slot: asyncio.Semaphore | None, deadline: float,
                         admission: asyncio.Semaphore | None = None) -> bool:
        """A turn at `host` (HostTurns), waited for parked like a retry: False if the URL's
        deadline came first."""
        if self._turns.try_take(host):
            return True
        self.stats.add("host_turn_waits")
        # Once the turn came, the slot is taken back holding it: the host's next URL waits for this one.
        async with self._parked_slot(slot, admission):
            try:
                async with asyncio.timeout_at(deadline):
                    await self._turns.take(host)
            except TimeoutError:
                return False
        return True

    async def _wait(self, delay: float, slot: asyncio.Semaphore | None, url: str = "",
                    admission: asyncio.Semaphore | None = None) -> LookupFailure | None:
        """Sleep `delay`, giving the caller's download slot back meanwhile while few are parked;
        a parked `url` has its name looked up before it takes the slot back (the lookup's
        failure, if any, is returned)."""
        async with self._parked_slot(slot, admission) as parked:
            await asyncio.sleep(delay)
            return await self.resolve_ahead(url) if parked and url else None

    def can_park(self, slot: asyncio.Semaphore | None) -> bool:
        """Whether a URL waiting now would give its download slot back (`_parked_slot`)."""
        return slot is not None and self._parked < self._max_parked

    @contextlib.asynccontextmanager
    async def _parked_slot(self, slot: asyncio.Semaphore | None, admission: asyncio.Semaphore | None = None):
        """While the body waits, the caller's download slot (if any) goes back for other URLs,
        as long as fewer than PARKED_PER_SLOT x --concurrency URLs are parked, and so does its
        admission (if any): a parked URL is a sleeping task, and holding its admission kept new
        URLs from starting while retries waited out their Retry-After. Both are taken again,
        admission first as for a new URL, when the body ends (not when it is cancelled). Yields
        whether they were given back."""
        parked = self.can_park(slot)
        if parked:
            self._parked += 1
            self.stats.peak("parked_max", self._parked)
            slot.release()
            if admission is not None:
                admission.release()
        try:
            yield parked
        finally:
            if parked:
                self._parked -= 1
        if parked:
            if admission is not None:
                await admission.acquire()
            await slot.acquire()

    async def resolve_ahead(self, url: str) -> LookupFailure | None:
        """Look up `url`'s host name now, so that the request, once it has a download slot, finds
        the answer (or the failure) cached: a slow or silent name then waits without holding a
        slot. Bounded by --dns-concurrency and --dns-timeout like every lookup; returns the
        lookup's failure (transient ones are cached only briefly), None otherwise (an answer,
        an address literal, a URL the request itself will refuse, archive replay)."""
        if self._resolver is None:
            return None
        try:
            host = URL(url).raw_host or ""
        except (ValueError, TypeError):
            return None
        if not host or is_ip_address(host) or check_host(host, self.policy):
            return None
        names = self._resolver.inner  # the CachingResolver the connector asks through SafeResolver
        try:
            await names.resolve(host, 0, family=socket.AF_UNSPEC)
        except LookupFailure as failure:
            return failure
        except Exception:  # noqa: BLE001 - the request meets (and reports) whatever this was
            return None
        return None

    def _final(self, download: Download) -> Download:
        """Count the URL's final outcome by class, and return it."""
        if not download.reason:
            download.reason = download.status
        self.stats.add(f"outcome.{download.reason}")
        return download

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
        self.stats.add("requests")
        try:
            async with self.session.get(url, allow_redirects=False) as response:
                return await self._judge(
                    url,
                    response.status,
                    response.headers.get("Location"),
                    response.headers.getall("X-Robots-Tag", []) if opt_out_checks else [],
                    response.content_length,
                    response.content,
                    response.headers.get("Retry-After"),
                )
        except asyncio.TimeoutError:
            return Download("failed_to_download", f"timeout (limit {self.config.timeout:g} s)", final_url=url, reason="timeout")
        except aiohttp.ClientPayloadError:
            return Download("failed_to_download", "incomplete body: the connection closed early", final_url=url, transient=True, reason="truncated")
        except asyncio.IncompleteReadError as exc:
            message = f"connection closed after {len(exc.partial)} of {exc.expected} bytes"
            return Download("failed_to_download", message, final_url=url, transient=True, reason="truncated")
        except aiohttp.InvalidURL as exc:
            return Download("failed_to_download", f"invalid URL: {exc}", final_url=url)
        except (aiohttp.ClientError, OSError) as exc:
            refused = find_refusal(exc)
            if refused is not None:
                return Download("refused_address", str(refused), final_url=url)
            lookup = _find_cause(exc, LookupFailure)
            if lookup is not None:
                return _lookup_download(url, lookup)
            message = str(exc) or type(exc).__name__
            return Download("failed_to_download", f"connection error: {message}", final_url=url, transient=True,
                            reason="connection")
        except (UnicodeError, ValueError) as exc:
            return Download("failed_to_download", f"invalid URL: {exc}", final_url=url)

    async def _from_archive(self, url: str, opt_out_checks: bool) -> Download | tuple[int, str]:
        """Like _from_web, with the response read from the archive (file reads off the loop)."""
        assert self.archive is not None
        record = await asyncio.to_thread(self.archive.lookup, url)
        if record is None:
            return Download("not_in_archive", "URL not recorded in the archive", final_url=url)
        robots_tags = record.header_values("X-Robots-Tag") if opt_out_checks else []
        verdict = self._judge_headers(url, record.status, record.header("Location"), robots_tags, record.header("Retry-After"))
        if verdict is not None:
            return verdict
        if len(record.body) > self.config.max_size:
            message = f"response too large: {len(record.body)} bytes > {self.config.max_size}"
            return Download("failed_to_download", message, final_url=url)
        return Download("success", body=record.body, final_url=url)

    async def _judge(self, url, status, location, robots_tags, content_length, stream, retry_after=None) -> Download | tuple[int, str]:
        """Headers first (redirect, HTTP status, opt-out, size), then the body within --max-size."""
        verdict = self._judge_headers(url, status, location, robots_tags, retry_after)
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

    def _judge_headers(self, url, status, location, robots_tags, retry_after=None) -> Download | tuple[int, str] | None:
        """A final Download, (status, location) for a redirect, or None: go on and read the body."""
        if status in REDIRECT_STATUSES:
            if not location:
                return Download("failed_to_download", f"http {status} redirect without Location", final_url=url)
            return status, location
        if not 200 <= status < 300:
            transient = status in TRANSIENT_HTTP_STATUSES
            return Download("failed_to_download", f"http {status}", final_url=url, transient=transient, http_status=status,
                            reason=f"http_{status}", retry_after=parse_retry_after(retry_after) if transient else None)
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

def _lookup_download(url: str, failure: LookupFailure) -> Download:
    """What an attempt at `url` ends with when its name could not be resolved."""
    return Download("failed_to_download", str(failure), final_url=url, transient=not failure.permanent, reason=f"dns_{failure.kind}")


def _host_key(url: str) -> str:
    """Whom a pause applies to: the URL's host name and port."""
    try:
        return urlsplit(url).netloc.lower()
    except ValueError:
        return ""


def _find_cause(exc: BaseException, kind: type) -> BaseException | None:
    """The `kind` exception behind an aiohttp error (its os_error, cause or context), if any."""
    for _ in range(8):
        if exc is None or isinstance(exc, kind):
            return exc
        exc = getattr(exc, "os_error", None) or exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return None


def admission_limit(config: FetchConfig) -> int:
    """URLs admitted at once (fetch_image's `admitted`): the --concurrency downloads, and as
    many more looking their names up ahead, up to --dns-concurrency."""
    return config.concurrency + config.dns_concurrency


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
                      decoder, options, admitted: asyncio.Semaphore | None = None) -> tuple[str, str, StoredImage | None]:
    """One sample's outcome: (status, error message, the stored image when it succeeded).

    Downloads `url`, then decodes and resizes it on the `decoder` executor (Pillow releases the
    GIL there). The caller took a `downloading` slot, or, with `admitted`, a place among the
    URLs admitted (`admission_limit`): then the URL's name is looked up first and the slot
    taken after, so a slow or silent name holds no download slot. The slot is released as soon
    as the body is in (or the download failed), so the next request starts while this one
    waits for the decoder; `decoding` bounds the bytes of bodies waiting for it.
    """
    looked_up = None
    if admitted is not None:
        try:
            looked_up = await fetcher.resolve_ahead(url)
            await downloading.acquire()
        except BaseException:
            admitted.release()
            raise
    try:
        download = await fetcher.fetch(url, downloading, looked_up, admitted)
        if download.status == "success":
            await decoding.acquire(len(download.body))
    finally:
        downloading.release()
        if admitted is not None:
            admitted.release()
    if download.status != "success":
        return download.status, download.error, None
    try:
        image = await asyncio.get_running_loop().run_in_executor(decoder, process_image, download.body, options)
        return "success", "", image
    except ImageRejected as rejected:
        return rejected.status, str(rejected), None
    finally:
        await decoding.release(len(download.body))
