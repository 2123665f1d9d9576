"""Crawl scale: the text side of `wit build` on 1, 2, 5, 10 and 20 WAT-sized files, 2 workers.

    .venv/bin/python benchmarks/bench_crawl_scale.py            # the curve, ~15 min on a quiet 2-core machine
    .venv/bin/python benchmarks/bench_crawl_scale.py --quick    # 1, 2, 5 files of 20,000 links: ~3 min

1. Writes a synthetic crawl in the real WAT format (benchmarks/make_synthetic_wat.py) with the
   skew of a real one: caption words drawn from a Zipf-like law, plus ten hot queries whose
   shares fall as rank**-0.4 (the hottest in every English caption), matched against the
   embedded default query list (~500,000 queries). Every file holds the same number of links
   (`--links-per-file`), so the curve measures scaling, not file size. A real Common Crawl WAT
   holds about a million alt-text links; the default 100,000 keeps the whole curve near 15
   minutes on 2 cores and still gives the hottest query more than a million matches at 20 files.
2. For each point, runs `wit build --until candidates` (read, filter, dedup, match, cap, write)
   on the first N files with the local FnApiRunner and `--workers` worker processes, in a fresh
   child process each (so no point inherits another's memory), and once on a one-page input
   to measure start-up and shutdown (the matcher build among them), which is subtracted.
3. Prints per point: candidates/s per core (wall: input / (run - start-up) / workers) and per
   CPU-second of the job's processes (what the job used on a machine shared with others), peak
   RSS of the largest worker process and of the launcher (which, on the local runner only, also
   holds every shuffle: since pipeline/spill.py the big ones carry references to spill files,
   `--no-spill` shuffles the batches themselves as before, for comparison), the number of dedup
   buckets, and the largest shuffled values as the job's own Beam distributions report them:
   `dedup_batch_candidates` (largest element into the dedup shuffle), `dedup_bucket_candidates`
   (most candidates meeting at one bucket), `cap_partial_ranks` (largest rank partial into the
   cap's combine), `cap_query_ranks` (most ranks of one query in one partial: never above the
   cap, however hot the query), `cap_bucket_ranks` (largest merged query bucket).
4. Checks the cap against an independent count: plain Python over the same files (read, filter,
   match each caption, unique uids) gives every query's matches; the build must report the same
   `matched_before_cap` per query, and the candidates it kept must be selected by exactly
   min(matches, cap) of them per query.

The last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import multiprocessing
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

POINTS = (1, 2, 5, 10, 20)
QUICK_POINTS = (1, 2, 5)
LINKS_PER_FILE = 100_000
QUICK_LINKS_PER_FILE = 20_000
HOT_SHARE = 1.0
SHUFFLE_METRICS = ("dedup_batch_candidates", "dedup_bucket_candidates", "cap_partial_ranks", "cap_query_ranks",
                   "cap_bucket_ranks")


def load_module(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- one point, in a child process --------------------------------------------------------------

def run_point(files: list[str], out: str, queries: str, cap: int, workers: int, spill: bool = True) -> dict:
    """Runs the text side once in this process; the figures as a dict."""
    bench = load_module("bench_text_pipeline")
    elapsed, summary, peaks, cpu_s = bench.run_text_side(files, out, queries, cap, workers, spill_shuffles=spill)
    worker_peaks = sorted(peaks.values(), reverse=True)[:workers]
    return {
        "elapsed_s": elapsed,
        "cpu_s": cpu_s,
        "summary": summary,
        "peak_worker_rss": worker_peaks[0] if worker_peaks else None,
        "launcher_rss": own_peak_rss(),
    }


def own_peak_rss() -> int:
    """This process's peak RSS (VmHWM). Not getrusage's ru_maxrss: on Linux that survives exec,
    so a child started by a parent holding the independent count would report the parent's peak."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run_point_in_child(files: list[str], out: str, queries: str, cap: int, workers: int, spill: bool = True) -> dict:
    spec = json.dumps({"files": files, "out": out, "queries": queries, "cap": cap, "workers": workers, "spill": spill})
    done = subprocess.run([sys.executable, __file__, "--run-point", spec], capture_output=True, text=True)
    if done.returncode:
        sys.stderr.write(done.stderr[-4000:])
        raise SystemExit(f"the run over {len(files)} file(s) failed (exit {done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- the independent count -------------------------------------------------------------------------

def _file_match_pairs(job: tuple[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """(uid bits, query id) of every match of every candidate of one file passing the filters,
    by the plain functions one candidate at a time (no Beam, no batches, no buckets)."""
    path, queries = job
    from wit.filters.chain import FilterChain, FilterConfig

    from wit.pipeline.filter import filter_candidate
    from wit.queries.matcher import load_matcher
    from wit.pipeline.sources import read_file
    from wit.pipeline.sources.inputs import InputFile

    global _MATCHER
    if "_MATCHER" not in globals():
        _MATCHER = load_matcher(queries)
    chain = FilterChain(FilterConfig())
    pairs = {}
    for item in read_file(InputFile(path, "wat")):
        if isinstance(item, dict) and filter_candidate(item, chain) is None:
            matches = _MATCHER.match(item["text"])
            if matches:
                pairs[int(item["uid"], 16)] = matches
    lengths = [len(matches) for matches in pairs.values()]
    uids = np.repeat(np.fromiter(pairs.keys(), dtype=np.uint64, count=len(pairs)), lengths)
    query_ids = np.fromiter((q for matches in pairs.values() for q in matches), dtype=np.int64, count=sum(lengths))
    return uids, query_ids


def shuffle_bytes_per_candidate(path: str, limit: int = 20_000) -> float:
    """Bytes one candidate that passed the filters takes in a shuffled CandidateBatch (the
    registered coder, batches of 1000): what the dedup and HoldForSelection shuffles carry."""
    from apache_beam.coders import registry
    from wit.filters.chain import FilterChain, FilterConfig

    from wit.pipeline.batches import CandidateBatch, chunked
    from wit.pipeline.filter import filter_candidate
    from wit.pipeline.sources import read_file
    from wit.pipeline.sources.inputs import InputFile

    chain = FilterChain(FilterConfig())
    kept = []
    for item in read_file(InputFile(path, "wat")):
        if isinstance(item, dict) and filter_candidate(item, chain) is None:
            kept.append(item)
            if len(kept) >= limit:
                break
    coder = registry.get_coder(CandidateBatch)
    return sum(len(coder.encode(CandidateBatch(batch))) for batch in chunked(kept, 1000)) / max(1, len(kept))


def independent_pairs(files: list[str], queries: str, workers: int) -> list[tuple[np.ndarray, np.ndarray]]:
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        return pool.map(_file_match_pairs, [(path, queries) for path in files], chunksize=1)


def unique_matches_per_query(per_file: list[tuple[np.ndarray, np.ndarray]]) -> dict[int, int]:
    """{query id: distinct uids matching it} over the files (a uid in two files counts once)."""
    uids = np.concatenate([pair[0] for pair in per_file])
    query_ids = np.concatenate([pair[1] for pair in per_file])
    pairs = np.unique(np.stack([uids, query_ids.astype(np.uint64)], axis=1), axis=0)
    ids, counts = np.unique(pairs[:, 1].astype(np.int64), return_counts=True)
    return dict(zip(ids.tolist(), counts.tolist()))


def check_cap(out: str, expected_matches: dict[int, int], cap: int) -> dict:
    """Compares the build's output with the independent count; returns what it found."""
    import pyarrow.parquet as pq

    selected = Counter()
    for path in sorted(Path(out, "candidates").glob("*.parquet")):
        for ids in pq.read_table(path, columns=["selected_by"]).column("selected_by").to_pylist():
            selected.update(ids)
    table = pq.read_table(Path(out, "counts", "queries.parquet"), columns=["id", "matched_before_cap", "selected"])
    reported = dict(zip(table.column("id").to_pylist(), table.column("matched_before_cap").to_pylist()))
    reported = {q: n for q, n in reported.items() if n}
    wrong_matches = {q for q in set(reported) | set(expected_matches) if reported.get(q, 0) != expected_matches.get(q, 0)}
    wrong_selected = {q for q in set(selected) | set(expected_matches)
                      if selected.get(q, 0) != min(expected_matches.get(q, 0), cap)}
    hottest = max(expected_matches.items(), key=lambda item: item[1])
    return {
        "ok": not wrong_matches and not wrong_selected,
        "queries_matched": len(expected_matches),
        "queries_capped": sum(1 for n in expected_matches.values() if n > cap),
        "queries_over_1m": sum(1 for n in expected_matches.values() if n > 1_000_000),
        "hottest_query_matches": hottest[1],
        "hottest_query_selected": selected.get(hottest[0], 0),
        "wrong_matched_before_cap": len(wrong_matches),
        "wrong_selected": len(wrong_selected),
    }


# --- the curve -----------------------------------------------------------------------------------

def _gib(value) -> str:
    return f"{value / 2**30:.2f}" if value else "-"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help=f"points {','.join(map(str, QUICK_POINTS))} of {QUICK_LINKS_PER_FILE:,} links per file")
    parser.add_argument("--points", help=f"file counts to run (default {','.join(map(str, POINTS))})")
    parser.add_argument("--links-per-file", type=int, help=f"alt-text links per WAT file (default {LINKS_PER_FILE:,})")
    parser.add_argument("--hot-share", type=float, default=HOT_SHARE,
                        help="share of English captions holding the hottest query (default 1.0)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--queries", default="default", help="query list (default: the embedded ~500k list)")
    parser.add_argument("--per-query-cap", type=int, default=20_000)
    parser.add_argument("--wat-dir", help="keep the synthetic crawl here (reused when it is already there)")
    parser.add_argument("--no-check", action="store_true", help="skip the independent count of the cap")
    parser.add_argument("--no-spill", action="store_true",
                        help="local shuffles carry the batches themselves, not references to spill files "
                             "(how builds ran before pipeline/spill.py: the peer for the memory curve)")
    parser.add_argument("--run-point", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.run_point:
        spec = json.loads(args.run_point)
        print(json.dumps(run_point(spec["files"], spec["out"], spec["queries"], spec["cap"], spec["workers"],
                                   spec.get("spill", True))))
        return 0

    points = tuple(int(p) for p in args.points.split(",")) if args.points else (QUICK_POINTS if args.quick else POINTS)
    links_per_file = args.links_per_file or (QUICK_LINKS_PER_FILE if args.quick else LINKS_PER_FILE)
    cap, workers = args.per_query_cap, args.workers
    began = time.perf_counter()
    scratch = tempfile.mkdtemp(prefix="wit-crawl-scale-")
    try:
        generator = load_module("make_synthetic_wat")
        wat_dir = args.wat_dir or os.path.join(scratch, "wat")
        n_files = max(points)
        files = sorted(str(p) for p in Path(wat_dir).glob("*.wat.gz")) if args.wat_dir else []
        if len(files) != n_files:
            start = time.perf_counter()
            shutil.rmtree(wat_dir, ignore_errors=True)
            stats = generator.write_synthetic_wat(wat_dir, links_per_file * n_files, n_files, hot_share=args.hot_share)
            files = stats["files"]
            print(f"synthetic crawl: {n_files} files x {links_per_file:,} alt links, {stats['bytes'] / 1e6:.0f} MB "
                  f"({time.perf_counter() - start:.0f}s to write)", file=sys.stderr, flush=True)
        file_mb = os.path.getsize(files[0]) / 1e6
        shuffle_bytes = shuffle_bytes_per_candidate(files[0])

        per_file_pairs = None
        if not args.no_check:
            start = time.perf_counter()
            per_file_pairs = independent_pairs(files, args.queries, workers)
            print(f"independent count over {n_files} files: {time.perf_counter() - start:.0f}s",
                  file=sys.stderr, flush=True)

        tiny = generator.write_synthetic_wat(os.path.join(scratch, "tiny"), 10, 1)["files"]
        spill = not args.no_spill
        startup = run_point_in_child(tiny, os.path.join(scratch, "out-tiny"), args.queries, cap, workers, spill)
        print(f"start-up (one-page input): {startup['elapsed_s']:.1f}s", file=sys.stderr, flush=True)

        from wit.pipeline.dedup import buckets_for_input

        rows = []
        for n in points:
            out = os.path.join(scratch, f"out-{n}")
            point = run_point_in_child(files[:n], out, args.queries, cap, workers, spill)
            summary = point["summary"]
            work_s = max(point["elapsed_s"] - startup["elapsed_s"], 1e-9)
            work_cpu_s = max(point["cpu_s"] - startup["cpu_s"], 1e-9)
            row = {
                "files": n,
                "input": summary["input"],
                "kept": summary["kept"],
                "run_s": round(point["elapsed_s"], 1),
                # None when the run took no longer than the start-up measured apart (a loaded machine)
                "per_core": round(summary["input"] / work_s / workers) if work_s > 1e-6 else None,
                "per_cpu_s": round(summary["input"] / work_cpu_s) if work_cpu_s > 1e-6 else None,
                "peak_worker_rss": point["peak_worker_rss"],
                "launcher_rss": point["launcher_rss"],
                "dedup_buckets": buckets_for_input(n, sum(os.path.getsize(f) for f in files[:n])),
                "shuffle": {name: summary.get("shuffle", {}).get(name) for name in SHUFFLE_METRICS},
            }
            if per_file_pairs is not None:
                row["cap_check"] = check_cap(out, unique_matches_per_query(per_file_pairs[:n]), cap)
            shutil.rmtree(out, ignore_errors=True)
            rows.append(row)
            print(f"{n} file(s): {row['run_s']}s, {row['per_core'] or 0:,} candidates/s per core", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    print(f"\nCrawl scale: text side, local FnApiRunner, {workers} worker processes, default query list, cap {cap:,};"
          f"\n{links_per_file:,} alt links per synthetic WAT file ({file_mb:.1f} MB gzipped; a real one: ~1M links, "
          f"~300 MB), start-up {startup['elapsed_s']:.1f}s subtracted; shuffles "
          f"{'carry the batches (--no-spill)' if args.no_spill else 'carry references to spill files'}; "
          f"machine possibly shared with other jobs\n")
    header = (f"{'files':>5} {'input':>11} {'kept':>10} {'run s':>7} {'cand/s/core':>11} {'cand/CPU-s':>10} "
              f"{'worker GiB':>10} {'runner GiB':>10} {'buckets':>7} {'dedup elt':>9} {'dedup key':>9} "
              f"{'cap elt':>8} {'1 query':>7} {'cap key':>8} {'hottest q':>10} {'cap check':>9}")
    print(header)
    for row in rows:
        shuffle = row["shuffle"]
        check = row.get("cap_check")
        print(f"{row['files']:>5} {row['input']:>11,} {row['kept']:>10,} {row['run_s']:>7} "
              f"{format(row['per_core'], ',') if row['per_core'] else '-':>11} "
              f"{format(row['per_cpu_s'], ',') if row['per_cpu_s'] else '-':>10} {_gib(row['peak_worker_rss']):>10} {_gib(row['launcher_rss']):>10} "
              f"{row['dedup_buckets']:>7,} {shuffle['dedup_batch_candidates'] or 0:>9,} "
              f"{shuffle['dedup_bucket_candidates'] or 0:>9,} {shuffle['cap_partial_ranks'] or 0:>8,} "
              f"{shuffle['cap_query_ranks'] or 0:>7,} {shuffle['cap_bucket_ranks'] or 0:>8,} "
              f"{check['hottest_query_matches'] if check else 0:>10,} "
              f"{('ok' if check['ok'] else 'WRONG') if check else '-':>9}")
    print("\nelt: largest shuffled element; key: most entries meeting at one key (candidates for dedup, ranks for "
          "the cap); 1 query: most ranks of one query in one element (never above the cap)")
    first, last = rows[0], rows[-1]
    targets = {
        "per_core_ratio": round(last["per_core"] / first["per_core"], 3) if first["per_core"] and last["per_core"] else None,
        "per_cpu_s_ratio": round(last["per_cpu_s"] / first["per_cpu_s"], 3) if first["per_cpu_s"] and last["per_cpu_s"] else None,
        "worker_rss_ratio": round(last["peak_worker_rss"] / first["peak_worker_rss"], 3)
        if first["peak_worker_rss"] and last["peak_worker_rss"] else None,
        "dedup_key_ratio": round((last["shuffle"]["dedup_bucket_candidates"] or 0)
                                 / max(1, first["shuffle"]["dedup_bucket_candidates"] or 0), 3),
        "cap_key_ratio": round((last["shuffle"]["cap_bucket_ranks"] or 0)
                               / max(1, first["shuffle"]["cap_bucket_ranks"] or 0), 3),
        "input_ratio": round(last["input"] / first["input"], 1),
    }
    print(f"\n{last['files']} files vs {first['files']}: input x{targets['input_ratio']}; candidates/s per core "
          f"x{targets['per_core_ratio']} (target >= 0.8), per CPU-second x{targets['per_cpu_s_ratio']}; "
          f"peak worker RSS x{targets['worker_rss_ratio']} (target ~1); largest dedup key x{targets['dedup_key_ratio']}, "
          f"largest cap key x{targets['cap_key_ratio']}")
    if last.get("cap_check"):
        check = last["cap_check"]
        print(f"cap check at {last['files']} files: {'ok' if check['ok'] else 'WRONG'}: {check['queries_matched']:,} "
              f"queries matched, {check['queries_capped']:,} over the cap, {check['queries_over_1m']} over a million "
              f"(hottest {check['hottest_query_matches']:,} matches -> {check['hottest_query_selected']:,} selected)")
    print(f"a candidate past the filters is {shuffle_bytes:.0f} bytes in a shuffled batch")
    print(f"total {time.perf_counter() - began:.0f}s")
    print(json.dumps({"workers": workers, "spill": not args.no_spill, "links_per_file": links_per_file,
                      "file_mb": round(file_mb, 1),
                      "shuffle_bytes_per_candidate": round(shuffle_bytes),
                      "startup_s": round(startup["elapsed_s"], 2), "points": rows, "targets": targets}))
    return 0 if all(row.get("cap_check", {"ok": True})["ok"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
