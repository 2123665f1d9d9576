"""wit.filters._fastlid.Cascade, the language cascade in C, against wit.filters.language.identify_cascade.

The C cascade must give the Python reference's LanguageGuess exactly: the same lang, and the same
score and english floats compared with ==, so every verdict of the chain stays the same. Checked
on every lid-dev line, on captions_dev.tsv and the LAION captions as they are and after the
chain's normalisation, and on seeded random text built from the cases where a re-implementation
would go wrong (Unicode letter classes, str.lower, the cut of long lines, lone surrogates).
"""

from __future__ import annotations

import random
import re
import sys
import tracemalloc

import pytest

from wit.filters import language
from wit.filters.evaluation import read_labelled_captions, read_lid_dev
from wit.filters.caption_normalise import normalise_text
from c_extensions import c_extension

fastlid = c_extension("wit.filters._fastlid")


@pytest.fixture(scope="module")
def cascade(monkeypatch_module):
    monkeypatch_module.delenv(language.FASTTEXT_IMPLEMENTATION_ENV, raising=False)
    identify = language.get_identifier("cascade")
    assert isinstance(identify, fastlid.Cascade)
    return identify


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module")
def reference(monkeypatch_module):
    """identify_cascade with the C predictor (the predictor the C cascade calls)."""
    monkeypatch_module.delenv(language.FASTTEXT_IMPLEMENTATION_ENV, raising=False)
    assert language.fasttext_implementation() == "c"
    language.get_identifier("cascade")  # word lists and model loaded
    return language.identify_cascade


def outcome(identify, text):
    """The guess with its exact type and repr (which tells -0.0 from 0.0), or the exception type raised."""
    try:
        guess = identify(text)
    except Exception as error:  # noqa: BLE001 - compared, not swallowed
        return type(error)
    return type(guess), tuple(guess), repr(guess)


def assert_identical(cascade, reference, texts, what):
    mismatches = [(t, outcome(reference, t), outcome(cascade, t)) for t in texts if outcome(reference, t) != outcome(cascade, t)]
    assert not mismatches, f"{len(mismatches)} of {len(texts)} {what} differ, e.g. {mismatches[:3]}"


# ---------------------------------------------------------------- the same answers


def test_identical_on_every_lid_dev_line(shared_data, cascade, reference):
    for kind in ("sentences", "word-pairs", "single-words"):
        texts = [text for text, _ in read_lid_dev(shared_data / "lid-dev", kind)]
        assert len(texts) > 1000
        assert_identical(cascade, reference, texts, f"lid-dev {kind}")


def test_identical_on_real_captions_raw_and_normalised(shared_data, laion_texts, cascade, reference):
    raw = [r.text for r in read_labelled_captions(shared_data / "captions_dev.tsv")] + laion_texts
    assert len(raw) > 1200
    normalised = [normalise_text(text)[0] for text in raw]
    assert_identical(cascade, reference, raw + normalised, "captions")


def test_the_chain_gives_the_same_verdicts(shared_data, laion_texts, cascade, reference):
    """What the chain hands language identification, and every verdict, lang and lang_score."""
    from wit.filters.chain import FilterChain
    from wit.core.records import new_candidate

    texts = [r.text for r in read_labelled_captions(shared_data / "captions_dev.tsv")] + laion_texts
    chain = FilterChain()
    assert chain.identify is cascade  # the default chain runs the C cascade
    seen = []

    def run(identify):
        chain.identify = lambda text: (seen.append(text), identify(text))[1]
        verdicts = []
        for i, text in enumerate(texts):
            candidate = new_candidate(f"https://example.com/{i}.jpg", text)
            verdicts.append((chain.apply(candidate), candidate.get("lang"), candidate.get("lang_score"), candidate["text"]))
        return verdicts

    assert run(cascade) == run(reference)
    assert len(seen) > 1000  # both runs together: most captions reach language identification
    assert_identical(cascade, reference, seen, "normalised chain inputs")


PIECES = [
    # words the stages turn on: common English, known-but-shared, foreign, Title Case, SHOUTED
    "the", "and", "photo", "beautiful", "wedding", "dress", "with", "of", "die", "con", "universiteit", "pretoria",
    "Kyle", "Lo", "BMW", "M6", "Gran", "Coupe", "SALE", "Der", "hund", "schläft", "le", "chat", "noir", "über",
    "don't", "l'eau", "rock'n'roll", "o'", "'tis", "can't'", "''", "'",
    # scripts, case mappings and letter-class corner cases
    "Москва", "пожарной", "東京", "天気", "とても", "한국어", "العربية", "עברית", "ελληνικά", "ΟΔΟΣ", "Σ", "ς", "ΣΑΣ",
    "İstanbul", "İ", "ı", "ß", "ẞ", "ǅ", "ﬁ", "K", "Å", "Ǆ", "Ⅻ", "ⅻ", "²", "½", "٣", "໓", "𝟘", "𝐀", "ℌ", "ª", "º",
    "e\u0301", "\u0301", "a\u0308b", "\u200d", "\u200c", "\u00ad", "\u0345", "ʰ", "ˆ", "々", "〇", "Ⓐ", "ⓐ",
    "😀", "👍🏽", "🇩🇪", "\U0001f680", "\U000e0041",
    # digits, underscores, punctuation, whitespace
    "123", "4th", "2x", "_", "__init__", "foo_bar", "a1b2", "-", ".", ",", "!", "?", "(", ")", "/", "&", "#", ":",
    " ", " ", " ", " ", "  ", "\n", "\n\n", "\t", "\r", "\x00", "\x0b", "\x0c", "\x85", "\u2028", "\u3000", "\xa0",
    # lone surrogates and a valid pair written as two code points
    "\ud800", "\udfff", "\ud83d\ude00",
]


def random_lines(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    vocabulary = sorted(language.english_vocabulary())
    known = sorted(language.known_english_words())
    rare = sorted(language.rare_english_words())
    letters = [chr(c) for c in [*range(0x41, 0x5B), *range(0x61, 0x7B), *range(0xC0, 0x250), *range(0x370, 0x3FF),
                                *range(0x400, 0x4FF), *range(0x4E00, 0x4E20), *range(0x1E00, 0x1F00)]]
    lines = []
    for _ in range(count):
        size = rng.choice([0, 1, 2, 3, 4, 5, 8, 12, 20, 40, 80])
        parts = []
        for _ in range(size):
            draw = rng.random()
            if draw < 0.3:
                word = rng.choice(vocabulary)
            elif draw < 0.45:
                word = rng.choice(known)
            elif draw < 0.5:  # seen in English, rarely: neither unknown evidence nor unseen
                word = rng.choice(rare)
            elif draw < 0.55:
                word = "".join(rng.choice(letters) for _ in range(rng.randint(1, 8)))
            else:
                word = rng.choice(PIECES)
            if rng.random() < 0.1:
                word = word.upper() if rng.random() < 0.5 else word.title()
            parts.append(word)
            parts.append(rng.choice([" ", " ", " ", "", "\n", ", ", "'", "_", "-", "2"]))
        line = "".join(parts)
        if rng.random() < 0.05:  # past both cut limits, with and without spaces near the cut
            line = (line + " ") * rng.randint(3, 40) if line.strip() else "x" * rng.randint(41, 500)
        lines.append(line)
    return lines


def test_identical_on_seeded_random_lines(cascade, reference):
    lines = random_lines(seed=5, count=4000)
    assert_identical(cascade, reference, lines, "random lines")
    # the lines reach the vocabulary stage (English, score == english) and fastText's branches
    outcomes = [outcome(cascade, line) for line in lines]
    answered = [fields for fields in outcomes if isinstance(fields, tuple)]
    assert sum(lang == "en" and score == english for _, (lang, score, english), _ in answered) > 100
    assert len({lang for _, (lang, _, _), _ in answered}) > 20
    assert outcomes.count(UnicodeEncodeError) > 10  # lone surrogates that reach fastText


def test_identical_at_the_cut_limits(cascade, reference):
    """Lines around both limits (40 in the foreign-script branch, 200 otherwise), with blanks at
    and around every position the cut looks at."""
    texts = []
    for limit in (language.FOREIGN_SCRIPT_MAX_CHARS, language.FASTTEXT_MAX_CHARS):
        for length in (limit - 1, limit, limit + 1, limit + 2, 2 * limit, 3 * limit + 7):
            for blank in range(0, length, max(1, length // 23)):
                for base, sep in (("ab", " "), ("жы", " "), ("ab", "\n"), ("Σa", " "), ("İx", " ")):
                    chars = list((base * length)[:length])
                    chars[blank] = sep
                    if blank + limit // 4 < length:
                        chars[blank + limit // 4] = sep
                    texts.append("".join(chars))
                    texts.append("the word " + "".join(chars))
    assert_identical(cascade, reference, texts, "lines near the cut")


def test_bad_input_gives_the_references_answer_or_error(cascade, reference):
    texts = ["", " ", "\x00", "\x00the cat\x00", "the cat \ud800 sat on", "\ud800\udc00", "\udc80" * 300,
             "Москва \ud800 " * 30, "ab\ud800c de fg", "x" * 1_000_000, "the cat " * 130_000, "東京 " * 300_000]
    assert_identical(cascade, reference, texts, "bad or huge inputs")
    # a lone surrogate that reaches fastText cannot be encoded: the same error as the predictor gives
    with pytest.raises(UnicodeEncodeError):
        cascade("zzq \ud800 qqz")
    for not_text in (None, b"the cat", 3, ["the cat"]):
        with pytest.raises(TypeError):
            cascade(not_text)
    with pytest.raises(TypeError):
        cascade()
    with pytest.raises(TypeError):
        cascade("a", "b")
    with pytest.raises(TypeError):
        cascade(text="the cat")


def test_returns_a_real_language_guess(cascade, reference):
    for text in ("the cat sat on the mat", "Der Hund schläft im Garten", "Salman Khan", "微信二维码", "", "1234"):
        guess, expected = cascade(text), reference(text)
        assert type(guess) is language.LanguageGuess
        assert guess == expected and hash(guess) == hash(expected) and repr(guess) == repr(expected)
        assert (guess.lang, guess.score, guess.english) == tuple(expected)
        assert {guess: 1}[expected] == 1


def test_does_not_leak(cascade):
    texts = random_lines(seed=9, count=300) + ["the cat sat on the mat", "Москва", "Kyle Lo", "der hund schläft"]
    texts = [t for t in texts if "\ud800" not in t and "\udfff" not in t and "\ud83d" not in t]
    language_object = cascade("der hund schläft heute").lang
    references = sys.getrefcount(language_object), sys.getrefcount(language.LanguageGuess)
    for text in texts:  # warm: scratch buffers at their size
        cascade(text)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(20):
            for text in texts:
                cascade(text)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 50_000, f"{grown} bytes still held after {20 * len(texts)} calls"
    assert (sys.getrefcount(language_object), sys.getrefcount(language.LanguageGuess)) == references


# ---------------------------------------------------------------- the parts


def test_letter_class_is_res_on_every_code_point():
    every = "".join(map(chr, range(0x110000)))
    expected = bytearray(0x110000 // 8)
    for match in re.finditer(r"[^\W\d_]", every):
        c = ord(match.group())
        expected[c >> 3] |= 1 << (c & 7)
    got = fastlid.letter_class()
    if got != bytes(expected):
        differ = [c for c in range(0x110000) if (got[c >> 3] >> (c & 7)) & 1 != (expected[c >> 3] >> (c & 7)) & 1]
        pytest.fail(f"{len(differ)} code points differ, e.g. {[hex(c) for c in differ[:10]]}")
    assert sum(bin(b).count("1") for b in got) > 100_000  # letters of every script, not a few


def test_words_and_lowercase_words_are_the_regexes(shared_data, cascade):
    texts = random_lines(seed=7, count=3000) + [r.text for r in read_labelled_captions(shared_data / "captions_dev.tsv")]
    texts += [text for text, _ in read_lid_dev(shared_data / "lid-dev", "sentences")[::20]]
    texts += ["İİ", "KELVIN Kelvin", "ΣΑΣ σας", "Äpfel Birnen", "x'y'z", "a'", "'a", "don't'stop", "Ⅻ Ⅻa a²b ½x", "foo_bar 4th"]
    for text in texts:
        assert cascade.words(text) == language.words_of(text), repr(text)
        assert cascade.lowercase_words(text) == len(language._LOWERCASE_WORD.findall(text)), repr(text)


def test_word_lists_decide_like_the_python_sets():
    """A Cascade built from other word lists and constants follows them (nothing is built in)."""
    model = language._fastlid_model()
    args = (model, frozenset({"zorp", "blick"}), frozenset({"zorp"}), language.LanguageGuess, 0.5, 0.4, 200, 40)
    small = fastlid.Cascade(*args)
    assert small("zorp blick zorp") == language.LanguageGuess("en", 1.0, 1.0)
    assert small("the cat sat").lang != "" and small("the cat sat").score < 1.0  # no longer stage 1
    assert small.words("Zorp, BLICK's") == ["zorp", "blick's"]
    with pytest.raises(TypeError, match="hold str"):
        fastlid.Cascade(model, ["the", 3], frozenset(), language.LanguageGuess, 0.5, 0.4, 200, 40)
    with pytest.raises(TypeError, match="NamedTuple"):
        fastlid.Cascade(model, frozenset(), frozenset(), dict, 0.5, 0.4, 200, 40)
    with pytest.raises(ValueError, match="1 or more"):
        fastlid.Cascade(model, frozenset(), frozenset(), language.LanguageGuess, 0.5, 0.4, 0, 40)
    with pytest.raises(TypeError):
        fastlid.Cascade("not a model", frozenset(), frozenset(), language.LanguageGuess, 0.5, 0.4, 200, 40)
    # rare_words and the unseen-word penalties: a word in no list costs the extra penalty (its own
    # one in two-word text), a rare one not; in two-word text a known word counts for English
    with_rare = fastlid.Cascade(*args, rare_words=frozenset({"quib"}), unseen_word_penalty=0.1, pair_unseen_word_penalty=0.2)
    without = fastlid.Cascade(*args)
    assert with_rare("zorp quib").english == without("zorp quib").english
    assert with_rare("zorp quab").english == pytest.approx(without("zorp quab").english - 0.2 * 0.5)
    assert with_rare("quib quab zorp").english == pytest.approx(without("quib quab zorp").english - 0.1 / 3)
    known_args = (model, frozenset({"zorp"}), frozenset({"zorp", "glim"}), language.LanguageGuess, 0.5, 0.4, 200, 40)
    weighted = fastlid.Cascade(*known_args, pair_known_word_weight=0.2)
    assert weighted("glim glim").english == pytest.approx(fastlid.Cascade(*known_args)("glim glim").english + 0.2)
    assert weighted("glim glim glim").english == fastlid.Cascade(*known_args)("glim glim glim").english
    # one_word_unseen_penalty: at most one lowercase word, never seen, fastText's best label foreign
    plain, strict = fastlid.Cascade(*args), fastlid.Cascade(*args, one_word_unseen_penalty=0.3)
    assert plain("Casa quab").lang not in ("en", "")
    assert strict("Casa quab").english == pytest.approx(plain("Casa quab").english - 0.3)
    seen = fastlid.Cascade(*args, rare_words=frozenset({"quab"}), one_word_unseen_penalty=0.3)
    assert seen("Casa quab") == plain("Casa quab")  # a rare word is no such evidence
    assert strict("Casa Quab") == plain("Casa Quab")  # nor a capitalised one
    empty = fastlid.Cascade.__new__(fastlid.Cascade)
    with pytest.raises(ValueError, match="not initialised"):
        empty("the cat")


def test_get_identifier_picks_the_implementation(monkeypatch):
    monkeypatch.delenv(language.FASTTEXT_IMPLEMENTATION_ENV, raising=False)
    assert isinstance(language.get_identifier("cascade"), fastlid.Cascade)
    monkeypatch.setenv(language.FASTTEXT_IMPLEMENTATION_ENV, "fasttext-predict")
    assert language.get_identifier("cascade") is language.identify_cascade


def test_pickles_by_reference_as_this_processs_cascade(cascade, monkeypatch):
    """A FilterChain goes to Beam workers pickled; the cascade comes back as the receiver's."""
    import pickle

    assert pickle.loads(pickle.dumps(cascade)) is cascade  # one per process, models loaded once
    data = pickle.dumps(cascade)
    monkeypatch.setenv(language.FASTTEXT_IMPLEMENTATION_ENV, "fasttext-predict")  # a worker without the C predictor
    assert pickle.loads(data) is language.identify_cascade
    model = language._fastlid_model()
    bare = fastlid.Cascade(model, frozenset(), frozenset(), language.LanguageGuess, 0.5, 0.4, 200, 40)
    with pytest.raises(TypeError, match="restore"):
        pickle.dumps(bare)
