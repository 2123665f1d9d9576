"""Stage 3: global deduplication by uid (same normalised image URL and caption).

Which duplicate survives must not depend on input order or runner, so the survivor is the one
with the smallest (source, text_field, page_url); pre-set query matches from search sources are
unioned so that no query loses a candidate it found.
"""

from __future__ import annotations

import apache_beam as beam

from pipeline.counting import COUNTS_TAG, CountingDoFn


def survivor_key(candidate: dict) -> tuple:
    return (candidate.get("source", ""), candidate.get("text_field", ""), candidate.get("page_url", ""))


def merge_duplicates(first: dict, second: dict) -> dict:
    """The candidate to keep of two with the same uid, order-independent."""
    keep, other = (first, second) if survivor_key(first) <= survivor_key(second) else (second, first)
    if other.get("matches") and set(other["matches"]) - set(keep.get("matches") or ()):
        keep = dict(keep, matches=sorted(set(keep.get("matches") or ()) | set(other["matches"])))
    return keep


class KeepOneCandidate(beam.CombineFn):
    """Combines every candidate of one uid into (survivor, how many there were)."""

    def create_accumulator(self):
        return (None, 0)

    def add_input(self, accumulator, candidate):
        best, n = accumulator
        return (candidate if best is None else merge_duplicates(best, candidate), n + 1)

    def merge_accumulators(self, accumulators):
        best, total = None, 0
        for candidate, n in accumulators:
            if candidate is not None:
                best = candidate if best is None else merge_duplicates(best, candidate)
            total += n
        return (best, total)

    def extract_output(self, accumulator):
        return accumulator


class EmitSurvivorDoFn(CountingDoFn):
    def process(self, uid_and_accumulator):
        _, (candidate, n) = uid_and_accumulator
        if n > 1:
            self.count("drop_duplicate", n - 1)
        yield candidate


class DedupByUid(beam.PTransform):
    """candidates -> (one candidate per uid, counts)."""

    def __init__(self, progress_dir: str | None = None):
        super().__init__()
        self._progress_dir = progress_dir

    def expand(self, candidates):
        outputs = (
            candidates
            | "KeyByUid" >> beam.Map(lambda candidate: (candidate["uid"], candidate))
            | "OnePerUid" >> beam.CombinePerKey(KeepOneCandidate())
            | "EmitSurvivor" >> beam.ParDo(EmitSurvivorDoFn(self._progress_dir)).with_outputs(COUNTS_TAG, main="kept")
        )
        return outputs.kept, outputs[COUNTS_TAG]
