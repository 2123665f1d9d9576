"""The long Title Case rule of the cascade's names branch (issue 19, fourth round): a grid.

A line with at most one lowercase word, LONG_TITLE_WORDS words or more, more than
LONG_TITLE_UNKNOWN_SHARE of them unknown to English, is judged as one with a lowercase word English
never wrote (filters/language.py). For each (words, share) on the grid: English ID F1 at
1 English : 3 others on lid-dev sentences, half 0 (tune: the constants were chosen on it) and
half 1 (holdout: only reported), the false positives on each half, and how many verdicts change
against the rule turned off on captions_dev.tsv and on the LAION TEXT column (the whole default
chain, so what normalisation does is included). Word pairs have two words, so no grid point
reaches them. Runs identify_cascade (the Python reference) with the constants patched.

Run: .venv/bin/python benchmarks/grid_long_title.py [--data DIR]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from wit.filters import language  # noqa: E402
from wit.filters.chain import FilterChain, FilterConfig  # noqa: E402
from wit.filters.evaluation import english_f1, read_labelled_captions, read_lid_dev, split_half  # noqa: E402
from wit.core.records import new_candidate  # noqa: E402

WORDS = (0, 4, 5, 6, 7)  # 0: the rule off
SHARES = (0.4, 0.5, 0.6, 0.67)


def verdicts(texts: list[str]) -> list:
    chain = FilterChain(FilterConfig())
    chain.identify = language.identify_cascade  # reads the patched constants on every call
    return [chain.apply(new_candidate("https://example.com/a.jpg", text)) for text in texts]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data", help="shared/data folder")
    args = parser.parse_args(argv)
    import pyarrow.parquet as pq

    sentences = read_lid_dev(args.data / "lid-dev", "sentences")
    captions = [row.text for row in read_labelled_captions(args.data / "captions_dev.tsv")]
    laion = [t for t in pq.read_table(args.data / "real" / "img2dataset_test_1000.parquet", columns=["TEXT"]).column("TEXT").to_pylist() if t]
    saved = (language.LONG_TITLE_WORDS, language.LONG_TITLE_UNKNOWN_SHARE)
    rows, off = [], None
    try:
        for words in WORDS:
            for share in SHARES if words else SHARES[:1]:
                language.LONG_TITLE_WORDS, language.LONG_TITLE_UNKNOWN_SHARE = words or 10**9, share
                english = [language.identify_cascade(text).english >= FilterConfig().english_threshold for text, _ in sentences]
                halves = []
                for half in (0, 1):
                    part = split_half([(e, lang) for e, (_, lang) in zip(english, sentences)], half)
                    figures = english_f1([lang for _, lang in part], [e for e, _ in part])
                    halves.append((figures["f1_1to3"], figures["fp"], figures["fn"]))
                chain_verdicts = (verdicts(captions), verdicts(laion))
                if off is None:
                    off = chain_verdicts
                changed = [sum(a != b for a, b in zip(now, before)) for now, before in zip(chain_verdicts, off)]
                rows.append(["off" if not words else words, "-" if not words else f"> {share}",
                             f"{halves[0][0]:.4f}", halves[0][1], halves[0][2], f"{halves[1][0]:.4f}", halves[1][1], halves[1][2],
                             changed[0], changed[1]])
    finally:
        language.LONG_TITLE_WORDS, language.LONG_TITLE_UNKNOWN_SHARE = saved
    header = ["words >=", "unknown share", "F1 1:3 half 0", "FP", "FN", "F1 1:3 half 1 (holdout)", "FP", "FN",
              "captions_dev changed", "LAION changed"]
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows)]
    print(f"lid-dev sentences ({len(sentences)} lines), long Title Case rule grid; chosen: words >= "
          f"{saved[0]}, unknown share > {saved[1]}\n")
    for row in [header, ["-" * w for w in widths]] + rows:
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
