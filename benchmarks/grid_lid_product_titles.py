"""Product titles that language identification drops: five ideas, measured and left out (issue 19).

The hand-written blind sets' keep misses (docs/filters.md, "Blind sets after the sixth round")
are short English product titles the cascade calls non-English: model codes, units, prices, Title
Case. Each idea below changes the Python reference cascade (identify_cascade) by patching it, and
is scored the way earlier rounds were: English ID F1 at 1 English : 3 others on lid-dev sentences
and word pairs, per half (false positives, false negatives), and how many default-chain verdicts
change against today's cascade on captions_dev.tsv, the LAION TEXT column and the hand-written
fixtures (tests/fixtures/filters_*.tsv), and of those how many move to the row's label and how many
away from it (the LAION column has no labels).

  codes-neutral       tokens holding a digit and a letter ('50mm', 'M404dn', 'RX-V6A') are
                      removed before identification (the text as is when nothing is left)
  glued-not-words     letter runs glued to a digit are no words (as _LOWERCASE_WORD already
                      reads them): they leave the word counts and shares
  names-lowercase     the names branch (at most one lowercase word) is English when fastText's
                      best label on the lowercased text is English (Title Case reads German to it)
  cld2-english-lift   running text of three or more words scored in [0.3, threshold) is lifted by
                      the gap when CLD2 reliably calls it English (the second opinion in reverse)
  prose-only-second   CLD2's second opinion asked only where half or more of the words as written
                      start with a lowercase letter (running prose, not Title Case titles)

Its last lines measure the rule the chain adopted instead (language.reads_as_english_product_title,
applied after the cascade): the lid-dev lines it lifts, and the chain's verdicts with it against
without it.

Run: .venv/bin/python benchmarks/grid_lid_product_titles.py [--data DIR] [--show]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))

from grid_second_opinion import f1_halves, print_rows, verdicts  # noqa: E402

from wit.filters import language  # noqa: E402
from wit.filters.chain import FilterConfig  # noqa: E402
from wit.filters.evaluation import read_labelled_captions, read_lid_dev  # noqa: E402

_CODE_TOKEN = re.compile(r"\S*(?:\d\S*[^\W\d_]|[^\W\d_]\S*\d)\S*")
_GLUED_WORD = re.compile(r"(?<![^\W_])[^\W\d_]++(?:'[^\W\d_]++)?(?!\d)")
_GLUED_ASCII_WORD = re.compile(r"(?<![0-9a-z])[a-z]++(?:'[a-z]++)?(?![0-9])")


@contextlib.contextmanager
def patched(module, **values):
    saved = {name: getattr(module, name) for name in values}
    for name, value in values.items():
        setattr(module, name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(module, name, value)


def codes_neutral(text: str) -> language.LanguageGuess:
    stripped = " ".join(_CODE_TOKEN.sub(" ", text).split())
    return language.identify_cascade(stripped if language.words_of(stripped) else text)


def glued_not_words(text: str) -> language.LanguageGuess:
    with patched(language, _WORD=_GLUED_WORD, _ASCII_WORD=_GLUED_ASCII_WORD):
        return language.identify_cascade(text)


def names_lowercase(text: str) -> language.LanguageGuess:
    plain = language.identify_fasttext

    def read_lowercase_too(line, lowercase=False, k=3, max_chars=None):
        guess = plain(line, lowercase=lowercase, k=k, max_chars=max_chars)
        if lowercase or k != 1 or max_chars is not None or guess.lang == "en":
            return guess  # only the names branch's call (k=1, as written) is read twice
        lowered = plain(line, lowercase=True, k=1)
        return lowered if lowered.lang == "en" else guess

    with patched(language, identify_fasttext=read_lowercase_too):
        return language.identify_cascade(text)


def cld2_calls_english(text: str) -> bool:
    detect, error = language._cld2()
    try:
        reliable, _, details = detect(text, isPlainText=True)
    except (error, UnicodeEncodeError):
        return False
    return bool(reliable) and details[0][1] == "en"


def cld2_english_lift(threshold: float, low: float = 0.3):
    def identify(text: str) -> language.LanguageGuess:
        guess = language.identify_cascade(text)
        if len(language.words_of(text)) >= 3 and low <= guess.english < threshold and cld2_calls_english(text):
            return language.LanguageGuess(guess.lang, guess.score, guess.english + (threshold - low))
        return guess

    return identify


def prose_only_second(text: str) -> language.LanguageGuess:
    ask = language.cld2_names_another_language

    def ask_prose(line: str) -> bool:
        words = language._WORD.findall(line)
        lowercase = sum(1 for word in words if word[0].islower())
        return bool(words) and lowercase * 2 >= len(words) and ask(line)

    with patched(language, cld2_names_another_language=ask_prose):
        return language.identify_cascade(text)


def labelled_captions(data: Path) -> list[tuple[str, str]]:
    rows = [(row.text, row.label) for row in read_labelled_captions(data / "captions_dev.tsv")]
    for path in sorted((REPO / "tests" / "fixtures").glob("filters_*.tsv")):
        with open(path, encoding="utf-8", newline="") as handle:
            rows += [(row["text"], row["label"]) for row in csv.DictReader(handle, delimiter="\t")]
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--show", action="store_true", help="print every changed verdict")
    args = parser.parse_args(argv)
    import pyarrow.parquet as pq

    threshold = FilterConfig().english_threshold
    sentences = read_lid_dev(args.data / "lid-dev", "sentences")
    pairs = read_lid_dev(args.data / "lid-dev", "word-pairs")
    labelled = labelled_captions(args.data)
    laion = [t for t in pq.read_table(args.data / "real" / "img2dataset_test_1000.parquet", columns=["TEXT"]).column("TEXT").to_pylist() if t]
    ideas = {
        "today": language.identify_cascade,
        "codes-neutral": codes_neutral,
        "glued-not-words": glued_not_words,
        "names-lowercase": names_lowercase,
        "cld2-english-lift": cld2_english_lift(threshold),
        "prose-only-second": prose_only_second,
    }
    base_labelled = verdicts([t for t, _ in labelled])
    base_laion = verdicts(laion)
    rows = []
    for name, identify in ideas.items():
        halves = f1_halves(sentences, threshold, identify) + f1_halves(pairs, threshold, identify)
        now_labelled = verdicts([t for t, _ in labelled], identify)
        now_laion = verdicts(laion, identify)
        toward = away = 0
        for (text, label), before, after in zip(labelled, base_labelled, now_labelled):
            if before == after:
                continue
            toward += (after or "keep") == label
            away += (before or "keep") == label
            if args.show:
                print(f"{name}: {before or 'keep'} -> {after or 'keep'} (label {label}): {text}")
        laion_changed = sum(a != b for a, b in zip(base_laion, now_laion))
        if args.show:
            for text, before, after in zip(laion, base_laion, now_laion):
                if before != after:
                    print(f"{name}: {before or 'keep'} -> {after or 'keep'} (LAION): {text}")
        rows.append([name, *(f"{f1:.4f} / {fp} / {fn}" for f1, fp, fn in halves), f"{toward} / {away}", laion_changed])
    header = ["idea", "sentences half 0", "sentences half 1", "word pairs half 0", "word pairs half 1",
              "labelled rows: to label / away", "LAION changed"]
    print("F1 at 1:3 / false positives / false negatives; verdicts against today's cascade\n")
    print_rows(header, rows)
    print_product_title_rule(sentences, pairs, labelled, laion, threshold, args.show)
    return 0


def print_product_title_rule(sentences, pairs, labelled, laion, threshold: float, show: bool) -> None:
    """The rule the chain adopted (language.reads_as_english_product_title, applied in
    FilterChain after the cascade): lid-dev lines it would lift past the threshold, and the
    chain's verdicts with it against without it."""
    print("\nthe chain's product-title rule, on against off:")
    for kind, lines in (("sentences", sentences), ("word pairs", pairs)):
        lifted = [(text, lang) for text, lang in lines
                  if language.identify_cascade(text).english < threshold and language.reads_as_english_product_title(text)]
        others = sum(lang != "en" for _, lang in lifted)
        print(f"  lid-dev {kind}: {len(lifted)} lines lifted to English, {others} of them not English")
        if show:
            for text, lang in lifted:
                print(f"    {lang}: {text}")
    with patched(language, reads_as_english_product_title=lambda text: False):
        off_labelled = verdicts([t for t, _ in labelled])
        off_laion = verdicts(laion)
    on_labelled = verdicts([t for t, _ in labelled])
    on_laion = verdicts(laion)
    toward = away = 0
    for (text, label), before, after in zip(labelled, off_labelled, on_labelled):
        if before != after:
            toward += (after or "keep") == label
            away += (before or "keep") == label
            if show:
                print(f"    {before or 'keep'} -> {after or 'keep'} (label {label}): {text}")
    laion_changed = [text for text, before, after in zip(laion, off_laion, on_laion) if before != after]
    print(f"  labelled rows: {toward} to their label, {away} away; LAION verdicts changed: {len(laion_changed)}")
    if show:
        for text in laion_changed:
            print(f"    LAION: {text}")


if __name__ == "__main__":
    sys.exit(main())
