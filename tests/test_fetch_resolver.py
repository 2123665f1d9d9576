"""Name resolution in the fetcher (pipeline/resolver.py) against a local DNS server and image
server on 127.0.0.1: answers and failures cached, one lookup shared, lookups in flight bounded,
permanent failures never retried and transient ones retried in a later pass, every answer still
filtered by the address policy, and the threaded fallback without aiodns."""

from __future__ import annotations

import asyncio
import logging
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dns_server import DnsServer, Name
from image_server import ImageServer
from photos import photo
from wit.pipeline.fetch import Fetcher
from wit.pipeline.fetch_config import FetchConfig
from wit.pipeline.resolver import CachingResolver, LookupFailure, base_resolver, failure_kind
from wit.pipeline.fetch_stats import FetchStats

LOCAL_ONLY = ("127.0.0.1/32",)
HERE = ["127.0.0.1"]


@pytest.fixture(scope="module")
def images():
    with ImageServer([photo(120, 90, seed=1), photo(90, 120, seed=2)]) as server:
        yield server


def config(dns: DnsServer, **overrides) -> FetchConfig:
    values = dict(out="unused", allowed_networks=LOCAL_ONLY, dns_servers=(dns.address,), timeout=3.0, read_timeout=3.0,
                  retries=2, retry_backoff=0.2, dns_timeout=1.0)
    values.update(overrides)
    return FetchConfig(**values)


def url(images: ImageServer, host: str, path: str) -> str:
    return f"http://{host}:{images.port}/{path}"


def fetch_all(urls, cfg: FetchConfig, fetcher_out: list | None = None):
    async def run():
        async with Fetcher(cfg) as fetcher:
            if fetcher_out is not None:
                fetcher_out.append(fetcher)
            return await asyncio.gather(*(fetcher.fetch(u) for u in urls))

    return asyncio.run(run())


def test_a_name_is_looked_up_once_for_many_urls(images):
    names = {"one.test": Name(addresses=HERE, latency_s=0.05), "two.test": Name(addresses=HERE)}
    with DnsServer(names) as dns:
        held: list = []

        async def run():
            async with Fetcher(config(dns)) as fetcher:
                held.append(fetcher)
                first = await asyncio.gather(*(fetcher.fetch(url(images, "one.test", f"ok/{i}.jpg")) for i in range(30)),
                                             *(fetcher.fetch(url(images, "two.test", f"ok/{i}.jpg")) for i in range(10)))
                later = await fetcher.fetch(url(images, "one.test", "ok/99.jpg"))  # after: from the cache
                return [*first, later]

        results = asyncio.run(run())
        stats = held[0].stats
        assert [r.status for r in results] == ["success"] * 41
        assert stats["dns_lookups"] == 2, stats.to_json()
        # One lookup asks the server once per address family, never once per URL.
        assert dns.queries["one.test"] == dns.queries["two.test"] <= 2
        assert stats["dns_shared"] + stats["dns_cache_hits"] >= 1


def test_a_name_that_does_not_exist_is_not_looked_up_again_within_the_negative_ttl(images):
    with DnsServer({"gone.test": Name(fault="nxdomain"), "here.test": Name(addresses=HERE)}) as dns:
        cfg = config(dns, dns_negative_ttl=60)

        async def run(cfg, pause_s=0.0):
            async with Fetcher(cfg) as fetcher:
                first = await fetcher.fetch(url(images, "gone.test", "ok/1.jpg"))
                asked = dns.queries["gone.test"]
                await asyncio.sleep(pause_s)
                again = await asyncio.gather(*(fetcher.fetch(url(images, "gone.test", f"ok/{i}.jpg")) for i in range(2, 7)))
                return first, asked, again, fetcher.stats

        first, asked, again, stats = asyncio.run(run(cfg))
        assert first.status == "failed_to_download" and first.error == "DNS nxdomain: gone.test"
        assert first.attempts == 1, "a name that does not exist is never retried"
        assert asked >= 1 and dns.queries["gone.test"] == asked, "no second lookup within the negative TTL"
        assert all(r.error == "DNS nxdomain: gone.test" and r.attempts == 1 for r in again)
        assert stats["dns_negative_hits"] == 5 and stats["dns_lookups"] == 1
        assert stats["outcome.dns_nxdomain"] == 6

        # Past the negative TTL the name is asked again.
        before = dns.queries["gone.test"]
        _, asked, _, stats = asyncio.run(run(config(dns, dns_negative_ttl=0.2), pause_s=0.4))
        assert dns.queries["gone.test"] > asked > before
        assert stats["dns_lookups"] == 2


def test_nxdomain_and_no_address_are_final_servfail_and_timeouts_are_retried_in_a_later_pass(images):
    names = {"nx.test": Name(fault="nxdomain"), "empty.test": Name(fault="noanswer"),
             "broken.test": Name(fault="servfail"), "silent.test": Name(fault="timeout")}
    with DnsServer(names) as dns:
        held: list = []
        started = time.monotonic()
        results = fetch_all([url(images, host, "ok/1.jpg") for host in names], config(dns, dns_timeout=0.5), held)
        elapsed = time.monotonic() - started
        nx, empty, broken, silent = results
        assert (nx.attempts, empty.attempts) == (1, 1)
        assert nx.error == "DNS nxdomain: nx.test" and empty.error == "DNS no address: empty.test"
        assert not nx.transient and not empty.transient
        assert broken.attempts == 3 and broken.error == "DNS servfail: broken.test"
        assert silent.attempts == 3 and silent.error.startswith("DNS timeout: silent.test")
        stats = held[0].stats
        # Each retry asked again (a transient failure is remembered for less than the backoff) ...
        assert stats["dns_servfail"] == 3 and stats["dns_timeout"] == 3
        assert stats["dns_nxdomain"] == 1 and stats["dns_no_address"] == 1
        assert stats["retry.dns_servfail"] == 2 and stats["retry.dns_timeout"] == 2
        # ... after the backoff: 0.2 s, then 0.4 s (and up to a quarter more).
        assert elapsed >= 0.6
        assert dns.queries["nx.test"] < dns.queries["broken.test"]


def test_a_name_that_failed_transiently_resolves_on_a_later_pass(images):
    with DnsServer({"flaky.test": Name(fault="servfail")}) as dns:
        async def run():
            async with Fetcher(config(dns, retry_backoff=0.3)) as fetcher:
                # The server recovers while the URL waits for its retry.
                asyncio.get_running_loop().call_later(0.15, dns.names.__setitem__, "flaky.test", Name(addresses=HERE))
                return await fetcher.fetch(url(images, "flaky.test", "ok/3.jpg"))

        result = asyncio.run(run())
        assert result.status == "success" and result.attempts == 2


class CountingDnsServer(DnsServer):
    """Also records the most questions it held unanswered at once."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.most_pending = 0

    def reply_for(self, request):
        reply = super().reply_for(request)
        self.most_pending = max(self.most_pending, sum(self.queries.values()) - self.replies_sent)
        return reply


def test_lookups_in_flight_are_bounded(images):
    names = {f"host{i}.test": Name(addresses=HERE, latency_s=0.15) for i in range(24)}
    urls = [url(images, name, "ok/1.jpg") for name in names]
    with CountingDnsServer(names) as dns:
        held: list = []
        results = fetch_all(urls, config(dns, dns_concurrency=3), held)
        assert all(r.status == "success" for r in results)
        assert held[0].stats["dns_in_flight_max"] == 3
        assert held[0].stats["dns_lookups"] == 24
        per_lookup = dns.queries["host0.test"]  # questions one lookup asks (A, and AAAA)
        assert dns.most_pending <= 3 * per_lookup
        assert held[0].stats["dns_slot_wait_s"] > 0
    with CountingDnsServer(names) as dns:
        held = []
        fetch_all(urls, config(dns, dns_concurrency=64), held)
        assert held[0].stats["dns_in_flight_max"] > 3
        assert dns.most_pending > 3 * per_lookup


def test_every_answer_cached_or_not_is_filtered_by_the_address_policy(images):
    names = {"inside.test": Name(addresses=["10.1.2.3"]), "metadata.test": Name(addresses=["169.254.169.254"]),
             "mixed.test": Name(addresses=["10.9.9.9", "127.0.0.1"])}
    with DnsServer(names) as dns:
        held: list = []
        urls = [url(images, "inside.test", "ok/77.jpg"), url(images, "metadata.test", "ok/77.jpg")] * 3
        urls.append(url(images, "mixed.test", "ok/4.jpg"))
        results = fetch_all(urls, config(dns), held)
        assert [r.status for r in results[:6]] == ["refused_address"] * 6
        assert "inside.test resolves to refused private address 10.1.2.3" in results[0].error
        assert "refused cloud metadata address 169.254.169.254" in results[1].error
        assert results[6].status == "success"  # only the allowed address was handed to the connector
        assert held[0].stats["dns_lookups"] == 3
        assert images.hits["/ok/77.jpg"] == 0


def test_without_aiodns_names_resolve_through_threads_with_a_logged_line(monkeypatch, caplog, images):
    monkeypatch.setitem(sys.modules, "aiodns", None)  # `import aiodns` now raises ImportError
    with caplog.at_level(logging.WARNING, logger="wit.pipeline.resolver"):
        import aiohttp

        async def make():
            return base_resolver("async")

        assert isinstance(asyncio.run(make()), aiohttp.ThreadedResolver)
    assert "aiodns cannot be imported" in caplog.text
    # ... and a fetch still works, through getaddrinfo.
    results = fetch_all([images.url("ok/1.jpg", host="localhost")],
                        FetchConfig(out="unused", allow_private_addresses=True, timeout=3.0, read_timeout=3.0))
    assert results[0].status == "success"


def test_the_threaded_resolver_is_a_choice_and_still_cached():
    stats = FetchStats()

    async def run():
        resolver = CachingResolver(base_resolver("threaded"), stats, max_in_flight=2)
        try:
            first = await resolver.resolve("localhost", 80, socket.AF_INET)
            second = await resolver.resolve("localhost", 443, socket.AF_INET)
        finally:
            await resolver.close()
        return first, second

    first, second = asyncio.run(run())
    assert first[0]["host"] == second[0]["host"] == "127.0.0.1"
    assert (first[0]["port"], second[0]["port"]) == (80, 443)
    assert stats["dns_lookups"] == 1 and stats["dns_cache_hits"] == 1


@pytest.mark.parametrize(
    "error, kind",
    [
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), "nxdomain"),
        (socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution"), "timeout"),
        (OSError("something else"), "error"),
    ],
)
def test_getaddrinfo_errors_are_classified(error, kind):
    wrapped = OSError(None, "lookup failed")
    wrapped.__cause__ = error
    assert failure_kind(wrapped) == kind
    assert LookupFailure("x.test", kind).permanent == (kind == "nxdomain")


@pytest.mark.parametrize("driver", ["in_process", "pool"])
def test_a_slow_or_silent_name_is_looked_up_without_holding_a_download_slot(images, tmp_path, driver):
    # One download slot. The first URLs' names answer after 0.8 s or never; the last URL's at
    # once. Names are looked up ahead of the slot, so the last URL is served while the others
    # still wait for their answers, and the silent name ends as a counted DNS timeout.
    import pyarrow.parquet as pq

    from wit.pipeline.fetch_pool import FetchPool
    from wit.pipeline.shard_work import fetch_in_process

    names = {"slow.test": Name(HERE, latency_s=0.8), "silent.test": Name(fault="timeout"), "fast.test": Name(HERE)}
    with DnsServer(names) as dns:
        port = images.port
        first = 71 if driver == "in_process" else 74  # paths of this run only: the image server is the module's
        paths = [f"/ok/{first + n}.jpg" for n in range(3)]
        urls = [f"http://{name}:{port}{path}" for name, path in zip(names, paths)]
        cfg = config(dns, out=str(tmp_path / "out"), concurrency=1, retries=0, dns_timeout=3.0)
        listing = [{"url": url, "caption": f"photo {n}"} for n, url in enumerate(urls)]
        started = time.monotonic()
        if driver == "pool":
            with FetchPool(cfg, 2) as pool:  # two workers: the slot of one of them (concurrency shared out)
                started = time.monotonic()
                manifest = fetch_in_process(listing, cfg, pool=pool)
        else:
            manifest = fetch_in_process(listing, cfg)
    assert manifest["status_counts"] == {"success": 2, "failed_to_download": 1}
    fast, slow = images.request_times[paths[2]][0], images.request_times[paths[0]][0]
    assert slow - started >= 0.75, "the slow name's answer came after 0.8 s"
    assert fast < slow, "the fast URL did not wait behind the slow name's lookup"
    assert paths[1] not in images.request_times
    rows = {row["url"]: row for row in pq.read_table(tmp_path / "out" / "shards" / "00000.parquet").to_pylist()}
    assert rows[urls[1]]["error_message"] == "DNS timeout: silent.test (no answer within 3 s)"


class _RecordingResolver:
    """An inner resolver that answers every name with 127.0.0.1 and records the family asked."""

    def __init__(self) -> None:
        self.families: list[int] = []

    async def resolve(self, host, port=0, family=socket.AF_INET):
        self.families.append(family)
        return [{"hostname": host, "host": "127.0.0.1", "port": port, "family": socket.AF_INET, "proto": 0, "flags": 0}]

    async def close(self) -> None:
        pass


@pytest.mark.parametrize("ipv6, asked", [(False, socket.AF_INET), (True, socket.AF_UNSPEC)])
def test_any_family_asks_for_ipv4_alone_without_an_ipv6_route(ipv6, asked):
    inner = _RecordingResolver()

    async def run():
        resolver = CachingResolver(inner, FetchStats(), ipv6=ipv6)
        await resolver.resolve("a.test", 80, socket.AF_UNSPEC)
        await resolver.resolve("a.test", 443, socket.AF_UNSPEC)  # the same cache entry either way
        await resolver.resolve("b.test", 80, socket.AF_INET6)  # asked for by name: left alone

    asyncio.run(run())
    assert inner.families == [asked, socket.AF_INET6]


def test_a_namespace_with_loopback_alone_has_no_ipv6_route():
    import private_net

    reason = private_net.unavailable_reason()
    if reason:
        pytest.skip(f"no private network namespace on this machine: {reason}")
    probe = ("import sys; sys.path.insert(0, {tests!r}); import private_net; private_net.loopback_up(); "
             "from wit.pipeline.resolver import can_reach_ipv6; print(can_reach_ipv6())")
    tests = str(Path(__file__).resolve().parent)
    result = subprocess.run([*private_net.unshare_command(), sys.executable, "-c", probe.format(tests=tests)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False"]
