"""The cascade's second opinion on uncertain running text (issue 19, fifth round): a grid.

Running text of three or more words whose English score falls in SECOND_OPINION_BAND is asked of
a second detector; when it names another language, the score drops below the band
(filters/language.py). For each detector and upper edge of the band (the lower edge is the
default English threshold, 0.4): English ID F1 at 1 English : 3 others on lid-dev sentences and
word pairs, half 0 (tune: the band was chosen on it) and half 1 (holdout: only reported), the
false positives and false negatives, how many lines the detector was asked about (lid-dev
sentences, LAION TEXT column), and how many chain verdicts change against the second opinion
turned off on captions_dev.tsv and on the LAION TEXT column (the whole default chain, so what
normalisation does is included). Runs identify_cascade (the Python reference) with the band and
the detector patched.

Detectors: cld2 (pycld2: reliable, best language not English: the default), py3langid and lingua
(best language not English at confidence 0.5 or more).

A second table (--alternatives) measures an idea left out, without the second opinion: in the same
running text (three or more words), lower the English score by a x (P(best other language) -
P(en)) where fastText's best label on the lowercased text is another language (the share of the
text fastText gives another language, beyond what it gives English).

Run: .venv/bin/python benchmarks/grid_second_opinion.py [--data DIR]
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

UPPER_EDGES = (0.6, 0.7, 0.8, 0.9, 1.01)  # 1.01: every running-text line from the threshold up


def confident_other(identify, confidence: float = 0.5):
    def names_another_language(text: str) -> bool:
        guess = identify(text)
        return bool(guess.lang) and guess.lang != "en" and guess.score >= confidence

    return names_another_language


DETECTORS = {
    "cld2": language.cld2_names_another_language,
    "py3langid": confident_other(language.identify_py3langid),
    "lingua": confident_other(language.identify_lingua),
}


class Counted:
    """The detector, counting how often the cascade asks it."""

    def __init__(self, ask):
        self.ask, self.calls = ask, 0

    def __call__(self, text: str) -> bool:
        self.calls += 1
        return self.ask(text)


def verdicts(texts: list[str], identify=None) -> list:
    chain = FilterChain(FilterConfig())
    chain.identify = identify or language.identify_cascade  # reads the patched band and detector on every call
    return [chain.apply(new_candidate("https://example.com/a.jpg", text)) for text in texts]


def f1_halves(lines: list[tuple[str, str]], threshold: float, identify=None) -> list[tuple[float, int, int]]:
    identify = identify or language.identify_cascade
    english = [identify(text).english >= threshold for text, _ in lines]
    halves = []
    for half in (0, 1):
        part = split_half([(e, lang) for e, (_, lang) in zip(english, lines)], half)
        figures = english_f1([lang for _, lang in part], [e for e, _ in part])
        halves.append((figures["f1_1to3"], figures["fp"], figures["fn"]))
    return halves


def lowercase_words(text: str) -> int:
    return len(list((language._ASCII_LOWERCASE_WORD if text.isascii() else language._LOWERCASE_WORD).finditer(text)))


def is_running_text(text: str) -> bool:
    """The cascade's running-text branch with three or more words (where the second opinion applies)."""
    words = language.words_of(text)
    if len(words) < 3:
        return False
    vocabulary = language.english_vocabulary()
    if sum(map(vocabulary.__contains__, words)) / len(words) >= language.VOCABULARY_DECIDES:
        return False
    if not text.isascii() and language.non_latin_share(text, words) > 0.5:
        return False
    return lowercase_words(text) >= 2


def other_language_margin(weight: float):
    """identify_cascade, then the running-text score lowered by weight x (P(best other) - P(en))."""

    def identify(text: str) -> language.LanguageGuess:
        guess = language.identify_cascade(text)
        if weight and is_running_text(text):
            best = language.identify_fasttext(text, lowercase=True)
            if best.lang != "en":
                english = max(0.0, guess.english - weight * max(0.0, best.score - best.english))
                return language.LanguageGuess(guess.lang, guess.score, english)
        return guess

    return identify


def alternatives(sentences, pairs, captions, laion, threshold: float) -> None:
    saved = language.SECOND_OPINION_BAND
    language.SECOND_OPINION_BAND = (0.0, 0.0)
    rows, off = [], None
    try:
        for weight in (0.0, 0.25, 0.5, 0.75, 1.0):
            identify = other_language_margin(weight)
            halves = f1_halves(sentences, threshold, identify) + f1_halves(pairs, threshold, identify)
            chain_verdicts = (verdicts(captions, identify), verdicts(laion, identify))
            if off is None:
                off = chain_verdicts
            changed = [sum(a != b for a, b in zip(now, before)) for now, before in zip(chain_verdicts, off)]
            rows.append([weight, *(f"{f1:.4f} / {fp} / {fn}" for f1, fp, fn in halves), changed[0], changed[1]])
    finally:
        language.SECOND_OPINION_BAND = saved
    header = ["a", "sentences half 0", "sentences half 1 (holdout)", "word pairs half 0", "word pairs half 1 (holdout)",
              "captions_dev changed", "LAION changed"]
    print("\nleft out: running text lowered by a x (P(best other language) - P(en)), no second opinion\n")
    print_rows(header, rows)


def print_rows(header: list, rows: list[list]) -> None:
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows)]
    for row in [header, ["-" * w for w in widths]] + rows:
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths)))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data", help="shared/data folder")
    parser.add_argument("--detectors", default=",".join(DETECTORS), help="comma-separated subset of " + ", ".join(DETECTORS))
    parser.add_argument("--alternatives", action="store_true", help="also the table of the idea left out")
    args = parser.parse_args(argv)
    import pyarrow.parquet as pq

    threshold = FilterConfig().english_threshold
    sentences = read_lid_dev(args.data / "lid-dev", "sentences")
    pairs = read_lid_dev(args.data / "lid-dev", "word-pairs")
    captions = [row.text for row in read_labelled_captions(args.data / "captions_dev.tsv")]
    laion = [t for t in pq.read_table(args.data / "real" / "img2dataset_test_1000.parquet", columns=["TEXT"]).column("TEXT").to_pylist() if t]
    saved = (language.SECOND_OPINION_BAND, language.cld2_names_another_language)
    points = [("off", None, None)] + [(name, DETECTORS[name], high) for name in args.detectors.split(",") for high in UPPER_EDGES]
    rows, off = [], None
    try:
        for name, detector, high in points:
            counted = Counted(detector or (lambda text: False))
            language.cld2_names_another_language = counted
            language.SECOND_OPINION_BAND = (threshold, high) if high else (0.0, 0.0)
            sentence_halves = f1_halves(sentences, threshold)
            asked_sentences = counted.calls
            pair_halves = f1_halves(pairs, threshold)
            counted.calls = 0
            chain_verdicts = (verdicts(captions), verdicts(laion))
            laion_calls = counted.calls  # captions_dev.tsv's and LAION's together
            if off is None:
                off = chain_verdicts
            changed = [sum(a != b for a, b in zip(now, before)) for now, before in zip(chain_verdicts, off)]
            rows.append([name, "-" if not high else f"[{threshold}, {high})",
                         *(f"{f1:.4f} / {fp} / {fn}" for f1, fp, fn in sentence_halves),
                         *(f"{f1:.4f} / {fp} / {fn}" for f1, fp, fn in pair_halves),
                         asked_sentences, laion_calls, changed[0], changed[1]])
    finally:
        language.SECOND_OPINION_BAND, language.cld2_names_another_language = saved
    header = ["detector", "band", "sentences half 0: F1 1:3 / FP / FN", "sentences half 1 (holdout)",
              "word pairs half 0", "word pairs half 1 (holdout)", "asked: sentences", "asked: captions",
              "captions_dev changed", "LAION changed"]
    print(f"lid-dev sentences ({len(sentences)} lines), word pairs ({len(pairs)}); captions: captions_dev.tsv "
          f"({len(captions)}) + LAION TEXT ({len(laion)}); chosen: cld2, band {saved[0]}\n")
    print_rows(header, rows)
    if args.alternatives:
        alternatives(sentences, pairs, captions, laion, threshold)
    return 0


if __name__ == "__main__":
    sys.exit(main())
