"""Linear probe: the C sweep on a validation split, refit, test top-1; labelled sets from folders and shards."""

import json
import random

import numpy as np
import pytest

from trainer_checkpoints import write_colour_folder, write_micro_checkpoint
from trainer_shards import COLOURS, make_image, write_shard
from wit.app.cli import main as wit
from wit.core.errors import WitError
from wit.trainer.labelled import from_shards, label_of, stratified_split, train_test, LabelledImages
from wit.trainer.probe import linear_probe


def separable(n_per_class: int, seed: int, classes: int = 3, noise_dims: int = 120):
    """Classes differ along a few informative dimensions; many pure-noise dimensions invite overfitting."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(classes), n_per_class)
    informative = np.eye(classes, 4)[labels] * 3.0 + rng.normal(size=(len(labels), 4))
    noise = rng.normal(size=(len(labels), noise_dims))
    x = np.hstack([informative, noise])
    order = rng.permutation(len(labels))
    return x[order], labels[order]


def test_probe_picks_a_c_between_the_extremes_and_beats_chance():
    x, y = separable(250, seed=0)
    train_x, train_y, test_x, test_y = x[:150], y[:150], x[150:], y[150:]
    result = linear_probe(train_x, train_y, test_x, test_y, val_fraction=0.4, seed=0)
    print({c: round(v, 2) for c, v in result["sweep"].items()})
    sweep = {float(c): v for c, v in result["sweep"].items()}
    smallest, largest = min(sweep), max(sweep)
    assert smallest == pytest.approx(1e-6) and largest == pytest.approx(1e6)
    # over-regularised: one class for everything; barely regularised: fits the noise dimensions
    assert sweep[smallest] < 0.5
    assert result["val_top1"] == max(sweep.values()) > sweep[largest] and result["val_top1"] >= 0.85
    assert 1e-6 < result["C"] < 1e6
    # the sweep refines around the best decade in quarter decades
    assert sum(1 for c in sweep if abs(np.log10(c) - round(np.log10(c))) > 0.1) == 6
    assert result["top1"] > 0.85 > 1 / 3
    assert result["train"] + result["val"] == 150 and result["val"] == 60 and result["test"] == 600
    assert result["converged"]


def test_probe_needs_two_classes_and_a_validation_split():
    x = np.zeros((4, 2))
    with pytest.raises(WitError, match="at least two classes"):
        linear_probe(x, np.zeros(4, dtype=int), x, np.zeros(4, dtype=int))
    with pytest.raises(WitError, match="at least two"):
        linear_probe(x[:2], np.array([0, 1]), x[:2], np.array([0, 1]))


def test_stratified_split_takes_a_share_of_every_class_and_is_seeded():
    labels = [0] * 10 + [1] * 5 + [2] * 1
    kept, held = stratified_split(labels, 0.2, seed=4)
    assert sorted(kept + held) == list(range(16))
    assert [labels[i] for i in held].count(0) == 2 and [labels[i] for i in held].count(1) == 1
    assert 15 in kept  # a class with one image stays on the training side
    assert (kept, held) == stratified_split(labels, 0.2, seed=4)
    assert held != stratified_split(labels, 0.2, seed=5)[1]
    with pytest.raises(WitError, match="between 0 and 1"):
        stratified_split(labels, 1.0, seed=0)


@pytest.mark.parametrize("meta, expected", [
    ({"q": "cat"}, ("cat", None)), ({"q": ["cat"]}, ("cat", None)), ({"q": 7}, ("7", None)),
    ({}, (None, "no_label")), ({"q": None}, (None, "no_label")), ({"q": []}, (None, "no_label")),
    ({"q": ["cat", "dog"]}, (None, "several_labels")), ({"q": " "}, (None, "bad_label")), ({"q": {"a": 1}}, (None, "bad_label")),
])
def test_label_of_a_json_field(meta, expected):
    assert label_of(meta, "q") == expected


def test_shards_labelled_by_a_json_field_count_every_drop(tmp_path):
    rng = random.Random(0)
    members, labels = [], [["red"], ["blue"], ["red", "blue"], None, ["blue"], "red"]
    for i, label in enumerate(labels):
        meta = {"key": f"{i:04d}", "lang": "en"} if label is None else {"key": f"{i:04d}", "lang": "en", "selected_by": label}
        members += [(f"{i:04d}.jpg", make_image("red", "circle", rng)), (f"{i:04d}.txt", b"x"), (f"{i:04d}.json", json.dumps(meta).encode())]
    members += [("9999.txt", b"caption without an image")]
    write_shard(tmp_path / "00000.tar", members)
    data = from_shards(str(tmp_path / "00000.tar"), "selected_by")
    assert data.class_names == ["blue", "red"] and data.labels == [1, 0, 0, 1]
    assert data.drops == {"several_labels": 1, "no_label": 1, "no_image": 1}
    assert len(data) + sum(data.drops.values()) == len(labels) + 1
    with pytest.raises(WitError, match="has a usable 'missing'"):
        from_shards(str(tmp_path / "00000.tar"), "missing")
    with pytest.raises(WitError, match="same 'lang'.*nothing to classify"):
        from_shards(str(tmp_path / "00000.tar"), "lang")


def test_a_test_set_with_fewer_classes_is_relabelled_and_unknown_classes_are_an_error():
    train = LabelledImages(["blue", "green", "red"], [b"a", b"b", b"c"], [0, 1, 2])
    test = LabelledImages(["blue", "red"], [b"d", b"e"], [1, 0])
    _, relabelled = train_test(train, test, 0.2, seed=0)
    assert relabelled.labels == [2, 0] and relabelled.class_names == train.class_names
    with pytest.raises(WitError, match="lacks"):
        train_test(train, LabelledImages(["cyan", "red"], [b"d"], [0]), 0.2, seed=0)


def test_wit_eval_linear_probe_on_an_imagefolder(tmp_path, capsys):
    checkpoint = write_micro_checkpoint(tmp_path / "model.pt", seed=1)
    folder = write_colour_folder(tmp_path / "colours", per_class=20, seed=2)
    capsys.readouterr()
    assert wit(["eval", "--checkpoint", str(checkpoint), "--linear-probe", str(folder), "--test-fraction", "0.25"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    probe = json.loads(lines[-1])["linear_probe"]
    assert probe["classes"] == len(COLOURS) and probe["test"] == 20 and probe["train"] + probe["val"] == 60
    # colours are easy even for random features: well above chance (25%)
    assert probe["top1"] >= 0.6
    assert lines[0].startswith(f"linear probe: {probe['train']} train + {probe['val']} val images, 4 classes")
