"""The peer tools, run for real: img2dataset fetches wit's candidates, wit reads and trains on the
shards img2dataset writes, and open_clip trains on the shards wit writes.

The peers run in Pythons of their own (tests/peers.py: the venvs scripts/setup-peers.sh makes under
.peers/, or WIT_PEERS_PYTHON); a test whose peer imports in none of them is skipped and says why.
"""

import json
import math
import re
import subprocess
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from image_server import ImageServer
from peers import peer_env, require
from wit.shards.reader import epoch_size, iter_samples
from trainer_shards import MICRO, make_pairs, train_args
from wit.app.cli import main as wit

PAIRS = make_pairs(48, seed=5)
FAULTS = {40: "404", 41: "corrupt", 42: "html"}  # list positions whose URL fails, one way each
STORED = len(PAIRS) - len(FAULTS)
LOCAL = ["--allow-address", "127.0.0.1/32", "--timeout", "5", "--retries", "0"]
IMG2DATASET = "scripts/setup-peers.sh installs it"
OPEN_CLIP = "scripts/setup-peers.sh open_clip installs it"


@pytest.fixture(scope="module")
def server():
    with ImageServer([image for image, _ in PAIRS], latency_ms=(1, 5)) as srv:
        yield srv


@pytest.fixture(scope="module")
def url_list(server, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("peers") / "urls.parquet"
    rows = [{"url": server.url(f"{FAULTS.get(i, 'ok')}/{i}.jpg"), "caption": caption} for i, (_, caption) in enumerate(PAIRS)]
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def caption_of(url: str) -> str:
    return PAIRS[int(url.rsplit("/", 1)[1].split(".")[0])][1]


def run_img2dataset(python: str, url_list: Path, out: Path, *extra: str) -> dict:
    """img2dataset's CLI, webdataset output; returns its summed _stats.json counts."""
    command = [python, "-m", "img2dataset.main", "--url_list", str(url_list), "--input_format", "parquet",
               "--url_col", "url", "--caption_col", "caption", "--output_format", "webdataset",
               "--output_folder", str(out), "--image_size", "32", "--resize_mode", "center_crop",
               "--processes_count", "1", "--thread_count", "8", "--number_sample_per_shard", "20",
               "--timeout", "5", "--retries", "0", "--enable_wandb", "False", *extra]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=peer_env(), cwd=out.parent)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    totals = {"successes": 0, "failed_to_download": 0, "failed_to_resize": 0, "count": 0}
    for stats in out.glob("*_stats.json"):
        payload = json.loads(stats.read_text())
        for key in totals:
            totals[key] += payload[key]
    return totals


def test_img2dataset_shards_read_and_train_in_wit(url_list, tmp_path):
    python = require("img2dataset", IMG2DATASET)
    out = tmp_path / "i2d"
    totals = run_img2dataset(python, url_list, out)
    assert totals["count"] == len(PAIRS) and totals["successes"] == STORED
    tars = sorted(out.glob("*.tar"))
    assert [t.name for t in tars] == ["00000.tar", "00001.tar", "00002.tar"]

    samples = [s for tar in tars for s in iter_samples(str(tar))]
    assert len(samples) == STORED and epoch_size(str(out)) == STORED  # the count from img2dataset's _stats.json
    for sample in samples:
        assert sample["txt"] == caption_of(sample["json"]["url"]) == sample["json"]["caption"]
        assert sample["__key__"] == sample["json"]["key"] and sample["jpg"][:2] == b"\xff\xd8"

    (tmp_path / "micro.json").write_text(json.dumps(MICRO))
    batch = 15
    assert wit(train_args(out, tmp_path / "run", tmp_path / "micro.json", "--epochs", "1", "--workers", "0", batch_size=batch)) == 0
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    steps = [r for r in records if "loss" in r]
    assert [r["step"] for r in steps] == list(range(1, STORED // batch + 1))
    assert all(math.isfinite(r["loss"]) for r in steps) and steps[-1]["bad_samples"] == 0


def test_img2dataset_fetches_wit_candidates(url_list, tmp_path):
    python = require("img2dataset", IMG2DATASET)
    out = tmp_path / "build"
    assert wit(["-q", "build", "--input", str(url_list), "--queries", "none", "--out", str(out), "--until", "candidates",
                "--direct_running_mode=in_memory", "--direct_num_workers=1"]) == 0
    candidates = pa.concat_tables([pq.read_table(p) for p in sorted((out / "candidates").glob("*.parquet"))]).to_pylist()
    assert len(candidates) == len(PAIRS), "every caption of the list passes the filters"

    # img2dataset reads the candidates folder as it is, wit's extra columns carried through.
    shards = tmp_path / "i2d"
    totals = run_img2dataset(python, out / "candidates", shards, "--save_additional_columns", "['uid','text_field']")
    assert totals["count"] == len(candidates) and totals["successes"] == STORED
    uid_of = {c["url"]: c["uid"] for c in candidates}
    samples = [s for tar in sorted(shards.glob("*.tar")) for s in iter_samples(str(tar))]
    assert sorted(s["json"]["uid"] for s in samples) == sorted(uid_of[c["url"]] for c in candidates if "/ok/" in c["url"])
    for sample in samples:
        assert sample["json"]["uid"] == uid_of[sample["json"]["url"]] and sample["txt"] == caption_of(sample["json"]["url"])


def test_open_clip_trains_on_wit_shards(url_list, tmp_path):
    python = require("open_clip_train.main", OPEN_CLIP)
    out = tmp_path / "wit"
    assert wit(["-q", "fetch", "--input", str(url_list), "--out", str(out), "--shard-size", "20", "--image-size", "64", *LOCAL]) == 0
    sizes = json.loads((out / "shards" / "sizes.json").read_text())
    assert sorted(sizes) == ["00000.tar", "00001.tar", "00002.tar"] and sum(sizes.values()) == STORED

    # No --train-num-samples: open_clip takes the epoch length from the sizes.json beside the tars.
    command = [python, "-m", "open_clip_train.main", "--train-data", str(out / "shards" / "{00000..00002}.tar"),
               "--dataset-type", "webdataset", "--model", "ViT-S-32", "--batch-size", "15", "--epochs", "1",
               "--workers", "0", "--device", "cpu", "--precision", "fp32", "--logs", str(tmp_path / "logs"),
               "--name", "wit", "--report-to", "", "--save-frequency", "1", "--warmup", "0", "--lr", "1e-5",
               "--log-every-n-steps", "1", "--seed", "0"]
    # One torch thread: the suite runs a test per core beside this one, and timing tests share them.
    env = {**peer_env(), "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    log = (tmp_path / "logs" / "wit" / "out.log").read_text()
    progress = re.findall(r"Train Epoch: 0 \[\s*(\d+)/(\d+) .*? Loss: ([0-9.naif]+)", log)
    assert progress, log[-2000:]
    seen, epoch, loss = progress[-1]
    assert int(epoch) == STORED and int(seen) == STORED, "one whole epoch of the shards' samples"
    assert math.isfinite(float(loss))
    assert (tmp_path / "logs" / "wit" / "checkpoints" / "epoch_1.pt").stat().st_size > 0
