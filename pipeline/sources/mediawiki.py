"""A polite asyncio client for the MediaWiki Action API (api.php).

Politeness is part of correctness here: Wikimedia blocks clients that hammer api.php, so every
request of a worker process goes through one client that

* sends a User-Agent naming the tool and a contact (Wikimedia's User-Agent policy);
* sends `maxlag` so the servers can shed bot load while replicas lag;
* takes a token from a process-wide token bucket before each request (requests per second);
* holds at most `concurrency` requests in flight per host;
* retries 429, 5xx, timeouts, connection errors, `maxlag` and `ratelimited` API errors with
  exponential backoff, waiting at least as long as the server's Retry-After says, and makes the
  whole client wait (not only the one request) when the server asks it to back off;
* never raises for a bad response: `get` always returns an ApiResult, either with the decoded
  JSON object or with a failure reason, after a bounded number of attempts each bounded by a
  timeout. Nothing here can hang or crash the worker.

The client knows HTTP and the API's error protocol; what a search response means is
pipeline/sources/commons/'s business.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from wit.core.http_headers import parse_retry_after

log = logging.getLogger(__name__)

# HTTP statuses worth another attempt: throttling and server-side trouble.
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# API error codes (HTTP 200 with {"error": {...}}) that mean "later", not "never".
RETRYABLE_API_ERRORS = frozenset({"maxlag", "ratelimited", "readonly", "internal_api_error_DBQueryTimeoutError"})
# What MediaWiki suggests waiting after a maxlag error when no Retry-After header comes with it.
DEFAULT_MAXLAG_WAIT_S = 5.0


@dataclass(frozen=True)
class ClientSettings:
    """How hard one worker process may press on one API endpoint."""

    user_agent: str
    requests_per_second: float = 1.0
    burst: int = 1  # tokens the bucket holds: 1 = evenly spaced requests, never a burst
    concurrency_per_host: int = 2
    timeout_s: float = 30.0  # whole request, connect to last byte
    max_attempts: int = 5  # first try + retries
    backoff_base_s: float = 1.0  # first retry waits ~this, doubling each time (with jitter)
    backoff_max_s: float = 60.0
    max_retry_after_s: float = 300.0  # a server asking for a longer pause fails the request instead
    maxlag_s: int | None = 5

    def __post_init__(self) -> None:
        if self.requests_per_second <= 0:
            raise ValueError("requests_per_second must be > 0")
        if self.burst < 1 or self.concurrency_per_host < 1 or self.max_attempts < 1:
            raise ValueError("burst, concurrency_per_host and max_attempts must be >= 1")
        if self.timeout_s <= 0:
            raise ValueError("timeout_s must be > 0")


class TokenBucket:
    """Requests-per-second limit shared by every thread and event loop of a process.

    Reservation style: `reserve()` takes a token now (the balance may go negative) and returns
    how long the caller must sleep before using it, so callers in different event loops or
    threads can share one bucket with nothing but a lock. `defer(seconds)` empties the bucket
    until then: used when the server says Retry-After, so that every request waits, not just
    the one that was refused.
    """

    def __init__(self, rate: float, capacity: int = 1, clock=time.monotonic) -> None:
        self.rate = float(rate)
        self.capacity = float(capacity)
        self._clock = clock
        self._tokens = float(capacity)
        self._updated = clock()
        self._lock = threading.Lock()

    def reserve(self) -> float:
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            self._tokens -= 1.0
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def defer(self, seconds: float) -> None:
        """No token becomes available for `seconds` from now (unless already further away)."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            self._tokens = min(self._tokens, -seconds * self.rate)

    async def acquire(self) -> None:
        wait = self.reserve()
        if wait > 0:
            await asyncio.sleep(wait)


@dataclass
class ApiResult:
    """Outcome of one logical API call (after retries)."""

    data: dict | None = None  # the decoded JSON object when ok
    failure: str = ""  # reason when not ok: http_503, timeout, maxlag, malformed_response, api_<code> ...
    attempts: int = 0
    events: Counter = field(default_factory=Counter)  # requests, retries, malformed, maxlag, http_429 ...

    @property
    def ok(self) -> bool:
        return self.data is not None


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with jitter for retry number `attempt` (1 = first retry)."""
    ceiling = min(cap, base * (2 ** (attempt - 1)))
    return ceiling / 2 + rng.random() * ceiling / 2


def classify_body(status: int, body: bytes) -> tuple[dict | None, str, float | None]:
    """Decode one HTTP response body of api.php.

    Returns (data, problem, api_wait): data is the JSON object when the call succeeded; problem
    is "" on success, else a reason; api_wait is a server-suggested wait for API-level errors
    (the maxlag `lag`). Never raises.
    """
    if status != 200:
        return None, f"http_{status}", None
    if not body or not body.strip():
        return None, "empty_response", None
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None, "malformed_response", None
    if not isinstance(data, dict):
        return None, "malformed_response", None
    error = data.get("error")
    if error is not None:
        code = str(error.get("code", "unknown")) if isinstance(error, dict) else "unknown"
        lag = error.get("lag") if isinstance(error, dict) else None
        wait = float(lag) if isinstance(lag, (int, float)) and not isinstance(lag, bool) else None
        return None, "maxlag" if code == "maxlag" else f"api_{code}", wait
    return data, "", None


def _is_retryable(problem: str) -> bool:
    if problem in ("timeout", "connection", "empty_response", "malformed_response", "maxlag"):
        # Empty and malformed bodies at HTTP 200 come from proxies and truncated transfers far
        # more often than from the API itself: worth another try, bounded like the rest.
        return True
    if problem.startswith("http_"):
        return int(problem[5:]) in RETRYABLE_STATUSES
    if problem.startswith("api_"):
        return problem[4:] in RETRYABLE_API_ERRORS
    return False


class MediaWikiClient:
    """Sends GET requests to one api.php endpoint, politely. Use within one event loop.

    `bucket` may be shared between clients (in different loops or threads) to enforce one
    request rate per worker process.
    """

    def __init__(self, endpoint: str, settings: ClientSettings, bucket: TokenBucket | None = None, seed: int = 0):
        self.endpoint = endpoint
        self.settings = settings
        self.bucket = bucket or TokenBucket(settings.requests_per_second, settings.burst)
        self._host = urlsplit(endpoint).netloc
        self._host_slots = asyncio.Semaphore(settings.concurrency_per_host)
        self._rng = random.Random(seed)
        self._session = None

    async def __aenter__(self) -> "MediaWikiClient":
        import aiohttp

        self._session = aiohttp.ClientSession(
            headers={"User-Agent": self.settings.user_agent, "Accept-Encoding": "gzip"},
            timeout=aiohttp.ClientTimeout(total=self.settings.timeout_s),
            connector=aiohttp.TCPConnector(limit_per_host=self.settings.concurrency_per_host),
        )
        return self

    async def __aexit__(self, *exc_info) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def request_params(self, params: dict) -> dict:
        """The params as sent: JSON format v2 and maxlag always added, values as strings."""
        sent = {key: str(value) for key, value in params.items() if value is not None}
        sent.setdefault("format", "json")
        sent.setdefault("formatversion", "2")
        if self.settings.maxlag_s is not None:
            sent.setdefault("maxlag", str(self.settings.maxlag_s))
        return sent

    async def get(self, params: dict) -> ApiResult:
        """One API call with retries. Always returns; `result.failure` says why when not ok."""
        import aiohttp

        if self._session is None:
            raise RuntimeError("MediaWikiClient must be used as 'async with' context")
        sent = self.request_params(params)
        result = ApiResult()
        problem = ""
        for attempt in range(1, self.settings.max_attempts + 1):
            result.attempts = attempt
            if attempt > 1:
                result.events["retries"] += 1
            server_wait: float | None = None
            async with self._host_slots:
                # Token after the slot: a request waiting for a slot must not bank a token and
                # then go out in a burst with the others when slots free up.
                await self.bucket.acquire()
                result.events["requests"] += 1
                try:
                    async with self._session.get(self.endpoint, params=sent) as response:
                        body = await response.read()
                        retry_after = parse_retry_after(response.headers.get("Retry-After"))
                        data, problem, api_wait = classify_body(response.status, body)
                except asyncio.TimeoutError:
                    data, problem, retry_after, api_wait = None, "timeout", None, None
                except (aiohttp.ClientError, OSError) as exc:
                    log.debug("request to %s failed: %r", self._host, exc)
                    data, problem, retry_after, api_wait = None, "connection", None, None
            if data is not None:
                result.data = data
                return result
            result.events[problem] += 1
            if not _is_retryable(problem) or attempt == self.settings.max_attempts:
                break
            if problem == "maxlag":
                server_wait = retry_after if retry_after is not None else max(DEFAULT_MAXLAG_WAIT_S, api_wait or 0.0)
            else:
                server_wait = retry_after
            if server_wait is not None and server_wait > self.settings.max_retry_after_s:
                problem = "retry_after_too_long"
                result.events[problem] += 1
                break
            delay = backoff_delay(attempt, self.settings.backoff_base_s, self.settings.backoff_max_s, self._rng)
            if server_wait is not None:
                # The server asked everyone to hold off: stop the whole bucket, not just us.
                self.bucket.defer(server_wait)
                delay = max(delay, server_wait)
            await asyncio.sleep(delay)
        result.failure = problem
        return result


def user_agent(contact: str, tool: str = "wit") -> str:
    """A User-Agent in the form Wikimedia's policy asks for: name/version (contact) library/version."""
    import aiohttp

    from wit import __version__

    contact = " ".join(contact.split())
    return f"{tool}/{__version__} ({contact}) aiohttp/{aiohttp.__version__}"
