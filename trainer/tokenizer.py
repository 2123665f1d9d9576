"""Lower-cased byte-level BPE with start/end-of-text tokens, padded to a fixed context (77 in CLIP).

Two ways to get one, never a download:
- train it on the shard captions with the `tokenizers` package (`wit tokenizer train`, or at the
  start of `wit train` when no tokenizer is given); it is saved with the run;
- load the merges file of OpenAI's CLIP tokenizer (`bpe_simple_vocab_16e6.txt.gz` format: a
  header line, then one "a b" merge per line) that the user has, giving CLIP's 49,408 ids.

Either way it is a `tokenizers.Tokenizer` underneath, serialised as JSON into checkpoints.
"""

from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path
from typing import Iterable, Sequence

from wit.core.errors import WitError

log = logging.getLogger(__name__)

START_TOKEN = "<|startoftext|>"
END_TOKEN = "<|endoftext|>"
DEFAULT_CONTEXT_LENGTH = 77
# CLIP's vocabulary: 256 bytes, 256 bytes+</w>, 48,894 merges, 2 special tokens = 49,408.
CLIP_MERGES = 49152 - 256 - 2
# CLIP's pre-tokenisation: contractions, letter runs, single digits, runs of other symbols.
CLIP_SPLIT_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""


def _normalizer():
    from tokenizers import Regex, normalizers

    # Lower-case and collapse whitespace, as CLIP's basic_clean/whitespace_clean do.
    return normalizers.Sequence([normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Lowercase()])


class Tokenizer:
    """Text -> fixed-length int64 token ids: [SOT] bpe... [EOT] 0 0 ..., truncated to keep the EOT."""

    def __init__(self, backend, context_length: int = DEFAULT_CONTEXT_LENGTH):
        self.backend = backend
        self.context_length = context_length
        self.sot_token_id = backend.token_to_id(START_TOKEN)
        self.eot_token_id = backend.token_to_id(END_TOKEN)
        if self.sot_token_id is None or self.eot_token_id is None:
            raise WitError(f"tokenizer lacks the {START_TOKEN} / {END_TOKEN} special tokens")
        backend.no_padding()
        backend.no_truncation()

    @property
    def vocab_size(self) -> int:
        return self.backend.get_vocab_size(with_added_tokens=True)

    def __call__(self, texts: str | Sequence[str]):
        """A (len(texts), context_length) int64 tensor."""
        import torch

        texts = [texts] if isinstance(texts, str) else list(texts)
        out = torch.zeros(len(texts), self.context_length, dtype=torch.long)
        encodings = self.backend.encode_batch(texts, add_special_tokens=False)
        for row, encoding in enumerate(encodings):
            ids = [self.sot_token_id, *encoding.ids[: self.context_length - 2], self.eot_token_id]
            out[row, : len(ids)] = torch.tensor(ids)
        return out

    # -- persistence ------------------------------------------------------------------------

    def to_json(self) -> str:
        return json.dumps({"context_length": self.context_length, "tokenizer": json.loads(self.backend.to_str())})

    @classmethod
    def from_json(cls, text: str) -> "Tokenizer":
        from tokenizers import Tokenizer as Backend

        data = json.loads(text)
        return cls(Backend.from_str(json.dumps(data["tokenizer"])), data["context_length"])

    def save(self, path: str | Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(path.suffix + ".tmp")
        temporary.write_text(self.to_json(), encoding="utf-8")
        temporary.replace(path)

    def with_context_length(self, context_length: int) -> "Tokenizer":
        return Tokenizer(self.backend, context_length)


def train_tokenizer(texts: Iterable[str], vocab_size: int, context_length: int = DEFAULT_CONTEXT_LENGTH, min_frequency: int = 2) -> Tokenizer:
    """Train a lower-cased byte-level BPE on captions. EOT gets the last id, as in CLIP."""
    from tokenizers import Tokenizer as Backend, decoders, models, pre_tokenizers, trainers

    if vocab_size < 256 + 2:
        raise WitError(f"vocab size {vocab_size} is below the 256 byte tokens plus 2 special tokens")
    backend = Backend(models.BPE())
    backend.normalizer = _normalizer()
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size - 2,
        min_frequency=min_frequency,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(texts, trainer=trainer)
    # Added after training so they take the highest ids: SOT = vocab-2, EOT = vocab-1.
    backend.add_special_tokens([START_TOKEN, END_TOKEN])
    return Tokenizer(backend, context_length)


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP's reversible map from bytes to printable unicode characters."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(printable, map(chr, chars)))


def load_clip_bpe(path: str | Path, context_length: int = DEFAULT_CONTEXT_LENGTH) -> Tokenizer:
    """OpenAI CLIP's tokenizer from its merges file (gzip or plain text), with CLIP's exact ids."""
    from tokenizers import Regex, Tokenizer as Backend, decoders, models, pre_tokenizers

    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            lines = handle.read().split("\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise WitError(f"cannot read BPE merges file {path}: {exc}") from exc
    merges = [tuple(line.split()) for line in lines[1 : CLIP_MERGES + 1] if line.strip()]
    if any(len(merge) != 2 for merge in merges):
        raise WitError(f"{path} is not a CLIP-format merges file (expected a header, then 'a b' per line)")
    vocab_list = list(bytes_to_unicode().values())
    vocab_list += [token + "</w>" for token in vocab_list]
    vocab_list += ["".join(merge) for merge in merges]
    vocab_list += [START_TOKEN, END_TOKEN]
    vocab = {token: index for index, token in enumerate(vocab_list)}
    try:
        model = models.BPE(vocab=vocab, merges=merges, end_of_word_suffix="</w>", unk_token=END_TOKEN, fuse_unk=False)
    except Exception as exc:  # tokenizers raises a bare Exception naming the bad merge
        raise WitError(f"{path} is not a usable CLIP-format merges file: {exc}") from exc
    backend = Backend(model)
    backend.normalizer = _normalizer()
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(CLIP_SPLIT_PATTERN), behavior="removed", invert=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    backend.decoder = decoders.BPEDecoder(suffix="</w>")
    backend.add_special_tokens([START_TOKEN, END_TOKEN])
    return Tokenizer(backend, context_length)


def load_tokenizer(path: str | Path, context_length: int | None = None) -> Tokenizer:
    """A saved wit tokenizer (.json), a tokenizers JSON file, or a CLIP merges file (.txt/.txt.gz);
    local or a URL (s3://, gs:// ...)."""
    from wit.core.storage import is_url, local_file

    if is_url(path):
        try:
            with local_file(path) as local:  # keeps the file name, whose suffix says the format
                return load_tokenizer(local, context_length)
        except FileNotFoundError:
            raise WitError(f"tokenizer file not found: {path}") from None
    path = Path(path)
    if not path.is_file():
        raise WitError(f"tokenizer file not found: {path}")
    if path.suffix == ".json":
        text = path.read_text(encoding="utf-8")
        data = json.loads(text)
        if "tokenizer" in data and "context_length" in data:
            tokenizer = Tokenizer.from_json(text)
        else:  # a plain tokenizers JSON file
            from tokenizers import Tokenizer as Backend

            tokenizer = Tokenizer(Backend.from_str(text), DEFAULT_CONTEXT_LENGTH)
    else:
        tokenizer = load_clip_bpe(path)
    return tokenizer.with_context_length(context_length) if context_length else tokenizer
