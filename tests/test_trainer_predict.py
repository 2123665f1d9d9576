"""`wit predict`: one image under several checkpoints and several label sets, as one table."""

import random

import pytest

from trainer_checkpoints import write_micro_checkpoint
from trainer_shards import make_image
from wit.app.cli import main as wit
from wit.core.errors import WitError
from wit.trainer.predict import column_names, parse_labels


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("predict")
    first = write_micro_checkpoint(root / "run_a" / "latest.pt", seed=1)
    second = write_micro_checkpoint(root / "run_b" / "latest.pt", seed=2)
    image = root / "red.jpg"
    image.write_bytes(make_image("red", "circle", random.Random(0)))
    return first, second, image


def percentages(line: str) -> list[float]:
    return [float(cell.rstrip("%")) for cell in line.split() if cell.endswith("%")]


def test_two_checkpoints_by_two_label_sets_is_one_table(setup, capsys):
    first, second, image = setup
    capsys.readouterr()
    assert wit(["predict", "--checkpoint", str(first), "--checkpoint", str(second), "--image", str(image),
                "--labels", "red circle,blue circle,green square", "--labels", "circle,square"]) == 0
    lines = capsys.readouterr().out.rstrip("\n").splitlines()
    assert lines[0].split() == ["label", "run_a/latest.pt", "run_b/latest.pt"]
    assert lines[1] == "-- label set 1 of 2" and lines[5] == "-- label set 2 of 2"
    assert len(lines) == 1 + (1 + 3) + (1 + 2)
    first_set, second_set = lines[2:5], lines[6:8]
    assert {line.rsplit(None, 2)[0].strip() for line in first_set} == {"red circle", "blue circle", "green square"}
    assert {line.rsplit(None, 2)[0].strip() for line in second_set} == {"circle", "square"}
    for block in (first_set, second_set):
        rows = [percentages(line) for line in block]
        assert all(len(row) == 2 for row in rows)
        for column in range(2):
            assert sum(row[column] for row in rows) == pytest.approx(100, abs=0.02 * len(rows))
        assert [row[0] for row in rows] == sorted((row[0] for row in rows), reverse=True)
    # untrained models with different seeds disagree somewhere
    assert any(row[0] != row[1] for row in map(percentages, first_set + second_set))


def test_one_checkpoint_and_one_label_set_keeps_the_plain_list(setup, capsys):
    first, _, image = setup
    capsys.readouterr()
    assert wit(["predict", "--checkpoint", str(first), "--image", str(image), "--labels", "red circle,blue square"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and all(len(percentages(line)) == 1 for line in lines)
    assert sum(percentages(line)[0] for line in lines) == pytest.approx(100, abs=0.02)


def test_column_names_are_the_shortest_distinct_path_tails():
    assert column_names(["runs/a/latest.pt", "runs/b/latest.pt"]) == ["a/latest.pt", "b/latest.pt"]
    assert column_names(["runs/a/epoch_1.pt", "runs/a/epoch_2.pt"]) == ["epoch_1.pt", "epoch_2.pt"]
    assert column_names(["gs://bucket/x/latest.pt", "gs://bucket/y/latest.pt"]) == ["x/latest.pt", "y/latest.pt"]
    with pytest.raises(WitError, match="twice"):
        column_names(["a.pt", "a.pt"])


def test_label_errors_are_clear():
    with pytest.raises(WitError, match="at least two"):
        parse_labels("cat")
    with pytest.raises(WitError, match="duplicate"):
        parse_labels("cat,dog,cat")
