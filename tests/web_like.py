"""A farm of web-like image hosts behind one aiohttp server (benchmarks/bench_fetch_web.py, tests).

The live web in miniature: thousands of host names, each with an address of its own
(127.x.y.z), a latency of its own and one behaviour drawn from a seeded plan:

  ok               serves its images after its latency
  rate_limited     answers 429 with Retry-After to its first `throttle_first` requests, and to any
                   request beyond `max_in_flight` at once; serves the rest
  unavailable      the same with 503 + Retry-After (a server under maintenance)
  resets           sends half of the body, then resets the connection, on the first request for
                   each path; a second request for the path is served (a transient failure)
  slow_first_byte  waits `first_byte_s` (seconds, some past a client's timeout) before the headers
  gone             every path 404 (a dead site: link rot)
  dns_servfail, dns_nxdomain, dns_timeout, dns_noanswer
                   the name fails in DNS (tests/dns_server.py); no request should ever arrive

Paths say what a URL on a serving host is: /img/N.jpg (image N of the pool), /gone/N.jpg (404:
a single dead link), /page/N.jpg (an HTML page with status 200), /cut/N.jpg (a truncated image).

`WebFarm` answers by Host header: one server (0.0.0.0:80 inside the benchmark's private network
namespace, where that reaches only loopback; 127.0.0.1 with a free port in tests) stands for
every host. It counts what it answered per behaviour and notes requests that arrived on another
address than the one the plan gave the host (a resolver that made something up). `reset()`
clears all per-host state, so two tools run one after the other see the same web.
"""

from __future__ import annotations

import asyncio
import math
import random
import socket
import struct
import threading
from collections import Counter
from dataclasses import dataclass, field

from aiohttp import web

from dns_server import Name

SERVING_BEHAVIOURS = ("ok", "rate_limited", "unavailable", "resets", "slow_first_byte", "gone")
DNS_BEHAVIOURS = ("dns_servfail", "dns_nxdomain", "dns_timeout", "dns_noanswer")
BEHAVIOURS = SERVING_BEHAVIOURS + DNS_BEHAVIOURS
PATH_KINDS = ("img", "gone", "page", "cut")

# Shares of hosts per behaviour (the rest are "ok"), of URL paths per kind on serving hosts (the
# rest are "img"), and the latencies: what the default plan draws from.
DEFAULT_HOST_SHARES = {
    "rate_limited": 0.08,
    "unavailable": 0.04,
    "resets": 0.05,
    "slow_first_byte": 0.05,
    "gone": 0.04,
    "dns_servfail": 0.03,
    "dns_nxdomain": 0.04,
    "dns_timeout": 0.02,
    "dns_noanswer": 0.01,
}
DEFAULT_PATH_SHARES = {"gone": 0.03, "page": 0.01, "cut": 0.01}


@dataclass(frozen=True)
class Host:
    name: str
    address: str
    behaviour: str
    latency_s: float = 0.0  # before the headers, every request
    dns_latency_s: float = 0.0  # before the DNS answer
    first_byte_s: float = 0.0  # slow_first_byte: extra wait before the headers
    throttle_first: int = 0  # rate_limited / unavailable: this many requests refused first
    max_in_flight: int = 0  # rate_limited: more at once are refused (0: no cap)
    retry_after_s: int = 0

    def dns_entry(self) -> Name:
        fault = self.behaviour[len("dns_"):] if self.behaviour in DNS_BEHAVIOURS else None
        return Name(addresses=[] if fault else [self.address], latency_s=self.dns_latency_s, fault=fault)


@dataclass
class Plan:
    hosts: dict[str, Host]
    urls: list[tuple[str, str]]  # (host name, path)
    port: int = 80

    def url(self, host: str, path: str) -> str:
        return f"http://{host}{'' if self.port == 80 else f':{self.port}'}{path}"

    def url_list(self) -> list[str]:
        return [self.url(host, path) for host, path in self.urls]

    def dns_names(self) -> dict[str, Name]:
        return {name: host.dns_entry() for name, host in self.hosts.items()}

    def url_mix(self) -> Counter:
        """URLs per host behaviour, and per path kind on hosts that serve."""
        mix: Counter = Counter()
        for host, path in self.urls:
            behaviour = self.hosts[host].behaviour
            kind = path.split("/")[1]
            mix[behaviour if behaviour != "ok" or kind == "img" else f"ok/{kind}"] += 1
        return mix

    def obtainable(self, timeout_s: float) -> dict[str, int]:
        """Images a client can get within `timeout_s` per request: `never_refused` from hosts
        that serve every request (ok, slow_first_byte), `in_all` also those behind a 429/503 or
        a reset (a client that retries later gets them; one that does not still gets some,
        from the requests a throttling host lets through)."""
        never_refused = in_all = 0
        for host, path in self.urls:
            spec = self.hosts[host]
            if not path.startswith("/img/") or spec.behaviour in DNS_BEHAVIOURS or spec.behaviour == "gone":
                continue
            if spec.latency_s + spec.first_byte_s >= timeout_s:
                continue
            in_all += 1
            if spec.behaviour in ("ok", "slow_first_byte"):
                never_refused += 1
        return {"never_refused": never_refused, "in_all": in_all}


def address_for(index: int) -> str:
    """Distinct loopback addresses 127.1.1.1, 127.1.1.2, ... (no .0 or .255 octets)."""
    return f"127.{1 + index // (254 * 254)}.{1 + (index // 254) % 254}.{1 + index % 254}"


def make_plan(
    hosts: int,
    urls: int,
    photos: int,
    seed: int = 0,
    host_shares: dict[str, float] | None = None,
    path_shares: dict[str, float] | None = None,
    port: int = 80,
    domain: str = "test",
) -> Plan:
    """A seeded plan: `hosts` names, each with its behaviour and latencies, and `urls` URLs over
    them, every host at least one and the rest Zipf-like (exponent 0.8) (a few hosts hold many URLs, as CDNs
    and big sites do on the web). Host latencies are log-normal (median 40 ms, a tail past 1 s);
    DNS latencies too (median 15 ms); slow hosts wait 2-15 s before the first byte."""
    if urls < hosts:
        raise ValueError(f"{urls} URLs cannot cover {hosts} hosts; give at least as many URLs as hosts")
    rng = random.Random(seed)
    host_shares = DEFAULT_HOST_SHARES if host_shares is None else host_shares
    path_shares = DEFAULT_PATH_SHARES if path_shares is None else path_shares
    unknown = set(host_shares) - set(BEHAVIOURS) | set(path_shares) - set(PATH_KINDS)
    if unknown:
        raise ValueError(f"unknown behaviours or path kinds {sorted(unknown)}")
    behaviours: list[str] = []
    for behaviour, share in host_shares.items():
        behaviours += [behaviour] * round(hosts * share)
    behaviours = (behaviours + ["ok"] * hosts)[:hosts]
    rng.shuffle(behaviours)
    # Hosts are ranked by popularity (index 0 holds the most URLs). The popular 1% are big sites
    # and CDNs: they serve or rate-limit, they do not die or hang; their lot goes to quiet hosts.
    quiet_ok = [i for i in range(hosts // 100, hosts) if behaviours[i] == "ok"]
    for index in range(hosts // 100):
        if behaviours[index] not in ("ok", "rate_limited") and quiet_ok:
            swap = quiet_ok.pop(rng.randrange(len(quiet_ok)))
            behaviours[index], behaviours[swap] = "ok", behaviours[index]
    plan_hosts: dict[str, Host] = {}
    for index, behaviour in enumerate(behaviours):
        name = f"h{index:05d}-{rng.choice(('img', 'cdn', 'static', 'media', 'www'))}.{domain}"
        throttled = behaviour in ("rate_limited", "unavailable")
        plan_hosts[name] = Host(
            name=name,
            address=address_for(index),
            behaviour=behaviour,
            latency_s=min(3.0, rng.lognormvariate(math.log(0.04), 1.0)),
            dns_latency_s=min(2.0, rng.lognormvariate(math.log(0.015), 1.2)),
            first_byte_s=rng.uniform(2.0, 15.0) if behaviour == "slow_first_byte" else 0.0,
            throttle_first=rng.randint(1, 3) if throttled else 0,
            max_in_flight=2 if behaviour == "rate_limited" else 0,
            retry_after_s=rng.randint(1, 3) if throttled else 0,
        )
    names = list(plan_hosts)
    weights = [1.0 / (rank + 1) ** 0.8 for rank in range(len(names))]
    chosen = names + rng.choices(names, weights=weights, k=urls - hosts)
    rng.shuffle(chosen)
    kinds: list[str] = []
    for kind, share in path_shares.items():
        kinds += [kind] * round(urls * share)
    kinds = (kinds + ["img"] * urls)[:urls]
    rng.shuffle(kinds)
    plan_urls = [(host, f"/{kind}/{number % photos}-{number}.jpg") for number, (host, kind) in enumerate(zip(chosen, kinds))]
    return Plan(hosts=plan_hosts, urls=plan_urls, port=port)


@dataclass
class FarmCounts:
    answered: Counter = field(default_factory=Counter)  # "behaviour/outcome" -> requests
    wrong_address: int = 0  # requests that arrived on another address than the host's
    unknown_host: int = 0


class WebFarm:
    """One aiohttp server that plays every host of a plan (see the module docstring)."""

    def __init__(self, plan: Plan, images: list[bytes], host: str = "127.0.0.1", port: int = 0,
                 check_address: bool = False) -> None:
        self.plan = plan
        self.images = images
        self.host = host
        self.port = port
        self.check_address = check_address  # inside the namespace, where each host has its address
        self.counts = FarmCounts()
        self._requests: Counter = Counter()  # host -> requests so far
        self._in_flight: Counter = Counter()
        self._paths_seen: set[tuple[str, str]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    def reset(self) -> None:
        """Forget every host's history: the next client sees the web as the first one did."""
        self.counts = FarmCounts()
        self._requests.clear()
        self._in_flight.clear()
        self._paths_seen.clear()

    # ---- lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> WebFarm:
        ready = threading.Event()
        failure: list[BaseException] = []
        self._loop = asyncio.new_event_loop()

        def serve() -> None:
            asyncio.set_event_loop(self._loop)
            try:
                self._loop.run_until_complete(self._start())
            except BaseException as exc:  # reported to the caller of __enter__
                failure.append(exc)
                ready.set()
                return
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=serve, name="web-farm", daemon=True)
        self._thread.start()
        if not ready.wait(30) or failure:
            raise failure[0] if failure else RuntimeError("web farm did not start")
        return self

    def __exit__(self, *exc_info) -> None:
        assert self._loop is not None and self._thread is not None
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)
        self._loop.close()

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/{kind}/{name}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, backlog=4096, reuse_address=True)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def _shutdown(self) -> None:
        await self._runner.cleanup()
        current = asyncio.current_task()
        pending = [t for t in asyncio.all_tasks() if t is not current]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    # ---- answering -----------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        name = (request.host or "").rsplit(":", 1)[0].lower()
        spec = self.plan.hosts.get(name)
        if spec is None:
            self.counts.unknown_host += 1
            return web.Response(status=421, text="no such host here")
        if self.check_address:
            local = request.transport.get_extra_info("sockname") if request.transport else None
            if local is None or local[0] != spec.address:
                self.counts.wrong_address += 1
        self._requests[name] += 1
        self._in_flight[name] += 1
        try:
            outcome, response = await self._answer(request, spec, self._requests[name], self._in_flight[name])
        finally:
            self._in_flight[name] -= 1
        self.counts.answered[f"{spec.behaviour}/{outcome}"] += 1
        return response

    async def _answer(self, request: web.Request, spec: Host, nth: int, in_flight: int):
        behaviour = spec.behaviour
        if behaviour in DNS_BEHAVIOURS:
            # Only a resolver that ignored the DNS answer gets here.
            return "reached", web.Response(status=410, text="this name does not resolve")
        if behaviour in ("rate_limited", "unavailable"):
            over_cap = spec.max_in_flight and in_flight > spec.max_in_flight
            if nth <= spec.throttle_first or over_cap:
                status = 429 if behaviour == "rate_limited" else 503
                headers = {"Retry-After": str(spec.retry_after_s)}
                return str(status), web.Response(status=status, text="slow down", headers=headers)
        await asyncio.sleep(spec.latency_s + spec.first_byte_s)
        kind, file_name = request.match_info["kind"], request.match_info["name"]
        if behaviour == "gone" or kind == "gone":
            return "404", web.Response(status=404, text="not found")
        if kind == "page":
            return "html", web.Response(text="<!DOCTYPE html><html><body>a page</body></html>", content_type="text/html")
        number = int(file_name.split("-")[0]) if file_name.split("-")[0].isdigit() else 0
        image = self.images[number % len(self.images)]
        if kind == "cut":
            return "truncated", web.Response(body=image[: len(image) // 2], content_type="image/jpeg")
        if behaviour == "resets":
            key = (spec.name, request.path)
            if key not in self._paths_seen:
                self._paths_seen.add(key)
                return "reset", await self._reset_mid_body(request, image)
        return "image", web.Response(body=image, content_type="image/jpeg")

    async def _reset_mid_body(self, request: web.Request, image: bytes) -> web.StreamResponse:
        """Headers announcing the whole image, half of it, then a TCP reset (SO_LINGER 0)."""
        response = web.StreamResponse(headers={"Content-Type": "image/jpeg", "Content-Length": str(len(image))})
        await response.prepare(request)
        await response.write(image[: len(image) // 2])
        await asyncio.sleep(0.02)  # let the half go out before the reset
        transport = request.transport
        if transport is not None:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
        return response
