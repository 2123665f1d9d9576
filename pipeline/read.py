"""Stage 1: read candidates from every input file, one file per element.

Files are spread over workers by a Reshuffle, and each is streamed record by record and emitted
in CandidateBatches of BATCH_SIZE (pipeline/batches.py), so a crawl of any size runs in bounded
memory per worker and Beam handles one element per batch, not per candidate. Every candidate read counts as `input`; every
unreadable record or file counts as `input` and `drop_error`, so a truncated file costs what it
lost and nothing else. A remote file's retried requests and mid-file resumes count as
`read_retries` and `read_resumes` (flow counts, outside the reconciliation).
"""

from __future__ import annotations

import logging

import apache_beam as beam

from wit.pipeline.batches import BATCH_SIZE, CandidateBatch
from wit.pipeline.counting import COUNTS_TAG, INPUT, CountingDoFn
from wit.pipeline.sources import InputFile, RecordError, read_file
from wit.pipeline.sources.remote import RemoteReadConfig
from wit.pipeline.sources.urllist import UrlListConfig

_LOGGER = logging.getLogger(__name__)
_PROGRESS_EVERY = 5000


class ReadFileDoFn(CountingDoFn):
    def __init__(self, url_list_config: UrlListConfig, progress_dir: str | None = None,
                 batch_size: int = BATCH_SIZE, remote: RemoteReadConfig | None = None):
        super().__init__(progress_dir)
        self._url_list_config = url_list_config
        self._batch_size = batch_size
        self._remote = remote or RemoteReadConfig()

    def process(self, file: InputFile):
        batch = []
        since_progress = 0
        for item in read_file(file, self._url_list_config, self._remote, self.count):
            self.count(INPUT)
            if isinstance(item, RecordError):
                self.count("drop_error")
                _LOGGER.warning("wit: skipped unreadable input at %s: %s", item.where, item.message)
                continue
            batch.append(item)
            if len(batch) >= self._batch_size:
                yield CandidateBatch(batch)
                batch = []
                since_progress += self._batch_size
                if since_progress >= _PROGRESS_EVERY:
                    # Long files: show progress within the bundle, not only when it ends.
                    self.report_progress()
                    since_progress = 0
        if batch:
            yield CandidateBatch(batch)
        self.count("files_read")


class ReadCandidates(beam.PTransform):
    """PBegin -> (CandidateBatches, counts)."""

    def __init__(self, files: list[InputFile], url_list_config: UrlListConfig | None = None,
                 progress_dir: str | None = None, remote: RemoteReadConfig | None = None):
        super().__init__()
        self._files = list(files)
        self._url_list_config = url_list_config or UrlListConfig()
        self._progress_dir = progress_dir
        self._remote = remote or RemoteReadConfig()

    def expand(self, pbegin):
        outputs = (
            pbegin
            | "ListFiles" >> beam.Create(self._files, reshuffle=False)
            | "SpreadFiles" >> beam.Reshuffle()
            | "ReadFile" >> beam.ParDo(ReadFileDoFn(self._url_list_config, self._progress_dir, remote=self._remote))
            .with_output_types(CandidateBatch).with_outputs(COUNTS_TAG, main="candidates")
        )
        return outputs.candidates, outputs[COUNTS_TAG]
