"""trainer/tokenizer.py: BPE trained on real captions, and CLIP-format merges files."""

import csv
import gzip
import subprocess
import sys
from pathlib import Path

import pytest

from peers import peer_pythons
from wit.trainer.tokenizer import bytes_to_unicode, load_clip_bpe, load_tokenizer, train_tokenizer
from wit.core.errors import WitError


@pytest.fixture(scope="module")
def captions(shared_data):
    with open(shared_data / "captions_dev.tsv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [row["text"] for row in rows if row["label"] == "keep"]


@pytest.fixture(scope="module")
def trained(captions):
    return train_tokenizer(captions, vocab_size=600, context_length=77, min_frequency=2)


def test_trained_tokenizer_frames_lowercases_and_pads(trained):
    assert trained.vocab_size == 600
    assert (trained.sot_token_id, trained.eot_token_id) == (598, 599)  # EOT is the last id, as in CLIP
    tokens = trained(["Golden Retriever puppy", "golden retriever PUPPY"])
    assert tokens.shape == (2, 77) and tokens.dtype.is_floating_point is False
    assert tokens[0].tolist() == tokens[1].tolist()
    ids = tokens[0].tolist()
    eot_at = ids.index(trained.eot_token_id)
    assert ids[0] == trained.sot_token_id and all(i == 0 for i in ids[eot_at + 1 :])
    assert trained.backend.decode(ids[1:eot_at]) == "golden retriever puppy"


def test_long_text_is_truncated_but_keeps_its_eot(trained):
    tokens = trained("word " * 200)
    assert tokens.shape == (1, 77) and tokens[0, -1].item() == trained.eot_token_id


def test_save_and_load_round_trip(trained, tmp_path, captions):
    trained.save(tmp_path / "tok.json")
    loaded = load_tokenizer(tmp_path / "tok.json")
    assert loaded.context_length == 77
    assert loaded(captions[:20]).tolist() == trained(captions[:20]).tolist()
    assert load_tokenizer(tmp_path / "tok.json", context_length=16)(captions[0]).shape == (1, 16)


def write_merges(path: Path, merges: list[str]) -> None:
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write("\n".join(["#version: 0.2", *merges]) + "\n")


def test_clip_format_merges_file_gives_clip_style_ids(tmp_path):
    path = tmp_path / "bpe_tiny.txt.gz"
    write_merges(path, ["h e", "l l", "he ll", "hell o</w>"])
    tokenizer = load_clip_bpe(path)
    # ids: 256 byte chars, 256 byte chars + </w>, then one id per merge, then SOT and EOT
    assert tokenizer.vocab_size == 512 + 4 + 2
    assert (tokenizer.sot_token_id, tokenizer.eot_token_id) == (516, 517)
    ids = tokenizer("Hello, hello")[0].tolist()
    comma_end_of_word = 256 + list(bytes_to_unicode().values()).index(",")
    assert ids[:5] == [516, 512 + 3, comma_end_of_word, 512 + 3, 517]  # "hello</w>" ",</w>" "hello</w>"


def test_real_clip_vocabulary_when_a_copy_is_installed():
    """open_clip ships OpenAI's merges file; where it is installed, here or in a peer venv
    (tests/peers.py), check CLIP's published ids."""
    # find_spec locates the package without importing it (and torch with it).
    where = "import importlib.util as u; s = u.find_spec('open_clip'); print(s.submodule_search_locations[0] if s else '')"
    folders = {subprocess.run([python, "-c", where], capture_output=True, text=True).stdout.strip()
               for python in peer_pythons() + [sys.executable]}
    candidates = [Path(folder) / "bpe_simple_vocab_16e6.txt.gz" for folder in folders if folder]
    found = next((p for p in candidates if p.is_file()), None)
    if found is None:
        pytest.skip("no copy of bpe_simple_vocab_16e6.txt.gz installed (scripts/setup-peers.sh open_clip installs open_clip)")
    tokenizer = load_clip_bpe(found)
    assert tokenizer.vocab_size == 49408
    assert tokenizer(["a diagram", "a dog", "a cat"])[:, :4].tolist() == [
        [49406, 320, 22697, 49407], [49406, 320, 1929, 49407], [49406, 320, 2368, 49407]]


def test_bad_files_are_clear_errors(tmp_path):
    with pytest.raises(WitError):
        load_tokenizer(tmp_path / "missing.json")
    bad = tmp_path / "bad.txt"
    bad.write_text("#version\nabc\n")
    with pytest.raises(WitError, match="merges"):
        load_clip_bpe(bad)
    with pytest.raises(WitError):
        train_tokenizer(["a b c"], vocab_size=100)


def test_wit_tokenizer_train_command(tmp_path, capsys):
    from trainer_shards import make_pairs, write_dataset
    from wit.app.cli import main as wit

    shard_dir = write_dataset(tmp_path / "data", make_pairs(40, seed=2), per_shard=20)
    assert wit(["tokenizer", "train", "--data", str(shard_dir), "--out", str(tmp_path / "tok.json"), "--vocab-size", "280"]) == 0
    assert "280 tokens, context 77" in capsys.readouterr().out
    tokenizer = load_tokenizer(tmp_path / "tok.json")
    assert tokenizer.vocab_size == 280 and tokenizer("a photo of a red circle").shape == (1, 77)
