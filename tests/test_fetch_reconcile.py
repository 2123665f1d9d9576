"""`kept = attempted in shards`: the check every `wit build` ends with, beside input = kept + drops."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from wit.core.errors import WitError
from wit.pipeline.counting import attempted_uids_check, reconcile_fetch

MANIFEST = {"attempted": 5, "status_counts": {"success": 4, "failed_to_download": 1}}


def write_uids(path, uids):
    pq.write_table(pa.table({"uid": uids}), path)
    return str(path)


def test_the_line_names_both_sides_and_the_statuses():
    assert reconcile_fetch(5, MANIFEST) == "kept 5 = attempted in shards 5 (success 4, failed_to_download 1)"


def test_a_lost_candidate_fails_the_build():
    with pytest.raises(WitError, match="off by 1"):
        reconcile_fetch(6, MANIFEST)


def test_uid_by_uid_catches_what_equal_counts_hide(tmp_path):
    candidates = [write_uids(tmp_path / "c.parquet", ["a", "b", "c", "d", "e"])]
    same = [write_uids(tmp_path / "s0.parquet", ["a", "b"]), write_uids(tmp_path / "s1.parquet", ["c", "d", "e"])]
    check = attempted_uids_check(candidates, same)
    assert check == {"missing": 0, "repeated": 0, "unexpected": 0}
    assert reconcile_fetch(5, MANIFEST, check).endswith("; every kept uid once")
    # Same count, but 'e' was never attempted and 'a' twice.
    swapped = [write_uids(tmp_path / "t0.parquet", ["a", "b"]), write_uids(tmp_path / "t1.parquet", ["c", "d", "a"])]
    check = attempted_uids_check(candidates, swapped)
    assert check == {"missing": 1, "repeated": 1, "unexpected": 0}
    with pytest.raises(WitError, match="1 kept candidate\\(s\\) never attempted, 1 attempted twice"):
        reconcile_fetch(5, MANIFEST, check)


@pytest.mark.slow
def test_a_build_killed_while_fetching_reruns_to_the_same_samples_and_reconciles(tmp_path):
    # Beam worker processes are killed (the whole process group) once the first shard is
    # published; a re-run keeps the complete shards, redoes the rest, and both checks hold.
    import subprocess
    import sys
    import tarfile
    from pathlib import Path

    from image_server import ImageServer
    from killed_runs import kill_after_first_shard, stored_samples
    from photos import photo

    repo = Path(__file__).resolve().parent.parent
    with ImageServer([photo(200, 150, seed=s) for s in range(3)], latency_ms=(5, 20), stall_s=30) as server:
        urls = [server.url(f"ok/{i}.jpg") for i in range(16)] + [server.url("stall/1.jpg"), server.url("stall/2.jpg")]
        listing = tmp_path / "list.parquet"
        pq.write_table(pa.Table.from_pylist([{"url": u, "caption": f"a photo of a red fox number {i}"} for i, u in enumerate(urls)]), listing)

        def build(out: Path) -> list[str]:
            return [sys.executable, "-m", "wit", "build", "--input", str(listing), "--queries", "none", "--out", str(out),
                    "--shard-size", "3", "--image-size", "32", "--allow-address", "127.0.0.1/32", "--timeout", "4",
                    "--read-timeout", "4", "--retries", "0", "--direct_running_mode=multi_processing", "--direct_num_workers=2",
                    # fetched ahead, every shard would be done at once, before the kill could come
                    "--fetch-ahead", "0"]

        out = tmp_path / "out"
        kill_after_first_shard(build(out), out, repo)
        committed = {p.name.replace("_stats.json", ".tar") for p in (out / "shards").glob("*_stats.json")}
        tars = {p.name for p in (out / "shards").glob("*.tar")}
        # A tar is published whole (rename) before its stats file commits the shard, so a kill can
        # leave a whole tar that is not committed yet (redone by the re-run), never a partial one.
        assert committed <= tars
        for name in tars:
            with tarfile.open(out / "shards" / name) as tar:
                assert all(member.size == len(tar.extractfile(member).read()) for member in tar.getmembers()), name
        assert not (out / "manifest.json").exists()

        rerun = subprocess.run(build(out), cwd=repo, capture_output=True, text=True, timeout=300)
        assert rerun.returncode == 0, rerun.stderr[-3000:]
        assert "wit build: input 18 = kept 18 + drops 0" in rerun.stderr
        assert ("wit build: kept 18 = attempted in shards 18 (failed_to_download 2, success 16); every kept uid once"
                in rerun.stderr), rerun.stderr[-2000:]
        assert not list((out / "shards").glob("*.tmp*"))
        clean = subprocess.run(build(tmp_path / "clean"), cwd=repo, capture_output=True, text=True, timeout=300)
        assert clean.returncode == 0, clean.stderr[-3000:]

    assert stored_samples(out) == stored_samples(tmp_path / "clean") and len(stored_samples(out)) == 16
