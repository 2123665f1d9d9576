"""The fetcher against a local server on 127.0.0.1: every fault ends as a counted status with a
message, nothing hangs, opt-outs are honoured, and private addresses are refused."""

import asyncio
import time

import pytest

from image_server import ImageServer
from wit.pipeline.fetch import Fetcher, disallowed_by_header
from wit.pipeline.fetch_config import FetchConfig
from wit.pipeline.safety import AddressPolicy, SafeResolver, RefusedAddressError
from photos import photo

LOCAL_ONLY = ("127.0.0.1/32",)  # the test server and nothing else: never 169.254.169.254 or 10/8


@pytest.fixture(scope="module")
def server():
    with ImageServer([photo(640, 480, seed=1), photo(800, 600, seed=2)], stall_s=30, robots_txt="User-agent: *\nDisallow: /ok/13\n") as srv:
        yield srv


def config(**overrides) -> FetchConfig:
    values = dict(out="unused", allowed_networks=LOCAL_ONLY, timeout=1.5, read_timeout=1.5, retries=1, retry_backoff=0.05, max_size=2_000_000)
    values.update(overrides)
    return FetchConfig(**values)


def fetch_all(urls, cfg: FetchConfig):
    async def run():
        async with Fetcher(cfg) as fetcher:
            return await asyncio.gather(*(fetcher.fetch(url) for url in urls))

    return asyncio.run(run())


def test_every_fault_class_ends_as_a_status_with_a_message_and_nothing_hangs(server):
    cases = {
        "ok/1.jpg": ("success", ""),
        "404/1.jpg": ("failed_to_download", "http 404"),
        "stall/1.jpg": ("failed_to_download", "timeout"),
        "noai/1.jpg": ("opted_out", "X-Robots-Tag: noai"),
        "big/1.jpg": ("failed_to_download", "response too large"),
        "loop/1.jpg": ("failed_to_download", "too many redirects"),
        "short/1.jpg": ("failed_to_download", "incomplete body"),
        "redirect/1.jpg?to=http://169.254.169.254/latest/meta-data/": ("refused_address", "cloud metadata address 169.254.169.254"),
        "redirect/2.jpg?to=http://10.1.2.3/x.jpg": ("refused_address", "private address 10.1.2.3"),
        "redirect/3.jpg?to=/ok/0.jpg": ("success", ""),
        "redirect/4.jpg?to=file:///etc/passwd": ("failed_to_download", "unsupported URL scheme 'file'"),
    }
    started = time.monotonic()
    results = fetch_all([server.url(path) for path in cases], config())
    elapsed = time.monotonic() - started
    for (path, (status, message)), result in zip(cases.items(), results):
        assert result.status == status, (path, result)
        assert message in result.error, (path, result.error)
    assert elapsed < 10, "the 30 s stall must be cut by the 1.5 s timeout"
    assert results[0].body[:2] == b"\xff\xd8"


def test_corrupt_and_non_image_bodies_download_fine_and_fail_in_decoding(server):
    from wit.pipeline.fetch_config import ImageOptions
    from wit.pipeline.images import ImageRejected, process_image

    for path, expected in (("corrupt/1.jpg", "truncated"), ("html/1.jpg", "HTML page"), ("garbage/1.jpg", "not an image")):
        (download,) = fetch_all([server.url(path)], config())
        assert download.status == "success"
        with pytest.raises(ImageRejected, match=expected) as caught:
            process_image(download.body, ImageOptions())
        assert caught.value.status == "failed_to_decode"


def test_only_transient_errors_are_retried(server):
    flaky, gone, down = server.url("flaky/7.jpg"), server.url("404/7.jpg"), server.url("503/7.jpg")
    results = fetch_all([flaky, gone, down], config(retries=2))
    assert results[0].status == "success" and results[0].attempts == 2
    assert results[1].status == "failed_to_download" and results[1].attempts == 1
    assert results[2].error == "http 503" and results[2].attempts == 3
    assert server.hits["/404/7.jpg"] == 1
    assert server.hits["/503/7.jpg"] == 3


def test_per_host_limit_caps_requests_in_flight():
    with ImageServer([photo(64, 64)], latency_ms=(80, 80)) as slow:
        results = fetch_all([slow.url(f"ok/{i}.jpg") for i in range(12)], config(per_host_limit=3))
        assert all(r.status == "success" for r in results)
        assert slow.max_in_flight == 3
        fetch_all([slow.url(f"ok/{i}.jpg") for i in range(12, 24)], config(per_host_limit=0))
        assert slow.max_in_flight > 3


def test_user_agent_names_the_tool_and_the_contact(server):
    fetch_all([server.url("ok/21.jpg")], config(contact="data@example.org"))
    agents = [agent for agent in server.user_agents if "data@example.org" in agent]
    assert agents and agents[0].startswith("wit/")


def test_robots_txt_is_obeyed_on_request_and_fetched_once_per_host(server):
    urls = [server.url("ok/13.jpg"), server.url("ok/14.jpg"), server.url("ok/15.jpg")]
    before = server.hits["/robots.txt"]
    results = fetch_all(urls, config(respect_robots=True))
    assert [r.status for r in results] == ["opted_out", "success", "success"]
    assert results[0].error == "robots.txt disallows this URL"
    assert server.hits["/robots.txt"] - before == 1
    assert fetch_all([server.url("ok/13.jpg")], config())[0].status == "success"  # off by default


def test_x_robots_tag_can_be_switched_off(server):
    (result,) = fetch_all([server.url("noai/2.jpg")], config(disallowed_directives=()))
    assert result.status == "success"


@pytest.mark.parametrize(
    "values, expected",
    [
        (["noai"], "noai"),
        (["noindex, nofollow"], "noindex"),
        (["NoImageAI"], "noimageai"),
        (["wit: noai"], "noai"),
        (["otherbot: noai"], None),
        (["nofollow", "noimageindex"], "noimageindex"),
        (["unavailable_after: 25 Jun 2010 15:00:00 PST"], None),
        ([], None),
    ],
)
def test_x_robots_tag_directives(values, expected):
    assert disallowed_by_header(values, ("noai", "noimageai", "noindex", "noimageindex")) == expected


# ---- address safety -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address, kind",
    [
        ("127.0.0.1", "loopback"),
        ("10.0.0.8", "private"),
        ("192.168.1.1", "private"),
        ("172.16.5.4", "private"),
        ("169.254.169.254", "cloud metadata"),
        ("169.254.10.10", "link-local"),
        ("100.64.0.1", "reserved"),
        ("0.0.0.0", "unspecified"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fd00:ec2::254", "cloud metadata"),
        ("::ffff:127.0.0.1", "loopback"),
        ("224.0.0.1", "multicast"),
        ("93.184.216.34", None),
        ("2606:4700::6810:84e5", None),
    ],
)
def test_address_policy(address, kind):
    refusal = AddressPolicy().refusal(address)
    assert (refusal is None) if kind is None else (f"refused {kind} address" in refusal)
    assert AddressPolicy(allow_private=True).refusal(address) is None


def test_allowed_networks_open_only_themselves():
    policy = AddressPolicy(allowed_networks=("127.0.0.1/32",))
    assert policy.refusal("127.0.0.1") is None
    assert policy.refusal("127.0.0.2") is not None
    assert policy.refusal("169.254.169.254") is not None


def test_a_name_resolving_to_loopback_is_refused_after_resolution():
    async def resolve():
        resolver = SafeResolver(AddressPolicy())
        try:
            await resolver.resolve("localhost", 80)
        finally:
            await resolver.close()

    with pytest.raises(RefusedAddressError, match="localhost resolves to refused loopback address"):
        asyncio.run(resolve())


def test_with_the_flag_off_local_addresses_are_never_contacted(server):
    strict = config(allowed_networks=())
    by_name, by_address = server.url("ok/31.jpg", host="localhost"), server.url("ok/32.jpg")
    results = fetch_all([by_name, by_address], strict)
    assert [r.status for r in results] == ["refused_address", "refused_address"]
    assert "localhost resolves to refused loopback address" in results[0].error
    assert results[1].error == "refused loopback address 127.0.0.1"
    assert server.hits["/ok/31.jpg"] == 0 and server.hits["/ok/32.jpg"] == 0
    # ... and with --allow-private-addresses the same URLs are fetched.
    allowed = fetch_all([by_name, by_address], config(allowed_networks=(), allow_private_addresses=True))
    assert [r.status for r in allowed] == ["success", "success"]


def test_a_read_timeout_shorter_than_the_total_cuts_a_silent_server_first(server):
    started = time.monotonic()
    [result] = fetch_all([server.url("stall/2.jpg")], config(timeout=8.0, read_timeout=0.5, retries=0))
    assert result.status == "failed_to_download" and "timeout" in result.error
    assert time.monotonic() - started < 4, "the 0.5 s read timeout, not the 8 s total, must end the wait"


def test_a_read_timeout_that_could_never_fire_first_is_left_unarmed():
    from wit.pipeline.fetch import client_timeout

    assert client_timeout(config(timeout=10.0, read_timeout=10.0)).sock_read is None
    assert client_timeout(config(timeout=10.0, read_timeout=30.0)).sock_read is None
    armed = client_timeout(config(timeout=10.0, read_timeout=2.0, connect_timeout=3.0))
    assert (armed.total, armed.sock_read, armed.sock_connect) == (10.0, 2.0, 3.0)


def test_a_long_timeout_fires_when_it_says_not_at_the_next_whole_second(server):
    # aiohttp rounds timeouts of 5 s or more up to a whole second of the loop's clock unless told
    # not to. Four requests started a quarter second apart: rounded, at least one would end
    # >= 0.75 s late; exact, each ends ~5.3 s after it started.
    cfg = config(timeout=5.3, read_timeout=5.3, retries=0)

    async def run():
        async with Fetcher(cfg) as fetcher:

            async def timed(i):
                await asyncio.sleep(0.25 * i)
                started = time.monotonic()
                result = await fetcher.fetch(server.url(f"stall/{40 + i}.jpg"))
                return result, time.monotonic() - started

            return await asyncio.gather(*(timed(i) for i in range(4)))

    for result, took in asyncio.run(run()):
        assert result.status == "failed_to_download" and "timeout" in result.error
        assert 5.3 <= took < 5.9


def test_a_malformed_url_is_a_counted_failure_not_a_crash(server):
    results = fetch_all(["http://[::1/x.jpg", "http://[not-an-address]/x.jpg", server.url("ok/1.jpg")], config())
    assert [r.status for r in results] == ["failed_to_download", "failed_to_download", "success"]
    assert all("invalid URL" in r.error for r in results[:2])


def test_the_host_check_is_remembered_per_policy_and_still_refuses():
    from wit.pipeline.safety import check_host

    strict, open_local = AddressPolicy(), AddressPolicy(allowed_networks=LOCAL_ONLY)
    for _ in range(3):
        assert "loopback" in check_host("127.0.0.1", strict)
        assert check_host("127.0.0.1", open_local) is None
        assert "cloud metadata" in check_host("169.254.169.254", open_local)
        assert check_host("example.com", strict) is None  # names are checked after resolution
