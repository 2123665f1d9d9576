"""Stage 2: normalise each caption and drop the ones the filters reject (filters/).

FilterChain.apply normalises `text` in place, sets `lang`/`lang_score`, recomputes `uid` from
the normalised text, and returns None (keep) or exactly one drop reason, which is counted here.
`filter_candidate` applies it to one candidate; the DoFn loops over a CandidateBatch.
"""

from __future__ import annotations

import logging

import apache_beam as beam

from wit.pipeline.batches import CandidateBatch
from wit.pipeline.counting import COUNTS_TAG, PASSED_FILTERS, CountingDoFn

_LOGGER = logging.getLogger(__name__)


def filter_candidate(candidate: dict, chain) -> str | None:
    """None to keep the (normalised) candidate, or its one drop reason; never raises."""
    try:
        return chain.apply(candidate)
    except Exception as exc:  # noqa: BLE001 - the chain promises not to raise; count it if it does
        _LOGGER.warning("wit: filter chain raised on %r: %s", candidate.get("url"), exc)
        return "drop_error"


class FilterDoFn(CountingDoFn):
    def __init__(self, filter_config, progress_dir: str | None = None):
        super().__init__(progress_dir)
        self._filter_config = filter_config

    def setup(self):
        super().setup()
        from wit.filters.chain import FilterChain

        self._chain = FilterChain(self._filter_config)

    def process(self, batch: CandidateBatch):
        kept = []
        for candidate in batch.candidates:
            reason = filter_candidate(candidate, self._chain)
            if reason:
                self.count(reason)
            else:
                kept.append(candidate)
        self.count(PASSED_FILTERS, len(kept))
        if kept:
            yield CandidateBatch(kept)


class FilterCandidates(beam.PTransform):
    """CandidateBatches -> (batches of the kept candidates, counts)."""

    def __init__(self, filter_config, progress_dir: str | None = None):
        super().__init__()
        self._filter_config = filter_config
        self._progress_dir = progress_dir

    def expand(self, candidates):
        outputs = candidates | "Filter" >> beam.ParDo(FilterDoFn(self._filter_config, self._progress_dir)) \
            .with_output_types(CandidateBatch).with_outputs(COUNTS_TAG, main="kept")
        return outputs.kept, outputs[COUNTS_TAG]
