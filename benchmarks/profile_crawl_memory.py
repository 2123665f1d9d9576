"""Where the memory of a local `wit build` goes: per Beam stage, launcher against workers.

    .venv/bin/python benchmarks/profile_crawl_memory.py --wat-dir /tmp/crawl-scale/wat --files 10

Runs the text side (`wit build --until candidates`, as bench_crawl_scale.py does) on the first
N WAT files of `--wat-dir` with the local FnApiRunner and `--workers` worker processes, in this
process, and meanwhile:

- samples the resident memory (VmRSS) of the launcher and of each worker process every
  0.25 s;
- records when the runner executes each fused stage (FnApiRunner._execute_bundle);
- records what the runner hands each worker at every shuffle it reads (GroupingBuffer.partition:
  the bytes per worker and the largest single block the runner sends).

Prints one row per stage: seconds, the launcher's and the largest worker's peak RSS while it
ran, and the shuffle read at its start (bytes per worker, largest block). The last line is one
JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))


def vm_rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class StageMemory:
    """The stage timeline, the RSS samples and the shuffle reads of one run."""

    def __init__(self):
        self.stages: list[dict] = []  # {name, start, end}
        self.samples: list[tuple[float, int, dict[int, int]]] = []  # (time, launcher, {worker pid: rss})
        self.shuffle_reads: list[dict] = []  # {time, per_worker_bytes, largest_block}
        self._stop = threading.Event()

    def install(self):
        from apache_beam.runners.portability.fn_api_runner import execution, fn_runner

        record = self
        execute = fn_runner.FnApiRunner._execute_bundle

        def timed_execute(runner, context, bundle_context_manager, bundle_input):
            entry = {"name": bundle_context_manager.stage.name, "start": time.perf_counter()}
            record.stages.append(entry)
            try:
                return execute(runner, context, bundle_context_manager, bundle_input)
            finally:
                entry["end"] = time.perf_counter()

        fn_runner.FnApiRunner._execute_bundle = timed_execute
        partition = execution.GroupingBuffer.partition

        def measured_partition(buffer, n):
            first = not buffer._grouped_output
            parts = partition(buffer, n)
            if first:
                record.shuffle_reads.append({
                    "time": time.perf_counter(),
                    "per_worker_bytes": [sum(len(block) for block in part) for part in parts],
                    "largest_block": max((len(block) for part in parts for block in part), default=0)})
            return parts

        execution.GroupingBuffer.partition = measured_partition

    def sample_forever(self):
        from bench_text_pipeline import WorkerMemorySampler

        me = os.getpid()
        while not self._stop.wait(0.25):
            workers = {pid: vm_rss(pid) for pid in WorkerMemorySampler._descendants(me)}
            self.samples.append((time.perf_counter(), vm_rss(me), workers))

    def start(self):
        threading.Thread(target=self.sample_forever, daemon=True).start()

    def stop(self):
        self._stop.set()

    def per_stage(self) -> list[dict]:
        rows = []
        for stage in self.stages:
            end = stage.get("end", time.perf_counter())
            during = [s for s in self.samples if stage["start"] <= s[0] <= end]
            reads = [r for r in self.shuffle_reads if stage["start"] - 0.01 <= r["time"] <= end]
            rows.append({
                "stage": stage["name"],
                "seconds": round(end - stage["start"], 2),
                "launcher_rss": max((s[1] for s in during), default=0),
                "worker_rss": max((max(s[2].values(), default=0) for s in during), default=0),
                "shuffle_per_worker": max((max(r["per_worker_bytes"]) for r in reads), default=0),
                "largest_block": max((r["largest_block"] for r in reads), default=0),
            })
        return rows


def _mib(value: int) -> str:
    return f"{value / 2**20:,.0f}" if value else "-"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wat-dir", required=True, help="a folder of *.wat.gz (bench_crawl_scale.py --wat-dir)")
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--queries", default="default")
    parser.add_argument("--per-query-cap", type=int, default=20_000)
    parser.add_argument("--no-spill", action="store_true",
                        help="shuffle the batches themselves, not references to spill files (the peer: as before)")
    args = parser.parse_args(argv)

    from bench_text_pipeline import build_args

    from wit.pipeline.build import run_build
    from wit.pipeline.build_cli import config_from_args

    files = sorted(str(p) for p in Path(args.wat_dir).glob("*.wat.gz"))[:args.files]
    if len(files) < args.files:
        raise SystemExit(f"{args.wat_dir} holds {len(files)} WAT files, not {args.files}")
    record = StageMemory()
    record.install()
    with tempfile.TemporaryDirectory(prefix="wit-memory-") as out:
        config = config_from_args(build_args(files, out, args.queries, args.per_query_cap))
        record.start()
        began = time.perf_counter()
        summary = run_build(config, ["--direct_running_mode=multi_processing", f"--direct_num_workers={args.workers}"],
                            show_progress=False, spill_shuffles=not args.no_spill)
        elapsed = time.perf_counter() - began
        record.stop()
    rows = record.per_stage()
    import resource

    launcher_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    sampled_peak = max(record.samples, key=lambda sample: sample[1]) if record.samples else (0, 0, {})
    in_stage = [row["stage"] for row, stage in zip(rows, record.stages)
                if stage["start"] <= sampled_peak[0] <= stage.get("end", sampled_peak[0])]
    print(f"\n{'without' if args.no_spill else 'with'} spill files: "
          f"{len(files)} file(s), {summary['input']:,} input, {summary['kept']:,} kept, {elapsed:.1f}s, "
          f"{args.workers} worker processes (MiB; 'shuffle/worker': what the runner hands one worker at the "
          f"start of the stage, 'block': the largest single block it sends)")
    print(f"{'s':>6} {'launcher':>8} {'worker':>7} {'shuffle/worker':>14} {'block':>6}  stage")
    for row in rows:
        print(f"{row['seconds']:>6} {_mib(row['launcher_rss']):>8} {_mib(row['worker_rss']):>7} "
              f"{_mib(row['shuffle_per_worker']):>14} {_mib(row['largest_block']):>6}  {row['stage'][:90]}")
    print(f"launcher peak RSS over the whole run (ru_maxrss): {_mib(launcher_peak)} MiB; largest sample "
          f"{_mib(sampled_peak[1])} MiB at {sampled_peak[0] - began:.1f}s, "
          f"{'in ' + in_stage[0][:60] if in_stage else 'between stages'}")
    print(json.dumps({"files": len(files), "launcher_peak_rss": launcher_peak, "input": summary["input"], "kept": summary["kept"],
                      "elapsed_s": round(elapsed, 1), "workers": args.workers, "spill": not args.no_spill,
                      "stages": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
