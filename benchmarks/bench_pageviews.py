"""Summing hourly pageview files: throughput and peak memory, bounded aggregation against one dict.

    .venv/bin/python benchmarks/bench_pageviews.py              # 24 files of 1M lines, ~5 minutes on 2 cores
    .venv/bin/python benchmarks/bench_pageviews.py --quick      # 6 files of 300k lines

Synthetic files in the real format and order (pageviews-YYYYMMDD-HH0000.gz, 'domain title views
bytes', sorted by domain): ENGLISH_SHARE of the lines are English Wikipedia (desktop 'en' and
mobile 'en.m'), the rest other projects. English titles are drawn from a Zipf law (exponent 1) over
TITLE_SPACE ids, so, as in the real dumps, every hour brings titles never seen before and the
number of distinct titles keeps growing with the number of files. The files are generated once
into --data (default $TMPDIR/wit-bench-pageviews, kept for reruns).

Compared on the same files, each in a fresh process, at growing numbers of files:
  bounded   wit.queries.pageviews.aggregate_titles: batches of files per worker process, spills
            hash-partitioned runs when a worker holds --max-titles titles, merges partition by
            partition (--workers processes, default one per core)
  one dict  wit.queries.pageviews.sum_pageviews: every title in one dict in one process (what
            `wit queries build --pageviews` did before), then the threshold

Printed per run: lines, wall seconds, lines/s (and per core busy), peak RSS of the largest
process (parent or one worker) and of all the processes together at most, distinct titles. The
last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench_dump_counts import own_peak_rss_mib  # noqa: E402  (the same measure as the dump counts' figures)

ENGLISH_SHARE = 0.4  # of the lines: English Wikipedia, desktop and mobile
TITLE_SPACE = 60_000_000  # English titles the synthetic readers can visit
OTHER_DOMAINS = ["commons.m", "de", "de.m", "es", "fr", "fr.m", "ja", "ja.m", "ru", "zh"]


def make_files(data: Path, files: int, lines_per_file: int, seed: int = 0) -> list[Path]:
    import numpy as np

    data.mkdir(parents=True, exist_ok=True)
    paths = []
    for hour in range(files):
        path = data / f"pageviews-2024{1 + hour // 24 // 28:02d}{1 + hour // 24 % 28:02d}-{hour % 24:02d}0000.gz"
        paths.append(path)
        marker = path.with_suffix(".lines")
        if path.exists() and marker.exists() and marker.read_text() == str(lines_per_file):
            continue
        rng = np.random.default_rng(seed * 100_003 + hour)
        rows = []
        english = int(lines_per_file * ENGLISH_SHARE) // 2
        for domain in ("en", "en.m"):
            # Title ids log-uniform over TITLE_SPACE: P(id = k) ~ 1/k, a Zipf law with exponent 1,
            # so low ids are viewed every hour and high ids are new titles most hours.
            draws = np.exp(rng.uniform(0, math.log(TITLE_SPACE), size=int(english * 1.6))).astype(np.int64)
            ids, counts = np.unique(draws, return_counts=True)
            keep = np.sort(rng.choice(len(ids), size=min(english, len(ids)), replace=False))
            rows.extend(f"{domain} Title_{i} {c} 0\n" for i, c in zip(ids[keep].tolist(), counts[keep].tolist()))
        other = (lines_per_file - len(rows)) // len(OTHER_DOMAINS)
        for domain in OTHER_DOMAINS:
            ids = rng.choice(10_000_000, size=other, replace=False)
            rows.extend(f"{domain} Page_{i} 1 0\n" for i in ids.tolist())
        rows.sort()
        with gzip.open(path, "wt", compresslevel=6) as out:
            out.writelines(rows)
        marker.write_text(str(lines_per_file))
    return paths


def run_one(method: str, paths: list[str], min_views: int, workers: int, max_titles: int) -> dict:
    from wit.queries import pageviews

    started = time.perf_counter()
    cpu_started = os.times()
    if method == "bounded":
        with tempfile.TemporaryDirectory(prefix="bench-pageviews-") as work:
            kept = pageviews.aggregate_titles(paths, work, min_views, workers=workers, max_titles=max_titles)
            distinct = None
    else:
        totals = pageviews.sum_pageviews(paths)
        kept = [item for item in totals.items() if item[1] >= min_views]
        distinct = len(totals)
    wall = time.perf_counter() - started
    cpu_now = os.times()
    cpu = (cpu_now.user - cpu_started.user) + (cpu_now.system - cpu_started.system) + (cpu_now.children_user - cpu_started.children_user) + (cpu_now.children_system - cpu_started.children_system)
    self_peak = own_peak_rss_mib()
    child_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"wall_s": wall, "cpu_s": cpu, "kept": len(kept), "distinct": distinct,
            "peak_rss_mib": max(self_peak, child_peak), "parent_rss_mib": self_peak, "worker_rss_mib": child_peak}


def count_lines(paths: list[Path]) -> int:
    return sum(int(path.with_suffix(".lines").read_text()) for path in paths)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=24)
    parser.add_argument("--lines-per-file", type=int, default=1_000_000)
    parser.add_argument("--steps", default="", help="comma-separated file counts to measure (default: files/4, files/2, files)")
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--max-titles", type=int, default=250_000, help="titles a bounded worker holds before it spills")
    parser.add_argument("--min-views", type=int, default=20)
    parser.add_argument("--data", default=str(Path(tempfile.gettempdir()) / "wit-bench-pageviews"))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one method in this process
    parser.add_argument("--paths", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.one:
        print(json.dumps(run_one(args.one, args.paths, args.min_views, args.workers, args.max_titles)))
        return 0
    if args.quick:
        args.files, args.lines_per_file = 6, 300_000
    steps = [int(s) for s in args.steps.split(",") if s] or sorted({max(1, args.files // 4), max(1, args.files // 2), args.files})
    started = time.perf_counter()
    paths = make_files(Path(args.data), args.files, args.lines_per_file)
    print(f"data: {args.files} files of {args.lines_per_file:,} lines in {args.data} ({time.perf_counter() - started:.0f} s to make or check)")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; workers {args.workers}, max titles {args.max_titles:,}")
    results = []
    header = f"{'method':<9}{'files':>6}{'lines':>13}{'wall s':>9}{'lines/s':>12}{'lines/cpu-s':>13}{'peak RSS MiB':>14}{'titles kept':>13}"
    print(header)
    for n in steps:
        chosen = [str(p) for p in paths[:n]]
        lines = count_lines(paths[:n])
        row = {"files": n, "lines": lines}
        for method in ("bounded", "one-dict"):
            command = [sys.executable, __file__, "--one", method, "--min-views", str(args.min_views), "--workers", str(args.workers),
                       "--max-titles", str(args.max_titles), "--paths", *chosen]
            out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            figures = json.loads(out.strip().splitlines()[-1])
            row[method] = figures
            print(f"{method:<9}{n:>6}{lines:>13,}{figures['wall_s']:>9.1f}{lines / figures['wall_s']:>12,.0f}"
                  f"{lines / max(figures['cpu_s'], 1e-9):>13,.0f}{figures['peak_rss_mib']:>14,.0f}{figures['kept']:>13,}")
        assert row["bounded"]["kept"] == row["one-dict"]["kept"], "the two methods disagree"
        row["distinct_titles"] = row["one-dict"]["distinct"]
        row["rss_ratio_one_dict_to_bounded"] = row["one-dict"]["peak_rss_mib"] / row["bounded"]["peak_rss_mib"]
        row["speed_ratio_bounded_to_one_dict"] = row["one-dict"]["wall_s"] / row["bounded"]["wall_s"]
        print(f"  {n} files: {row['distinct_titles']:,} distinct titles; one dict uses {row['rss_ratio_one_dict_to_bounded']:.2f}x the peak RSS "
              f"of the bounded run, which is {row['speed_ratio_bounded_to_one_dict']:.2f}x as fast (wall)")
        results.append(row)
    print(json.dumps({"files": args.files, "lines_per_file": args.lines_per_file, "workers": args.workers,
                      "max_titles": args.max_titles, "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
