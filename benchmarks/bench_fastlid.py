"""fastText prediction per call: filters/_fastlid.c against fasttext-predict, on the same lines.

One table (microseconds per predict call, CPU time of this process, best of --repeats passes),
then one JSON line. The line sets are what the cascade sends fastText:
- "hello" and one 93-character sentence, each called over and over (model data hot in cache);
- every lid-dev sentence as the cascade's running-text branch sends it (cut to 200 characters,
  lowercased, k=3), and the same lines as they are (k=1);
- the real captions (LAION TEXT column of img2dataset_test_1000.parquet plus captions_dev.tsv)
  that reach stage 2 of the cascade, with the k and the cut the cascade uses for each.
Both predictors are checked to return the same answers on every line before anything is timed.

A second table: the whole cascade per caption (us), wit.filters.language.identify_cascade (Python
around the C predictor) against wit.filters._fastlid.Cascade (all of it in C), on the real captions
and on the lid-dev sentences; both are checked to give equal LanguageGuesses first. Beside them the
C cascade without CLD2's second opinion (the cascade before issue 19's fifth round) and the share
of texts the cascade asks CLD2 about.

Run: .venv/bin/python benchmarks/bench_fastlid.py [--quick] [--data DIR] [--repeats N]
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_filters import real_captions  # noqa: E402  (the same caption set as the chain figures)
from wit.filters import language  # noqa: E402
from wit.filters.evaluation import read_lid_dev  # noqa: E402


def cascade_line(text: str, lowercase: bool, max_chars: int | None) -> str:
    """The line identify_fasttext hands to predict."""
    line = text.replace("\n", " ")
    limit = max_chars or language.FASTTEXT_MAX_CHARS
    if len(line) > limit:
        line = language.head_and_tail(line, limit)
    return (line.lower() if lowercase else line) + "\n"


def stage2_calls(texts: list[str]) -> list[tuple[str, int]]:
    """(line, k) for each fastText call the cascade makes on these texts."""
    calls = []
    original = language.identify_fasttext

    def spy(text, lowercase=False, k=3, max_chars=None):
        calls.append((cascade_line(text, lowercase, max_chars), k))
        return original(text, lowercase, k, max_chars)

    language.identify_fasttext = spy
    try:
        for text in texts:
            language.identify_cascade(text)
    finally:
        language.identify_fasttext = original
    return calls


def per_call_us(predict, calls: list[tuple[str, int]], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        for line, k in calls:
            predict(line, k, 0.0, "strict")
        best = min(best, time.process_time() - start)
    return best / len(calls) * 1e6


def per_text_us(identify, texts: list[str], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        for text in texts:
            identify(text)
        best = min(best, time.process_time() - start)
    return best / len(texts) * 1e6


def bench_cascade(data: Path, sentences: list[str], quick: bool, repeats: int) -> tuple[list, dict]:
    c_cascade = language.get_identifier("cascade")
    if c_cascade is language.identify_cascade:
        raise SystemExit("the C cascade is not in use (WIT_FASTTEXT is set, or the extension was not built)")
    captions = real_captions(data)
    without = language.c_cascade_with(second_opinion=None)  # the cascade before the fifth round
    asked = []

    def counted_second_opinion(text):
        asked.append(text)
        return language.cld2_names_another_language(text)

    counting = language.c_cascade_with(second_opinion=counted_second_opinion)
    sets = {"real captions": captions * (3 if quick else 20), "lid-dev sentences": sentences}
    distinct = {"real captions": captions, "lid-dev sentences": sentences}
    rows, figures = [], {}
    for name, texts in sets.items():
        asked.clear()
        for text in distinct[name]:
            counting(text)
        asked_share = len(asked) / len(distinct[name])
        for text in texts[:20000]:
            if language.identify_cascade(text) != c_cascade(text):
                raise SystemExit(f"the cascades disagree on {text!r}")
        python_us = c_us = without_us = float("inf")
        for _ in range(repeats):  # interleaved, so the other load on a shared machine hits all alike
            python_us = min(python_us, per_text_us(language.identify_cascade, texts, 1))
            c_us = min(c_us, per_text_us(c_cascade, texts, 1))
            without_us = min(without_us, per_text_us(without, texts, 1))
        figures[name] = {"texts": len(texts), "python_us": round(python_us, 2), "c_us": round(c_us, 2),
                         "speedup": round(python_us / c_us, 2), "c_without_second_opinion_us": round(without_us, 2),
                         "second_opinion_asked_share": round(asked_share, 4)}
        rows.append([name, len(texts), f"{python_us:.2f}", f"{c_us:.2f}", f"{python_us / c_us:.1f}x",
                     f"{without_us:.2f}", f"{asked_share:.2%}"])
        print(f"cascade on {name}: Python {python_us:.2f} us, C {c_us:.2f} us, C without the second opinion "
              f"{without_us:.2f} us", file=sys.stderr, flush=True)
    return rows, figures


def print_table(header: list[str], rows: list[list]) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths)))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a tenth of the lid-dev sentences, fewer passes")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data", help="shared/data folder")
    parser.add_argument("--repeats", type=int, default=None, help="passes per line set (best is kept)")
    args = parser.parse_args(argv)
    repeats = args.repeats or (2 if args.quick else 3)

    from wit.filters import _fastlid  # the comparison needs the extension

    c_predict = _fastlid.Model(language.fasttext_model_path()).predict
    reference = language._fasttext_model().f.predict
    language.get_identifier("cascade")  # word lists for stage2_calls

    sentences = [text for text, _ in read_lid_dev(args.data / "lid-dev", "sentences")]
    if args.quick:
        sentences = sentences[::10]
    sentence = "The committee will publish its final report on the new railway line early next year, it said."
    sets = {
        "'hello' (hot)": [("hello\n", 3)] * 20000,
        f"{len(sentence)}-char sentence (hot)": [(sentence + "\n", 3)] * 5000,
        "lid-dev sentences, lowercased, k=3": [(cascade_line(t, True, None), 3) for t in sentences],
        "lid-dev sentences as they are, k=1": [(cascade_line(t, False, None), 1) for t in sentences],
        "real captions reaching stage 2 (cascade's k)": stage2_calls(real_captions(args.data)) * (2 if args.quick else 10),
    }
    for name, calls in sets.items():  # same answers before any timing
        for line, k in calls[:20000]:
            expected, got = reference(line, k, 0.0, "strict"), c_predict(line, k, 0.0, "strict")
            if [label for _, label in got] != [label for _, label in expected] or any(
                abs(a - b) > 1e-5 for (a, _), (b, _) in zip(expected, got)
            ):
                raise SystemExit(f"predictors disagree on {line!r}: {expected} vs {got}")

    gc.collect()
    gc.freeze()
    rows, figures = [], {}
    for name, calls in sets.items():
        c_us = per_call_us(c_predict, calls, repeats)
        ref_us = per_call_us(reference, calls, repeats)
        mean_chars = sum(len(line) for line, _ in calls) / len(calls)
        figures[name] = {"calls": len(calls), "mean_chars": round(mean_chars, 1), "c_us": round(c_us, 2),
                         "fasttext_predict_us": round(ref_us, 2), "speedup": round(ref_us / c_us, 2)}
        rows.append([name, len(calls), f"{mean_chars:.0f}", f"{c_us:.2f}", f"{ref_us:.2f}", f"{ref_us / c_us:.1f}x"])
        print(f"{name}: C {c_us:.2f} us, fasttext-predict {ref_us:.2f} us", file=sys.stderr, flush=True)

    cascade_rows, cascade_figures = bench_cascade(args.data, sentences, args.quick, repeats)

    print("\n## fastText predict per call (us, CPU time, best of %d passes)\n" % repeats)
    print_table(["lines", "calls", "mean chars", "wit.filters._fastlid", "fasttext-predict", "speedup"], rows)
    print("\n## the cascade per caption (us, CPU time, best of %d passes): identify_cascade vs _fastlid.Cascade\n" % repeats)
    print_table(["texts", "calls", "Python", "C", "speedup", "C without second opinion", "asked CLD2"], cascade_rows)
    info = _fastlid.Model(language.fasttext_model_path()).info
    print(f"\nmodel: {info['nlabels']} labels, dim {info['dim']}, {info['input_rows']} input rows, "
          f"{info['memory_bytes'] / 1e6:.1f} MB in memory")
    print(json.dumps({"per_call": figures, "cascade_per_caption": cascade_figures, "model_memory_bytes": info["memory_bytes"], "repeats": repeats, "quick": args.quick}, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
