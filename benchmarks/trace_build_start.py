"""Where a local `wit build` spends its launcher's time before its first URL goes out.

Runs `wit build --queries none` in this process on a URL list whose URLs all point at a closed
local port (every request fails at once, so only the start and the bookkeeping are measured),
and prints the launcher's wall clock and CPU (this process's `process_time`: the fetch workers
are other processes) at each step: Beam's import, the pipeline built, the job run (and the
language identifier's set-up inside it), the candidates read back, and `FetchPool.run`, the
moment the first chunk of URLs goes to the workers. The steps are found by wrapping those
functions as their modules are imported, so nothing is imported earlier than `wit build`
imports it.

    .venv/bin/python benchmarks/trace_build_start.py [--urls 3000] [--runs 3]

The last line is a JSON object: per run, each step's (wall s, CPU s) after the start.
"""

from __future__ import annotations

import argparse
import builtins
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

# (module, attribute holding the functions, function names): the steps worth a mark.
STEPS = (
    ("wit.pipeline.build", None, ("build_pipeline", "fetch_kept_locally")),
    ("apache_beam.pipeline", "Pipeline", ("run",)),
    ("wit.filters.language", None, ("get_identifier",)),
    ("wit.pipeline.fetch_pool", "FetchPool", ("__init__", "run")),
)
WATCHED_IMPORTS = ("apache_beam", "pyarrow", "aiohttp", "PIL")


class Marks:
    def __init__(self) -> None:
        self.wall0, self.cpu0 = time.monotonic(), time.process_time()
        self.marks: list[tuple[str, float, float]] = []

    def mark(self, what: str) -> None:
        self.marks.append((what, time.monotonic() - self.wall0, time.process_time() - self.cpu0))


def instrument(marks: Marks) -> None:
    """Wrap STEPS' functions as soon as their modules are imported; mark WATCHED_IMPORTS."""
    real_import = builtins.__import__
    wrapped: set[str] = set()

    def wrap(owner, name: str, label: str) -> None:
        function = getattr(owner, name)

        def timed(*args, **kwargs):
            marks.mark(f"{label} begins")
            try:
                return function(*args, **kwargs)
            finally:
                marks.mark(f"{label} ends")

        setattr(owner, name, timed)

    def importing(name, *args, **kwargs):
        top = name.split(".")[0]
        if top in WATCHED_IMPORTS and top not in sys.modules:
            marks.mark(f"import {top}")
        module = real_import(name, *args, **kwargs)
        for module_name, holder, functions in STEPS:
            loaded = sys.modules.get(module_name)
            if module_name in wrapped or loaded is None:
                continue
            owner = getattr(loaded, holder, None) if holder else loaded
            if owner is None or not all(hasattr(owner, f) for f in functions):
                continue  # still being imported
            wrapped.add(module_name)
            for function in functions:
                wrap(owner, function, f"{holder or module_name.rsplit('.', 1)[-1]}.{function}")
        return module

    builtins.__import__ = importing


def write_list(path: Path, count: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    # Port 9 (discard) on the loopback: closed on any ordinary machine, refused at once.
    rows = {"url": [f"http://127.0.0.1:9/{i}.jpg" for i in range(count)],
            "caption": [f"a photo of a red fox number {i}" for i in range(count)]}
    pq.write_table(pa.table(rows), path)


def one_run(url_list: Path, out: Path) -> list[tuple[str, float, float]]:
    marks = Marks()
    instrument(marks)
    from wit.app.cli import main

    code = main(["build", "--input", str(url_list), "--out", str(out), "--queries", "none", "--retries", "0",
                 "--allow-address", "127.0.0.1/32", "--quiet"])
    marks.mark("end")
    if code != 0:
        raise SystemExit(f"trace_build_start: wit build failed ({code})")
    return marks.marks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--urls", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=1, help="runs, each in a fresh process (default %(default)s)")
    parser.add_argument("--one", nargs=2, metavar=("LIST", "OUT"), help=argparse.SUPPRESS)  # internal: one run
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_run(Path(args.one[0]), Path(args.one[1]))))
        return
    import subprocess

    folder = Path(tempfile.mkdtemp(prefix="wit-trace-build-"))
    try:
        url_list = folder / "urls.parquet"
        write_list(url_list, args.urls)
        runs = []
        for number in range(args.runs):
            out = folder / f"out{number}"
            done = subprocess.run([sys.executable, __file__, "--one", str(url_list), str(out)],
                                  capture_output=True, text=True, check=True)
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    for number, marks in enumerate(runs, 1):
        print(f"run {number} ({args.urls} URLs, nothing listening): launcher wall s, CPU s since its start")
        for what, wall, cpu in marks:
            print(f"  {what:34} {wall:7.2f} {cpu:7.2f}")
    print(json.dumps({"urls": args.urls, "runs": [{what: [round(wall, 3), round(cpu, 3)] for what, wall, cpu in marks}
                                                  for marks in runs]}))


if __name__ == "__main__":
    main()
