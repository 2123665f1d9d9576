"""Counting drops so that input = kept + sum(drops) can be checked at the end of every build.

Each stage's DoFn counts in a plain Counter while it processes a bundle and, when the bundle
ends, adds the totals to a Beam metric (visible live on Dataflow) and emits them as `(key, n)`
pairs on its `counts` output. Those pairs are summed in the pipeline and written to
OUT/counts/text_counts.json, so the written counts are exact even when a runner retries a
bundle (a failed bundle's outputs are discarded with it), and cost one output per key per
bundle rather than one per record.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.pvalue import TaggedOutput
from apache_beam.transforms.window import GlobalWindows

from wit.core.errors import WitError
from wit.core.records import TEXT_DROP_REASONS

METRICS_NAMESPACE = "wit"
COUNTS_TAG = "counts"
INPUT = "input"
KEPT = "kept"
# How many candidates left each stage: not part of the reconciliation, but they say where a
# discrepancy arose when there is one.
PASSED_FILTERS = "passed_filters"
UNIQUE = "unique"
MATCHED = "matched"


class CountingDoFn(beam.DoFn):
    """Base for stage DoFns: `self.count(key)` per record, totals flushed once per bundle."""

    def __init__(self, progress_dir: str | None = None):
        self._progress_dir = progress_dir

    def setup(self):
        from wit.pipeline.progress import ProgressReporter

        self._progress = ProgressReporter(self._progress_dir) if self._progress_dir else None

    def start_bundle(self):
        self._counts = Counter()
        self._reported = Counter()  # part of _counts already shown on the progress line

    def count(self, key: str, n: int = 1) -> None:
        self._counts[key] += n

    def report_progress(self, force: bool = False) -> None:
        """Show this bundle's counts so far on the local progress line (no-op elsewhere)."""
        if self._progress is None:
            return
        delta = {key: n - self._reported[key] for key, n in self._counts.items() if n != self._reported[key]}
        self._progress.add(delta, force=force)
        self._reported.update(delta)

    def finish_bundle(self):
        self.report_progress(force=True)
        for key, n in self._counts.items():
            Metrics.counter(METRICS_NAMESPACE, key).inc(n)
            yield TaggedOutput(COUNTS_TAG, GlobalWindows.windowed_value((key, n)))
        self._counts = Counter()
        self._reported = Counter()


class HoldingDoFn(CountingDoFn):
    """Base for DoFns that hold what they process and emit it in bulk, so that the costs paid
    per output (a table, a shuffle element, a fetch call) are paid per many records.

    A subclass says how to hold: `reset_held()` empties the hold, `hold(element)` takes one
    element in, `is_full()` asks for an early flush (a memory bound), `flush()` yields the
    outputs of everything held and empties it. What is still held when the bundle ends is
    emitted then, before the bundle's counts.
    """

    def start_bundle(self):
        super().start_bundle()
        self.reset_held()

    def process(self, element):
        self.hold(element)
        if self.is_full():
            yield from self.flush()

    def finish_bundle(self):
        # Outputs of finish_bundle need an explicit window; everything here is globally windowed.
        for output in self.flush():
            yield GlobalWindows.windowed_value(output)
        yield from super().finish_bundle()

    def reset_held(self) -> None:
        raise NotImplementedError

    def hold(self, element) -> None:
        raise NotImplementedError

    def is_full(self) -> bool:
        return False

    def flush(self) -> Iterator:
        raise NotImplementedError


def counts_summary(totals: dict[str, int]) -> dict:
    """The text_counts.json document from summed counts: every drop reason present, zeros too.

    Keys that are neither input, kept nor a drop (files read, candidates leaving each stage)
    go under "flow" so the reconciliation stays about candidates only.
    """
    drops = {reason: int(totals.get(reason, 0)) for reason in TEXT_DROP_REASONS}
    drops.update({key: int(n) for key, n in totals.items() if key.startswith("drop_") and key not in drops})
    other = {key: int(n) for key, n in sorted(totals.items()) if key not in (INPUT, KEPT) and key not in drops}
    return {"input": int(totals.get(INPUT, 0)), "kept": int(totals.get(KEPT, 0)), "drops": drops, "flow": other}


def reconcile(summary: dict) -> str:
    """One line `input N = kept K + drops D (...)`; raises WitError when the sums disagree."""
    dropped = sum(summary["drops"].values())
    detail = ", ".join(f"{reason} {n:,}" for reason, n in summary["drops"].items() if n)
    line = f"input {summary['input']:,} = kept {summary['kept']:,} + drops {dropped:,}" + (f" ({detail})" if detail else "")
    if summary["input"] != summary["kept"] + dropped:
        raise WitError(f"counts do not reconcile: {line} is off by {summary['input'] - summary['kept'] - dropped:,}")
    return line


def reconcile_fetch(kept: int, manifest: dict, uid_check: dict | None = None) -> str:
    """One line `kept K = attempted in shards A (status n, ...)`; raises WitError when a kept
    candidate is missing from the shards or attempted twice.

    `uid_check` (from attempted_uids_check) adds the per-candidate proof where it was affordable.
    """
    attempted = manifest["attempted"]
    detail = ", ".join(f"{status} {n:,}" for status, n in manifest["status_counts"].items() if n)
    line = f"kept {kept:,} = attempted in shards {attempted:,}" + (f" ({detail})" if detail else "")
    if attempted != kept:
        raise WitError(f"fetch does not reconcile: {line} is off by {kept - attempted:,}")
    if uid_check is not None:
        if uid_check["missing"] or uid_check["repeated"] or uid_check["unexpected"]:
            raise WitError(f"fetch does not reconcile: {uid_check['missing']:,} kept candidate(s) never attempted, "
                           f"{uid_check['repeated']:,} attempted twice, {uid_check['unexpected']:,} not kept")
        line += "; every kept uid once"
    return line


def attempted_uids_check(candidate_files: list[str], shard_files: list[str]) -> dict:
    """Compare the uids of the candidates parquet with those of the shards' parquet (one row per
    attempted sample): how many kept uids are missing, attempted more than once, or not kept."""
    import collections

    import pyarrow.parquet as pq

    from wit.core.storage import open_url

    def uids(paths: list[str]) -> collections.Counter:
        counter: collections.Counter = collections.Counter()
        for path in paths:
            with open_url(path, "rb") as handle:
                # No pyarrow thread pools (CPU or pre-buffering IO): started this late, just
                # before the launcher exits, they were seen to abort it at shutdown now and then
                # ("terminate called without an active exception").
                table = pq.read_table(handle, columns=["uid"], use_threads=False, pre_buffer=False)
                counter.update(table.column("uid").to_pylist())
        return counter

    kept, attempted = uids(candidate_files), uids(shard_files)
    return {
        "missing": sum(n for uid, n in kept.items() if uid not in attempted),
        "repeated": sum(n - 1 for n in attempted.values() if n > 1),
        "unexpected": sum(n for uid, n in attempted.items() if uid not in kept),
    }


class WriteTextCounts(beam.PTransform):
    """Sum every stage's `(key, n)` counts and write OUT/counts/text_counts.json."""

    def __init__(self, path: str):
        super().__init__()
        self._path = path

    def expand(self, counts):
        return (
            counts
            | "SumPerKey" >> beam.CombinePerKey(sum)
            | "AllTotals" >> beam.combiners.ToDict()
            | "WriteJson" >> beam.Map(_write_json, self._path, transform=counts_summary)
        )


def _write_json(value, path: str, transform=None) -> str:
    from apache_beam.io.filesystems import FileSystems

    document = transform(value) if transform else value
    with FileSystems.create(path, mime_type="application/json") as handle:
        handle.write(json.dumps(document, indent=2, sort_keys=False).encode("utf-8") + b"\n")
    return path


def read_json(path: str) -> dict:
    from apache_beam.io.filesystems import FileSystems

    with FileSystems.open(path) as handle:
        return json.loads(handle.read().decode("utf-8"))
