"""Stage 2: normalise each caption and drop the ones the filters reject (filters/).

FilterChain.apply normalises `text` in place, sets `lang`/`lang_score`, recomputes `uid` from
the normalised text, and returns None (keep) or exactly one drop reason, which is counted here.
"""

from __future__ import annotations

import logging

import apache_beam as beam

from pipeline.counting import COUNTS_TAG, CountingDoFn

_LOGGER = logging.getLogger(__name__)


class FilterDoFn(CountingDoFn):
    def __init__(self, filter_config, progress_dir: str | None = None):
        super().__init__(progress_dir)
        self._filter_config = filter_config

    def setup(self):
        super().setup()
        from filters.chain import FilterChain

        self._chain = FilterChain(self._filter_config)

    def process(self, candidate: dict):
        try:
            reason = self._chain.apply(candidate)
        except Exception as exc:  # noqa: BLE001 - the chain promises not to raise; count it if it does
            _LOGGER.warning("wit: filter chain raised on %r: %s", candidate.get("url"), exc)
            reason = "drop_error"
        if reason:
            self.count(reason)
        else:
            yield candidate


class FilterCandidates(beam.PTransform):
    """candidates -> (kept candidates, counts)."""

    def __init__(self, filter_config, progress_dir: str | None = None):
        super().__init__()
        self._filter_config = filter_config
        self._progress_dir = progress_dir

    def expand(self, candidates):
        outputs = candidates | "Filter" >> beam.ParDo(FilterDoFn(self._filter_config, self._progress_dir)).with_outputs(COUNTS_TAG, main="kept")
        return outputs.kept, outputs[COUNTS_TAG]
