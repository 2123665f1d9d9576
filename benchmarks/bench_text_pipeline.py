"""The text side of `wit build` on the local runner: WAT in, capped candidates out.

    .venv/bin/python benchmarks/bench_text_pipeline.py [--quick] [--links N] [--workers W]

1. Writes a synthetic WAT in the real format (benchmarks/make_synthetic_wat.py; ~1M alt-text
   links by default) unless --wat-dir names one.
2. Runs the whole text side (read, normalise+filter, dedup, match against the query list, cap,
   write parquet and counts) with `wit build --until candidates` on the FnApiRunner with W
   worker processes, and once more on a one-page input to measure Beam's start-up and
   shutdown, which is subtracted: candidates/s per core = input candidates /
   (run time - start-up time) / W.
3. Times each stage's plain function on the same records in this process, so the per-stage
   cost stands beside the end-to-end figure; `pack` is the cost of a CandidateBatch crossing a
   shuffle (pickle + unpickle, paid at dedup and again before the cap's selection).
4. Samples the peak resident memory (VmHWM) of every worker process while the job runs; the
   matcher holds the full query list (--queries, default: the embedded 500k list).

Figures are printed as tables; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import os
import sys
import tempfile
import threading
import time
from argparse import Namespace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def load_generator():
    spec = importlib.util.spec_from_file_location("make_synthetic_wat", REPO / "benchmarks" / "make_synthetic_wat.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class WorkerMemorySampler(threading.Thread):
    """Peak RSS (VmHWM) and CPU seconds of this process's descendants, sampled twice a second."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peaks: dict[int, int] = {}
        self.cpu_s: dict[int, float] = {}
        self._stop_event = threading.Event()

    def run(self):
        while not self._stop_event.wait(0.5):
            for pid in self._descendants(os.getpid()):
                peak = self._vm_hwm(pid)
                if peak:
                    self.peaks[pid] = max(self.peaks.get(pid, 0), peak)
                cpu = self._cpu_seconds(pid)
                if cpu:
                    self.cpu_s[pid] = max(self.cpu_s.get(pid, 0.0), cpu)

    @staticmethod
    def _cpu_seconds(pid: int) -> float:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return 0.0

    def stop(self):
        self._stop_event.set()
        self.join(timeout=2)

    @staticmethod
    def _descendants(root: int) -> list[int]:
        parents: dict[int, int] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as handle:
                        parents[int(entry)] = int(handle.read().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
        found, frontier = [], [root]
        while frontier:
            parent = frontier.pop()
            children = [pid for pid, ppid in parents.items() if ppid == parent]
            found += children
            frontier += children
        return found

    @staticmethod
    def _vm_hwm(pid: int) -> int:
        try:
            with open(f"/proc/{pid}/status") as handle:
                for line in handle:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0


def build_args(files: list[str], out: str, queries: str, cap: int) -> Namespace:
    """The parsed `wit build` arguments, through the real command-line parser."""
    import argparse as _argparse

    from wit.pipeline.build_cli import add_build_arguments

    parser = _argparse.ArgumentParser()
    add_build_arguments(parser)
    return parser.parse_args(["--input", *files, "--out", out, "--queries", queries,
                              "--per-query-cap", str(cap), "--until", "candidates"])


def run_text_side(files: list[str], out: str, queries: str, cap: int, workers: int,
                  mode: str = "multi_processing", spill_shuffles: bool = True) -> tuple[float, dict, dict, float]:
    """(wall seconds, text counts, peak RSS per worker pid, CPU seconds of the job's processes).

    `spill_shuffles=False`: the shuffles carry the batches themselves, as before pipeline/spill.py.
    """
    import resource

    from wit.pipeline.build import run_build
    from wit.pipeline.build_cli import config_from_args

    config = config_from_args(build_args(files, out, queries, cap))
    sampler = WorkerMemorySampler()
    sampler.start()
    own_cpu = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    summary = run_build(config, [f"--direct_running_mode={mode}", f"--direct_num_workers={workers}"],
                        show_progress=False, spill_shuffles=spill_shuffles)
    elapsed = time.perf_counter() - start
    sampler.stop()
    now = resource.getrusage(resource.RUSAGE_SELF)
    cpu_s = (now.ru_utime - own_cpu.ru_utime) + (now.ru_stime - own_cpu.ru_stime) + sum(sampler.cpu_s.values())
    return elapsed, summary, sampler.peaks, cpu_s


STAGES = ("read_wat", "filter", "dedup", "match", "cap_ranks", "cap_select", "to_row", "pack")


def per_stage_costs(files: list[str], queries: str, cap: int, limit: int) -> dict[str, float]:
    """Microseconds per candidate of each stage's plain function, on the same records."""
    from wit.filters.chain import FilterChain, FilterConfig

    from wit.pipeline.batches import pack_candidates, unpack_candidates
    from wit.pipeline.cap import CapThresholds, QueryRanks, match_pairs, selected_by_batch
    from wit.pipeline.dedup import keep_one_per_uid
    from wit.queries.matcher import load_matcher
    from wit.pipeline.sources import read_file
    from wit.pipeline.sources.inputs import InputFile
    from wit.core.schema import candidate_row

    costs = {}
    start = time.perf_counter()
    candidates = []
    for path in files:
        for item in read_file(InputFile(path, "wat")):
            if isinstance(item, dict):
                candidates.append(item)
            if len(candidates) >= limit:
                break
        if len(candidates) >= limit:
            break
    costs["read_wat"] = (time.perf_counter() - start) / len(candidates) * 1e6

    chain = FilterChain(FilterConfig())
    work = copy.deepcopy(candidates)
    start = time.perf_counter()
    kept = [c for c in work if chain.apply(c) is None]
    costs["filter"] = (time.perf_counter() - start) / len(work) * 1e6

    reaching_dedup = len(kept)
    start = time.perf_counter()
    kept, _ = keep_one_per_uid(kept)
    costs["dedup"] = (time.perf_counter() - start) / max(1, reaching_dedup) * 1e6

    # Best of three: a full garbage collection of this process's large heap (every record read,
    # twice) can land inside one pass and says nothing about the coder.
    pack_times = []
    for _ in range(3):
        start = time.perf_counter()
        for offset in range(0, len(kept), 1000):
            unpack_candidates(pack_candidates(kept[offset:offset + 1000]))
        pack_times.append(time.perf_counter() - start)
    costs["pack"] = min(pack_times) / max(1, len(kept)) * 1e6

    build_start = time.perf_counter()
    matcher = load_matcher(queries)
    costs["matcher_build_s"] = time.perf_counter() - build_start
    start = time.perf_counter()
    for candidate in kept:
        candidate["matches"] = matcher.match(candidate["text"])
    costs["match"] = (time.perf_counter() - start) / max(1, len(kept)) * 1e6

    matched = [c for c in kept if c["matches"]]
    start = time.perf_counter()
    ranks = QueryRanks.from_pairs(*match_pairs(matched), 0, cap)
    thresholds = dict(ranks.thresholds(cap))
    costs["cap_ranks"] = (time.perf_counter() - start) / max(1, len(matched)) * 1e6
    start = time.perf_counter()
    arrays = CapThresholds(thresholds)
    for offset in range(0, len(matched), 1000):
        batch = matched[offset:offset + 1000]
        for candidate, chosen in zip(batch, selected_by_batch(batch, arrays, 0)):
            candidate["selected_by"] = chosen
    costs["cap_select"] = (time.perf_counter() - start) / max(1, len(matched)) * 1e6

    start = time.perf_counter()
    for candidate in matched:
        candidate_row(candidate)
    costs["to_row"] = (time.perf_counter() - start) / max(1, len(matched)) * 1e6
    costs["kept_after_filter_share"] = len(kept) / len(candidates)
    costs["matched_share"] = len(matched) / len(candidates)
    return costs


def main(argv=None) -> int:
    from wit.core.runner import available_cores

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="100k links instead of 1M")
    parser.add_argument("--links", type=int, help="alt-text links in the synthetic WAT (default 1,000,000; --quick 100,000)")
    parser.add_argument("--files", type=int, default=8, help="WAT files to split them over (default 8)")
    parser.add_argument("--wat-dir", help="use the *.wat.gz files here instead of writing new ones")
    parser.add_argument("--workers", type=int, default=available_cores(), help="worker processes (default: cores)")
    parser.add_argument("--queries", default="default", help="query list (default: the embedded default)")
    parser.add_argument("--per-query-cap", type=int, default=20000)
    parser.add_argument("--mode", choices=("multi_processing", "in_memory"), default="multi_processing",
                        help="local running mode (in_memory: one process, for profiling)")
    args = parser.parse_args(argv)
    links = args.links or (100_000 if args.quick else 1_000_000)

    with tempfile.TemporaryDirectory(prefix="wit-bench-") as scratch:
        if args.wat_dir:
            files = sorted(str(p) for p in Path(args.wat_dir).glob("*.wat.gz"))
        else:
            start = time.perf_counter()
            stats = load_generator().write_synthetic_wat(os.path.join(scratch, "wat"), links, args.files)
            files = stats["files"]
            print(f"synthetic WAT: {stats['links_with_alt']:,} alt links, {stats['bytes'] / 1e6:.0f} MB, "
                  f"{len(files)} files ({time.perf_counter() - start:.0f}s to write)", file=sys.stderr)
        tiny = load_generator().write_synthetic_wat(os.path.join(scratch, "tiny"), 10, 1)["files"]

        if args.mode == "in_memory":
            args.workers = 1
        startup_s, _, _, startup_cpu_s = run_text_side(tiny, os.path.join(scratch, "out-tiny"), args.queries, args.per_query_cap,
                                        args.workers, args.mode)
        elapsed_s, summary, peaks, cpu_s = run_text_side(files, os.path.join(scratch, "out"), args.queries,
                                                  args.per_query_cap, args.workers, args.mode)
        costs = per_stage_costs(files, args.queries, args.per_query_cap, limit=20_000 if args.quick else 100_000)

    work_s = max(elapsed_s - startup_s, 1e-9)
    per_core = summary["input"] / work_s / args.workers
    # On a shared machine the job gets less than a core per worker; CPU time says what it used.
    per_cpu_s = summary["input"] / max(cpu_s - startup_cpu_s, 1e-9)
    worker_peaks = sorted(peaks.values(), reverse=True)[: args.workers]
    peak_gib = (worker_peaks[0] / 2**30) if worker_peaks else float("nan")

    print(f"\nText side on the local FnApiRunner, {args.workers} worker process(es), machine shared with others")
    print(f"{'':<34}{'value':>14}")
    for label, value in [
        ("input candidates", f"{summary['input']:,}"),
        ("kept after cap", f"{summary['kept']:,}"),
        ("run time (s)", f"{elapsed_s:.1f}"),
        ("Beam start-up, tiny input (s)", f"{startup_s:.1f}"),
        ("candidates/s (excl. start-up)", f"{summary['input'] / work_s:,.0f}"),
        ("candidates/s per core", f"{per_core:,.0f}"),
        ("CPU seconds (excl. start-up)", f"{cpu_s - startup_cpu_s:.1f}"),
        ("candidates per CPU-second", f"{per_cpu_s:,.0f}"),
        ("peak RSS of largest worker (GiB)", f"{peak_gib:.2f}"),
    ]:
        print(f"{label:<34}{value:>14}")
    print("\nPer-stage cost of the plain functions, same records, one process")
    print(f"{'stage':<20}{'us/candidate':>14}{'candidates/s':>14}")
    for stage in STAGES:
        print(f"{stage:<20}{costs[stage]:>14.1f}{1e6 / costs[stage]:>14,.0f}")
    print(f"(matcher build {costs['matcher_build_s']:.1f}s per worker; {costs['kept_after_filter_share']:.0%} of "
          f"candidates pass the filters, {costs['matched_share']:.0%} match a query; match/cap/row costs are per "
          f"candidate reaching that stage)")
    print("drops: " + ", ".join(f"{k} {v:,}" for k, v in summary["drops"].items() if v))
    print(json.dumps({
        "workers": args.workers,
        "input_candidates": summary["input"],
        "kept": summary["kept"],
        "run_s": round(elapsed_s, 2),
        "startup_s": round(startup_s, 2),
        "candidates_per_s": round(summary["input"] / work_s),
        "candidates_per_s_per_core": round(per_core),
        "candidates_per_cpu_s": round(per_cpu_s),
        "peak_worker_rss_gib": round(peak_gib, 3) if worker_peaks else None,
        "stage_us_per_candidate": {k: round(v, 2) for k, v in costs.items() if k in
                                   STAGES},
        "matcher_build_s": round(costs["matcher_build_s"], 2),
        "drops": summary["drops"],
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
