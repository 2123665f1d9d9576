"""Shard assignment, the shard writer, and the whole stage against a local server, run both ways
(FetchToShards in Beam, fetch_in_process without it, and with a FetchPool of worker processes): layout, read-back with tarfile and the
webdataset package, re-runs, --retry-failed, dataset-wide dedup, archive replay."""

import io
import json
import random
import tarfile
from pathlib import Path
from urllib.parse import urlsplit

import apache_beam as beam
import pyarrow.parquet as pq
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to

from image_server import ImageServer
from wit.pipeline.fetch_config import FetchConfig, ImageOptions
from wit.pipeline.shard_stage import AssignShards, FetchToShards
from wit.pipeline.shard_work import duplicate_losers, fetch_in_process, process_shards
from wit.shards.assign import assign_all, sample_key
from wit.shards.writer import ShardWriter, sample_record
from photos import photo
from wit.core.records import new_candidate


def candidates_for(urls):
    return [new_candidate(url, f"a photo number {i}", page_url="http://example.org/page", source="test") for i, url in enumerate(urls)]


def run_in_beam(candidates, cfg: FetchConfig):
    options = PipelineOptions(runner="DirectRunner", direct_running_mode="in_memory")
    with beam.Pipeline(options=options) as pipeline:
        pipeline | beam.Create(candidates) | FetchToShards(cfg)
    return json.loads(Path(cfg.out, "manifest.json").read_text())


def run_in_process(candidates, cfg: FetchConfig):
    returned = fetch_in_process(candidates, cfg)
    written = json.loads(Path(cfg.out, "manifest.json").read_text())
    assert returned == written
    return written


def run_in_pool(candidates, cfg: FetchConfig):
    from wit.pipeline.fetch_pool import FetchPool

    with FetchPool(cfg, workers=2) as pool:
        returned = fetch_in_process(candidates, cfg, pool=pool)
    written = json.loads(Path(cfg.out, "manifest.json").read_text())
    assert returned == written
    return written


@pytest.fixture(params=["beam", "in_process", "pool"])
def run_stage(request):
    """The stage's three drivers: every test that takes this fixture runs on each (the pool:
    two worker processes fetch, this process writes, as a local `wit build` runs it)."""
    return {"beam": run_in_beam, "in_process": run_in_process, "pool": run_in_pool}[request.param]


def stage_config(out, **overrides) -> FetchConfig:
    values = dict(out=str(out), shard_size=4, allowed_networks=("127.0.0.1/32",), timeout=1.0, read_timeout=1.0, retries=0, images=ImageOptions(image_size=64))
    values.update(overrides)
    return FetchConfig(**values)


def tar_samples(path):
    samples = {}
    with tarfile.open(path) as tar:
        for member in tar.getmembers():
            key, _, ext = member.name.partition(".")
            samples.setdefault(key, {})[ext] = tar.extractfile(member).read()
    return samples


def parquet_rows(out):
    rows = []
    for path in sorted(Path(out, "shards").glob("*.parquet")):
        rows += pq.read_table(path).to_pylist()
    return rows


@pytest.fixture(scope="module")
def server():
    with ImageServer([photo(320, 240, seed=s) for s in range(5)], stall_s=30) as srv:
        yield srv


# ---- assignment -----------------------------------------------------------------------------


def test_assignment_is_exact_and_independent_of_input_order():
    candidates = candidates_for([f"http://img.example/{i}.jpg" for i in range(103)])
    first = assign_all(candidates, shard_size=10)
    shuffled = list(candidates)
    random.Random(3).shuffle(shuffled)
    assert assign_all(shuffled, shard_size=10) == first
    assert sorted(first) == list(range(11))
    assert [len(first[s]) for s in range(11)] == [10] * 10 + [3]
    assert first[0][0][0] == "000000" and first[10][2][0] == "000102"
    assert sample_key(3, 7, 10_000) == "000030007"


def test_beam_assignment_matches_the_single_process_one():
    candidates = candidates_for([f"http://img.example/{i}.jpg" for i in range(57)])
    expected = [(shard, key, c["uid"]) for shard, items in assign_all(candidates, 8).items() for key, c in items]
    with beam.Pipeline(options=PipelineOptions(runner="DirectRunner")) as pipeline:
        assigned = (
            pipeline
            | beam.Create(candidates)
            | AssignShards(8)
            | beam.Map(lambda kv: (kv[0], kv[1][0], kv[1][1]["uid"]))
        )
        assert_that(assigned, equal_to(expected))


# ---- the writer -----------------------------------------------------------------------------


def test_writer_publishes_in_key_order_and_only_when_complete(tmp_path):
    keys = [f"0000{i}" for i in range(4)]
    writer = ShardWriter(str(tmp_path), 0, keys)
    candidate = new_candidate("http://x/1.jpg", "a cat")
    from wit.pipeline.fetch_config import ImageOptions
    from wit.pipeline.images import process_image

    image = process_image(photo(100, 100), ImageOptions(image_size=32))
    for key in reversed(keys):  # results arrive in any order
        status = "failed_to_download" if key == "00002" else "success"
        writer.add(sample_record(key, candidate, status, "http 404" if key == "00002" else "", image if status == "success" else None), image.data if status == "success" else None)
    assert not (tmp_path / "00000.tar").exists(), "nothing is published before finish()"
    assert list(tmp_path.glob("*.tmp")), "the tar is written under a temporary name"
    summary = writer.finish()
    assert not list(tmp_path.glob("*.tmp"))
    with tarfile.open(tmp_path / "00000.tar") as tar:
        names = tar.getnames()
    assert names == [f"{k}.{ext}" for k in ("00000", "00001", "00003") for ext in ("jpg", "txt", "json")]
    assert summary["samples"] == 3 and summary["attempted"] == 4
    stats = json.loads((tmp_path / "00000_stats.json").read_text())
    assert stats["status_dict"] == {"failed_to_download": 1, "success": 3}
    assert stats["error_counts"] == {"http 404": 1}


# ---- the whole stage ------------------------------------------------------------------------


def test_stage_writes_the_dataset_layout_and_reads_back(server, tmp_path, run_stage):
    paths = [f"ok/{i}.jpg" for i in range(7)] + ["404/1.jpg", "corrupt/2.jpg", "html/3.jpg", "stall/4.jpg", "noai/5.jpg"]
    candidates = candidates_for([server.url(p) for p in paths])
    candidates[0]["meta"] = {"license": "cc-by"}
    candidates[0]["matches"], candidates[0]["selected_by"] = [3, 9], [9]
    manifest = run_stage(candidates, stage_config(tmp_path))

    assert manifest["samples"] == 7 and manifest["attempted"] == 12
    assert manifest["status_counts"] == {"failed_to_decode": 2, "failed_to_download": 2, "opted_out": 1, "success": 7}
    sizes = json.loads((tmp_path / "sizes.json").read_text())
    assert sizes == {s["tar"]: s["samples"] for s in manifest["shards"]}
    assert sorted(sizes) == ["00000.tar", "00001.tar", "00002.tar"]
    # open_clip reads sizes.json only beside the tars
    assert json.loads((tmp_path / "shards" / "sizes.json").read_text()) == sizes
    import hashlib

    for shard in manifest["shards"]:
        tar_path = tmp_path / "shards" / shard["tar"]
        assert hashlib.sha256(tar_path.read_bytes()).hexdigest() == shard["sha256"]
        assert (tmp_path / "shards" / shard["tar"].replace(".tar", "_stats.json")).exists()
    assert manifest["config"]["shard_size"] == 4 and "aiohttp" in manifest["versions"]

    rows = parquet_rows(tmp_path)
    assert len(rows) == 12
    errors = {row["url"].split("/")[3]: (row["status"], row["error_message"]) for row in rows if row["status"] != "success"}
    assert errors["404"] == ("failed_to_download", "http 404")
    assert errors["corrupt"][0] == "failed_to_decode" and "truncated" in errors["corrupt"][1]
    assert errors["html"] == ("failed_to_decode", "not an image (HTML page)")
    assert errors["stall"][0] == "failed_to_download" and "timeout" in errors["stall"][1]
    assert errors["noai"] == ("opted_out", "X-Robots-Tag: noai")

    # tarfile: every stored sample is jpg + txt + json with the documented fields
    by_uid = {c["uid"]: c for c in candidates}
    for shard in manifest["shards"]:
        for key, sample in tar_samples(tmp_path / "shards" / shard["tar"]).items():
            assert set(sample) == {"jpg", "txt", "json"}
            meta = json.loads(sample["json"])
            for field in ("key", "url", "caption", "status", "error_message", "width", "height", "original_width", "original_height", "sha256", "uid", "page_url", "source", "matches", "selected_by", "lang"):
                assert field in meta
            assert meta["key"] == key and meta["status"] == "success"
            assert (meta["width"], meta["height"]) == (64, 64) and (meta["original_width"], meta["original_height"]) == (320, 240)
            assert hashlib.sha256(sample["jpg"]).hexdigest() == meta["sha256"]
            assert sample["txt"].decode() == by_uid[meta["uid"]]["text"]
            if meta["uid"] == candidates[0]["uid"]:
                assert meta["license"] == "cc-by" and meta["matches"] == [3, 9] and meta["selected_by"] == [9]

    # the webdataset package reads the same shards
    import webdataset as wds

    dataset = wds.WebDataset(str(tmp_path / "shards" / "{00000..00002}.tar"), shardshuffle=False).decode("pil").to_tuple("jpg", "txt", "json")
    samples = list(dataset)
    assert len(samples) == 7
    assert all(image.size == (64, 64) and text.startswith("a photo") and meta["status"] == "success" for image, text, meta in samples)


def test_rerun_keeps_complete_shards_and_redoes_the_rest(server, tmp_path, run_stage):
    urls = [server.url(f"ok/{100 + i}.jpg") for i in range(10)]
    cfg = stage_config(tmp_path)
    first = run_stage(candidates_for(urls), cfg)
    tars = {s["tar"]: s["sha256"] for s in first["shards"]}
    # A run killed while writing shard 1: stats gone (not complete), a partial temp tar left behind.
    (tmp_path / "shards" / "00001_stats.json").unlink()
    (tmp_path / "shards" / "00001.tar").unlink()
    (tmp_path / "shards" / "00001.tar.99999.tmp").write_bytes(b"partial")
    hits_before = sum(server.hits[f"/ok/{100 + i}.jpg"] for i in range(10))
    second = run_stage(candidates_for(urls), cfg)
    hits_after = sum(server.hits[f"/ok/{100 + i}.jpg"] for i in range(10))
    assert hits_after - hits_before == 4, "only the unfinished shard is fetched again"
    assert {s["tar"]: s["sha256"] for s in second["shards"]} == tars, "same samples, byte-identical tars"
    assert not list((tmp_path / "shards").glob("*.tmp"))


def test_retry_failed_reattempts_only_failed_samples(server, tmp_path, run_stage):
    flaky = {run_in_beam: 201, run_in_process: 202, run_in_pool: 203}[run_stage]  # the server fails each flaky URL once only
    urls = [server.url(f"ok/{200 + i}.jpg") for i in range(5)] + [server.url(f"flaky/{flaky}.jpg")]
    cfg = stage_config(tmp_path, shard_size=100)
    first = run_stage(candidates_for(urls), cfg)
    assert first["status_counts"] == {"failed_to_download": 1, "success": 5}
    same = run_stage(candidates_for(urls), cfg)  # a plain re-run changes nothing
    assert same["shards"][0]["sha256"] == first["shards"][0]["sha256"]
    ok_hits = sum(server.hits[f"/ok/{200 + i}.jpg"] for i in range(5))
    retried = run_stage(candidates_for(urls), stage_config(tmp_path, shard_size=100, retry_failed=True))
    assert retried["status_counts"] == {"success": 6}
    assert sum(server.hits[f"/ok/{200 + i}.jpg"] for i in range(5)) == ok_hits, "successes are not fetched again"
    assert len(tar_samples(tmp_path / "shards" / "00000.tar")) == 6


def test_retry_failed_fetches_a_success_whose_image_left_its_tar(server, tmp_path, run_stage):
    base = {run_in_beam: 900, run_in_process: 910, run_in_pool: 920}[run_stage]
    urls = [server.url(f"ok/{base + i}.jpg") for i in range(3)] + [server.url(f"flaky/{base}.jpg")]
    cfg = stage_config(tmp_path, shard_size=100)
    run_stage(candidates_for(urls), cfg)
    tar_path = tmp_path / "shards" / "00000.tar"
    samples = tar_samples(tar_path)
    lost_key = sorted(samples)[0]
    lost_url = json.loads(samples[lost_key]["json"])["url"]
    with tarfile.open(tar_path, "w") as tar:  # the tar loses one stored image
        for key, parts in sorted(samples.items()):
            for ext, data in parts.items():
                if not (key == lost_key and ext == "jpg"):
                    info = tarfile.TarInfo(f"{key}.{ext}")
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
    hits = {u: server.hits[urlsplit(u).path] for u in urls}
    retried = run_stage(candidates_for(urls), stage_config(tmp_path, shard_size=100, retry_failed=True))
    assert retried["status_counts"] == {"success": 4}
    refetched = {u for u in urls if server.hits[urlsplit(u).path] > hits[u]}
    assert refetched == {lost_url, server.url(f"flaky/{base}.jpg")}
    assert len(tar_samples(tar_path)) == 4 and "jpg" in tar_samples(tar_path)[lost_key]


def test_dedup_images_keeps_the_smallest_key_dataset_wide(server, tmp_path, run_stage):
    # Images repeat every 5 numbers on the server: 300 and 305 are the same bytes.
    urls = [server.url(f"ok/{n}.jpg") for n in (300, 301, 305, 306, 310)]
    manifest = run_stage(candidates_for(urls), stage_config(tmp_path, shard_size=2, dedup_images=True))
    assert manifest["status_counts"] == {"duplicate": 3, "success": 2}
    rows = parquet_rows(tmp_path)
    kept = {row["sha256"] for row in rows if row["status"] == "success"}
    assert len(kept) == 2
    for row in rows:
        if row["status"] == "duplicate":
            assert row["error_message"].startswith("same image as ")
            winner = row["error_message"].rsplit(" ", 1)[1]
            assert winner < row["key"]
    stored = sum(len(tar_samples(tmp_path / "shards" / s["tar"])) for s in manifest["shards"])
    assert stored == 2


def test_both_drivers_write_the_same_dataset(server, tmp_path):
    paths = [f"ok/{400 + i}.jpg" for i in range(6)] + ["404/7.jpg", "html/8.jpg", "corrupt/9.jpg"]
    candidates = candidates_for([server.url(p) for p in paths])
    cfg = {"shard_size": 1, "dedup_images": True}  # 9 shards: in Beam, a full batch of 8 and a rest
    in_beam = run_in_beam(candidates, stage_config(tmp_path / "beam", **cfg))
    in_process = run_in_process(candidates, stage_config(tmp_path / "in_process", **cfg))
    assert in_beam["shards"] == in_process["shards"], "same tars (sha256), counts and statuses"
    assert in_beam["status_counts"] == {"duplicate": 1, "failed_to_decode": 2, "failed_to_download": 1, "success": 5}
    assert parquet_rows(tmp_path / "beam") == parquet_rows(tmp_path / "in_process")


def test_shards_fetched_together_overlap_their_stalls(server, tmp_path):
    # Three shards, each ending in a stalled URL: fetched back to back in one loop, the later
    # shards' requests start while the first stall still waits for its timeout, instead of
    # each shard idling until its own stall times out.
    cfg = stage_config(tmp_path, timeout=3.0, read_timeout=3.0)
    paths = [[f"ok/{500 + 10 * s + i}.jpg" for i in range(3)] + [f"stall/{500 + s}.jpg"] for s in range(3)]
    shards = [(s, [(sample_key(s, i, 4), c) for i, c in enumerate(candidates_for([server.url(p) for p in shard]))]) for s, shard in enumerate(paths)]
    summaries = process_shards(shards, cfg)
    assert [s["status_counts"] for s in summaries] == [{"failed_to_download": 1, "success": 3}] * 3
    stall_starts = sorted(server.first_seen[f"/stall/{500 + s}.jpg"] for s in range(3))
    assert stall_starts[-1] - stall_starts[0] < cfg.timeout, "the last shard's stall was requested before the first one timed out"
    assert sorted(p.name for p in (tmp_path / "shards").glob("*.tar")) == ["00000.tar", "00001.tar", "00002.tar"]


def test_both_drivers_overlap_the_stalls_of_different_shards(server, tmp_path, run_stage):
    base = {run_in_beam: 700, run_in_process: 800, run_in_pool: 1000}[run_stage]  # fresh paths per driver: first_seen is per path
    cfg = stage_config(tmp_path, timeout=3.0, read_timeout=3.0)
    # The shards a URL lands in follow from its uid, which holds the server's (random) port:
    # take the first stall paths that the assignment spreads over at least two shards.
    for first in range(base, base + 90, 3):
        stalls = [f"/stall/{first + i}.jpg" for i in range(3)]
        urls = [server.url(f"ok/{base + i}.jpg") for i in range(9)] + [server.url(p) for p in stalls]
        assigned = assign_all(candidates_for(urls), cfg.shard_size)
        if len({shard for shard, items in assigned.items() for _, c in items if "/stall/" in c["url"]}) >= 2:
            break
    manifest = run_stage(candidates_for(urls), cfg)
    assert manifest["status_counts"] == {"failed_to_download": 3, "success": 9}
    stalled_shards = {row["key"][:5] for row in parquet_rows(tmp_path) if "/stall/" in row["url"]}
    assert len(stalled_shards) >= 2, "the stalls land in different shards"
    starts = sorted(server.first_seen[path] for path in stalls)
    assert starts[-1] - starts[0] < cfg.timeout, "no shard waited for another's stall to time out"


def test_a_bug_while_fetching_aborts_every_open_shard(server, tmp_path, monkeypatch):
    import wit.pipeline.fetch as fetch_module

    def broken(data, options):
        raise RuntimeError("decoder bug")

    monkeypatch.setattr(fetch_module, "process_image", broken)
    shards = [(s, [(sample_key(s, 0, 4), candidates_for([server.url(f"ok/{600 + s}.jpg")])[0])]) for s in range(2)]
    with pytest.raises(RuntimeError, match="decoder bug"):
        process_shards(shards, stage_config(tmp_path))
    assert not list((tmp_path / "shards").glob("*.tar")) and not list((tmp_path / "shards").glob("*_stats.json"))
    assert not list((tmp_path / "shards").glob("*.tmp")), "temporary tars are removed"


def test_duplicate_losers():
    assert duplicate_losers([("a", "003"), ("b", "001"), ("a", "002"), ("a", "009")]) == {"003": "002", "009": "002"}


def test_an_empty_input_gives_an_empty_dataset(tmp_path, run_stage):
    manifest = run_stage([], stage_config(tmp_path))
    assert manifest["samples"] == 0 and manifest["shards"] == []
    assert json.loads((tmp_path / "sizes.json").read_text()) == {}
    assert json.loads((tmp_path / "shards" / "sizes.json").read_text()) == {}


# ---- archive replay -------------------------------------------------------------------------


def write_warc(path, responses):
    """responses: (url, status, headers, body)."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        for url, status, headers, body in responses:
            http_headers = StatusAndHeaders(f"{status} X", headers, protocol="HTTP/1.1")
            record = writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http_headers)
            writer.write_record(record)


def test_archive_replay_answers_from_the_warc(tmp_path, shared_data):
    image = photo(300, 200, seed=9)
    archive = tmp_path / "images.warc.gz"
    write_warc(
        archive,
        [
            ("http://img.example/cat.jpg", 200, [("Content-Type", "image/jpeg")], image),
            ("http://img.example/old.jpg", 301, [("Location", "/cat.jpg")], b""),
            ("http://img.example/private.jpg", 302, [("Location", "http://127.0.0.1/secret.jpg")], b""),
            ("http://img.example/optout.jpg", 200, [("Content-Type", "image/jpeg"), ("X-Robots-Tag", "noimageai")], image),
            ("http://img.example/gone.jpg", 404, [("Content-Type", "text/html")], b"gone"),
        ],
    )
    real = str(shared_data / "real" / "dolma_sample-0000.warc.gz")  # real crawl: HTML pages only
    from wit.pipeline.archive import ArchiveIndex

    page_url = next(iter(ArchiveIndex([real])._where))
    urls = ["http://img.example/cat.jpg", "http://img.example/old.jpg", "http://img.example/private.jpg",
            "http://img.example/optout.jpg", "http://img.example/gone.jpg", "http://img.example/missing.jpg", page_url]
    cfg = stage_config(tmp_path / "out", shard_size=100, archives=(str(archive), real), allowed_networks=())
    manifest = run_in_beam(candidates_for(urls), cfg)
    outcome = {row["url"]: (row["status"], row["error_message"]) for row in parquet_rows(tmp_path / "out")}
    assert outcome["http://img.example/cat.jpg"] == ("success", None)
    assert outcome["http://img.example/old.jpg"] == ("success", None)  # redirect followed inside the archive
    assert outcome["http://img.example/private.jpg"] == ("refused_address", "refused loopback address 127.0.0.1")
    assert outcome["http://img.example/optout.jpg"] == ("opted_out", "X-Robots-Tag: noimageai")
    assert outcome["http://img.example/gone.jpg"] == ("failed_to_download", "http 404")
    assert outcome["http://img.example/missing.jpg"] == ("not_in_archive", "URL not recorded in the archive")
    assert outcome[page_url] == ("failed_to_decode", "not an image (HTML page)")
    # reproducible: the same archive gives a byte-identical shard in a fresh output folder, with
    # the other driver too
    again = run_in_process(candidates_for(urls), stage_config(tmp_path / "again", shard_size=100, archives=(str(archive), real)))
    assert again["shards"][0]["sha256"] == manifest["shards"][0]["sha256"]


def test_writer_publishes_to_object_stores_whole(tmp_path):
    """Remote outputs (gs://, s3:// ...) get each file uploaded whole; fsspec's memory:// stands in."""
    import fsspec

    from wit.pipeline.fetch_config import ImageOptions
    from wit.pipeline.images import process_image
    from wit.shards.writer import read_rows, read_stats, read_tar_images

    image = process_image(photo(90, 90), ImageOptions(image_size=32))
    writer = ShardWriter("memory://bucket/out/shards", 7, ["000070", "000071"])
    candidate = new_candidate("http://x/1.jpg", "a dog")
    writer.add(sample_record("000071", candidate, "opted_out", "X-Robots-Tag: noai"), None)
    assert read_stats("memory://bucket/out/shards", 7) is None
    writer.add(sample_record("000070", candidate, "success", image=image), image.data)
    writer.finish()
    fs = fsspec.filesystem("memory")
    assert sorted(p.rsplit("/", 1)[1] for p in fs.ls("/bucket/out/shards", detail=False)) == ["00007.parquet", "00007.tar", "00007_stats.json"]
    assert read_stats("memory://bucket/out/shards", 7)["successes"] == 1
    assert [r["status"] for r in read_rows("memory://bucket/out/shards", 7)] == ["success", "opted_out"]
    assert read_tar_images("memory://bucket/out/shards", 7) == {"000070": image.data}


def test_a_stopped_pool_lets_its_workers_exit_and_takes_no_more_work(tmp_path):
    # `wit build` stops its pool once the shards are written and reconciles them while the
    # workers exit; a stopped pool refuses more work instead of waiting forever for results.
    from wit.pipeline.fetch_pool import FetchPool

    cfg = stage_config(tmp_path / "out")
    pool = FetchPool(cfg, workers=2)
    try:
        pool.stop()
        for process in pool._processes:
            process.join(60)
        assert [process.exitcode for process in pool._processes] == [0, 0]
        with pytest.raises(RuntimeError, match="stopped"):
            pool.run([], cfg)
    finally:
        pool.close()
    assert pool.serves(cfg) and not pool.serves(stage_config(tmp_path / "out", timeout=2.0))
    assert pool.serves(stage_config(tmp_path / "out", query_list_hash="abc")), "the hash is the launcher's, not the workers'"
