"""Name resolution for the fetcher: asynchronous, cached, bounded and counted.

A web-scale URL list has tens of thousands of hosts, so most requests start with a name not yet
resolved. aiohttp's default resolver runs getaddrinfo in the loop's small thread pool, which
caps lookups per second; c-ares (aiodns, aiohttp's `AsyncResolver`) keeps any number in
flight on the event loop itself. Around it, `CachingResolver`:

- answers a name from its cache for --dns-cache-ttl seconds, and a name that does not exist
  (NXDOMAIN, no address) for --dns-negative-ttl, without asking again;
- shares one lookup between all requests that want the same name at once;
- keeps at most --dns-concurrency lookups in flight, each limited to --dns-timeout;
- raises `LookupFailure` saying whether a failure is permanent (retrying cannot help) or
  transient (SERVFAIL, timeout: worth a later pass), and remembers a transient one only
  briefly (`transient_ttl`, the fetcher's first retry delay), so a retry asks again;
- counts lookups, hits, failures, lookup time and lookups in flight in a FetchStats;
- asks for A records alone where the machine has no IPv6 route (`can_reach_ipv6`).

The address policy is not applied here: `SafeResolver` (pipeline/safety.py) wraps this one and
filters every answer, cached or not.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import socket
import time
from collections import OrderedDict
from dataclasses import dataclass

import aiohttp
from aiohttp.abc import AbstractResolver

from wit.pipeline.fetch_stats import FetchStats

log = logging.getLogger(__name__)

# c-ares' own tries per lookup, the first given a third of --dns-timeout (c-ares lengthens later
# tries, and shortens them for a server that answers fast); our own limit bounds the whole lookup.
CARES_TRIES = 3
CARES_FIRST_TRY_SHARE = 1 / 3
MAX_CACHED_NAMES = 200_000  # entries, answers and failures together; the oldest go first

# c-ares error codes (ares.h) and what they mean for a retry.
_CARES_KINDS = {1: "no_address", 3: "servfail", 4: "nxdomain", 6: "refused", 7: "bad_name", 11: "refused", 12: "timeout"}
_PERMANENT_KINDS = frozenset({"nxdomain", "no_address", "bad_name"})


class LookupFailure(OSError):
    """A name could not be resolved. `kind`: nxdomain, no_address, bad_name (permanent);
    servfail, timeout, refused, error (transient)."""

    def __init__(self, host: str, kind: str, detail: str = "") -> None:
        self.host, self.kind, self.detail = host, kind, detail
        # "DNS nxdomain: host": the shard stats group error messages by what precedes the colon.
        super().__init__(f"DNS {kind.replace('_', ' ')}: {host}" + (f" ({detail})" if detail else ""))

    @property
    def permanent(self) -> bool:
        return self.kind in _PERMANENT_KINDS

    def again(self) -> LookupFailure:
        """A fresh copy to raise in another task (one exception object per traceback)."""
        return LookupFailure(self.host, self.kind, self.detail)


def failure_kind(exc: BaseException) -> str:
    """The kind of a resolver's error: c-ares' code (aiohttp keeps aiodns' DNSError as the
    cause), or getaddrinfo's for the threaded resolver."""
    for error in (exc, exc.__cause__, exc.__context__):
        if error is None:
            continue
        args = getattr(error, "args", ())
        if type(error).__name__ == "DNSError" and args and isinstance(args[0], int):
            return _CARES_KINDS.get(args[0], "error")
        if isinstance(error, socket.gaierror):
            if error.errno == socket.EAI_NONAME or error.errno == getattr(socket, "EAI_NODATA", None):
                return "nxdomain"
            return "timeout" if error.errno == socket.EAI_AGAIN else "error"
    return "error"


@functools.cache
def can_reach_ipv6() -> bool:
    """Whether this machine has a route to the IPv6 internet. Connecting a UDP socket only picks
    the route; it sends nothing. Without one, an AAAA answer could not be used, so lookups ask
    for A records alone (as getaddrinfo's AI_ADDRCONFIG does): half the queries."""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as probe:
            probe.connect(("2001:db8::1", 9))  # a documentation address: any default route reaches it
    except OSError:
        return False
    return True


@dataclass
class _Entry:
    expires: float
    answers: list | None = None
    failure: LookupFailure | None = None


class CachingResolver(AbstractResolver):
    """Caches, shares, bounds and counts the lookups of an inner aiohttp resolver."""

    def __init__(self, inner: AbstractResolver, stats: FetchStats, *, max_in_flight: int = 256, timeout: float = 3.0,
                 ttl: float = 300.0, negative_ttl: float = 300.0, transient_ttl: float = 1.0,
                 max_entries: int = MAX_CACHED_NAMES, clock=time.monotonic, ipv6: bool | None = None) -> None:
        """ipv6: whether to ask for IPv6 addresses too when any family will do (default: where
        `can_reach_ipv6()`)."""
        self.inner = inner
        self.ipv6 = can_reach_ipv6() if ipv6 is None else ipv6
        self.stats = stats
        self.timeout = timeout
        self.ttl, self.negative_ttl, self.transient_ttl = ttl, negative_ttl, transient_ttl
        self.max_entries = max_entries
        self.clock = clock
        self._slots = asyncio.Semaphore(max_in_flight)
        self._in_flight = 0
        self._cache: OrderedDict[tuple[str, int], _Entry] = OrderedDict()
        self._pending: dict[tuple[str, int], asyncio.Future] = {}

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET):  # type: ignore[override]
        if family == socket.AF_UNSPEC and not self.ipv6:
            family = socket.AF_INET
        key = (host.lower(), int(family))
        entry = self._cache.get(key)
        if entry is not None and entry.expires > self.clock():
            if entry.failure is not None:
                self.stats.add("dns_negative_hits")
                raise entry.failure.again()
            self.stats.add("dns_cache_hits")
            return _with_port(entry.answers, port)
        pending = self._pending.get(key)
        if pending is None:
            pending = self._pending[key] = asyncio.ensure_future(self._lookup(host, key))
            pending.add_done_callback(lambda _f: self._pending.pop(key, None))
        else:
            self.stats.add("dns_shared")
        # Shielded: one caller giving up (its request timed out) must not cancel the others' lookup.
        entry = await asyncio.shield(pending)
        if entry.failure is not None:
            raise entry.failure.again()
        return _with_port(entry.answers, port)

    async def _lookup(self, host: str, key: tuple[str, int]) -> _Entry:
        waited = self.clock()
        async with self._slots:
            started = self.clock()
            self._in_flight += 1
            self.stats.add("dns_slot_wait_s", started - waited)
            self.stats.peak("dns_in_flight_max", self._in_flight)
            try:
                async with asyncio.timeout(self.timeout):
                    answers = await self.inner.resolve(host, 0, key[1])
                entry = _Entry(self.clock() + self.ttl, answers=list(answers)) if answers else None
                failure = None if entry else LookupFailure(host, "no_address")
            except TimeoutError:
                failure = LookupFailure(host, "timeout", f"no answer within {self.timeout:g} s")
            except Exception as exc:  # noqa: BLE001 - any resolver error is this name's failure, not the run's
                kind = failure_kind(exc)
                failure = LookupFailure(host, kind, "" if kind != "error" else (str(exc) or type(exc).__name__))
            finally:
                self._in_flight -= 1
                elapsed = self.clock() - started
                self.stats.add("dns_lookups")
                self.stats.add("dns_lookup_s", elapsed)
                self.stats.peak("dns_lookup_s_max", elapsed)
        if failure is not None:
            self.stats.add("dns_failures")
            self.stats.add(f"dns_{failure.kind}")
            entry = _Entry(self.clock() + (self.negative_ttl if failure.permanent else self.transient_ttl), failure=failure)
        self._remember(key, entry)
        return entry

    def _remember(self, key: tuple[str, int], entry: _Entry) -> None:
        if entry.expires <= self.clock():
            return  # a TTL of 0: no caching
        self._cache[key] = entry
        self._cache.move_to_end(key)
        while len(self._cache) > self.max_entries:
            self._cache.popitem(last=False)

    async def close(self) -> None:
        for pending in list(self._pending.values()):
            pending.cancel()
        await self.inner.close()


def _with_port(answers: list, port: int) -> list:
    """Cached answers serve every port (80 and 443 of one name): each copy carries the asked one."""
    return [{**answer, "port": port} for answer in answers]


def base_resolver(kind: str = "async", servers: tuple[str, ...] = (), timeout: float = 3.0) -> AbstractResolver:
    """c-ares through aiodns, asking `servers` (default: /etc/resolv.conf's); the threaded
    getaddrinfo resolver when asked for, or when aiodns cannot be imported (logged)."""
    if kind == "threaded":
        if servers:
            log.warning("--dns-server is ignored by the threaded resolver: getaddrinfo asks the system's servers")
        return aiohttp.ThreadedResolver()
    try:
        import aiodns  # noqa: F401 - only whether it imports
    except ImportError as exc:
        log.warning("aiodns cannot be imported (%s): names are resolved by getaddrinfo in threads, "
                    "which caps lookups per second", exc)
        return aiohttp.ThreadedResolver()
    from aiohttp.resolver import AsyncResolver

    options: dict = {"timeout": timeout * CARES_FIRST_TRY_SHARE, "tries": CARES_TRIES}
    if servers:
        options["nameservers"] = list(servers)
    return AsyncResolver(**options)
