"""Local runs: the big shuffles carry references to candidate batches on disk, not the batches.

Beam's local FnApiRunner holds every shuffle in the launcher process and hands each worker its
whole share of a shuffle as one block before the worker starts on it, so what the launcher and a
worker hold at the dedup reducer and the cap's selection grows with the input, however small each
shuffled value is (docs/pipeline.md, "Crawl scale"). When the workers share the launcher's disk
(the local runner), a worker therefore writes the batches it sends into those two shuffles to a
spill file of its own and sends `CandidateBatch.from_spilled` references instead (pipeline/batches.py);
the worker that receives one reads the batch back when its stage first touches the candidates.
The shuffles then carry ~100 bytes per batch of ~1000 candidates, and what a process holds at
once is one dedup bucket or one batch, not its share of the crawl.

Grouping, keys and results do not change: only where a value's bytes wait between two stages.
The files live in a folder the build creates for the run and removes when it ends; they take as
much disk as the candidates that pass the filters plus the matched ones (their pickled size).
Remote runners keep the values in the shuffle (spill_dir None): their workers share no disk, and
their shuffle services stream a worker's share.
"""

from __future__ import annotations

import os
import pickle
import uuid

import apache_beam as beam

from wit.pipeline.batches import CandidateBatch, SpilledRef
from wit.pipeline.counting import HoldingDoFn


class SpilledValue:
    """Any picklable value as a reference to its pickle in a spill file; `load()` reads it back."""

    __slots__ = ("ref",)

    def __init__(self, ref: SpilledRef):
        self.ref = ref

    def load(self):
        return pickle.loads(self.ref.read())

    def __reduce__(self):
        return (SpilledValue, (self.ref,))

    def __repr__(self) -> str:
        return f"SpilledValue{tuple(self.ref)}"


class BatchSpiller:
    """Appends packed batches (or pickled values) to one file of its own under `spill_dir`,
    opened on first use."""

    def __init__(self, spill_dir: str):
        self._spill_dir = spill_dir
        self._handle = None
        self._path = ""
        self._offset = 0

    def write(self, data: bytes) -> SpilledRef:
        """Appends `data` (unbuffered: on disk before the reference leaves this process)."""
        if self._handle is None:
            self._path = os.path.join(self._spill_dir, f"{uuid.uuid4().hex}.spill")
            self._handle = open(self._path, "ab", buffering=0)
            self._offset = 0
        written = 0
        view = memoryview(data)
        while written < len(data):
            written += self._handle.write(view[written:])
        ref = SpilledRef(self._path, self._offset, len(data))
        self._offset += len(data)
        return ref

    def spill(self, batch: CandidateBatch) -> CandidateBatch:
        """The batch as a reference to its packed bytes in this spiller's file."""
        return CandidateBatch.from_spilled(*self.write(batch.packed()))

    def spill_value(self, value) -> SpilledValue:
        """Any picklable value as a reference to its pickle in this spiller's file."""
        return SpilledValue(self.write(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)))

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


class SpillBatchesDoFn(beam.DoFn):
    """CandidateBatches -> the same batches as references to a spill file (one file per bundle)."""

    def __init__(self, spill_dir: str):
        self._spill_dir = spill_dir

    def start_bundle(self):
        self._spiller = BatchSpiller(self._spill_dir)

    def process(self, batch: CandidateBatch):
        yield self._spiller.spill(batch)

    def finish_bundle(self):
        self._spiller.close()


class SpillingHoldingDoFn(HoldingDoFn):
    """A HoldingDoFn with a BatchSpiller per bundle (`self._spiller`) when `spill_dir` is set,
    None otherwise: the stages that feed the big shuffles (dedup, the cap) emit references."""

    def __init__(self, progress_dir: str | None = None, spill_dir: str | None = None):
        super().__init__(progress_dir)
        self._spill_dir = spill_dir

    def start_bundle(self):
        super().start_bundle()
        self._spiller = BatchSpiller(self._spill_dir) if self._spill_dir else None

    def finish_bundle(self):
        yield from super().finish_bundle()
        if self._spiller is not None:
            self._spiller.close()


def spill_batches(batches, spill_dir: str | None, label: str = "Spill"):
    """`batches` as spilled references when `spill_dir` is set; unchanged otherwise."""
    if not spill_dir:
        return batches
    return batches | label >> beam.ParDo(SpillBatchesDoFn(spill_dir)).with_output_types(CandidateBatch)
