"""The chain's second readings of captions judged not English (issue 19): what each one changes.

FilterChain reads a caption the cascade calls not English again in five ways, and the more English
reading counts (filters/chain.py, `_guess_language`):

  slug       a slug or file name with its separators as spaces (language.reading_of_slug)
  slug-names a slug's distinctively English words, where the words English does not know (its
             names) are at most as many (language.reading_of_slug_without_names)
  names      the caption without its names (capitalised words and the particles joining them),
             where English knows every word left and enough are left
             (language.reading_without_names)
  tags       a tag list's words, glued ones split and names left out (language.reading_of_tag_list)
  translation the English half of a caption given in two languages (language.reading_of_translation)

For each reading, on against off (the others left on), and for all together: lid-dev lines
lifted past the English threshold (sentences and word pairs, how many of them not English) and
English ID F1 at 1 English : 3 others per half; the chain's verdicts on captions_dev.tsv and the
hand-written fixtures, moved to their label and away; LAION TEXT column verdicts changed. The
untuned blind sets (dump_filter_verdicts.UNTUNED) are counted on their own line and never shown
with --show: no rule may be fitted to them.

Run: .venv/bin/python benchmarks/grid_lid_second_readings.py [--data DIR] [--show]
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from wit.core.records import new_candidate  # noqa: E402
from wit.filters import language  # noqa: E402
from wit.filters.chain import FilterChain, FilterConfig  # noqa: E402
from wit.filters.evaluation import english_f1, read_lid_dev, split_half  # noqa: E402

sys.path.insert(0, str(REPO / "benchmarks"))
from dump_filter_verdicts import UNTUNED, labelled_sets  # noqa: E402

READINGS = {
    "slug": "reading_of_slug",
    "slug-names": "reading_of_slug_without_names",
    "names": "reading_without_names",
    "tags": "reading_of_tag_list",
    "translation": "reading_of_translation",
}


@contextlib.contextmanager
def readings_off(*names: str):
    saved = {name: getattr(language, READINGS[name]) for name in names}
    for name in names:
        setattr(language, READINGS[name], lambda text: None)
    try:
        yield
    finally:
        for name, function in saved.items():
            setattr(language, READINGS[name], function)


def tuned_and_untuned(data: Path) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    tuned, untuned = [], []
    for _, path, rows in labelled_sets(data, with_untuned=True):
        (untuned if path.name in UNTUNED else tuned).extend((row["text"], row["label"]) for row in rows)
    return tuned, untuned


def verdicts(chain: FilterChain, texts: list[str]) -> list[str]:
    return [chain.apply(new_candidate("https://example.com/a.jpg", text)) or "keep" for text in texts]


def english(chain: FilterChain, lines: list[tuple[str, str]], threshold: float) -> list[bool]:
    return [chain.english_estimate(text) >= threshold for text, _ in lines]


def f1_halves(flags: list[bool], lines: list[tuple[str, str]]) -> list[str]:
    figures = []
    for half in (0, 1):
        part = split_half([(flag, lang) for flag, (_, lang) in zip(flags, lines)], half)
        scores = english_f1([lang for _, lang in part], [flag for flag, _ in part])
        figures.append(f"{scores['f1_1to3']:.4f} ({scores['fp']} fp, {scores['fn']} fn)")
    return figures


def moved(rows: list[tuple[str, str]], before: list[str], after: list[str], show: bool, tag: str) -> tuple[int, int]:
    toward = away = 0
    for (text, label), old, new in zip(rows, before, after):
        if old != new:
            toward += new == label
            away += old == label
            if show:
                print(f"    {tag}: {old} -> {new} (label {label}): {text}")
    return toward, away


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--show", action="store_true", help="print each changed verdict and lifted line (not the untuned sets')")
    args = parser.parse_args(argv)
    import pyarrow.parquet as pq

    chain = FilterChain(FilterConfig())
    threshold = chain.config.english_threshold
    lid = {kind: read_lid_dev(args.data / "lid-dev", kind) for kind in ("sentences", "word-pairs")}
    tuned, untuned = tuned_and_untuned(args.data)
    laion_column = pq.read_table(args.data / "real" / "img2dataset_test_1000.parquet", columns=["TEXT"]).column("TEXT")
    laion = [(text, "-") for text in laion_column.to_pylist() if text]

    def state() -> dict:
        return {
            "lid": {kind: english(chain, lines, threshold) for kind, lines in lid.items()},
            "tuned": verdicts(chain, [text for text, _ in tuned]),
            "untuned": verdicts(chain, [text for text, _ in untuned]),
            "laion": verdicts(chain, [text for text, _ in laion]),
        }

    on = state()
    for kind, lines in lid.items():
        print(f"lid-dev {kind}, every reading on: F1 at 1:3 per half {' / '.join(f1_halves(on['lid'][kind], lines))}")
    for off in [(name,) for name in READINGS] + [tuple(READINGS)]:
        with readings_off(*off):
            base = state()
        print(f"\n{' + '.join(off)}: on against off")
        for kind, lines in lid.items():
            lifted = [(text, lang) for (text, lang), old, new in zip(lines, base["lid"][kind], on["lid"][kind]) if new and not old]
            others = [(text, lang) for text, lang in lifted if lang != "en"]
            print(f"  lid-dev {kind}: {len(lifted)} lines lifted to English, {len(others)} of them not English;"
                  f" F1 off {' / '.join(f1_halves(base['lid'][kind], lines))}")
            if args.show:
                for text, lang in others:
                    print(f"    {lang}: {text}")
        toward, away = moved(tuned, base["tuned"], on["tuned"], args.show, "labelled")
        print(f"  captions_dev and tuned fixtures: {toward} to their label, {away} away")
        toward, away = moved(untuned, base["untuned"], on["untuned"], False, "untuned")
        print(f"  untuned blind sets: {toward} to their label, {away} away")
        changed = [text for (text, _), old, new in zip(laion, base["laion"], on["laion"]) if old != new]
        print(f"  LAION verdicts changed: {len(changed)}")
        if args.show:
            for text in changed:
                print(f"    LAION: {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
