"""wit.filters._fastlid, fastText inference in C, against fasttext-predict (fastText's own C++).

The C predictor must be a drop-in for fasttext-predict's native `predict(line, k, threshold,
on_unicode_error)`: the same labels in the same order and the same probabilities, on every line
the cascade sends it (all of lid-dev and captions_dev.tsv), on edge cases, and on small model
files in every format variant; and a bad model file must give an error, never a crash.
"""

from __future__ import annotations

import random
import struct

import pytest
from fasttext_files import ModelSpec, model_bytes, write_model

from wit.filters import language
from wit.filters.evaluation import read_labelled_captions, read_lid_dev
from c_extensions import c_extension

fastlid = c_extension("wit.filters._fastlid")

# Probabilities agree to the bit on this machine; the tolerance leaves room for a compiler that
# fuses multiply-adds (fastText's own build may, or may not, on other CPUs).
TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def predictors():
    """(C predict, fasttext-predict's native predict) on lid.176.ftz."""
    return fastlid.Model(language.fasttext_model_path()).predict, language._fasttext_model().f.predict


def assert_same(expected, got, context=""):
    assert [label for _, label in got] == [label for _, label in expected], context
    assert all(abs(a - b) <= TOLERANCE for (a, _), (b, _) in zip(expected, got)), (context, expected, got)


def cascade_lines(text: str) -> list[tuple[str, int]]:
    """The (line, k) pairs identify_fasttext sends for a text in the cascade's three branches."""
    out = []
    for lowercase, k, max_chars in ((True, 3, None), (False, 1, None), (False, 3, language.FOREIGN_SCRIPT_MAX_CHARS)):
        line = text.replace("\n", " ")
        limit = max_chars or language.FASTTEXT_MAX_CHARS
        if len(line) > limit:
            line = language.head_and_tail(line, limit)
        out.append(((line.lower() if lowercase else line) + "\n", k))
    return out


def test_agrees_with_fasttext_on_every_lid_dev_line_and_caption(shared_data, predictors):
    c_predict, reference = predictors
    texts = [c.text for c in read_labelled_captions(shared_data / "captions_dev.tsv")]
    for kind in ("sentences", "word-pairs", "single-words"):
        texts += [text for text, _ in read_lid_dev(shared_data / "lid-dev", kind)]
    assert len(texts) > 100_000
    mismatches = []
    for text in texts:
        for line, k in cascade_lines(text):
            expected, got = reference(line, k, 0.0, "strict"), c_predict(line, k, 0.0, "strict")
            if [label for _, label in got] != [label for _, label in expected] or any(
                abs(a - b) > TOLERANCE for (a, _), (b, _) in zip(expected, got)
            ):
                mismatches.append((line, expected, got))
    assert not mismatches, f"{len(mismatches)} lines differ, e.g. {mismatches[:3]}"


EDGE_CASES = [
    "",  # nothing to read: no prediction
    "\n",  # the end-of-sentence token alone
    " ",  # whitespace and no newline: no token at all
    "   \t \n",
    "hello",  # no newline: no end-of-sentence token
    "hello\nworld\n",  # a newline ends the line
    "hello </s> world\n",  # so does a literal end-of-sentence token
    "__label__de hello\n",  # a known label is not a word
    "__label__zz hello\n",  # nor is an unknown one
    "a\tb\vc\fd\re\0f\n",  # fastText's whitespace, NUL included
    "😀😀 👍🏽\n",  # non-BMP characters: n-grams count characters, not bytes
    "東京の天気 とても良い\n",
    "naïve café Ωmega ǅ\n",
    "ab" * 5000 + "\n",  # one 10,000-character token
    "the cat sat on the mat " * 2000 + "\n",  # 46,000 characters
    "\u00a0non\u2003breaking spaces are not separators\n",
    "x\x1fy\x7fz\n",
]


@pytest.mark.parametrize("line", EDGE_CASES, ids=range(len(EDGE_CASES)))
@pytest.mark.parametrize("k", [1, 3, -1])
def test_agrees_on_edge_cases(predictors, line, k):
    c_predict, reference = predictors
    assert_same(reference(line, k, 0.0, "strict"), c_predict(line, k, 0.0, "strict"), line[:50])


def test_agrees_on_random_lines(predictors):
    """Seeded random lines over scripts, emoji, fastText's whitespace, NUL, end-of-sentence and
    label tokens, at every length the cascade can send and k up to past the label count."""
    c_predict, reference = predictors
    rng = random.Random(11)
    pieces = [chr(c) for c in [*range(32, 127), *range(0xA0, 0x250), *range(0x400, 0x4FF), *range(0x4E00, 0x4E40)]]
    pieces += ["\U0001f600", "\U0001f680", "\u2028", "\x85", "\u3000", "\u200b", " ", "\t", "\v", "\f", "\r", "\0", "</s>", "__label__en "]
    for _ in range(3000):
        line = "".join(rng.choice(pieces) for _ in range(rng.choice([0, 1, 2, 5, 10, 30, 100, 300]))) + "\n"
        k, threshold = rng.choice([1, 2, 3, 5, 176, 200]), rng.choice([0.0, 0.0, 0.1, 0.5])
        assert_same(reference(line, k, threshold, "strict"), c_predict(line, k, threshold, "strict"), repr(line))


@pytest.mark.parametrize("threshold", [0.0, 1e-4, 0.05, 0.5, 0.99])
def test_agrees_on_thresholds(predictors, threshold):
    c_predict, reference = predictors
    for line in ("the cat sat on the mat\n", "der Hund schläft\n", "ok\n"):
        assert_same(reference(line, 5, threshold, "strict"), c_predict(line, 5, threshold, "strict"), line)


def test_answers_like_fasttext_predict(predictors):
    c_predict, _ = predictors
    result = c_predict("the cat sat on the mat\n", 3, 0.0, "strict")
    assert isinstance(result, list) and len(result) == 3
    assert all(isinstance(p, float) and isinstance(label, str) for p, label in result)
    assert result[0][1] == "__label__en" and result[0][0] > result[1][0] > result[2][0]
    assert c_predict("hello\n") == c_predict("hello\n", 1, 0.0, "strict")  # defaults as fastText's
    assert len(c_predict("hello\n", -1)) > 100  # every label above the threshold


def test_bad_arguments_are_errors(predictors):
    c_predict, _ = predictors
    with pytest.raises(ValueError, match="k needs to be 1"):
        c_predict("hello\n", 0)
    with pytest.raises(TypeError):
        c_predict(b"hello\n", 1)
    # Lone surrogates cannot be encoded: fasttext-predict raises TypeError, the C predictor
    # UnicodeEncodeError; the chain removes them before language identification.
    with pytest.raises(UnicodeEncodeError):
        c_predict("ab\ud800c\n", 3, 0.0, "strict")
    _, reference = predictors
    with pytest.raises(TypeError):
        reference("ab\ud800c\n", 3, 0.0, "strict")


VARIANTS = {
    "dense hs": ModelSpec(),
    "dense softmax": ModelSpec(loss="softmax"),
    "dense one-vs-all": ModelSpec(loss="ova"),
    "dense negative sampling": ModelSpec(loss="ns"),
    "word trigrams": ModelSpec(word_ngrams=3),
    "no char n-grams": ModelSpec(maxn=0, word_ngrams=2),
    "char 1-6 grams": ModelSpec(minn=1, maxn=6),
    "quantized": ModelSpec(quantize_input=True),
    "quantized, norms, odd dim": ModelSpec(quantize_input=True, qnorm=True, dim=5),
    "quantized, pruned, quantized output": ModelSpec(quantize_input=True, qnorm=True, quantize_output=True, prune_keep=0.3, dim=7, dsub=3),
    "pruned to no n-grams": ModelSpec(quantize_input=True, prune_keep=0.0),
    "qout flag on a dense model": ModelSpec(quantize_output=True),
}
VARIANT_LINES = [
    "the cat\n", "der hund schläft\n", "le chat ünïcødé 東京 😀\n", "\n", "", "x", "the cat sat on the mat with der hund",
    "a\tb\vc\fd\re\0f\n", "__label__en the\n", "zzz qqq www\n",
]


@pytest.mark.parametrize("name", VARIANTS)
def test_agrees_on_every_model_format_variant(tmp_path, name):
    import fasttext

    path = write_model(tmp_path / "model.bin", VARIANTS[name])
    reference = fasttext.load_model(str(path)).f.predict
    c_predict = fastlid.Model(path).predict
    for line in VARIANT_LINES:
        for k in (1, 2, -1):
            for threshold in (0.0, 0.2):
                assert_same(reference(line, k, threshold, "strict"), c_predict(line, k, threshold, "strict"), (line, k))


def test_a_model_that_was_never_loaded_says_so():
    empty = fastlid.Model.__new__(fastlid.Model)
    with pytest.raises(ValueError, match="not loaded"):
        empty.predict("hello\n")
    assert empty.info is None


def test_reports_the_model(predictors):
    info = fastlid.Model(language.fasttext_model_path()).info
    assert info["nlabels"] == 176 and info["dim"] == 16 and info["loss"] == "hs"
    assert info["quantized_input"] and info["pruned_ngrams"] > 0
    assert 0 < info["memory_bytes"] < 4_000_000


# ---------------------------------------------------------------- bad model files


def test_missing_file_and_folder_are_os_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        fastlid.Model(tmp_path / "nope.ftz")
    with pytest.raises(OSError):
        fastlid.Model(tmp_path)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "truncated"),
        (b"not a model at all", "wrong magic"),
        (struct.pack("<ii", 793712314, 13), "version 13"),
        (struct.pack("<ii", 793712314, 12) + b"\0" * 10, "truncated"),
    ],
)
def test_not_a_model_is_a_value_error(tmp_path, content, message):
    path = tmp_path / "bad.ftz"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        fastlid.Model(path)


def test_word_vector_model_is_refused(tmp_path):
    data = bytearray(model_bytes(ModelSpec()))
    struct.pack_into("<i", data, 8 + 7 * 4, 1)  # args.model = cbow
    path = tmp_path / "vectors.bin"
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="not a classifier"):
        fastlid.Model(path)


def test_a_huge_count_is_refused_before_anything_is_allocated(tmp_path):
    data = bytearray(model_bytes(ModelSpec()))
    size, nwords, nlabels = struct.unpack_from("<iii", data, 8 + 56)
    struct.pack_into("<iii", data, 8 + 56, 2**30, 2**30 - nlabels, nlabels)  # a billion dictionary entries
    path = tmp_path / "huge.bin"
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="more bytes than the file holds"):
        fastlid.Model(path)


def test_every_truncation_of_a_model_is_an_error(tmp_path):
    data = model_bytes(ModelSpec(quantize_input=True, qnorm=True, quantize_output=True, prune_keep=0.3))
    path = tmp_path / "cut.ftz"
    for end in range(0, len(data), max(1, len(data) // 400)):
        path.write_bytes(data[:end])
        with pytest.raises(ValueError, match="truncated"):
            fastlid.Model(path)


def test_corrupt_bytes_give_an_error_or_a_working_model(tmp_path):
    """Random damage anywhere: a clear error, or a model that predicts without crashing."""
    data = model_bytes(ModelSpec(quantize_input=True, qnorm=True, prune_keep=0.3))
    rng = random.Random(4)
    path = tmp_path / "damaged.ftz"
    outcomes = {"error": 0, "loaded": 0}
    for _ in range(300):
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(200) if rng.random() < 0.7 else rng.randrange(len(data))  # the header most often
            damaged[at] = rng.randrange(256)
        path.write_bytes(bytes(damaged))
        try:
            model = fastlid.Model(path)
        except (ValueError, MemoryError, OSError):
            outcomes["error"] += 1
            continue
        outcomes["loaded"] += 1
        for line in ("the cat\n", "le chat ünïcødé\n", ""):
            for p, label in model.predict(line, -1):
                # fastText's log(p + 1e-5) lets a sure label come out at 1.00001, as it does there
                assert 0.0 <= p <= 1.0 + 2e-5 and isinstance(label, str)
    assert outcomes["error"] > 0 and outcomes["loaded"] > 0, outcomes


# ---------------------------------------------------------------- wit.filters.language wiring


def test_language_uses_the_c_predictor_unless_told_otherwise(monkeypatch):
    from wit.core.errors import WitError

    monkeypatch.delenv(language.FASTTEXT_IMPLEMENTATION_ENV, raising=False)
    assert language.fasttext_implementation() == "c"
    monkeypatch.setenv(language.FASTTEXT_IMPLEMENTATION_ENV, "fasttext-predict")
    assert language.fasttext_implementation() == "fasttext-predict"
    monkeypatch.setenv(language.FASTTEXT_IMPLEMENTATION_ENV, "java")
    with pytest.raises(WitError, match="choose one of"):
        language.fasttext_implementation()


def test_cascade_verdicts_are_the_same_with_either_predictor(shared_data, monkeypatch, predictors):
    """Every lid-dev line and captions_dev.tsv row gets the same guess from the cascade: the chain
    runs the C cascade (filters/_fastlid.c) with the C predictor, and the Python identify_cascade
    with fasttext-predict's."""
    from wit.filters.chain import FilterChain, FilterConfig
    from wit.core.records import new_candidate

    c_predict, reference = predictors
    texts = [text for kind in ("sentences", "word-pairs", "single-words") for text, _ in read_lid_dev(shared_data / "lid-dev", kind)]
    captions = [c.text for c in read_labelled_captions(shared_data / "captions_dev.tsv")]

    def run(predict, implementation):
        monkeypatch.setattr(language, "_fasttext_predict", lambda: predict)
        monkeypatch.setenv(language.FASTTEXT_IMPLEMENTATION_ENV, implementation)
        chain = FilterChain(FilterConfig())
        assert isinstance(chain.identify, fastlid.Cascade) == (implementation == "c")
        verdicts = []
        for i, text in enumerate(captions):
            candidate = new_candidate(f"https://example.com/{i}.jpg", text)
            verdicts.append((chain.apply(candidate), candidate.get("lang"), candidate.get("lang_score")))
        return [language.identify_cascade(text) for text in texts], verdicts

    assert run(c_predict, "c") == run(reference, "fasttext-predict")
