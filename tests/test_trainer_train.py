"""End to end: `wit train` on tiny shards lowers the loss, resumes exactly, and feeds `wit eval` / `wit predict`."""

import json
import random
from pathlib import Path

import pytest

from trainer_shards import COLOURS, MICRO, make_image, make_pairs, train_args, write_dataset
from wit.app.cli import main as wit


def metrics(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("train")
    (root / "micro.json").write_text(json.dumps(MICRO))
    write_dataset(root / "data", make_pairs(256, seed=1), per_shard=64)
    write_dataset(root / "val", make_pairs(64, seed=2), per_shard=32)
    return root


@pytest.fixture(scope="module")
def trained_run(workspace):
    run = workspace / "run"
    code = wit(train_args(workspace / "data" / "shards", run, workspace / "micro.json", "--epochs", "8",
                          "--workers", "1", "--val-data", str(workspace / "val" / "shards")))
    assert code == 0
    return run


@pytest.mark.slow
def test_tiny_model_on_tiny_shards_lowers_its_loss(trained_run):
    records = [r for r in metrics(trained_run) if "loss" in r]
    assert [r["step"] for r in records] == list(range(1, 65))  # 256 samples / 32 = 8 steps x 8 epochs
    first = sum(r["loss"] for r in records[:4]) / 4
    last = sum(r["loss"] for r in records[-4:]) / 4
    print(f"loss {first:.3f} -> {last:.3f}")
    assert last < 0.75 * first
    assert all(r["temperature"] >= 0.01 and r["samples_per_s"] > 0 for r in records)
    assert records[-1]["loader_images_per_s_per_worker"] > 0 and records[-1]["bad_samples"] == 0
    validation = [r for r in metrics(trained_run) if "val_image_to_text_R@1" in r]
    assert len(validation) == 8 and validation[-1]["val_pairs"] == 64
    assert (trained_run / "tokenizer.json").is_file()
    assert {p.name for p in (trained_run / "checkpoints").iterdir()} >= {"latest.pt", "epoch_1.pt", "epoch_8.pt"}


@pytest.mark.slow
def test_predict_prints_a_probability_per_label(trained_run, tmp_path, capsys):
    image = tmp_path / "red.jpg"
    image.write_bytes(make_image("red", "circle", random.Random(9)))
    labels = [f"a {colour} circle" for colour in COLOURS]
    capsys.readouterr()
    assert wit(["predict", "--checkpoint", str(trained_run / "checkpoints" / "latest.pt"), "--image", str(image),
                "--labels", ",".join(labels)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    printed = {line.rsplit(None, 1)[0].strip(): float(line.rsplit(None, 1)[1].rstrip("%")) for line in lines}
    assert set(printed) == set(labels)
    assert sum(printed.values()) == pytest.approx(100, abs=0.1)
    assert max(printed, key=printed.get) == "a red circle"


@pytest.mark.slow
def test_eval_zero_shot_and_retrieval(trained_run, workspace, tmp_path, capsys):
    rng = random.Random(4)
    for colour in COLOURS:
        (tmp_path / "images" / colour).mkdir(parents=True)
        for index in range(5):
            (tmp_path / "images" / colour / f"{index}.jpg").write_bytes(make_image(colour, rng.choice(["circle", "square"]), rng))
    templates = tmp_path / "templates.txt"
    templates.write_text("a photo of a {} circle\na photo of a {} square\n")
    capsys.readouterr()
    assert wit(["eval", "--checkpoint", str(trained_run / "checkpoints" / "latest.pt"), "--imagefolder", str(tmp_path / "images"),
                "--templates", str(templates), "--retrieval-data", str(workspace / "val" / "shards")]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    zero_shot, retrieval = result["zero_shot"], result["retrieval"]
    assert (zero_shot["images"], zero_shot["classes"], zero_shot["templates"]) == (20, 4, 2)
    assert zero_shot["top1"] > 0.5 and zero_shot["top5"] == 1.0  # 4 classes: top-5 always hits
    assert retrieval["pairs"] == 64
    assert 0 < retrieval["image_to_text_R@1"] <= retrieval["image_to_text_R@5"] <= retrieval["image_to_text_R@10"] <= 1


@pytest.mark.slow
def test_resume_mid_epoch_gives_the_same_next_losses(workspace, tmp_path):
    data, micro = workspace / "data" / "shards", workspace / "micro.json"
    common = ("--epochs", "1", "--workers", "2")
    assert wit(train_args(data, tmp_path / "straight", micro, *common)) == 0
    assert wit(train_args(data, tmp_path / "resumed", micro, *common, "--stop-at-step", "3")) == 0
    checkpoint = tmp_path / "resumed" / "checkpoints" / "latest.pt"
    assert checkpoint.is_file()
    assert wit(train_args(data, tmp_path / "resumed", micro, *common, "--resume", "auto")) == 0
    straight = {r["step"]: r["loss"] for r in metrics(tmp_path / "straight")}
    resumed = {r["step"]: r["loss"] for r in metrics(tmp_path / "resumed")}
    assert sorted(resumed) == sorted(straight) == list(range(1, 9))
    for step in range(1, 9):
        assert resumed[step] == pytest.approx(straight[step], rel=1e-5, abs=1e-6), step


@pytest.mark.slow
def test_img2dataset_shards_train_and_bad_input_is_one_clear_error(workspace, tmp_path, capsys):
    shard_dir = write_dataset(tmp_path / "i2d", make_pairs(64, seed=8), per_shard=32, style="img2dataset")
    assert wit(train_args(shard_dir, tmp_path / "run", workspace / "micro.json", "--workers", "0", "--precision", "amp_bf16")) == 0
    assert [r["step"] for r in metrics(tmp_path / "run")] == [1, 2]
    capsys.readouterr()
    assert wit(train_args(tmp_path / "missing", tmp_path / "run2", workspace / "micro.json")) == 1
    assert "not found" in capsys.readouterr().err
    assert wit(["predict", "--checkpoint", str(tmp_path / "nope.pt"), "--image", "x.jpg", "--labels", "a,b"]) == 1
    assert wit(["predict", "--checkpoint", str(tmp_path / "nope.pt"), "--image", "x.jpg", "--labels", "only one"]) == 1
