"""Every fsspec path of the chain on GCS: fake-gcs-server on 127.0.0.1, gcsfs pointed at it by
STORAGE_EMULATOR_HOST, each `wit` command in its own process as a user runs it.

gs:// here: the query list (`--queries gs://...`, read by the launcher and by the Beam worker
that builds the matcher), the fetch stage's shards and their parquet/stats files, sizes.json and
manifest.json (written by a Beam worker), `--archive gs://...` replay, `wit train --data gs://`,
the model config, `wit eval` (checkpoint, ImageFolder and retrieval shards) and `wit report`.

Not gs:// here: what Beam's own FileSystems write (OUT/candidates, OUT/counts). Beam's GCS
filesystem finalizes a write by copying and deleting through GCS's JSON batch API, which the
emulator does not serve, and it looks for Google credentials (about 25 s of retries) in every
process before it falls back to anonymous access. So `wit build --until candidates` writes its
candidates and counts locally, `wit fetch --beam` carries the same FetchToShards stage that
`wit build` runs into gs://, and the test copies the counts into the bucket as `gsutil cp`
would, for the report. Beam's side of object storage is covered by tests/test_storage.py
(every Beam read and write on moto's S3 through the same FileSystems calls) and, for gs://, by
the Dataflow dry run in tests/test_dry_run.py. Run time: about a minute (tests print it).
"""

from __future__ import annotations

import io
import json
import random
import subprocess
import sys
import time

import pytest

BUCKET = "wit-gcs-chain"


@pytest.fixture(scope="module")
def gcs():
    from storage_servers import fake_gcs_server

    with fake_gcs_server(BUCKET) as server:
        yield server


def run_wit(env: dict, *argv: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wit", *argv], env=env, capture_output=True, text=True, timeout=300,
                          cwd=cwd)


def test_gcsfs_reads_and_writes_through_the_emulator(gcs):
    """The set-up itself: a file written by gcsfs in a wit process is the object the emulator holds."""
    bucket, env = gcs
    bucket.put("probe/in.txt", b"from the test")
    code = ("from wit.core.storage import open_url, read_bytes\n"
            f"assert read_bytes('gs://{BUCKET}/probe/in.txt') == b'from the test'\n"
            f"with open_url('gs://{BUCKET}/probe/out.txt', 'wb') as handle: handle.write(b'from wit')\n")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert bucket.get("probe/out.txt") == b"from wit"


@pytest.mark.slow
def test_queries_shards_archive_train_eval_report_on_gcs(gcs, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from storage_servers import write_warc
    from trainer_shards import COLOURS, MICRO, make_image, make_pairs

    bucket, env = gcs
    started = time.monotonic()
    pairs = make_pairs(24, seed=3)
    queries = bucket.put("in/queries.txt", "\n".join(COLOURS).encode())
    model_config = bucket.put("in/micro.json", json.dumps(MICRO).encode())
    rng = random.Random(5)
    for colour in COLOURS:  # held-out ImageFolder for zero-shot
        for n in range(2):
            bucket.put(f"heldout/{colour}/{n}.jpg", make_image(colour, "circle", rng))
    # The images exist only in a WARC in the bucket: every fetch is answered by --archive replay.
    image_urls = [f"http://images.example/ok/{i}.jpg" for i in range(len(pairs))]
    write_warc(tmp_path / "images.warc.gz",
               [(url, 200, [("Content-Type", "image/jpeg")], image) for url, (image, _) in zip(image_urls, pairs)])
    archive = bucket.put("in/images.warc.gz", (tmp_path / "images.warc.gz").read_bytes())
    rows = [{"url": url, "caption": caption} for url, (_, caption) in zip(image_urls, pairs)]
    rows.append({"url": "http://images.example/missing/0.jpg", "caption": "a photo of a red square"})
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "list.parquet")

    text_side = tmp_path / "text-side"  # Beam's own writes (module docstring)
    build = run_wit(env, "build", "--input", str(tmp_path / "list.parquet"), "--queries", queries, "--out", str(text_side),
                    "--until", "candidates", "--direct_running_mode=in_memory", "--direct_num_workers=1")
    assert build.returncode == 0, build.stderr
    assert "wit build: input 25 = kept 25 + drops 0" in build.stderr
    query_counts = pq.read_table(text_side / "counts" / "queries.parquet").to_pylist()  # a worker read the gs:// list
    assert [row["text"] for row in query_counts] == list(COLOURS) and sum(row["selected"] for row in query_counts) >= 25

    out = f"gs://{BUCKET}/out"
    fetch = run_wit(env, "fetch", "--beam", "--input", str(text_side / "candidates"), "--out", out, "--archive", archive,
                    "--shard-size", "10", "--image-size", "32", "--direct_running_mode=in_memory", "--direct_num_workers=1")
    assert fetch.returncode == 0, fetch.stderr
    assert "24 of 25 samples stored in 3 shard(s)" in fetch.stdout, fetch.stdout
    assert "not_in_archive 1" in fetch.stdout
    assert bucket.keys("out/shards/") == sorted(f"out/shards/0000{n}{suffix}" for n in range(3)
                                                for suffix in (".tar", ".parquet", "_stats.json")) + ["out/shards/sizes.json"]
    sizes = json.loads(bucket.get("out/sizes.json"))
    assert sizes == json.loads(bucket.get("out/shards/sizes.json"))
    assert sorted(sizes) == ["00000.tar", "00001.tar", "00002.tar"] and sum(sizes.values()) == 24
    manifest = json.loads(bucket.get("out/manifest.json"))
    assert manifest["samples"] == 24 and manifest["attempted"] == 25
    statuses = pq.read_table(io.BytesIO(bucket.get("out/shards/00000.parquet"))).column("status").to_pylist()
    assert set(statuses) <= {"success", "not_in_archive"}
    for part in ("counts", "candidates"):  # what `gsutil cp -r` of Beam's local outputs does
        for path in sorted((text_side / part).iterdir()):
            bucket.put(f"out/{part}/{path.name}", path.read_bytes())

    run = tmp_path / "run"
    train = run_wit(env, "-q", "train", "--data", f"{out}/shards", "--out", str(run), "--model-config", model_config,
                    "--batch-size", "8", "--epochs", "2", "--lr", "2e-3", "--warmup", "1", "--vocab-size", "300",
                    "--precision", "fp32", "--workers", "0", "--log-every", "1", "--save-every", "0", "--device", "cpu")
    assert train.returncode == 0, train.stderr
    steps = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if '"loss"' in line]
    assert len(steps) == 2 * (24 // 8)  # every sample of the three gs:// shards was read, both epochs
    checkpoint = bucket.put("run/latest.pt", (run / "checkpoints" / "latest.pt").read_bytes())

    evaluate = run_wit(env, "eval", "--checkpoint", checkpoint, "--imagefolder", f"gs://{BUCKET}/heldout",
                       "--retrieval-data", out, "--device", "cpu")
    assert evaluate.returncode == 0, evaluate.stderr
    results = json.loads(evaluate.stdout.strip().splitlines()[-1])
    assert results["zero_shot"]["images"] == 8 and results["zero_shot"]["classes"] == 4
    assert results["retrieval"]["pairs"] == 24

    report = run_wit(env, "report", out, "--run", str(run))
    assert report.returncode == 0, report.stderr
    assert report.stdout.strip() == f"report: {out}/report/index.html"
    page = bucket.get("out/report/index.html").decode()
    assert "not available" not in page
    assert "<td>input = kept + drops</td><td>yes</td>" in page and "<td>samples</td><td>24</td>" in page
    for plot in ("drops.png", "queries.png", "languages.png", "image_sizes.png", "shards.png", "training.png"):
        assert f'src="{plot}"' in page and bucket.get(f"out/report/{plot}").startswith(b"\x89PNG")
    print(f"GCS chain: {time.monotonic() - started:.1f} s")
