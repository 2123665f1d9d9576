"""Politeness and retries against a local image server (and DNS server) on 127.0.0.1:
Retry-After honoured up to --max-retry-after for the URL and its whole host, transient failures
retried in a later pass while others use the slot, a hard deadline per attempt and per URL, the
per-host limit by name, and every URL of a run one final status, in the run's stats too."""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dns_server import DnsServer, Name
from image_server import ImageServer
from photos import photo
from wit.app.cli import main
from wit.pipeline.fetch import ByteBudget, Fetcher, HostBackoff, HostTurns, fetch_image, parse_retry_after
from wit.pipeline.fetch_config import FetchConfig, ImageOptions
from wit.pipeline.shard_work import fetch_in_process
from wit.core.records import new_candidate

LOCAL_ONLY = ("127.0.0.1/32",)


@pytest.fixture(scope="module")
def server():
    with ImageServer([photo(160, 120, seed=1), photo(120, 160, seed=2)], stall_s=30, trickle_s=0.2) as srv:
        yield srv


def config(**overrides) -> FetchConfig:
    values = dict(out="unused", allowed_networks=LOCAL_ONLY, timeout=2.0, read_timeout=2.0, retries=2, retry_backoff=0.05,
                  max_retry_after=5.0)
    values.update(overrides)
    return FetchConfig(**values)


def fetch_with_slots(urls, cfg: FetchConfig, slots: int, gap_s: float = 0.0):
    """As the stage does: a download slot taken before each URL starts, given back when it ends.
    Returns the results, when each URL ended, and the fetcher's stats."""

    async def run():
        downloading = asyncio.Semaphore(slots)
        ended: dict[str, float] = {}
        async with Fetcher(cfg) as fetcher:

            async def one(url):
                try:
                    return await fetcher.fetch(url, downloading)
                finally:
                    ended[url] = time.monotonic()
                    downloading.release()

            tasks = []
            for url in urls:
                await downloading.acquire()
                tasks.append(asyncio.create_task(one(url)))
                await asyncio.sleep(gap_s)
            results = await asyncio.gather(*tasks)
        return results, ended, fetcher.stats

    return asyncio.run(run())


def test_429_with_retry_after_is_honoured_for_the_url_and_its_host(server):
    limited, other = server.url("limited/1.jpg?status=429&after=1"), server.url("ok/41.jpg")
    # The second URL starts while the host's pause runs: it waits for it too.
    (first, second), _, stats = fetch_with_slots([limited, other], config(), slots=4, gap_s=0.2)
    assert first.status == "success" and first.attempts == 2
    times = server.request_times["/limited/1.jpg"]
    assert len(times) == 2 and times[1] - times[0] >= 1.0, "the retry came before the Retry-After delay"
    assert second.status == "success"
    assert server.request_times["/ok/41.jpg"][0] - times[0] >= 1.0, "the paused host was asked meanwhile"
    assert stats["host_pauses"] == 1 and stats["retry.http_429"] == 1


def test_a_retry_after_longer_than_the_maximum_ends_the_url_without_waiting(server):
    started = time.monotonic()
    [result], _, stats = fetch_with_slots([server.url("limited/2.jpg?status=429&after=3600")], config(max_retry_after=2), 1)
    assert time.monotonic() - started < 2
    assert result.status == "failed_to_download" and result.attempts == 1
    assert result.error == "http 429 (Retry-After 3600 s, more than --max-retry-after 2)"
    assert server.hits["/limited/2.jpg"] == 1
    assert stats["retry_after_too_long"] == 1 and stats["outcome.http_429"] == 1


def test_a_retry_after_date_and_a_503_without_one(server):
    soon = email.utils.formatdate(time.time() + 2, usegmt=True)  # whole seconds: 1-2 s from now
    dated, plain = server.url(f"limited/3.jpg?status=503&after={soon}"), server.url("limited/4.jpg?status=503")
    [by_date], _, _ = fetch_with_slots([dated], config(), 1)
    times = server.request_times["/limited/3.jpg"]
    assert by_date.status == "success" and times[1] - times[0] >= 0.9
    # Without Retry-After a 503 waits the backoff (0.3 s here), then succeeds.
    [result], _, _ = fetch_with_slots([plain], config(retry_backoff=0.3), 1)
    times = server.request_times["/limited/4.jpg"]
    assert result.status == "success" and result.attempts == 2 and times[1] - times[0] >= 0.3


def test_retry_after_parsing():
    now = time.time()
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(email.utils.formatdate(now + 30, usegmt=True), now=now) == pytest.approx(30, abs=1)
    assert parse_retry_after(email.utils.formatdate(now - 30, usegmt=True), now=now) == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None and parse_retry_after("-5") is None


def test_a_host_pause_doubles_while_it_keeps_refusing_and_a_success_ends_the_row():
    clock = [0.0]
    hosts = HostBackoff(base=1.0, cap=5.0, clock=lambda: clock[0])
    assert hosts.slow_down("h", None) and hosts.wait_s("h") == 1.0
    assert not hosts.slow_down("h", None), "a response to a request sent before the pause does not lengthen it"
    clock[0] = 1.0
    assert hosts.slow_down("h", None) and hosts.wait_s("h") == 2.0
    clock[0] = 3.0
    assert hosts.slow_down("h", None) and hosts.wait_s("h") == 4.0
    clock[0] = 7.0
    assert hosts.slow_down("h", None) and hosts.wait_s("h") == 5.0  # the cap
    clock[0] = 12.0
    hosts.recovered("h")
    assert hosts.slow_down("h", 0.5) and hosts.wait_s("h") == 0.5  # Retry-After rules when given
    assert hosts.wait_s("other") == 0.0


def test_a_transient_failure_waits_for_a_later_pass_while_other_urls_use_its_slot(server):
    # One slot: the reset URL gives it back while it waits 1 s, and the others go meanwhile.
    urls = [server.url("shortonce/5.jpg"), *(server.url(f"ok/5{i}.jpg") for i in range(3))]
    results, ended, stats = fetch_with_slots(urls, config(retry_backoff=1.0), slots=1)
    assert [r.status for r in results] == ["success"] * 4
    assert results[0].attempts == 2
    assert max(ended[u] for u in urls[1:]) < ended[urls[0]] - 0.5
    assert stats["retry.truncated"] == 1 and stats["host_pauses"] == 0, "a reset retries the URL, it does not pause the host"
    # Always reset: retried --retries times, then counted as what it was.
    [always], _, stats = fetch_with_slots([server.url("short/5.jpg")], config(retries=2), 1)
    assert always.status == "failed_to_download" and always.attempts == 3 and "incomplete body" in always.error
    assert stats["retries_exhausted"] == 1 and stats["outcome.truncated"] == 1


def test_a_parked_retry_gives_back_its_admission_so_new_urls_start_meanwhile(server):
    # One download slot and one admitted URL at a time, as the stage's task loop admits them.
    # The reset URL waits 1 s for its retry; parked, it holds neither, so the other URLs are
    # admitted and fetched meanwhile instead of queueing behind its wait.
    cfg = config(retry_backoff=1.0)
    urls = [server.url("shortonce/6.jpg"), *(server.url(f"ok/6{i}.jpg") for i in range(3))]

    async def run():
        downloading, admitted = asyncio.Semaphore(1), asyncio.Semaphore(1)
        ended: dict[str, float] = {}
        with ThreadPoolExecutor(1) as decoder:
            async with Fetcher(cfg) as fetcher:

                async def one(url):
                    try:
                        return await fetch_image(fetcher, url, downloading, ByteBudget(1 << 26), decoder, cfg.images,
                                                 admitted)
                    finally:
                        ended[url] = time.monotonic()

                tasks = []
                for url in urls:
                    await admitted.acquire()
                    tasks.append(asyncio.create_task(one(url)))
                results = await asyncio.gather(*tasks)
        return results, ended, downloading, admitted

    results, ended, downloading, admitted = asyncio.run(run())
    assert [status for status, _, _ in results] == ["success"] * 4
    assert max(ended[u] for u in urls[1:]) < ended[urls[0]] - 0.5
    assert downloading._value == 1 and admitted._value == 1  # every slot and admission given back once


def test_permanent_failures_are_never_retried(server):
    results, _, stats = fetch_with_slots([server.url("404/6.jpg"), server.url("html/6.jpg")], config(retries=3), 2)
    assert results[0].error == "http 404" and results[0].attempts == 1
    assert results[1].status == "success"  # an HTML page downloads; the decoder rejects it, never retried
    assert server.hits["/404/6.jpg"] == 1 and server.hits["/html/6.jpg"] == 1
    assert stats["retries"] == 0


def test_a_server_slow_per_byte_is_cut_by_the_deadline_and_a_url_by_its_own(server):
    # A chunk every 0.2 s: a read timeout never fires, the attempt's hard deadline does.
    started = time.monotonic()
    [result], _, _ = fetch_with_slots([server.url("trickle/7.jpg")], config(timeout=1.0, read_timeout=0.9), 1)
    assert result.status == "failed_to_download" and result.error.startswith("timeout")
    assert time.monotonic() - started < 2.5
    # Always 503, many retries allowed: --url-deadline ends it, retries and waits included.
    started = time.monotonic()
    [result], _, stats = fetch_with_slots([server.url("503/7.jpg")], config(retries=50, retry_backoff=0.2, url_deadline=1.5), 1)
    assert time.monotonic() - started < 2.5
    assert result.error == "http 503" and 2 <= result.attempts < 10
    assert stats["retries_past_deadline"] == 1


def test_the_per_host_limit_counts_by_name():
    names = {"a.test": Name(addresses=["127.0.0.1"]), "b.test": Name(addresses=["127.0.0.1"])}
    with ImageServer([photo(64, 64)], latency_ms=(250, 250)) as slow, DnsServer(names) as dns:
        urls = [f"http://{host}:{slow.port}/ok/{i}.jpg" for i in range(6) for host in names]
        results, _, _ = fetch_with_slots(urls, config(per_host_limit=2, dns_servers=(dns.address,)), slots=64)
        assert all(r.status == "success" for r in results)
        assert slow.max_in_flight == 4, "2 per host name, two names on one address"


@pytest.mark.parametrize("driver", ["in_process", "pool"])
def test_every_url_of_a_run_ends_with_one_status_and_the_counts_reconcile(server, tmp_path, driver):
    names = {"img.test": Name(addresses=["127.0.0.1"]), "gone.test": Name(fault="nxdomain"),
             "broken.test": Name(fault="servfail")}
    with DnsServer(names) as dns:
        named = lambda host, path: f"http://{host}:{server.port}/{path}"  # noqa: E731
        once = 8 if driver == "in_process" else 9  # the server fails these once per path
        urls = [
            *(named("img.test", f"ok/{i}.jpg") for i in range(60, 70)),
            named("img.test", "404/8.jpg"), named("img.test", "html/8.jpg"), named("img.test", f"shortonce/{once}.jpg"),
            named("img.test", f"limited/{once}.jpg?status=429&after=1"), named("img.test", "stall/8.jpg"),
            named("gone.test", "ok/1.jpg"), named("broken.test", "ok/1.jpg"), "http://[bad/x.jpg",
        ]
        candidates = [new_candidate(u, f"a photo number {i}", page_url="http://example.org/", source="test") for i, u in enumerate(urls)]
        cfg = config(out=str(tmp_path / "out"), dns_servers=(dns.address,), shard_size=7, timeout=1.5, read_timeout=1.5,
                     images=ImageOptions(image_size=32))
        if driver == "pool":  # two worker processes: their stats come back with their results
            from wit.pipeline.fetch_pool import FetchPool

            with FetchPool(cfg, 2) as pool:
                manifest = fetch_in_process(candidates, cfg, pool=pool)
        else:
            manifest = fetch_in_process(candidates, cfg)
    assert manifest["attempted"] == len(urls) == sum(manifest["status_counts"].values())
    assert manifest["status_counts"] == {"success": 12, "failed_to_download": 5, "failed_to_decode": 1}
    stats = manifest["fetch_stats"]
    outcomes = {name: n for name, n in stats.items() if name.startswith("outcome.")}
    assert sum(outcomes.values()) == len(urls), outcomes  # every URL one final outcome
    assert outcomes["outcome.dns_nxdomain"] == 1 and outcomes["outcome.dns_servfail"] == 1
    assert outcomes["outcome.timeout"] == 1 and outcomes["outcome.http_404"] == 1
    assert stats["retry.http_429"] == 1 and stats["retry.truncated"] == 1 and stats["retry.dns_servfail"] == 2
    assert stats["dns_lookups"] >= 3 and stats["dns_in_flight_max"] >= 1


def test_wit_fetch_takes_the_name_server_and_retry_options_and_logs_the_run_stats(server, tmp_path, caplog):
    with DnsServer({"pics.test": Name(addresses=["127.0.0.1"]), "nowhere.test": Name(fault="nxdomain")}) as dns:
        urls = [f"http://pics.test:{server.port}/ok/{i}.jpg" for i in range(80, 84)]
        urls += [f"http://pics.test:{server.port}/limited/84.jpg?status=503&after=1", f"http://nowhere.test:{server.port}/ok/1.jpg"]
        listing = tmp_path / "list.parquet"
        pq.write_table(pa.Table.from_pylist([{"url": u, "caption": f"photo {i}"} for i, u in enumerate(urls)]), listing)
        out = tmp_path / "out"
        with caplog.at_level(logging.INFO):
            code = main(["fetch", "--input", str(listing), "--out", str(out), "--image-size", "32", "--allow-address", "127.0.0.1/32",
                         "--dns-server", dns.address, "--dns-timeout", "1", "--dns-negative-ttl", "30", "--retry-backoff", "0.1",
                         "--max-retry-after", "3", "--url-deadline", "20"])
    assert code == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status_counts"] == {"success": 5, "failed_to_download": 1}
    assert manifest["config"]["dns_servers"] == [dns.address] and manifest["config"]["max_retry_after"] == 3
    stats = manifest["fetch_stats"]
    assert stats["dns_lookups"] == 2 and stats["host_pauses"] == 1 and stats["retry.http_503"] == 1
    assert "DNS: 2 lookups" in caplog.text


def test_a_host_that_pushed_back_gets_half_as_many_turns_and_one_more_per_round_of_successes():
    async def scenario():
        turns = HostTurns(ceiling=4)
        assert all(turns.try_take("h") for _ in range(4)), "no bound of its own until the host pushes back"
        turns.pushed_back("h")  # a 429 with 4 in flight: 2 from now on
        assert turns.allowed("h") == 2
        for _ in range(4):
            turns.give_back("h")
        assert turns.try_take("h") and turns.try_take("h") and not turns.try_take("h")
        assert turns.try_take("other"), "other hosts are not bound"
        # A third URL waits for a turn, first come first served, and gets one when a turn ends.
        third = asyncio.ensure_future(turns.take("h"))
        fourth = asyncio.ensure_future(turns.take("h"))
        await asyncio.sleep(0)
        assert not third.done()
        turns.give_back("h")
        await asyncio.sleep(0)
        assert third.done() and not fourth.done()
        # A waiter that gives up (its deadline) leaves no turn behind.
        fourth.cancel()
        await asyncio.gather(fourth, return_exceptions=True)
        turns.give_back("h")
        turns.give_back("h")
        assert turns.try_take("h") and turns.try_take("h") and not turns.try_take("h")
        # Two successes (as many as allowed) grow the bound by one; at the ceiling it is gone.
        turns.served("h")
        turns.served("h")
        assert turns.allowed("h") == 3 and turns.try_take("h")
        for _ in range(3):
            turns.served("h")
        assert turns.allowed("h") is None
        # Every refusal in a row halves again, never below one.
        for _ in range(3):
            turns.pushed_back("h")
        assert turns.allowed("h") == 1

    asyncio.run(scenario())


def test_a_host_that_allows_two_requests_at_once_is_not_asked_for_more_again_and_again():
    # Twenty-four URLs on one host that refuses (429, Retry-After 1 s) all but two requests at
    # once: after its first refusals the host gets its URLs a few at a time, so nearly all are
    # served within their two retries. Sent in waves of 16 (the per-host limit) after each
    # pause, as before HostTurns, 6-8 were served and ~60 requests refused.
    from web_like import Host, Plan, WebFarm

    host = Host("limited.test", "127.0.0.1", "rate_limited", latency_s=0.05, throttle_first=1, max_in_flight=2, retry_after_s=1)
    plan = Plan(hosts={host.name: host}, urls=[])
    with WebFarm(plan, [photo(64, 48, seed=3)]) as farm, DnsServer({host.name: Name(addresses=["127.0.0.1"])}) as dns:
        plan.port = farm.port
        urls = [plan.url(host.name, f"/img/0-{n}.jpg") for n in range(24)]
        results, _, stats = fetch_with_slots(urls, config(per_host_limit=16, dns_servers=(dns.address,), max_retry_after=5,
                                                          url_deadline=30), slots=64)
        served = sum(r.status == "success" for r in results)
        refused = farm.counts.answered["rate_limited/429"]
        assert served >= 20 and refused <= 36, f"{served} of 24 URLs served, {refused} requests refused"
        assert all(r.status == "success" or r.error.startswith("http 429") for r in results)
        assert stats["host_turn_waits"] > 0


def test_a_url_waiting_for_its_turn_at_a_host_ends_at_its_deadline_without_holding_its_slot(server):
    async def scenario():
        slot = asyncio.Semaphore(1)
        async with Fetcher(config(url_deadline=1.0)) as fetcher:
            host = server.url("ok/91.jpg").split("/")[2]
            fetcher._turns.try_take(host)  # a request that never ends holds the host's one turn
            fetcher._turns.pushed_back(host)
            await slot.acquire()
            waiting = asyncio.ensure_future(fetcher.fetch(server.url("ok/91.jpg"), slot))
            await asyncio.sleep(0.2)
            assert not slot.locked(), "the slot is given back while the URL waits for its turn"
            started = time.monotonic()
            result = await waiting
            assert time.monotonic() - started < 1.5 and slot.locked(), "the slot is the caller's again"
            return result, fetcher.stats

    result, stats = asyncio.run(scenario())
    assert result.status == "failed_to_download" and result.reason == "host_busy" and result.attempts == 0
    assert "its turn did not come before --url-deadline" in result.error
    assert stats["outcome.host_busy"] == 1 and stats["host_turn_waits"] == 1 and server.hits.get("/ok/91.jpg", 0) == 0
