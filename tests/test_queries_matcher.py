"""The caption matcher: token boundaries, case and Unicode, bad input, both scanners agreeing."""

import csv
import gc
import shutil
import threading
import weakref

import pytest

from wit.queries import matcher as matcher_module
from wit.queries.matcher import PythonScanner, QueryMatcher
from wit.queries.match_keys import display_form, fold, match_key

IMPLEMENTATIONS = ["python"] + (["c"] if matcher_module._CScanner is not None else [])

QUERIES = [
    "cat",  # 0
    "new york",  # 1
    "new york city",  # 2
    "york",  # 3
    "ice cream",  # 4
    "o'clock",  # 5
    "straße",  # 6
    "café",  # 7
    "c++",  # 8 -> key "c"
    "東京",  # 9
    "golden retriever",  # 10
    "one two three four five six seven eight",  # 11: long query
    "dog",  # 12
]


@pytest.fixture(params=IMPLEMENTATIONS)
def matcher(request):
    return QueryMatcher.from_texts(QUERIES, implementation=request.param)


def texts(matcher, caption):
    return [QUERIES[i] for i in matcher.match(caption)]


@pytest.mark.skipif(not (shutil.which("cc") or shutil.which("gcc")), reason="no C compiler: the Python scanner is expected")
def test_c_scanner_is_built_in_this_install():
    # Where a compiler exists the install must have built the C scanner: a silent fallback to
    # the Python one would cost 20x in production.
    assert matcher_module._CScanner is not None


@pytest.mark.parametrize(
    "caption",
    ["cat", "cat.", "(cat)", "cat's toy", "a CAT!", "Cat,dog", "«cat»", "cat\u00a0", "\tcat\n", "the_cat_sat"],
)
def test_query_matches_at_token_boundaries(matcher, caption):
    assert "cat" in texts(matcher, caption)


@pytest.mark.parametrize("caption", ["category", "bobcat", "concatenate", "cats", "c a t", "ca-t"])
def test_query_never_matches_inside_a_word(matcher, caption):
    assert "cat" not in texts(matcher, caption)


def test_multi_word_queries_match_across_whitespace_and_punctuation(matcher):
    assert texts(matcher, "I ♥ New   York City!") == ["new york", "new york city", "york"]
    assert texts(matcher, "new\nyork") == ["new york", "york"]
    assert texts(matcher, "NEW-YORK") == ["new york", "york"]
    assert texts(matcher, "Ice-Cream at 5 o'clock") == ["ice cream", "o'clock"]
    assert texts(matcher, "golden_retriever_puppy.jpg") == ["golden retriever"]
    assert texts(matcher, "newyork") == []
    assert texts(matcher, "york new") == ["york"]


def test_long_queries_and_overlaps(matcher):
    long_query = "one two three four five six seven eight"
    assert texts(matcher, "One, two, three, four, five, six, seven, eight!") == [long_query]
    assert texts(matcher, "one two three four five six seven") == []
    assert texts(matcher, "zero one two three four five six seven eight nine") == [long_query]
    assert texts(matcher, "C++ and c") == ["c++"]  # punctuation-only differences are one key


def test_case_folding_and_unicode_normalisation(matcher):
    assert texts(matcher, "STRASSE") == ["straße"]  # casefold, not lower()
    assert texts(matcher, "Straße") == ["straße"]
    assert texts(matcher, "ＣＡＴ") == ["cat"]  # full-width letters, NFKC
    assert texts(matcher, "Cafe\u0301 au lait") == ["café"]  # decomposed accent composes under NFKC
    assert texts(matcher, "CAFÉ") == ["café"]
    assert texts(matcher, "cafe") == []  # accents are not stripped
    assert texts(matcher, "東京の夜") == []  # no spaces in CJK: the run is one token
    assert texts(matcher, "東京 tower") == ["東京"]


def test_results_are_sorted_unique_ids(matcher):
    ids = matcher.match("cat cat CAT dog cat new york new york")
    assert ids == sorted(set(ids)) == [0, 1, 3, 12]


@pytest.mark.parametrize(
    "caption",
    [
        "",
        " ",
        "\x00cat\x00",
        "cat\ud800dog",  # lone surrogate, e.g. from surrogateescape decoding
        "\udcff\udcfe",
        "\x07cat\x7f\x85",  # BEL, DEL, NEL control characters
        "\ufffd\ufffdcat",
        "💩cat💩",
    ],
)
def test_bad_input_never_raises(matcher, caption):
    result = matcher.match(caption)
    assert result == sorted(set(result))
    if "cat" in caption:
        assert 0 in result


def test_non_str_input_is_a_type_error(matcher):
    with pytest.raises(TypeError):
        matcher.match(b"cat")


def test_only_the_first_max_chars_are_scanned_and_cut_words_are_ignored():
    for implementation in IMPLEMENTATIONS:
        m = QueryMatcher.from_texts(["cat", "dog", "category"], max_chars=20, implementation=implementation)
        assert m.match("x" * 16 + " cat") == [0]
        assert m.match("x" * 16 + " category") == []  # 'cat' from a cut 'category' must not match
        assert m.match("x" * 16 + " cat dog") == [0]  # dog lies past the cap
        huge = "dog " + "x" * 1_000_000 + " cat"
        assert m.match(huge) == [1]


def test_megabyte_caption_costs_no_more_than_the_cap(matcher):
    caption = "cat " * 300_000
    assert matcher.match(caption) == [0]


def test_empty_or_punctuation_only_query_is_refused():
    for implementation in IMPLEMENTATIONS:
        with pytest.raises(ValueError, match="no letters or digits"):
            QueryMatcher.from_texts(["cat", "..."], implementation=implementation)


def test_duplicate_match_keys_are_refused():
    for implementation in IMPLEMENTATIONS:
        with pytest.raises(ValueError, match="duplicate"):
            QueryMatcher.from_texts(["ice cream", "Ice-Cream"], implementation=implementation)


def test_unknown_implementation_is_refused():
    with pytest.raises(ValueError, match="unknown matcher implementation"):
        QueryMatcher.from_texts(["cat"], implementation="regex")


def test_match_texts_returns_the_query_strings(matcher):
    assert matcher.match_texts("A cat in New York") == ["cat", "new york", "york"]


def test_matcher_is_weak_referenceable_and_shared_builds_it_once():
    from apache_beam.utils.shared import Shared

    shared = Shared()
    builds = []

    def build():
        builds.append(1)
        return QueryMatcher.from_texts(QUERIES)

    first = shared.acquire(build, tag="queries-v1")
    second = shared.acquire(build, tag="queries-v1")
    assert first is second and len(builds) == 1
    assert weakref.ref(first)() is first
    assert weakref.ref(first._scanner)() is first._scanner
    assert first.match("cat") == [0]


def test_one_matcher_serves_many_threads():
    m = QueryMatcher.from_texts(QUERIES)
    errors = []

    def work():
        try:
            for _ in range(2000):
                assert m.match("Cat in New York") == [0, 1, 3]
        except AssertionError as exc:  # pragma: no cover - only on failure
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors


def test_scanner_memory_is_released():
    m = QueryMatcher.from_texts(QUERIES)
    ref = weakref.ref(m._scanner)
    del m
    gc.collect()
    assert ref() is None


def test_normalisation_forms():
    assert fold("Straße") == "strasse"
    assert match_key("  New_York-City!! ") == "new york city"
    assert display_form("  New_York   City ") == "new york city"
    assert display_form("O'Clock") == "o'clock"
    assert match_key("...") == ""
    assert display_form("caf\udce9 bar") == "caf? bar"  # a lone surrogate cannot be written as UTF-8


@pytest.mark.skipif(len(IMPLEMENTATIONS) < 2, reason="the C scanner is not built")
def test_c_and_python_scanners_agree_on_real_captions(shared_data):
    import pyarrow.parquet as pq

    captions = [row for row in pq.read_table(shared_data / "real" / "img2dataset_test_1000.parquet").column("TEXT").to_pylist() if row is not None]
    with open(shared_data / "captions_dev.tsv", encoding="utf-8", newline="") as handle:
        captions += [row["text"] for row in csv.DictReader(handle, delimiter="\t")]
    # Queries: every word and adjacent word pair of half the captions, so matches are plentiful.
    keys = {}
    for caption in captions[::2]:
        tokens = match_key(caption).split()
        for gram in tokens + [" ".join(pair) for pair in zip(tokens, tokens[1:])]:
            keys.setdefault(gram, None)
    queries = list(keys)
    c = QueryMatcher.from_texts(queries, implementation="c", max_chars=200)
    py = QueryMatcher.from_texts(queries, implementation="python", max_chars=200)
    total = 0
    for caption in captions:
        expected = py.match(caption)
        assert c.match(caption) == expected, caption
        total += len(expected)
    assert total > len(captions)  # the comparison exercised real matches


def test_python_scanner_alone_rejects_bad_max_chars():
    with pytest.raises(ValueError):
        PythonScanner(["cat"], fold, 0)


@pytest.mark.skipif(len(IMPLEMENTATIONS) < 2, reason="the C scanner is not built")
def test_c_scanner_guards_against_misuse():
    scanner_type = matcher_module._CScanner
    with pytest.raises(RuntimeError, match="__init__"):
        scanner_type.__new__(scanner_type).match("cat")
    with pytest.raises(TypeError):
        scanner_type(("cat",), fold, 10)  # keys must be a list
    with pytest.raises(ValueError, match="max_chars"):
        scanner_type(["cat"], fold, 0)


def test_a_long_caption_with_thousands_of_matches_is_sorted_and_unique():
    words = [f"w{i}" for i in range(3000)]
    for implementation in IMPLEMENTATIONS:
        m = QueryMatcher.from_texts(words, max_chars=100_000, implementation=implementation)
        assert m.match(" ".join(reversed(words)) + " w7 w7") == list(range(3000))
