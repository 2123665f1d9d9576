"""Small fastText classifier files written from scratch, in fastText's binary format.

tests/test_fastlid.py loads each with both wit.filters._fastlid and fasttext-predict and compares
their predictions, so every format variant the C loader handles (dense or product-quantized
input, norms, quantized output, pruned n-gram buckets, each loss, word n-grams) is checked against
fastText itself, not against a description of it. The weights are random: what is tested is the
arithmetic and the look-ups, not what the model knows.
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass, field
from pathlib import Path

MAGIC = 793712314
LOSSES = {"hs": 1, "ns": 2, "softmax": 3, "ova": 4}
SUPERVISED = 3


@dataclass
class ModelSpec:
    dim: int = 6
    loss: str = "hs"
    minn: int = 2
    maxn: int = 4
    bucket: int = 997
    word_ngrams: int = 1
    quantize_input: bool = False
    qnorm: bool = False
    quantize_output: bool = False
    dsub: int = 2
    prune_keep: float | None = None  # share of n-gram buckets kept (a pruned .ftz); None: not pruned
    words: list[str] = field(default_factory=lambda: ["</s>", "the", "cat", "der", "hund", "le", "chat", "ünïcødé", "東京"])
    labels: list[str] = field(default_factory=lambda: ["__label__en", "__label__de", "__label__fr", "__label__ja", "__label__xx"])
    seed: int = 0


def _floats(rng: random.Random, n: int) -> bytes:
    return struct.pack(f"<{n}f", *(rng.uniform(-1.0, 1.0) for _ in range(n)))


def _quantized(rng: random.Random, rows: int, dim: int, dsub: int, qnorm: bool) -> bytes:
    nsubq, lastdsub = dim // dsub, dim % dsub
    if lastdsub == 0:
        lastdsub = dsub
    else:
        nsubq += 1
    out = [struct.pack("<?qqi", qnorm, rows, dim, rows * nsubq)]
    out.append(bytes(rng.randrange(256) for _ in range(rows * nsubq)))
    out.append(struct.pack("<iiii", dim, nsubq, dsub, lastdsub) + _floats(rng, dim * 256))
    if qnorm:
        out.append(bytes(rng.randrange(256) for _ in range(rows)))
        out.append(struct.pack("<iiii", 1, 1, 1, 1) + struct.pack("<256f", *(rng.uniform(0.2, 3.0) for _ in range(256))))
    return b"".join(out)


def _dense(rng: random.Random, rows: int, dim: int) -> bytes:
    return struct.pack("<qq", rows, dim) + _floats(rng, rows * dim)


def model_bytes(spec: ModelSpec) -> bytes:
    rng = random.Random(spec.seed)
    args = struct.pack(
        "<12id", spec.dim, 5, 5, 1, 5, spec.word_ngrams, LOSSES[spec.loss], SUPERVISED, spec.bucket, spec.minn, spec.maxn,
        100, 1e-4,
    )
    entries = [(w, 1000 - i, 0) for i, w in enumerate(spec.words)]
    # fastText stores labels most frequent first; the hierarchical softmax tree is built from this order.
    entries += [(label, 500 // (i + 1), 1) for i, label in enumerate(spec.labels)]
    pruned: list[tuple[int, int]] = []
    if spec.prune_keep is not None:
        buckets = sorted(rng.sample(range(spec.bucket), int(spec.bucket * spec.prune_keep)))
        rng.shuffle(buckets)  # fastText orders the kept rows by norm, not by bucket
        pruned = [(b, j) for j, b in enumerate(buckets)]
    dictionary = [struct.pack("<iiiqq", len(entries), len(spec.words), len(spec.labels), 12345, len(pruned) if spec.prune_keep is not None else -1)]
    for word, count, kind in entries:
        dictionary.append(word.encode() + b"\0" + struct.pack("<qb", count, kind))
    dictionary += [struct.pack("<ii", b, j) for b, j in pruned]
    input_rows = len(spec.words) + (len(pruned) if spec.prune_keep is not None else spec.bucket)
    if spec.quantize_input:
        input_matrix = b"\1" + _quantized(rng, input_rows, spec.dim, spec.dsub, spec.qnorm)
    else:
        input_matrix = b"\0" + _dense(rng, input_rows, spec.dim)
    # fastText reads the output as quantized only in a quantized model; the flag is stored anyway.
    if spec.quantize_input and spec.quantize_output:
        output_matrix = b"\1" + _quantized(rng, len(spec.labels), spec.dim, 2, spec.qnorm)
    else:
        output_matrix = bytes([spec.quantize_output]) + _dense(rng, len(spec.labels), spec.dim)
    return struct.pack("<ii", MAGIC, 12) + args + b"".join(dictionary) + input_matrix + output_matrix


def write_model(path: Path, spec: ModelSpec) -> Path:
    path.write_bytes(model_bytes(spec))
    return path
