"""Stage 4: match each caption against the query list; captions matching no query are dropped.

The matcher (an automaton over up to 500k queries) is built once per worker process through
Beam's Shared handle in DoFn.setup: never pickled into the graph, never rebuilt per thread or
bundle. Candidates from a search source arrive with `matches` already set to the query that
found them; those are kept as they are. The per-record functions (load_matcher, match_candidate)
live in wit.queries.matcher, which imports no Beam: a build's fetch processes run them too, to
fetch ahead (fetch_ahead.py).
"""

from __future__ import annotations

import apache_beam as beam
from apache_beam.utils.shared import Shared

from wit.pipeline.batches import CandidateBatch
from wit.pipeline.counting import COUNTS_TAG, MATCHED, CountingDoFn
from wit.queries.matcher import load_matcher, match_candidate


class _MatcherHolder:
    """Shared needs a weak-referenceable object; a QueryMatcher may not be one."""

    def __init__(self, matcher):
        self.matcher = matcher


class MatchDoFn(CountingDoFn):
    def __init__(self, queries_spec: str, shared_handle: Shared, progress_dir: str | None = None,
                 query_list_hash: str = ""):
        super().__init__(progress_dir)
        self._queries_spec = queries_spec
        self._shared_handle = shared_handle
        self._query_list_hash = query_list_hash

    def setup(self):
        super().setup()
        spec, expected = self._queries_spec, self._query_list_hash
        self._matcher = self._shared_handle.acquire(lambda: _MatcherHolder(load_matcher(spec, expected)),
                                                    tag=f"{spec}|{expected}").matcher

    def process(self, batch: CandidateBatch):
        matcher = self._matcher
        matched = [candidate for candidate in batch.candidates if match_candidate(candidate, matcher)]
        self.count(MATCHED, len(matched))
        if len(matched) < len(batch):
            self.count("drop_nomatch", len(batch) - len(matched))
        if matched:
            yield CandidateBatch(matched)


class MatchQueries(beam.PTransform):
    """CandidateBatches -> (batches of the candidates with at least one match, counts)."""

    def __init__(self, queries_spec: str, progress_dir: str | None = None, query_list_hash: str = ""):
        super().__init__()
        self._queries_spec = queries_spec
        self._progress_dir = progress_dir
        self._query_list_hash = query_list_hash
        self._shared_handle = Shared()

    def expand(self, candidates):
        outputs = candidates | "Match" >> beam.ParDo(
            MatchDoFn(self._queries_spec, self._shared_handle, self._progress_dir, self._query_list_hash)) \
            .with_output_types(CandidateBatch).with_outputs(COUNTS_TAG, main="kept")
        return outputs.kept, outputs[COUNTS_TAG]
