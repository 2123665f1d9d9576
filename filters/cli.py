"""`wit filters check`: run the filter chain over captions and print each verdict as TSV.

Users tune the filter flags on their own data with it: the same flags as `wit build`.
Only argparse at module scope; the filters load inside the handler.
"""

from __future__ import annotations

import argparse
import sys

# lang: the detected language, "und" for a caption judged not English whose detector's best
# label was English, "" where language identification did not run (an earlier check dropped
# the caption, or --lid none); p_english: the backend's estimate that the caption is English,
# which --english-threshold is compared with ("" where identification did not run).
OUTPUT_COLUMNS = ("verdict", "lang", "p_english", "text")


def register(subparsers) -> None:
    from wit.filters.config import add_filter_arguments

    filters_parser = subparsers.add_parser("filters", help="caption and URL filters", description="Caption and URL filters.")
    filters_sub = filters_parser.add_subparsers(dest="filters_command", metavar="SUBCOMMAND")
    check = filters_sub.add_parser(
        "check",
        help="print each caption's verdict (keep or drop reason), language and P(English) as TSV",
        description=(
            "Read captions, one a line on stdin, or a column of a TSV/CSV/parquet/JSONL file, and print "
            "verdict, lang, p_english and the normalised text as TSV (verdict: keep or the drop reason; "
            "lang: the detected language, 'und' when the caption is judged not English but the detector's "
            "best label was English; p_english: the estimate that the caption is English, compared with "
            "--english-threshold)."
        ),
    )
    check.add_argument("--input", "-i", help="TSV, CSV, parquet or JSONL file (default: lines on stdin)")
    check.add_argument("--column", default=None, help="caption column in --input (default: caption, text, TEXT or alt)")
    check.add_argument("--url-column", default=None, help="image URL column, to run the URL filter too (default: none)")
    check.add_argument("--all-checks", action="store_true", help="add one column per check with its own verdict")
    check.add_argument("--no-header", action="store_true", help="do not print the header line")
    check.add_argument(
        "--label-column",
        default=None,
        help="column of expected labels (shared/data/README.md's label set: keep, drop_filename, drop_camera, "
        "drop_nonenglish, drop_other): print precision and recall per label to stderr at the end",
    )
    check.add_argument(
        "--split",
        choices=("tune", "holdout"),
        default=None,
        help="only the rows of this part of the fixed 60/40 split by hash of the text (wit.filters.evaluation.dev_split)",
    )
    add_filter_arguments(check)
    check.set_defaults(handler=run_check)
    filters_parser.set_defaults(handler=lambda args: filters_parser.print_help(sys.stderr) or 2)


CAPTION_COLUMN_GUESSES = ("caption", "text", "TEXT", "alt", "title")
URL_PLACEHOLDER = "https://example.invalid/image.jpg"


def read_rows(path: str | None, column: str | None, url_column: str | None, label_column: str | None = None):
    """Yield (text, url, label) triples from stdin lines or a table file (label None without a
    label column)."""
    from wit.core.errors import WitError

    if path is None:
        if label_column is not None:
            raise WitError("--label-column needs --input")
        for line in sys.stdin:
            yield line.rstrip("\r\n"), URL_PLACEHOLDER, None
        return
    import pyarrow as pa

    lower = path.lower()
    try:
        if lower.endswith(".parquet"):
            import pyarrow.parquet as pq

            table = pq.read_table(path)
        elif lower.endswith((".jsonl", ".json")):
            import pyarrow.json as pj

            table = pj.read_json(path)
        else:
            import pyarrow.csv as pc

            delimiter = "," if lower.endswith(".csv") else "\t"
            table = pc.read_csv(
                path,
                parse_options=pc.ParseOptions(delimiter=delimiter, newlines_in_values=False),
                convert_options=pc.ConvertOptions(strings_can_be_null=False, column_types=None, quoted_strings_can_be_null=False),
            )
    except (pa.ArrowInvalid, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise WitError(f"cannot read {path}: {exc}") from exc
    if column is None:
        column = next((c for c in CAPTION_COLUMN_GUESSES if c in table.column_names), None)
        if column is None:
            raise WitError(f"{path}: no caption column found; pass --column (columns: {', '.join(table.column_names)})")
    for name in (column, url_column, label_column):
        if name is not None and name not in table.column_names:
            raise WitError(f"{path}: no column {name!r} (columns: {', '.join(table.column_names)})")
    texts = table.column(column).to_pylist()
    url_values = table.column(url_column).to_pylist() if url_column else [URL_PLACEHOLDER] * len(texts)
    labels = table.column(label_column).to_pylist() if label_column else [None] * len(texts)
    for text, url, label in zip(texts, url_values, labels):
        yield ("" if text is None else str(text)), url, label


def _tsv_field(value) -> str:
    return str(value).replace("\t", " ").replace("\n", " ").replace("\r", " ")


def run_check(args: argparse.Namespace) -> int:
    import dataclasses
    import logging

    from wit.filters.chain import CHECKS, FilterChain, FilterConfig
    from wit.filters.evaluation import REASON_TO_LABEL, dev_split
    from wit.core.records import new_candidate

    log = logging.getLogger("wit.filters")
    config = FilterConfig.from_args(args)
    if args.url_column is None:
        config = dataclasses.replace(config, check_url=False)  # no URLs to judge: placeholders only
    chain = FilterChain(config)
    out = sys.stdout
    if not args.no_header:
        out.write("\t".join(OUTPUT_COLUMNS + (CHECKS if args.all_checks else ())) + "\n")
    counts: dict[str, int] = {}
    gold: list[str] = []
    predicted: list[str] = []
    index = 0
    for text, url, label in read_rows(args.input, args.column, args.url_column, args.label_column):
        if args.split is not None and dev_split(text) != args.split:
            continue
        index += 1
        candidate = new_candidate(url if isinstance(url, str) else "", text)
        if args.all_checks:
            verdicts = chain.verdicts(candidate)
            first = next((v for v in verdicts.values() if v != "keep"), None)
            extra = [verdicts[name] for name in CHECKS]
        else:
            first = chain.apply(candidate)
            extra = []
        verdict = first or "keep"
        counts[verdict] = counts.get(verdict, 0) + 1
        if args.label_column is not None:
            gold.append(str(label))
            predicted.append(REASON_TO_LABEL[first])
        identified = chain.identify is not None and (args.all_checks or first in (None, "drop_nonenglish"))
        p_english = f"{chain.english_estimate(candidate['text']):.3f}" if identified else ""
        lang = candidate.get("lang", "") if identified else ""
        fields = [verdict, lang, p_english, _tsv_field(candidate.get("text", ""))]
        out.write("\t".join(fields + extra) + "\n")
        if index % 100_000 == 0:
            log.info("checked %d captions", index)
    summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))
    log.info("checked %d captions: %s", sum(counts.values()), summary or "none")
    if args.label_column is not None:
        _print_scores(gold, predicted, args.split)
    return 0


def _print_scores(gold: list[str], predicted: list[str], split: str | None) -> None:
    """Precision and recall per label, as the label set of shared/data/README.md counts them."""
    from wit.filters.evaluation import score_predictions

    scores = score_predictions(gold, predicted)
    err = sys.stderr
    err.write(f"scores on {len(gold)} labelled rows{f' (split {split})' if split else ''}:\n")
    err.write("label\tsupport\tpredicted\tprecision\trecall\n")
    for label, score in scores.items():
        err.write(f"{label}\t{score.support}\t{score.predicted}\t{score.precision:.3f}\t{score.recall:.3f}\n")
    unknown = sorted(set(gold) - set(scores))
    if unknown:
        err.write(f"labels outside the label set (not scored): {', '.join(unknown)}\n")
