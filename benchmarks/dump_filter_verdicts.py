"""Every verdict the default filter chain gives, as one TSV, to compare two trees (issue 19).

Rows: source, label ('-' where there is none), verdict, text, for
  - shared/data/captions_dev.tsv (all rows),
  - every tests/fixtures/filters_*.tsv but the untuned sets (--with-untuned adds them),
  - the LAION TEXT column of shared/data/real/img2dataset_test_1000.parquet,
  - the camera and file-name rules alone on every lid-dev line (sentences, word pairs, single
    words): only the lines one of them flags are written, with 'camera', 'filename' or both.

A rule change is checked by dumping before and after it and comparing:

    .venv/bin/python benchmarks/dump_filter_verdicts.py > /tmp/before.tsv
    ... change ...
    .venv/bin/python benchmarks/dump_filter_verdicts.py > /tmp/after.tsv
    .venv/bin/python benchmarks/dump_filter_verdicts.py --compare /tmp/before.tsv /tmp/after.tsv

--compare counts labelled verdicts moved to their label and away from it, LAION verdicts changed
and lid-dev lines newly flagged or no longer flagged, and prints every change but those of the
labelled rows that moved to their label (--show prints those too).

The untuned blind sets (UNTUNED below) are left out by default: their rows are for scoring,
never for reading while rules change.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

# Blind sets kept for scoring only: no rule change reads their rows (tuning sets are the others).
UNTUNED = (
    "filters_blind12.tsv",
    "filters_blind20clean.tsv",
    "filters_blind23.tsv",
    "filters_blind27.tsv",
    "filters_blind28.tsv",
    "filters_blind29.tsv",
    "filters_blind32.tsv",
    "filters_blind33.tsv",
    "filters_blind36.tsv",
    "filters_blind37.tsv",
    "filters_blind40.tsv",
    "filters_blind42.tsv",
)
LID_KINDS = ("sentences", "word-pairs", "single-words")


def labelled_sets(data: Path, with_untuned: bool) -> list[tuple[str, Path, list[dict]]]:
    """(name, path, rows) of captions_dev.tsv and the hand-written fixtures, the untuned blind
    sets only when asked; rows are dicts with 'text' and 'label'."""
    fixtures = sorted((REPO / "tests" / "fixtures").glob("filters_*.tsv"))
    sets = [("captions_dev", data / "captions_dev.tsv")]
    sets += [(path.stem, path) for path in fixtures if with_untuned or path.name not in UNTUNED]
    loaded = []
    for name, path in sets:
        with open(path, encoding="utf-8", newline="") as handle:
            loaded.append((name, path, list(csv.DictReader(handle, delimiter="\t"))))
    return loaded


def dump(data: Path, with_untuned: bool, out) -> None:
    import pyarrow.parquet as pq

    from wit.filters import camera, filename
    from wit.filters.chain import FilterChain, FilterConfig
    from wit.filters.evaluation import label_captions, read_lid_dev

    chain = FilterChain(FilterConfig())
    writer = csv.writer(out, delimiter="\t", lineterminator="\n")
    for name, _, rows in labelled_sets(data, with_untuned):
        for row, verdict in zip(rows, label_captions(chain, [row["text"] for row in rows])):
            writer.writerow([name, row.get("label", "-"), verdict, row["text"]])
    column = pq.read_table(data / "real" / "img2dataset_test_1000.parquet", columns=["TEXT"]).column("TEXT")
    laion = [text for text in column.to_pylist() if text]
    for text, verdict in zip(laion, label_captions(chain, laion)):
        writer.writerow(["laion", "-", verdict, text])
    for kind in LID_KINDS:
        for text, lang in read_lid_dev(data / "lid-dev", kind):
            flags = [name for name, rule in (("camera", camera.is_camera_metadata), ("filename", filename.is_file_name)) if rule(text)]
            if flags:
                writer.writerow([f"lid-{kind}", lang, "+".join(flags), text])


def read_dump(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle, delimiter="\t"))


def compare(before_path: Path, after_path: Path, show: bool) -> int:
    before, after = read_dump(before_path), read_dump(after_path)
    rows_before = [row for row in before if not row[0].startswith("lid-")]
    rows_after = [row for row in after if not row[0].startswith("lid-")]
    if [row[0::3] for row in rows_before] != [row[0::3] for row in rows_after]:
        print("the two dumps hold different rows: dump both with the same fixtures and flags", file=sys.stderr)
        return 2
    toward = away = sideways = laion = 0
    for old, new in zip(rows_before, rows_after):
        if old[2] == new[2]:
            continue
        source, label, text = old[0], old[1], old[3]
        if source == "laion":
            laion += 1
            print(f"LAION: {old[2]} -> {new[2]}: {text}")
        elif new[2] == label:
            toward += 1
            if show:
                print(f"to label: {source} ({label}) {old[2]} -> {new[2]}: {text}")
        else:
            away += old[2] == label
            sideways += old[2] != label
            print(f"{'AWAY' if old[2] == label else 'other'}: {source} ({label}) {old[2]} -> {new[2]}: {text}")
    flagged_before = {(row[0], row[3]): row[2] for row in before if row[0].startswith("lid-")}
    flagged_after = {(row[0], row[3]): row[2] for row in after if row[0].startswith("lid-")}
    newly = [key for key, flags in flagged_after.items() if flagged_before.get(key) != flags]
    dropped = [key for key in flagged_before if key not in flagged_after]
    for kind, text in newly:
        print(f"lid-dev newly flagged ({flagged_after[(kind, text)]}): {kind}: {text}")
    if show:
        for kind, text in dropped:
            print(f"lid-dev no longer flagged: {kind}: {text}")
    print(f"labelled rows: {toward} to their label, {away} away, {sideways} from one wrong verdict to another;"
          f" LAION verdicts changed: {laion}; lid-dev lines newly flagged: {len(newly)}, no longer flagged: {len(dropped)}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--with-untuned", action="store_true", help="dump the untuned blind sets too")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"), help="compare two dumps")
    parser.add_argument("--show", action="store_true", help="with --compare: print the moves to the label too")
    args = parser.parse_args(argv)
    if args.compare:
        return compare(*args.compare, args.show)
    dump(args.data, args.with_untuned, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
