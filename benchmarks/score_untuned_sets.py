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
from wit.filters.evaluation import label_captions  # noqa: E402

KINDS = {
    "hold-out mix": ("23", "28", "32", "33", "36", "37", "40", "42"),
    "camera-heavy": ("27",),
    "hard for LID": ("29",),
    "web-like": ("12",),
    "clean": ("20clean",),
}
LABELS = ("keep", "drop_camera", "drop_filename", "drop_nonenglish")


def counts(rows: list[dict], predicted: list[str]) -> dict[str, list[int]]:
    """label -> [support, right, predicted]."""
    out = {}
    for label in LABELS:
        out[label] = [
            sum(row["label"] == label for row in rows),
            sum(row["label"] == label and guess == label for row, guess in zip(rows, predicted)),
            sum(guess == label for guess in predicted),
        ]
    return out


def line(name: str, figures: dict[str, list[int]]) -> str:
    cells = []
    for label, (support, right, guessed) in figures.items():
        if support:
            precision = right / guessed if guessed else 1.0
            cells.append(f"{label} {right}/{support} R {right / support:.3f} P {precision:.3f}")
    return f"{name:<22} " + "  ".join(cells)


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
        pooled = {label: [0, 0, 0] for label in LABELS}
        print(f"## {kind}")
        for number in numbers:
            rows = sets[f"filters_blind{number}.tsv"]
            figures = counts(rows, label_captions(chain, [row["text"] for row in rows]))
            print(line(f"blind{number}", figures))
            for label, values in figures.items():
                pooled[label] = [a + b for a, b in zip(pooled[label], values)]
        if len(numbers) > 1:
            print(line("pooled", pooled))
    return 0


if __name__ == "__main__":
    sys.exit(main())
