"""What the `wit` command's quick exit saves: the interpreter's teardown after a build.

Each run starts a child Python that imports what a local `wit build` imports (Beam, pyarrow,
wit.pipeline.build), runs a small in-memory Beam job, prints the time (CLOCK_MONOTONIC, which
this process shares) and then ends either the interpreter's way (`sys.exit`) or the way
`wit.app.cli.entry()` ends (threads joined, exit handlers run, then os._exit). This process
takes the time from that print to the child's exit: the teardown.

    .venv/bin/python benchmarks/bench_exit.py [--runs 5]

The last line is a JSON object: per way, the teardown of every run in seconds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

CHILD = """
import sys, time
import apache_beam as beam
import pyarrow
import wit.pipeline.build
from apache_beam.options.pipeline_options import PipelineOptions
import wit.app.cli as cli

with beam.Pipeline(options=PipelineOptions(runner="DirectRunner", direct_running_mode="in_memory")) as pipeline:
    pipeline | beam.Create(range(1000)) | beam.Map(lambda x: x * 2)
if sys.argv[1] == "quick":
    cli.main = lambda: (print(time.monotonic(), flush=True), 0)[1]
    cli.entry()
print(time.monotonic(), flush=True)
sys.exit(0)
"""


def teardown_s(way: str) -> float:
    child = subprocess.run([sys.executable, "-c", CHILD, way], capture_output=True, text=True, check=True)
    ended = time.monotonic()
    return ended - float(child.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each way, interleaved (default %(default)s)")
    args = parser.parse_args()
    figures: dict[str, list[float]] = {"interpreter": [], "quick": []}
    for _ in range(args.runs):
        for way, runs in figures.items():
            runs.append(round(teardown_s("normal" if way == "interpreter" else "quick"), 3))
    for way, runs in figures.items():
        print(f"{way:12s} teardown median {statistics.median(runs):.3f} s  (runs: {', '.join(f'{r:.3f}' for r in runs)})")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
