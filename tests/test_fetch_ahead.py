"""Fetch ahead (pipeline/fetch_ahead.py): the fetch processes of a local build fetch the first
URLs its text side will keep while the launcher still runs it; the fetch stage then uses those
outcomes instead of requesting the URLs again, and the shards are what they would have been."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from image_server import ImageServer
from photos import photo
from wit.filters.config import FilterConfig
from wit.pipeline.fetch_ahead import FetchAheadPlan, kept_urls, plan_fetch_ahead
from wit.pipeline.fetch_config import FetchConfig, ImageOptions
from wit.pipeline.fetch_pool import FetchPool
from wit.pipeline.shard_work import fetch_in_process
from wit.pipeline.sources import readable_candidates
from wit.pipeline.sources.inputs import InputFile, expand_inputs
from wit.pipeline.sources.urllist import UrlListConfig

ENGLISH = ["a red fox asleep in the snow", "an old lighthouse on a rocky coast at dusk",
           "a bowl of fresh strawberries on a wooden table", "a small sailing boat on a calm blue lake",
           "a bicycle leaning on a brick wall", "children playing football in a park"]


def write_list(path: Path, rows: list[dict]) -> list[InputFile]:
    pq.write_table(pa.Table.from_pylist(rows), path)
    return expand_inputs([str(path)])


def test_kept_urls_are_the_rows_the_text_side_keeps_each_url_once(tmp_path):
    queries = tmp_path / "queries.txt"
    queries.write_text("fox\nlighthouse\nboat\n")
    rows = [
        {"url": "http://a.example/fox.jpg", "caption": ENGLISH[0]},
        {"url": "http://a.example/file.jpg", "caption": "IMG_0976.JPG"},  # a file name: the filters drop it
        {"url": "http://a.example/berries.jpg", "caption": ENGLISH[2]},  # matches no query
        {"url": "http://a.example/lighthouse.jpg", "caption": ENGLISH[1]},
        {"url": "http://a.example/fox.jpg", "caption": "a red fox in the snow at dawn"},  # same URL again
        {"url": "", "caption": "a fox without a picture"},  # no URL: the text side drops it
        {"url": "http://a.example/boat.jpg", "caption": ENGLISH[3]},
    ]
    files = write_list(tmp_path / "list.parquet", rows)
    plan = FetchAheadPlan(tuple(files), UrlListConfig(), FilterConfig(), str(queries), limit=100)
    assert list(kept_urls(plan)) == ["http://a.example/fox.jpg", "http://a.example/lighthouse.jpg",
                                     "http://a.example/boat.jpg"]
    without_queries = FetchAheadPlan(tuple(files), UrlListConfig(), FilterConfig(), None, limit=100)
    assert list(kept_urls(without_queries)) == [
        "http://a.example/fox.jpg", "http://a.example/berries.jpg", "http://a.example/lighthouse.jpg",
        "http://a.example/boat.jpg"]
    limited = FetchAheadPlan(tuple(files), UrlListConfig(), FilterConfig(), None, limit=2)
    assert list(kept_urls(limited)) == ["http://a.example/fox.jpg", "http://a.example/berries.jpg"]


def test_kept_urls_match_what_wit_build_keeps(tmp_path):
    # The same checks as the text side, not a look-alike: the URLs a build keeps are exactly the
    # URLs fetched ahead (with a limit above the list's size).
    from wit.app.cli import main

    captions = ENGLISH + ["IMG_2231.JPG", "DSC_0042", "Canon EOS 5D Mark III, f/2.8, 1/200s, ISO 400",
                          "ein kleines Boot auf einem ruhigen See", "un petit bateau sur un lac calme", "photo"]
    rows = [{"url": f"http://a.example/{i % 9}.jpg", "caption": caption} for i, caption in enumerate(captions * 2)]
    files = write_list(tmp_path / "list.parquet", rows)
    out = tmp_path / "out"
    assert main(["build", "--input", str(files[0].path), "--queries", "none", "--out", str(out), "--until", "candidates",
                 "--runner", "DirectRunner", "--direct_running_mode", "in_memory"]) == 0
    built = {row["url"] for row in readable_candidates(expand_inputs([str(out / "candidates")]), UrlListConfig())}
    plan = FetchAheadPlan(tuple(files), UrlListConfig(), FilterConfig(), None, limit=1000)
    assert built and set(kept_urls(plan)) == built


def test_urls_are_taken_in_input_order_up_to_the_limit(tmp_path):
    rows = [{"url": f"http://a.example/{i}.jpg", "caption": f"a red fox number {i} asleep in the snow"} for i in range(25)]
    plan = FetchAheadPlan(tuple(write_list(tmp_path / "list.parquet", rows)), UrlListConfig(), FilterConfig(), None, 20)
    assert list(kept_urls(plan)) == [f"http://a.example/{i}.jpg" for i in range(20)]


def test_fetch_ahead_applies_to_local_url_lists_into_a_fresh_output_only(tmp_path):
    files = write_list(tmp_path / "list.parquet", [{"url": "http://a.example/0.jpg", "caption": ENGLISH[0]}])
    out = tmp_path / "out"
    plan = plan_fetch_ahead(files, UrlListConfig(), FilterConfig(), None, str(out), 50)
    assert plan is not None and plan.limit == 50 and plan.files == tuple(files)
    assert plan_fetch_ahead(files, UrlListConfig(), FilterConfig(), None, str(out), 0) is None, "--fetch-ahead 0"
    wat = [InputFile(str(tmp_path / "a.warc.wat.gz"), "wat", 10)]
    assert plan_fetch_ahead(wat, UrlListConfig(), FilterConfig(), None, str(out), 50) is None, "a crawl"
    remote = [InputFile("s3://bucket/list.parquet", "parquet", 10)]
    assert plan_fetch_ahead(remote, UrlListConfig(), FilterConfig(), None, str(out), 50) is None
    assert plan_fetch_ahead(files, UrlListConfig(), FilterConfig(), None, "s3://bucket/out", 50) is None
    (out / "shards").mkdir(parents=True)
    (out / "shards" / "00000.tar").write_bytes(b"")
    assert plan_fetch_ahead(files, UrlListConfig(), FilterConfig(), None, str(out), 50) is None, "a resumed build"


# ---- the pool: outcomes fetched ahead stand in for requests ------------------------------------


def pool_config(out: Path) -> FetchConfig:
    return FetchConfig(out=str(out), shard_size=4, allowed_networks=("127.0.0.1/32",), timeout=5.0, read_timeout=5.0,
                       retries=0, images=ImageOptions(image_size=32))


def fox_list(tmp_path: Path, server: ImageServer, n: int) -> tuple[list[InputFile], list[dict]]:
    rows = [{"url": server.url(f"/ok/{i}.jpg"), "caption": f"a red fox number {i} asleep in the snow"} for i in range(n)]
    rows.append({"url": server.url("/404/0.jpg"), "caption": "a red fox that was never there"})
    files = write_list(tmp_path / "list.parquet", rows)
    return files, list(readable_candidates(files, UrlListConfig()))


def wait_for(condition, limit_s: float = 30.0) -> None:
    deadline = time.monotonic() + limit_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def fetch_ahead_then_stage(server: ImageServer, files: list[InputFile], candidates: list[dict],
                           cfg: FetchConfig, stage_starts_when) -> dict[int, int]:
    """A pool of two fetching ahead over `files`; once `stage_starts_when(requests the server
    saw)` holds, the stage runs on `candidates`. Returns the samples each worker attempted."""
    plan = FetchAheadPlan(tuple(files), UrlListConfig(), FilterConfig(), None, limit=100)
    with FetchPool(cfg, 2, ahead=plan) as pool:
        wait_for(lambda: stage_starts_when(sum(server.hits.values())), limit_s=90)
        fetch_in_process(candidates, cfg, pool=pool)
        return dict(pool.attempted_by_pid)


def manifest_and_rows(out: Path) -> tuple[dict, dict[str, str]]:
    manifest = json.loads((out / "manifest.json").read_text())
    rows = {}
    for path in sorted((out / "shards").glob("*.parquet")):
        rows |= {row["url"]: row["status"] for row in pq.read_table(path).to_pylist()}
    return manifest, rows


def test_outcomes_fetched_ahead_replace_the_requests(tmp_path):
    with ImageServer([photo(64, 48, seed=s) for s in range(12)]) as server:
        files, candidates = fox_list(tmp_path, server, 12)
        # every URL fetched before the stage starts
        fetch_ahead_then_stage(server, files, candidates, pool_config(tmp_path / "out"), lambda hits: hits == 13)
        assert set(server.hits.values()) == {1}, "no URL requested twice"
    manifest, rows = manifest_and_rows(tmp_path / "out")
    assert len(rows) == 13 and list(rows.values()).count("success") == 12 and rows[server.url("/404/0.jpg")] == "failed_to_download"
    stats = manifest["fetch_stats"]
    # (a request the server saw may still have been on its way back: ahead_late counts those)
    assert (stats["ahead_fetched"], stats["ahead_samples"], stats["ahead_unused"], stats["attempts"]) == (13, 13, 0, 13)
    assert manifest["samples"] == 12


def test_every_worker_fetches_what_worker_0_selects(tmp_path):
    # One download slot and one lookup place per worker and a slow server: a worker claims the
    # URLs of one queued item two at a time, so the next items go to the other worker.
    with ImageServer([photo(64, 48, seed=s) for s in range(80)], latency_ms=(150, 150)) as server:
        files, candidates = fox_list(tmp_path, server, 80)
        cfg = dataclasses.replace(pool_config(tmp_path / "out"), concurrency=2, dns_concurrency=2)
        attempted = fetch_ahead_then_stage(server, files, candidates, cfg, lambda hits: hits == 81)
        assert len(attempted) == 2 and all(n > 0 for n in attempted.values())
        assert sum(attempted.values()) == 81
        assert set(server.hits.values()) == {1}


def test_urls_still_in_flight_when_the_stage_starts_are_waited_for_not_requested_again(tmp_path):
    # (answers take 4 s: long enough for the stage to start, even on a loaded machine, while
    # the first ones are on their way)
    with ImageServer([photo(64, 48, seed=s) for s in range(10)], latency_ms=(4000, 4000)) as server:
        files, candidates = fox_list(tmp_path, server, 10)
        cfg = dataclasses.replace(pool_config(tmp_path / "out"), timeout=15.0, read_timeout=15.0)
        # the stage (keeping 8 of the 11) starts while the slow answers are still on their way
        fetch_ahead_then_stage(server, files, candidates[:8], cfg, lambda hits: hits >= 1)
        assert set(server.hits.values()) == {1}
        requests = sum(server.hits.values())
    manifest, rows = manifest_and_rows(tmp_path / "out")
    assert set(rows) == {candidate["url"] for candidate in candidates[:8]} and set(rows.values()) == {"success"}
    stats = manifest["fetch_stats"]
    assert stats["ahead_late"] >= 1, "some outcomes arrived after the stage started"
    assert stats["ahead_fetched"] == stats["ahead_samples"] + stats["ahead_unused"] and stats["attempts"] == requests
    assert stats["ahead_samples"] + (stats["attempts"] - stats["ahead_fetched"]) == 8, "each kept sample once"


def test_a_build_fetches_ahead_and_stores_what_it_would_have(tmp_path, monkeypatch):
    import wit.core.runner as runner
    import wit.pipeline.build as build
    from wit.app.cli import main

    monkeypatch.setattr(runner, "available_cores", lambda: 2)  # a pool of two on any machine
    with ImageServer([photo(64, 48, seed=s) for s in range(3)], latency_ms=(10, 30)) as server:
        rows = [{"url": server.url(f"/ok/{i % 3}.jpg?n={i}"), "caption": f"a red fox number {i} asleep in the snow"}
                for i in range(30)]
        rows += [{"url": server.url("/ok/0.jpg?n=file"), "caption": "IMG_0976.JPG"}]  # dropped: never requested
        write_list(tmp_path / "list.parquet", rows)
        real_build_pipeline = build.build_pipeline

        def text_side_after_the_fetching_ahead(*args, **kwargs):
            # Beam is imported already in this process: hold the text side until the fetch
            # processes have sent every request, as a launcher importing Beam gives them time to.
            if fetch_ahead == "100":
                wait_for(lambda: sum(server.hits.values()) == 30)
            return real_build_pipeline(*args, **kwargs)

        monkeypatch.setattr(build, "build_pipeline", text_side_after_the_fetching_ahead)
        runs = {}
        for fetch_ahead in ("100", "0"):
            server.hits.clear()
            out = tmp_path / f"out-{fetch_ahead}"
            assert main(["build", "--input", str(tmp_path / "list.parquet"), "--queries", "none", "--out", str(out),
                         "--image-size", "32", "--allow-address", "127.0.0.1/32", "--fetch-ahead", fetch_ahead]) == 0
            assert server.hits["/ok/0.jpg"] == 10 and sum(server.hits.values()) == 30, "each kept URL once"
            runs[fetch_ahead] = manifest_and_rows(out)
    (ahead_manifest, ahead_rows), (plain_manifest, plain_rows) = runs["100"], runs["0"]
    assert ahead_rows == plain_rows and len(ahead_rows) == 30
    stats = ahead_manifest["fetch_stats"]
    assert (stats["ahead_fetched"], stats["ahead_samples"], stats["ahead_unused"]) == (30, 30, 0)
    assert "ahead_fetched" not in plain_manifest["fetch_stats"]
    assert [(s["tar"], s["samples"]) for s in ahead_manifest["shards"]] == [(s["tar"], s["samples"]) for s in plain_manifest["shards"]]


def test_a_negative_fetch_ahead_is_a_usage_error(tmp_path, capsys):
    from wit.app.cli import main

    write_list(tmp_path / "list.parquet", [{"url": "http://a.example/0.jpg", "caption": ENGLISH[0]}])
    assert main(["build", "--input", str(tmp_path / "list.parquet"), "--out", str(tmp_path / "out"), "--fetch-ahead", "-1"]) == 1
    assert "--fetch-ahead must be 0 (off) or more" in capsys.readouterr().err
