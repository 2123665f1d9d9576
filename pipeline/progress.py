"""A live progress line for local runs.

Beam's local runner only reports metrics when the job ends, so workers (separate processes in
multi_processing mode) write their running counts to small JSON files in a temporary folder,
at most every couple of seconds, and a thread in the launcher sums them into one line. On
Dataflow the same counts are the job's Beam metrics, shown live in its console.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import uuid
from collections import Counter

_WRITE_INTERVAL_S = 2.0


class ProgressReporter:
    """Worker side: accumulates counts and writes this worker's totals to its own file."""

    def __init__(self, directory: str):
        self._path = os.path.join(directory, f"{os.getpid()}-{uuid.uuid4().hex[:8]}.json")
        self._totals: Counter = Counter()
        self._last_write = 0.0

    def add(self, counts, force: bool = False) -> None:
        self._totals.update(counts)
        now = time.monotonic()
        if force or now - self._last_write >= _WRITE_INTERVAL_S:
            self._last_write = now
            temporary = self._path + ".tmp"
            try:
                with open(temporary, "w") as handle:
                    json.dump(self._totals, handle)
                os.replace(temporary, self._path)
            except OSError:  # progress is cosmetic: never fail a bundle over it
                pass


def read_progress(directory: str) -> Counter:
    totals: Counter = Counter()
    try:
        names = os.listdir(directory)
    except OSError:
        return totals
    for name in names:
        if name.endswith(".json"):
            try:
                with open(os.path.join(directory, name)) as handle:
                    totals.update(json.load(handle))
            except (OSError, ValueError):
                continue
    return totals


def format_progress(totals: Counter, total_files: int, elapsed_s: float) -> str:
    drops = sum(n for key, n in totals.items() if key.startswith("drop_"))
    read = totals.get("input", 0)
    rate = read / elapsed_s if elapsed_s > 0 else 0.0
    # A search build (--search) works through queries, a pool build through files.
    unit, done = ("queries", totals["search_queries"]) if "search_queries" in totals else ("files", totals.get("files_read", 0))
    return (f"wit build: {elapsed_s:6.0f}s  {unit} {done:,}/{total_files:,}  "
            f"read {read:,} ({rate:,.0f}/s)  dropped {drops:,}  kept {totals.get('kept', 0):,}")


class ProgressPrinter(threading.Thread):
    """Launcher side: prints the summed worker counts every few seconds until stopped."""

    def __init__(self, directory: str, total_files: int, interval_s: float = 5.0, stream=None):
        super().__init__(daemon=True, name="wit-progress")
        self._directory = directory
        self._total_files = total_files
        self._interval_s = interval_s
        self._stream = stream or sys.stderr
        self._stop_event = threading.Event()
        self._started_at = time.monotonic()
        self._last_line = ""

    def run(self) -> None:
        while not self._stop_event.wait(self._interval_s):
            self._print()

    def _print(self) -> None:
        line = format_progress(read_progress(self._directory), self._total_files, time.monotonic() - self._started_at)
        if line != self._last_line:
            print(line, file=self._stream, flush=True)
            self._last_line = line

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=2)
