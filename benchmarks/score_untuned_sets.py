"""The default filter chain on the untuned blind sets (issue 19): scores per set and pooled by kind.

The untuned sets (dump_filter_verdicts.UNTUNED) were written blind by helpers who read only the
label rules of shared/data/README.md, committed before they were scored, and are never read while
rules change: only their scores are looked at, which this script prints. Sets of one kind are
pooled (rows summed), since each holds only 25 to 120 rows of a label:

  hold-out mix   the private hold-out's mix of sources (90 keep, ~50 camera, 35 file-name,
                 ~25 not-English rows each): the issue's targets are judged on such a set
  camera-heavy   ~85 camera rows each
  hard for LID   English captions full of foreign names, foreign text full of English names
  web-like       LAION- and alt-text-like rows, 120 keep and 60 not English
  clean          300 clean COCO- and CC3M-style captions: the clean keep rate

Per label: support, recall, precision (what the chain predicted of that label, right share).

Run: .venv/bin/python benchmarks/score_untuned_sets.py [--data DIR]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from dump_filter_verdicts import UNTUNED, labelled_sets  # noqa: E402

from wit.filters.chain import FilterChain, FilterConfig  # noqa: E402
from wit.filters.evaluation import LabelScore, label_captions, score_predictions  # noqa: E402

KINDS = {
    "hold-out mix": ("23", "28", "32", "33", "36", "37", "40", "42"),
    "camera-heavy": ("27",),
    "hard for LID": ("29",),
    "web-like": ("12",),
    "clean": ("20clean",),
}
LABELS = ("keep", "drop_camera", "drop_filename", "drop_nonenglish")  # the labels the sets hold, in print order


def line(name: str, scores: dict[str, LabelScore]) -> str:
    cells = [
        f"{label} {score.correct}/{score.support} R {score.recall:.3f} P {score.precision:.3f}"
        for label in LABELS
        if (score := scores[label]).support
    ]
    return f"{name:<22} " + "  ".join(cells)


def pooled(scores: list[dict[str, LabelScore]]) -> dict[str, LabelScore]:
    """Several sets' scores as one set's: rows summed, label by label."""
    def total(label: str, field: str) -> int:
        return sum(getattr(each[label], field) for each in scores)

    return {label: LabelScore(label, total(label, "support"), total(label, "predicted"), total(label, "correct"))
            for label in LABELS}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    args = parser.parse_args(argv)
    listed = {f"filters_blind{number}.tsv" for numbers in KINDS.values() for number in numbers}
    if listed != set(UNTUNED):
        raise SystemExit(f"KINDS and dump_filter_verdicts.UNTUNED disagree: {sorted(listed ^ set(UNTUNED))}")
    sets = {path.name: rows for _, path, rows in labelled_sets(args.data, with_untuned=True) if path.name in UNTUNED}
    chain = FilterChain(FilterConfig())
    for kind, numbers in KINDS.items():
        print(f"## {kind}")
        per_set = []
        for number in numbers:
            rows = sets[f"filters_blind{number}.tsv"]
            per_set.append(score_predictions([row["label"] for row in rows], label_captions(chain, [row["text"] for row in rows])))
            print(line(f"blind{number}", per_set[-1]))
        if len(numbers) > 1:
            print(line("pooled", pooled(per_set)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
