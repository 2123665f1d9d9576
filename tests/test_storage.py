"""Object storage: a missing filesystem package is one clear line naming the extra, and the whole
chain (build -> train -> eval -> predict -> report) runs with every path on S3 (moto's server on
127.0.0.1), each command in its own process as a user runs it."""

from __future__ import annotations

import io
import json
import os
import random
import subprocess
import sys
import time

import pytest

from wit.app.cli import main as wit
from wit.core.errors import WitError
from wit.core.storage import local_file, read_bytes, require_filesystem, url_schemes

AWS_LINE = "s3:// paths need the aws extra: pip install 'wit[aws]'"


@pytest.fixture
def without(monkeypatch):
    """Make modules unimportable, as if their package were not installed."""

    def hide(*modules: str) -> None:
        for module in modules:
            for name in list(sys.modules):
                if name == module or name.startswith(module + "."):
                    monkeypatch.delitem(sys.modules, name)
            monkeypatch.setitem(sys.modules, module, None)  # `import module` now raises ImportError

    return hide


def test_schemes_of_plain_and_chained_urls():
    assert url_schemes("s3://bucket/key") == ["s3"]
    assert url_schemes("GS://bucket/key") == ["gs"]
    assert url_schemes("simplecache::s3://bucket/key") == ["simplecache", "s3"]
    assert url_schemes("out/shards") == [] and url_schemes("/abs/path") == []


def test_a_missing_filesystem_names_its_extra(without):
    without("s3fs", "gcsfs")
    with pytest.raises(WitError) as raised:
        require_filesystem("s3://bucket/out")
    assert str(raised.value) == AWS_LINE
    with pytest.raises(WitError, match=r"^gs:// paths need the gcp extra: pip install 'wit\[gcp\]'$"):
        require_filesystem("gs://bucket/out")
    with pytest.raises(WitError, match="aws extra"):
        require_filesystem("simplecache::s3://bucket/out")
    for fine in ("out/shards", "/tmp/x", "memory://x", "https://example.org/a.parquet"):
        require_filesystem(fine)


def test_beams_side_is_checked_only_where_beam_reads(without):
    pytest.importorskip("s3fs")
    without("boto3")
    require_filesystem("s3://bucket/shards")  # fsspec alone (training, reports) needs no boto3
    with pytest.raises(WitError, match="aws extra"):
        require_filesystem("s3://bucket/out", beam=True)


@pytest.mark.parametrize("argv", [
    ["build", "--input", "in.parquet", "--out", "s3://bucket/out"],
    ["build", "--input", "s3://bucket/in.parquet", "--out", "OUT"],
    ["fetch", "--input", "in.parquet", "--out", "s3://bucket/out"],
    ["fetch", "--input", "in.parquet", "--out", "OUT", "--archive", "s3://bucket/pages.warc.gz"],
    ["train", "--data", "s3://bucket/out/shards", "--out", "RUN"],
    ["eval", "--checkpoint", "s3://bucket/run/latest.pt", "--retrieval-data", "s3://bucket/out/shards"],
    ["predict", "--checkpoint", "s3://bucket/run/latest.pt", "--image", "s3://bucket/x.jpg", "--labels", "a,b"],
    ["report", "s3://bucket/out"],
    ["queries", "match", "--queries", "s3://bucket/queries.txt"],
], ids=lambda argv: " ".join(argv[:2]) + (" --archive" if "--archive" in argv else ""))
def test_every_command_says_which_extra_an_s3_path_needs(argv, without, tmp_path, capsys, monkeypatch):
    without("s3fs")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.parquet").write_bytes(b"")
    assert wit(argv) == 1
    err = capsys.readouterr().err
    assert err == f"wit: error: {AWS_LINE}\n", err  # one line, no ImportError text


def test_the_launcher_needs_beams_s3_side_too(without, tmp_path, capsys, monkeypatch):
    pytest.importorskip("s3fs")
    without("boto3")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.parquet").write_bytes(b"")
    assert wit(["build", "--input", "in.parquet", "--out", "s3://bucket/out"]) == 1
    assert capsys.readouterr().err == f"wit: error: {AWS_LINE}\n"


def test_a_training_run_folder_must_be_local(tmp_path, capsys):
    assert wit(["train", "--data", str(tmp_path), "--out", "s3://bucket/run"]) == 1
    assert "--out is the run folder and must be local" in capsys.readouterr().err


def test_remote_files_read_like_local_ones(tmp_path):
    import fsspec

    with fsspec.open("memory://wit-storage-test/a.json", "wb") as handle:
        handle.write(b'{"a": 1}')
    assert read_bytes("memory://wit-storage-test/a.json") == b'{"a": 1}'
    with local_file("memory://wit-storage-test/a.json") as local:
        assert local.endswith("a.json") and open(local, "rb").read() == b'{"a": 1}'
    assert not os.path.exists(local)  # the scratch copy goes
    (tmp_path / "b.txt").write_text("x")
    with local_file(tmp_path / "b.txt") as same:
        assert same == str(tmp_path / "b.txt")
    with pytest.raises(FileNotFoundError):
        with local_file("memory://wit-storage-test/missing.json"):
            pass


# ---- the whole chain on S3 ------------------------------------------------------------------

BUCKET = "wit-chain"


@pytest.fixture(scope="module")
def s3():
    """moto's S3 server on 127.0.0.1 with the bucket: (boto3 client, endpoint, env for wit)."""
    from storage_servers import moto_s3

    with moto_s3(BUCKET) as server:
        yield server


def run_wit(env: dict, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wit", *argv], env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_build_train_eval_report_with_every_path_on_s3(s3, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from image_server import ImageServer
    from trainer_shards import COLOURS, MICRO, make_image, make_pairs

    client, endpoint, env = s3
    started = time.monotonic()

    def put(key: str, body: bytes) -> str:
        client.put_object(Bucket=BUCKET, Key=key, Body=body)
        return f"s3://{BUCKET}/{key}"

    def get(key: str) -> bytes:
        return client.get_object(Bucket=BUCKET, Key=key)["Body"].read()

    pairs = make_pairs(24, seed=3)
    queries = put("in/queries.txt", "\n".join(COLOURS).encode())
    model_config = put("in/micro.json", json.dumps(MICRO).encode())
    rng = random.Random(5)
    for colour in COLOURS:  # held-out ImageFolder for zero-shot
        for n in range(2):
            put(f"heldout/{colour}/{n}.jpg", make_image(colour, "circle", rng))

    with ImageServer([image for image, _ in pairs]) as images:
        rows = [{"url": images.url(f"/ok/{i}.jpg"), "caption": caption} for i, (_, caption) in enumerate(pairs)]
        rows.append({"url": images.url("/404/0.jpg"), "caption": "a photo of a red square"})
        table = io.BytesIO()
        pq.write_table(pa.Table.from_pylist(rows), table)
        url_list = put("in/list.parquet", table.getvalue())
        build = run_wit(env, "build", "--input", url_list, "--queries", queries, "--out", f"s3://{BUCKET}/out",
                        "--shard-size", "10", "--image-size", "32", "--allow-address", "127.0.0.1/32",
                        "--direct_running_mode=in_memory", "--direct_num_workers=1", f"--s3_endpoint_url={endpoint}")
    assert build.returncode == 0, build.stderr
    assert "wit build: input 25 = kept 25 + drops 0" in build.stderr
    assert "credentials" not in build.stderr  # botocore's INFO chatter stays quiet
    sizes = json.loads(get("out/sizes.json"))
    assert sizes == json.loads(get("out/shards/sizes.json"))
    assert sorted(sizes) == ["00000.tar", "00001.tar", "00002.tar"] and sum(sizes.values()) == 24  # the 404 is not shipped
    manifest = json.loads(get("out/manifest.json"))
    assert manifest["samples"] == 24 and manifest["attempted"] == 25
    assert manifest["build"]["inputs"]["first"] == [url_list] and manifest["build"]["queries"] == queries
    assert json.loads(get("out/counts/text_counts.json"))["kept"] == 25
    pq.read_table(io.BytesIO(get("out/candidates/part-00000-of-00001.parquet")))  # Beam's writer, on S3

    run = tmp_path / "run"
    train = run_wit(env, "-q", "train", "--data", f"s3://{BUCKET}/out/shards", "--out", str(run),
                    "--model-config", model_config, "--batch-size", "8", "--epochs", "2", "--lr", "2e-3",
                    "--warmup", "1", "--vocab-size", "300", "--precision", "fp32", "--workers", "0",
                    "--log-every", "1", "--save-every", "0", "--device", "cpu")
    assert train.returncode == 0, train.stderr
    steps = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if '"loss"' in line]
    assert len(steps) == 2 * (24 // 8)  # every sample of the three S3 shards was read, both epochs
    checkpoint = put("run/latest.pt", (run / "checkpoints" / "latest.pt").read_bytes())

    evaluate = run_wit(env, "eval", "--checkpoint", checkpoint, "--imagefolder", f"s3://{BUCKET}/heldout",
                       "--retrieval-data", f"s3://{BUCKET}/out", "--device", "cpu")
    assert evaluate.returncode == 0, evaluate.stderr
    results = json.loads(evaluate.stdout.strip().splitlines()[-1])
    assert results["zero_shot"]["images"] == 8 and results["zero_shot"]["classes"] == 4
    assert results["retrieval"]["pairs"] == 24

    predict = run_wit(env, "predict", "--checkpoint", checkpoint, "--image", f"s3://{BUCKET}/heldout/red/0.jpg",
                      "--labels", "red,blue", "--device", "cpu")
    assert predict.returncode == 0, predict.stderr
    assert {line.split()[0] for line in predict.stdout.splitlines()} == {"red", "blue"}

    report = run_wit(env, "report", f"s3://{BUCKET}/out", "--run", str(run))
    assert report.returncode == 0, report.stderr
    assert report.stdout.strip() == f"report: s3://{BUCKET}/out/report/index.html"
    page = get("out/report/index.html").decode()
    assert "not available" not in page
    assert "<td>input = kept + drops</td><td>yes</td>" in page and "<td>samples</td><td>24</td>" in page
    assert "fetched (success)</td><td>24 of 25 attempted" in page
    for plot in ("drops.png", "queries.png", "languages.png", "image_sizes.png", "shards.png", "training.png"):
        assert f'src="{plot}"' in page and get(f"out/report/{plot}").startswith(b"\x89PNG")
    print(f"S3 chain: {time.monotonic() - started:.1f} s")
