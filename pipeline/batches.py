"""Candidates travel between the text-side stages in batches: one Beam element per batch.

Beam's per-element machinery (DoFn invocation, output receivers, counters, and at a shuffle an
encode, a copy through the runner and a decode) costs tens of microseconds per element on the
Python SDK: more than reading, matching and capping a candidate together. So every text-side
composite takes and returns a PCollection of `CandidateBatch` (a list of candidate dicts) and
loops over the batch calling its stage's plain per-record functions; Beam sees a few hundred
elements per file instead of one per candidate.

A batch crosses a process boundary (a shuffle, a materialised PCollection) through
`CandidateBatchCoder`: the whole list is pickled in one call (C speed, the dict keys are shared
by pickle's memo), and a decoded batch keeps its bytes until a stage first reads it, so the local
runner, which decodes and re-encodes everything it groups, only copies them.

On the local runner a batch can also travel as a reference to its packed bytes in a file on the
disk the workers share (`spilled`, written by pipeline/spill.py): the shuffle then carries ~100
bytes per batch and the batch is read back when a stage first touches its candidates. Its
encoding starts with SPILLED_TAG; a packed pickle always starts with pickle's PROTO opcode
(0x80), so the two never collide and a batch that was not spilled encodes as before.
"""

from __future__ import annotations

import pickle
import struct
from collections.abc import Iterable, Iterator

import apache_beam as beam
from apache_beam.coders import Coder, registry

from wit.pipeline.counting import HoldingDoFn

# Candidates per batch leaving a reader or a dedup bucket: large enough that Beam's per-element
# cost vanishes per candidate, small enough that a batch is a few hundred KB.
BATCH_SIZE = 1000


class CandidateBatch:
    """A list of candidate dicts, as one Beam element.

    Holds either the candidates or their packed bytes (after decoding); `candidates` unpacks on
    first use and drops the bytes, so a stage that mutates the dicts never leaves a stale copy.
    """

    __slots__ = ("_candidates", "_packed", "_spilled")

    def __init__(self, candidates: Iterable[dict] = ()):
        self._candidates: list[dict] | None = list(candidates)
        self._packed: bytes | None = None
        self._spilled: SpilledRef | None = None

    @classmethod
    def from_packed(cls, packed: bytes) -> CandidateBatch:
        batch = cls.__new__(cls)
        batch._candidates = None
        batch._packed = packed
        batch._spilled = None
        return batch

    @classmethod
    def from_spilled(cls, path: str, offset: int, length: int) -> CandidateBatch:
        """The batch whose packed bytes are `length` bytes at `offset` of the file `path`."""
        batch = cls.__new__(cls)
        batch._candidates = None
        batch._packed = None
        batch._spilled = SpilledRef(path, offset, length)
        return batch

    @property
    def spilled(self) -> SpilledRef | None:
        """Where the batch's bytes wait on disk, while it was not read back yet."""
        return self._spilled

    @property
    def candidates(self) -> list[dict]:
        if self._candidates is None:
            self._candidates = unpack_candidates(self.packed())
            self._packed = None
            self._spilled = None
        return self._candidates

    def packed(self) -> bytes:
        if self._candidates is not None:
            return pack_candidates(self._candidates)
        if self._spilled is not None:
            return self._spilled.read()
        return self._packed

    def __iter__(self) -> Iterator[dict]:
        return iter(self.candidates)

    def __len__(self) -> int:
        return len(self.candidates)

    def __eq__(self, other) -> bool:
        return isinstance(other, CandidateBatch) and self.candidates == other.candidates

    def __repr__(self) -> str:
        return f"CandidateBatch({len(self)} candidates)"

    def __reduce__(self):
        # Pickled anywhere (a fallback coder, a side input): the same form as the coder's.
        if self._candidates is None and self._spilled is not None:
            return (CandidateBatch.from_spilled, tuple(self._spilled))
        return (CandidateBatch.from_packed, (self.packed(),))


class SpilledRef(tuple):
    """(path, offset, length) of a batch's packed bytes in a spill file."""

    __slots__ = ()

    def __new__(cls, path: str, offset: int, length: int):
        return super().__new__(cls, (path, offset, length))

    def __getnewargs__(self):
        return tuple(self)

    @property
    def path(self) -> str:
        return self[0]

    def read(self) -> bytes:
        path, offset, length = self
        with open(path, "rb") as handle:
            handle.seek(offset)
            data = handle.read(length)
        if len(data) != length:
            raise OSError(f"spilled batch truncated: {path} holds {len(data)} of {length} bytes at offset {offset}")
        return data


# First byte of a spilled batch's encoding; a packed pickle starts with b"\x80" (PROTO).
SPILLED_TAG = b"S"
_OFFSET_LENGTH = struct.Struct("<QQ")


def pack_candidates(candidates: list[dict]) -> bytes:
    return pickle.dumps(candidates, protocol=pickle.HIGHEST_PROTOCOL)


def unpack_candidates(packed: bytes) -> list[dict]:
    return pickle.loads(packed)


class CandidateBatchCoder(Coder):
    """Beam coder of CandidateBatch: its packed bytes."""

    def encode(self, batch: CandidateBatch) -> bytes:
        spilled = batch.spilled
        if spilled is not None:
            return SPILLED_TAG + _OFFSET_LENGTH.pack(spilled[1], spilled[2]) + spilled.path.encode("utf-8")
        return batch.packed()

    def decode(self, encoded: bytes) -> CandidateBatch:
        if encoded[:1] == SPILLED_TAG:
            offset, length = _OFFSET_LENGTH.unpack_from(encoded, 1)
            return CandidateBatch.from_spilled(encoded[1 + _OFFSET_LENGTH.size:].decode("utf-8"), offset, length)
        return CandidateBatch.from_packed(encoded)

    def is_deterministic(self) -> bool:
        return False  # never a key: batches are values only

    def to_type_hint(self):
        return CandidateBatch

    def __eq__(self, other) -> bool:
        return type(self) is type(other)

    def __hash__(self) -> int:
        return hash(type(self))


registry.register_coder(CandidateBatch, CandidateBatchCoder)


def chunked(candidates: list[dict], size: int = BATCH_SIZE) -> Iterator[CandidateBatch]:
    """`candidates` as batches of at most `size`."""
    for start in range(0, len(candidates), size):
        yield CandidateBatch(candidates[start:start + size])


class _BatchDoFn(HoldingDoFn):
    def __init__(self, size: int):
        super().__init__()
        self._size = size

    def reset_held(self):
        self._held: list[dict] = []

    def hold(self, candidate: dict):
        self._held.append(candidate)

    def is_full(self):
        return len(self._held) >= self._size

    def flush(self):
        if self._held:
            yield CandidateBatch(self._held)
            self._held = []


class BatchCandidates(beam.PTransform):
    """candidate dicts -> CandidateBatch elements (for sources that emit one dict per element)."""

    def __init__(self, size: int = BATCH_SIZE):
        super().__init__()
        self._size = size

    def expand(self, candidates):
        return candidates | "Batch" >> beam.ParDo(_BatchDoFn(self._size)).with_output_types(CandidateBatch)


class UnbatchCandidates(beam.PTransform):
    """CandidateBatch elements -> candidate dicts (for stages that take one dict per element)."""

    def expand(self, batches):
        return batches | "Unbatch" >> beam.FlatMap(lambda batch: batch.candidates)
