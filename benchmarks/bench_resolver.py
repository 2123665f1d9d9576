"""Name resolution at web scale: is DNS ever the bottleneck with 1,000 requests in flight?

Runs wit's resolver (pipeline/resolver.py: CachingResolver around aiohttp's AsyncResolver,
c-ares) against the local DNS server of the tests (tests/dns_server.py) answering for
--names host names with per-name latency and a share of SERVFAIL, NXDOMAIN and silent names,
and feeds it --requests requests (each name asked --requests / --names times on average, in
random order) with --in-flight of them at once, the way the fetcher's connector asks. Beside
it, the same requests through aiohttp's AsyncResolver alone (no cache, no sharing, no bound):
one lookup per request. Prints requests resolved per second, lookups per second, the lookups'
latency, and how long lookups waited for a slot (the bound's cost).

    .venv/bin/python benchmarks/bench_resolver.py
    .venv/bin/python benchmarks/bench_resolver.py --names 20000 --requests 80000 --latency-ms 20 200

The DNS server is one Python process (dnslib), so its own rate caps what is measured: the
figures say how much resolution costs wit here, not how fast c-ares can go. c-ares keeps a
small answer cache of its own, so "AsyncResolver alone" asks the server less often than it
resolves. The threaded
resolver (getaddrinfo) cannot be pointed at a local server without a network namespace of its
own; benchmarks/bench_fetch_web.py measures it that way.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from dns_server import DnsServer, Name  # noqa: E402

from wit.pipeline.fetch_stats import FetchStats  # noqa: E402
from wit.pipeline.resolver import CachingResolver, base_resolver  # noqa: E402


def make_names(count: int, latency_ms: tuple[float, float], faults: dict[str, float], seed: int) -> dict[str, Name]:
    rng = random.Random(seed)
    names = {}
    for i in range(count):
        draw, fault = rng.random(), None
        for kind, share in faults.items():
            if draw < share:
                fault = kind
                break
            draw -= share
        latency = rng.uniform(*latency_ms) / 1000
        address = f"127.{1 + i // 65536 % 254}.{i // 256 % 256}.{1 + i % 254}"
        names[f"img{i}.host{i % 97}.test"] = Name(addresses=[address], latency_s=latency, fault=fault)
    return names


class DnsServerProcess:
    """tests/dns_server.py's server in a process of its own, so that its Python work (dnslib
    parses and builds every packet) does not take the GIL from the resolver being measured."""

    def __init__(self, names: dict[str, Name]) -> None:
        import multiprocessing

        self._context = multiprocessing.get_context("spawn")
        self._names = names
        self.address = ""

    def __enter__(self) -> DnsServerProcess:
        self._conn, child = self._context.Pipe()
        self._process = self._context.Process(target=_serve, args=(self._names, child), daemon=True)
        self._process.start()
        self.address = self._conn.recv()
        return self

    def questions(self) -> tuple[int, float]:
        """Questions the server was asked, and the CPU seconds it spent (near the wall time: it
        was the bottleneck)."""
        self._conn.send("count")
        return self._conn.recv()

    def __exit__(self, *exc_info) -> None:
        self._conn.send("stop")
        self._process.join(10)


def _serve(names: dict[str, Name], conn) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    with DnsServer(names) as server:
        conn.send(server.address)
        while conn.recv() != "stop":
            conn.send((sum(server.queries.values()), time.process_time()))


async def drive(resolver, requests: list[str], in_flight: int) -> dict:
    slots = asyncio.Semaphore(in_flight)
    outcomes = {"resolved": 0, "failed": 0}

    async def one(name: str) -> None:
        try:
            await resolver.resolve(name, 80, socket.AF_INET)
            outcomes["resolved"] += 1
        except OSError:
            outcomes["failed"] += 1
        finally:
            slots.release()

    started = time.perf_counter()
    tasks = []
    for name in requests:
        await slots.acquire()
        tasks.append(asyncio.ensure_future(one(name)))
    await asyncio.gather(*tasks)
    outcomes["wall_s"] = time.perf_counter() - started
    return outcomes


async def run_wit(server: DnsServerProcess, requests: list[str], args) -> dict:
    stats = FetchStats()
    resolver = CachingResolver(base_resolver("async", (server.address,), args.dns_timeout), stats,
                               max_in_flight=args.dns_concurrency, timeout=args.dns_timeout)
    cpu = time.process_time()
    try:
        outcomes = await drive(resolver, requests, args.in_flight)
    finally:
        await resolver.close()
    return _report(outcomes, stats.to_json(), time.process_time() - cpu, len(requests))


async def run_plain(server: DnsServerProcess, requests: list[str], args) -> dict:
    from aiohttp.resolver import AsyncResolver

    resolver = AsyncResolver(nameservers=[server.address], timeout=args.dns_timeout / 3, tries=3)
    cpu = time.process_time()
    try:
        outcomes = await drive(resolver, requests, args.in_flight)
    finally:
        await resolver.close()
    return _report(outcomes, {"dns_lookups": len(requests)}, time.process_time() - cpu, len(requests))


def _report(outcomes: dict, stats: dict, cpu_s: float, requests: int) -> dict:
    wall = outcomes["wall_s"]
    lookups = stats.get("dns_lookups", 0)
    report = {
        "requests": requests,
        "resolved": outcomes["resolved"],
        "failed": outcomes["failed"],
        "wall_s": round(wall, 2),
        "requests_per_s": round(requests / wall, 1),
        "lookups": lookups,
        "lookups_per_s": round(lookups / wall, 1),
        "cpu_ms_per_request": round(1000 * cpu_s / requests, 3),
    }
    if "dns_lookup_s" in stats:
        report.update(
            mean_lookup_ms=round(1000 * stats["dns_lookup_s"] / max(lookups, 1), 1),
            lookups_in_flight_max=stats.get("dns_in_flight_max", 0),
            slot_wait_s=round(stats.get("dns_slot_wait_s", 0.0), 3),
            cache_hits=stats.get("dns_cache_hits", 0),
            negative_hits=stats.get("dns_negative_hits", 0),
            shared=stats.get("dns_shared", 0),
        )
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--names", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--in-flight", type=int, default=1000, help="requests wanting a name at once")
    parser.add_argument("--latency-ms", type=float, nargs=2, default=(5.0, 50.0), metavar=("LOW", "HIGH"))
    parser.add_argument("--servfail", type=float, default=0.02)
    parser.add_argument("--nxdomain", type=float, default=0.03)
    parser.add_argument("--silent", type=float, default=0.005, help="names never answered (lookup timeouts)")
    parser.add_argument("--dns-concurrency", type=int, default=256, help="wit's bound on lookups in flight (its default)")
    parser.add_argument("--dns-timeout", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    names = make_names(args.names, tuple(args.latency_ms), {"servfail": args.servfail, "nxdomain": args.nxdomain,
                                                            "timeout": args.silent}, args.seed)
    rng = random.Random(args.seed + 1)
    listed = list(names)
    requests = [listed[i % len(listed)] for i in range(args.requests)]
    rng.shuffle(requests)
    results = {}
    for label, runner in (("wit CachingResolver + c-ares", run_wit), ("aiohttp AsyncResolver alone", run_plain)):
        with DnsServerProcess(names) as server:
            results[label] = asyncio.run(runner(server, requests, args))
            questions, cpu_s = server.questions()
            results[label].update(dns_server_questions=questions, dns_server_cpu_s=round(cpu_s, 2))
    print(json.dumps({"names": args.names, "requests": args.requests, "in_flight": args.in_flight,
                      "latency_ms": list(args.latency_ms), "results": results}, indent=2))
    wit, plain = results["wit CachingResolver + c-ares"], results["aiohttp AsyncResolver alone"]
    print(f"requests/s: wit {wit['requests_per_s']:,} vs AsyncResolver alone {plain['requests_per_s']:,} "
          f"({wit['requests_per_s'] / plain['requests_per_s']:.2f}x); lookups: {wit['lookups']:,} vs {plain['lookups']:,}")


if __name__ == "__main__":
    main()
