"""`wit fetch` on URL lists in every supported format, a build killed mid-way and re-run, and
shards written in img2dataset's layout read back."""

import csv
import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from image_server import ImageServer
from killed_runs import kill_after_first_shard, stored_samples

from photos import photo
from wit.app.cli import main
from wit.pipeline.sources import fetch_list_config, readable_candidates
from wit.pipeline.sources.inputs import expand_inputs

REPO = Path(__file__).resolve().parent.parent
LOCAL = ["--allow-address", "127.0.0.1/32", "--timeout", "2", "--read-timeout", "2", "--retries", "0"]


@pytest.fixture(scope="module")
def server():
    with ImageServer([photo(300, 300, seed=s) for s in range(3)], latency_ms=(5, 20), stall_s=30) as srv:
        yield srv


def write_list(path: Path, rows: list[dict]) -> Path:
    if path.suffix == ".parquet":
        pq.write_table(pa.Table.from_pylist(rows), path)
    elif path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    else:
        with open(path, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter="\t" if path.suffix == ".tsv" else ",")
            writer.writeheader()
            writer.writerows(rows)
    return path


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".tsv", ".jsonl"])
def test_wit_fetch_reads_img2dataset_style_url_lists(server, tmp_path, suffix, capsys):
    rows = [{"URL": server.url(f"ok/{i}.jpg"), "TEXT": f"caption, with \"quotes\" {i}", "similarity": "0.31"} for i in range(5)]
    rows.append({"URL": server.url("404/9.jpg"), "TEXT": "missing", "similarity": "0.2"})
    listing = write_list(tmp_path / f"list{suffix}", rows)
    out = tmp_path / "out"
    assert main(["fetch", "--input", str(listing), "--out", str(out), "--url-col", "URL", "--caption-col", "TEXT", "--image-size", "32", *LOCAL]) == 0
    assert "5 of 6 samples stored" in capsys.readouterr().out
    with tarfile.open(out / "shards" / "00000.tar") as tar:
        jsons = [json.load(tar.extractfile(m)) for m in tar.getmembers() if m.name.endswith(".json")]
    assert sorted(j["caption"] for j in jsons) == sorted(r["TEXT"] for r in rows[:5])
    assert all(j["similarity"] == "0.31" for j in jsons), "extra columns reach the sample json"


def test_real_img2dataset_test_list_is_read(shared_data):
    files = expand_inputs([str(shared_data / "real" / "img2dataset_test_1000.parquet")])
    candidates = list(readable_candidates(files, fetch_list_config(), on_unreadable=pytest.fail))
    assert len(candidates) == 1000
    assert all(c["url"].startswith("http") and c["uid"] for c in candidates)
    assert sum(bool(c["text"]) for c in candidates) > 900  # TEXT found as the caption column


def test_missing_url_column_is_a_clear_error(tmp_path, capsys):
    listing = write_list(tmp_path / "list.csv", [{"link": "http://x/1.jpg", "caption": "a"}])
    code = subprocess.run(
        [sys.executable, "-m", "wit", "fetch", "--input", str(listing), "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=120, cwd=REPO,
    )
    assert code.returncode == 2, "a list without the named column is a usage error, found at launch"
    assert "usage error" in code.stderr and "no 'url' column (columns: link, caption); use --url-col" in code.stderr
    assert not (tmp_path / "out").exists(), "nothing started"


def test_beam_options_pass_through_fetch_and_nowhere_else(server, tmp_path):
    listing = write_list(tmp_path / "list.jsonl", [{"url": server.url("ok/1.jpg"), "caption": "one"}])
    out = tmp_path / "out"
    assert main(["fetch", "--input", str(listing), "--out", str(out), "--runner", "DirectRunner", *LOCAL]) == 0
    assert json.loads((out / "sizes.json").read_text()) == {"00000.tar": 1}
    with pytest.raises(SystemExit) as usage:
        main(["--runner", "DirectRunner"])
    assert usage.value.code == 2


@pytest.mark.slow
def test_killed_run_leaves_no_partial_tar_and_a_rerun_completes_the_same_samples(server, tmp_path):
    # 6 shards of 3; shard 00003 holds a 30 s stall (timeout 4 s), so the run is killed mid-way.
    urls = [server.url(f"ok/{i}.jpg") for i in range(16)] + [server.url("stall/1.jpg"), server.url("stall/2.jpg")]
    listing = write_list(tmp_path / "list.parquet", [{"url": u, "caption": f"photo {i}"} for i, u in enumerate(urls)])
    out = tmp_path / "out"
    args = [sys.executable, "-m", "wit", "fetch", "--input", str(listing), "--out", str(out), "--shard-size", "3",
            "--image-size", "32", "--allow-address", "127.0.0.1/32", "--timeout", "4", "--read-timeout", "4", "--retries", "0"]
    kill_after_first_shard(args, out, REPO, wait_s=90)
    complete = {p.name.replace("_stats.json", ".tar") for p in (out / "shards").glob("*_stats.json")}
    assert complete and len(complete) < 6
    assert {p.name for p in (out / "shards").glob("*.tar")} == complete, "every .tar present is a complete shard"
    assert not (out / "manifest.json").exists()

    rerun = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["attempted"] == 18 and manifest["samples"] == 16
    assert not list((out / "shards").glob("*.tmp"))

    fresh = tmp_path / "fresh"
    clean = subprocess.run([*args[:7], str(fresh), *args[8:]], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert clean.returncode == 0, clean.stderr
    assert stored_samples(out) == stored_samples(fresh), "killed + re-run gives the same samples as one clean run"


# ---- img2dataset's layout, read back ---------------------------------------------------------
# (Shards that img2dataset itself writes are read and trained on in tests/test_peers.py.)


def img2dataset_style_tar(path: Path, count: int = 3) -> None:
    """A shard as img2dataset writes it (webdataset output): key-named jpg/txt/json, its json fields."""
    with tarfile.open(path, "w") as tar:
        for i in range(count):
            key = f"00000{i:04d}"
            image = photo(64, 48, seed=i)
            meta = {"url": f"http://example.com/{i}.jpg", "caption": f"img2dataset caption {i}", "key": key, "status": "success",
                    "error_message": None, "width": 64, "height": 48, "original_width": 640, "original_height": 480,
                    "exif": "{}", "sha256": None}
            for name, data in ((f"{key}.jpg", image), (f"{key}.txt", meta["caption"].encode()), (f"{key}.json", json.dumps(meta).encode())):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))


def test_img2dataset_shards_read_with_webdataset(tmp_path):
    import webdataset as wds

    img2dataset_style_tar(tmp_path / "00000.tar")
    samples = list(wds.WebDataset(str(tmp_path / "00000.tar"), shardshuffle=False).decode("pil").to_tuple("jpg", "txt", "json"))
    assert [text for _, text, _ in samples] == [f"img2dataset caption {i}" for i in range(3)]
    assert samples[0][0].size == (64, 48)


def test_img2dataset_shards_read_by_the_shards_reader(tmp_path):
    from wit.shards import reader

    img2dataset_style_tar(tmp_path / "00000.tar")
    samples = list(reader.iter_samples(str(tmp_path / "00000.tar")))
    assert [s["txt"] for s in samples] == [f"img2dataset caption {i}" for i in range(3)]
    assert samples[0]["json"]["key"] == "000000000" and samples[0]["jpg"][:2] == b"\xff\xd8"


# ---- the interface `wit build` uses ------------------------------------------------------------


def test_fetch_flags_build_a_config_for_wit_build():
    import argparse

    from wit.pipeline.fetch_config import FetchConfig, ImageOptions, add_fetch_arguments

    parser = argparse.ArgumentParser()
    parser.add_argument("--out")
    add_fetch_arguments(parser)
    args = parser.parse_args(["--out", "OUT", "--shard-size", "500", "--resize-mode", "border", "--resample", "area", "--archive", "a.warc.gz", "b.warc.gz",
                              "--allow-address", "127.0.0.1/32", "--disallowed-directives", "noai,NoImageAI", "--respect-robots"])
    config = FetchConfig.from_args(args, query_list_hash="abc123")
    assert (config.out, config.shard_size, config.images.resize_mode) == ("OUT", 500, "border")
    assert config.images.resample == "area" and config.to_json()["resample"] == "area"  # recorded in manifest.json
    assert config.archives == ("a.warc.gz", "b.warc.gz") and config.allowed_networks == ("127.0.0.1/32",)
    assert config.disallowed_directives == ("noai", "noimageai") and config.respect_robots
    assert config.query_list_hash == "abc123"
    assert json.loads(json.dumps(config.to_json()))["archives"] == ["a.warc.gz", "b.warc.gz"]
    with pytest.raises(ValueError, match="resize mode"):
        FetchConfig(images=ImageOptions(resize_mode="stretch"))


def test_help_does_not_import_the_heavy_stack():
    code = "import sys; from wit.app.cli import build_parser; build_parser(); print(sorted(m for m in ('aiohttp', 'apache_beam', 'PIL', 'pyarrow') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("extra, runs_in_beam", [([], False), (["--beam"], True), (["--direct_num_workers", "1"], True)])
def test_fetch_runs_in_process_unless_beam_is_asked_for(server, tmp_path, extra, runs_in_beam):
    listing = write_list(tmp_path / "list.csv", [{"url": server.url("ok/3.jpg"), "caption": "three"}])
    out = tmp_path / "out"
    code = (
        "import sys; from wit.app.cli import main; "
        f"code = main({['fetch', '--input', str(listing), '--out', str(out), '--image-size', '32', *LOCAL, *extra]!r}); "
        "print('apache_beam' in sys.modules); sys.exit(code)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(runs_in_beam)
    assert ("in a Beam pipeline" in result.stderr) == runs_in_beam
    assert json.loads((out / "sizes.json").read_text()) == {"00000.tar": 1}


def test_fetch_reads_lists_with_the_build_reader_and_counts_unreadable_rows(server, tmp_path, capsys):
    # One reader for build and fetch: a malformed row is a counted drop_error, not a failed run,
    # and a folder names every list in it.
    folder = tmp_path / "lists"
    folder.mkdir()
    good = [json.dumps({"url": server.url(f"ok/{i}.jpg"), "caption": f"photo {i}"}) for i in range(3)]
    (folder / "a.jsonl").write_text("\n".join([good[0], "{not json", good[1]]) + "\n")
    (folder / "b.jsonl").write_text(good[2] + "\n[1, 2]\n")
    assert main(["fetch", "--input", str(folder), "--out", str(tmp_path / "out"), "--image-size", "32", *LOCAL]) == 0
    printed = capsys.readouterr().out
    assert "3 of 3 samples stored" in printed and "2 unreadable input row(s) skipped (drop_error)" in printed


def test_fetch_of_nothing_readable_fails_with_the_reason(tmp_path, capsys):
    listing = tmp_path / "short_rows.csv"
    listing.write_text("url,caption,licence\nhttp://x/1.jpg,a\nhttp://x/2.jpg\n")  # every row lacks fields
    assert main(["fetch", "--input", str(listing), "--out", str(tmp_path / "out"), *LOCAL]) == 1
    assert "no candidate could be read" in capsys.readouterr().err


def test_fetch_refuses_a_list_with_no_json_object_at_launch(tmp_path, capsys):
    listing = tmp_path / "broken.jsonl"
    listing.write_text("{not json\n[1, 2]\n")
    assert main(["fetch", "--input", str(listing), "--out", str(tmp_path / "out"), *LOCAL]) == 2
    assert "not a readable jsonl file (ValueError: no JSON object in its first 1,000 lines)" in capsys.readouterr().err


def test_wit_fetch_in_worker_processes_writes_the_same_shards(server, tmp_path, capsys):
    rows = [{"url": server.url(f"ok/{40 + i}.jpg"), "caption": f"photo {i}"} for i in range(10)]
    rows.append({"url": server.url("404/41.jpg"), "caption": "missing"})
    listing = write_list(tmp_path / "list.parquet", rows)
    for processes, out in (("1", tmp_path / "one"), ("2", tmp_path / "two")):
        assert main(["fetch", "--input", str(listing), "--out", str(out), "--shard-size", "4", "--image-size", "32",
                     "--processes", processes, *LOCAL]) == 0
        assert "10 of 11 samples stored in 3 shard(s)" in capsys.readouterr().out
    one, two = (json.loads((tmp_path / name / "manifest.json").read_text()) for name in ("one", "two"))
    assert one["shards"] == two["shards"], "same tars (sha256), counts and statuses"


@pytest.mark.parametrize("cores, processes, expected", [(3, [], "in 3 processes"), (1, [], "in this process"),
                                                        (3, ["--processes", "1"], "in this process"),
                                                        (1, ["--processes", "2"], "in 2 processes")])
def test_wit_fetch_uses_one_process_per_core_unless_told(server, tmp_path, monkeypatch, caplog, cores, processes, expected):
    # `wit fetch` runs like a local `wit build`: one fetch process per core the run may use,
    # and all in this process on one core or when --processes 1 says so.
    import logging

    import wit.core.runner

    monkeypatch.setattr(wit.core.runner, "available_cores", lambda: cores)
    rows = [{"url": server.url(f"ok/{50 + i}.jpg"), "caption": f"photo {i}"} for i in range(6)]
    listing = write_list(tmp_path / "list.parquet", rows)
    with caplog.at_level(logging.INFO, logger="wit"):
        assert main(["fetch", "--input", str(listing), "--out", str(tmp_path / "out"), "--image-size", "32",
                     *processes, *LOCAL]) == 0
    assert f"fetching 1 input file(s) into {tmp_path / 'out'} {expected}" in caplog.text
    if expected != "in this process":
        workers = int(expected.split()[1])
        assert f"fetch: {workers} processes attempted" in caplog.text
    assert json.loads((tmp_path / "out" / "sizes.json").read_text()) == {"00000.tar": 6}


def test_wit_fetch_refuses_a_negative_process_count(tmp_path, capsys):
    listing = write_list(tmp_path / "list.csv", [{"url": "http://127.0.0.1:9/a.jpg", "caption": "a"}])
    assert main(["fetch", "--input", str(listing), "--out", str(tmp_path / "out"), "--processes", "-1", *LOCAL]) != 0
    assert "--processes must be 0 (one per core) or more, not -1" in capsys.readouterr().err
