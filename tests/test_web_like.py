"""The web-like host farm and private network namespace of benchmarks/bench_fetch_web.py, so the
benchmark's fixture cannot rot unnoticed."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import aiohttp
import pytest
from dnslib import RCODE, DNSRecord

import private_net
from dns_server import DnsServer
from photos import photo
from web_like import BEHAVIOURS, DNS_BEHAVIOURS, Host, Plan, WebFarm, address_for, make_plan

IMAGES = [photo(120, 90, seed=n) for n in range(3)]


def farm_plan() -> Plan:
    hosts = [
        Host("ok.test", "127.1.1.1", "ok", latency_s=0.01),
        Host("limited.test", "127.1.1.2", "rate_limited", throttle_first=2, max_in_flight=2, retry_after_s=3),
        Host("down.test", "127.1.1.3", "unavailable", throttle_first=1, retry_after_s=2),
        Host("resets.test", "127.1.1.4", "resets"),
        Host("slow.test", "127.1.1.5", "slow_first_byte", first_byte_s=0.4),
        Host("gone.test", "127.1.1.6", "gone"),
        Host("nx.test", "127.1.1.7", "dns_nxdomain"),
        Host("slowlimited.test", "127.1.1.8", "rate_limited", latency_s=0.3, max_in_flight=2, retry_after_s=1),
    ]
    return Plan(hosts={h.name: h for h in hosts}, urls=[])


async def get(session: aiohttp.ClientSession, port: int, host: str, path: str) -> tuple[int, bytes, dict]:
    async with session.get(f"http://127.0.0.1:{port}{path}", headers={"Host": host}) as response:
        return response.status, await response.read(), dict(response.headers)


def test_farm_plays_each_behaviour_by_host_header():
    async def scenario(farm: WebFarm) -> None:
        port = farm.port
        async with aiohttp.ClientSession() as session:
            status, body, _ = await get(session, port, "ok.test", "/img/1-7.jpg")
            assert (status, body) == (200, IMAGES[1])
            # Paths: a dead link, an HTML page, a truncated image, on a host that serves.
            assert (await get(session, port, "ok.test", "/gone/1-8.jpg"))[0] == 404
            status, body, headers = await get(session, port, "ok.test", "/page/1-9.jpg")
            assert status == 200 and headers["Content-Type"].startswith("text/html")
            status, body, _ = await get(session, port, "ok.test", "/cut/2-10.jpg")
            assert status == 200 and body == IMAGES[2][: len(IMAGES[2]) // 2]

            # Rate-limited: the first two requests 429 with Retry-After, then served.
            answers = [await get(session, port, "limited.test", "/img/0-1.jpg") for _ in range(3)]
            assert [a[0] for a in answers] == [429, 429, 200]
            assert answers[0][2]["Retry-After"] == "3" and answers[2][1] == IMAGES[0]
            # ... and past two at once: four together, two refused.
            together = await asyncio.gather(*(get(session, port, "slowlimited.test", f"/img/0-{n}.jpg") for n in range(4)))
            assert sorted(a[0] for a in together) == [200, 200, 429, 429]

            assert [(await get(session, port, "down.test", "/img/0-2.jpg"))[0] for _ in range(2)] == [503, 200]

            # Resets: half the body, then a reset, on the first request for a path; then served.
            with pytest.raises(aiohttp.ClientPayloadError):
                await get(session, port, "resets.test", "/img/1-3.jpg")
            assert (await get(session, port, "resets.test", "/img/1-3.jpg"))[1] == IMAGES[1]

            started = time.monotonic()
            assert (await get(session, port, "slow.test", "/img/0-4.jpg"))[0] == 200
            assert time.monotonic() - started >= 0.35

            assert (await get(session, port, "gone.test", "/img/0-5.jpg"))[0] == 404
            # A name that fails in DNS is never reached by a real client; the farm notes it if it is.
            assert (await get(session, port, "nx.test", "/img/0-6.jpg"))[0] == 410
            assert (await get(session, port, "elsewhere.test", "/img/0-6.jpg"))[0] == 421

    with WebFarm(farm_plan(), IMAGES) as farm:
        asyncio.run(scenario(farm))
        answered = farm.counts.answered
        assert answered["rate_limited/429"] == 4 and answered["rate_limited/image"] == 3
        assert answered["unavailable/503"] == 1 and answered["resets/reset"] == 1 and answered["resets/image"] == 1
        assert answered["ok/image"] == 1 and answered["ok/404"] == 1 and answered["ok/html"] == 1 and answered["ok/truncated"] == 1
        assert answered["dns_nxdomain/reached"] == 1 and farm.counts.unknown_host == 1

        # reset(): the next client meets the same web, throttles and resets included.
        farm.reset()

        async def again() -> list[int]:
            async with aiohttp.ClientSession() as session:
                return [(await get(session, farm.port, "limited.test", "/img/0-1.jpg"))[0] for _ in range(3)]

        assert asyncio.run(again()) == [429, 429, 200]
        assert sum(farm.counts.answered.values()) == 3


def test_plan_is_seeded_and_covers_every_host():
    plan = make_plan(hosts=600, urls=1500, photos=10, seed=4)
    assert plan.urls == make_plan(hosts=600, urls=1500, photos=10, seed=4).urls
    assert plan.urls != make_plan(hosts=600, urls=1500, photos=10, seed=5).urls
    assert len(plan.urls) == 1500 and {host for host, _ in plan.urls} == set(plan.hosts)
    assert len({h.address for h in plan.hosts.values()}) == 600
    behaviours = Counter(h.behaviour for h in plan.hosts.values())
    assert set(behaviours) <= set(BEHAVIOURS) and behaviours["rate_limited"] == 48 and behaviours["dns_timeout"] == 12
    # Popular hosts (the most URLs) serve or rate-limit; they do not die.
    per_host = Counter(host for host, _ in plan.urls)
    for host, _ in per_host.most_common(5):
        assert plan.hosts[host].behaviour in ("ok", "rate_limited")
    assert per_host.most_common(1)[0][1] > 20  # Zipf-like: a few hosts hold many URLs
    obtainable = plan.obtainable(timeout_s=10)
    assert 0 < obtainable["never_refused"] < obtainable["in_all"] < 1500
    assert sum(plan.url_mix().values()) == 1500
    with pytest.raises(ValueError, match="cannot cover"):
        make_plan(hosts=10, urls=5, photos=1)


def test_addresses_are_distinct_loopback_addresses():
    addresses = [address_for(i) for i in range(70_000)]
    assert len(set(addresses)) == 70_000
    for address in addresses:
        first, *rest = (int(octet) for octet in address.split("."))
        assert first == 127 and all(1 <= octet <= 254 for octet in rest), address


def test_plan_names_answer_in_dns():
    plan = make_plan(hosts=200, urls=200, photos=1, seed=2)
    fail = next(h for h in plan.hosts.values() if h.behaviour == "dns_servfail")
    missing = next(h for h in plan.hosts.values() if h.behaviour == "dns_nxdomain")
    serving = next(h for h in plan.hosts.values() if h.behaviour not in DNS_BEHAVIOURS)
    with DnsServer(plan.dns_names()) as server:
        def ask(name: str) -> DNSRecord:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.settimeout(5)
                sock.sendto(DNSRecord.question(name).pack(), (server.host, server.port))
                return DNSRecord.parse(sock.recv(4096))

        assert [str(rr.rdata) for rr in ask(serving.name).rr] == [serving.address]
        assert ask(fail.name).header.rcode == RCODE.SERVFAIL
        assert ask(missing.name).header.rcode == RCODE.NXDOMAIN


INSIDE = textwrap.dedent("""
    import socket, sys, urllib.request
    sys.path.insert(0, {tests!r})
    import private_net
    from dns_server import DnsServer
    from photos import photo
    from web_like import Host, Plan, WebFarm

    private_net.enter()
    plan = Plan(hosts={{"a.test": Host("a.test", "127.9.8.7", "ok")}}, urls=[])
    image = photo(64, 48)
    with DnsServer(plan.dns_names(), port=53) as dns, WebFarm(plan, [image], host="0.0.0.0", port=80, check_address=True) as farm:
        print(socket.getaddrinfo("a.test", 80, socket.AF_INET, socket.SOCK_STREAM)[0][4][0])
        body = urllib.request.urlopen("http://a.test/img/0-0.jpg", timeout=10).read()
        print(body == image, farm.counts.wrong_address, dns.queries["a.test"] >= 1)
    print(open("/etc/resolv.conf").read().split())
""")


def test_private_namespace_resolves_through_the_runs_dns_server():
    reason = private_net.unavailable_reason()
    if reason:
        pytest.skip(f"no private network namespace on this machine: {reason}")
    before = Path("/etc/resolv.conf").read_bytes()
    tests = str(Path(__file__).resolve().parent)
    result = subprocess.run([*private_net.unshare_command(), sys.executable, "-c", INSIDE.format(tests=tests)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["127.9.8.7", "True 0 True", "['nameserver', '127.0.0.1']"]
    assert Path("/etc/resolv.conf").read_bytes() == before  # the machine's settings are untouched


def test_enter_refuses_outside_a_private_namespace():
    if private_net.in_private_namespace():
        pytest.skip("this test runs in a namespace that has only loopback")
    with pytest.raises(RuntimeError, match="outside a private network namespace"):
        private_net.enter()


# ---- the benchmark itself, at a toy size ---------------------------------------------------

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_fetch_web.py"


def load_bench():
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_fetch_web", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_causes_read_from_both_tools_messages():
    cause_of = load_bench().cause_of
    # img2dataset (urllib) and wit (aiohttp) word the same failures differently.
    assert cause_of("failed_to_download", "<urlopen error [Errno -2] Name or service not known>") == "dns"
    assert cause_of("failed_to_download", "<urlopen error [Errno -3] Temporary failure in name resolution>") == "dns"
    assert cause_of("failed_to_download", "connection error: Cannot connect to host a.test:80 ssl:default [Name or service not known]") == "dns"
    assert cause_of("failed_to_download", "HTTP Error 429: Too Many Requests") == "http_429"
    assert cause_of("failed_to_download", "http 503") == "http_503"
    assert cause_of("failed_to_download", "http 404") == "http_404"
    assert cause_of("failed_to_download", "http 410") == "http_other"
    assert cause_of("failed_to_download", "timeout (limit 10 s)") == "timeout"
    assert cause_of("failed_to_download", "The read operation timed out") == "timeout"
    assert cause_of("failed_to_download", "incomplete body: the connection closed early") == "reset_or_cut"
    assert cause_of("failed_to_download", "[Errno 104] Connection reset by peer") == "reset_or_cut"
    assert cause_of("failed_to_resize", "cannot identify image file") == "not_an_image"
    assert cause_of("failed_to_decode", "something new") == "not_an_image"
    assert cause_of("success", None) == "success"
    assert cause_of("opted_out", "X-Robots-Tag: noai") == "other:opted_out"


def run_small_benchmark(*extra: str) -> subprocess.CompletedProcess:
    """bench_fetch_web.py on 60 hosts and 120 URLs, wit alone; skips where it cannot run here."""
    reason = private_net.unavailable_reason()
    if reason:
        pytest.skip(f"no private network namespace on this machine: {reason}")
    if not any(importlib_available(m) for m in ("skimage", "sklearn")):
        pytest.skip("the benchmark's photos come from scikit-image or scikit-learn (the bench or train extra)")
    result = subprocess.run(
        [sys.executable, str(BENCH), "--hosts", "60", "--urls", "120", "--photos", "5", "--img2dataset", "none",
         "--in-flight", "64", "--resolver-options", "timeout:1 attempts:1", "--limit-s", "120", *extra],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.mark.slow
def test_benchmark_runs_wit_in_its_namespace():
    import json

    result = run_small_benchmark()
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["urls"] == 120 and summary["wit_accounted"] == 120 and not summary["wit_hung"]
    assert 0 < summary["wit_stored"] <= summary["obtainable"]["in_all"]
    # Every name that resolves and every name that fails was asked of the run's DNS server.
    assert summary["wit_dns"]["names_asked"] == 60
    assert summary["wit_causes"]["dns"] == sum(v for k, v in summary["url_mix"].items() if k.startswith("dns_"))


@pytest.mark.slow
def test_benchmark_times_every_url_of_wit_in_every_process():
    # --timeline: wit fetch under benchmarks/fetch_timeline.py, in its launcher and its spawned
    # workers; every URL of the list has a timeline, and the workers' decodes are clocked.
    import json

    result = run_small_benchmark("--timeline", "--wit-args", "--processes 2")
    figures, timeline = (json.loads(line) for line in result.stdout.splitlines() if line.startswith("{"))
    assert figures["wit_accounted"] == 120 and not figures["wit_hung"]
    assert timeline["urls"] == 120, "one timeline per URL, from the two workers"
    assert len(timeline["processes"]) == 3, "the launcher and two workers"
    assert sum(p["decodes"] for p in timeline["processes"]) >= figures["wit_stored"] > 0
    assert timeline["slot_seconds"] > 0 and timeline["url_seconds"]["dns_ahead"] > 0, "names are looked up ahead of the slots"
    assert timeline["last_start_s"] <= timeline["last_body_s"] <= timeline["end_s"]
    assert "mean URLs per state in each 2 s window" in result.stdout
    assert sum(p["collections"] for p in timeline["processes"]) > 0, "the cyclic collector's runs are counted"


@pytest.mark.slow
def test_benchmark_without_decoding_shows_the_networks_floor():
    # --no-decode: every body that starts as a JPEG or PNG is "stored" at no CPU cost, so the
    # run shows what the network and the slots alone allow.
    import json

    result = run_small_benchmark("--timeline", "--no-decode", "--wit-args", "--processes 2")
    figures, timeline = (json.loads(line) for line in result.stdout.splitlines() if line.startswith("{"))
    assert figures["wit_accounted"] == 120 and not figures["wit_hung"]
    decodes = sum(p["decodes"] for p in timeline["processes"])
    assert decodes >= figures["wit_stored"] > 0
    assert sum(p["decode_cpu_s"] for p in timeline["processes"]) / decodes < 0.0005, "no decode costs a real one's CPU"


def test_benchmark_refuses_no_decode_without_the_timeline_or_beside_img2dataset():
    for extra in (["--img2dataset", "none"], ["--timeline", "--img2dataset", sys.executable]):
        result = subprocess.run([sys.executable, str(BENCH), "--no-decode", *extra], capture_output=True, text=True, timeout=60)
        assert result.returncode != 0 and "--no-decode goes with --timeline and --img2dataset none" in result.stderr


def importlib_available(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None
