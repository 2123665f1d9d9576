"""wit.queries._ngramcount.NgramCounter, the dump counter's C word and pair counter, against
wikipedia.PythonNgramCounter, its pure-Python twin.

The two must count exactly the same: the same token totals from add(), the same len() after every
article, the same drain() dicts, and drain_runs() buckets holding the same lines as
spill.run_buckets makes of those dicts (line order inside a bucket is free: the merge sums). Checked
on the wikitext fixtures (the test dump's articles and test_queries_wikitext's article, after
wikipedia.article_prose) and on seeded random prose built from where a re-implementation would go
wrong: the segment breaks, Unicode letters and digits of every string kind (Latin-1, BMP, astral),
NFKC and casefold changes (ligatures, full-width, 'ß', dotted I, mathematical letters), combining
marks, underscores, lone surrogates, tokens longer than any buffer, and enough distinct words and
pairs to grow every table.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from c_extensions import c_extension
from test_queries_wikitext import ARTICLE
from wit.queries import dump_counts, spill, wikipedia

ngramcount = c_extension("wit.queries._ngramcount")

DUMP_XML = Path(__file__).parent / "fixtures" / "queries" / "enwiki-sample-pages-articles.xml"

# Pieces of prose, each chosen for a way the C counter could part from the Python one.
ALPHABET = [
    "a", "Z", "q", "7", "0", " ", " ", " ", "\t", "_", "-", "'", "/", "&", "#",
    "\n", ".", "!", "?", ";", ":", ",", "(", ")", "[", "]", "{", "}", '"', "|", "\u2013", "\u2014",  # segment breaks
    "\u2012", "\u2015", "\u2024", "\uff01", "\uff0e",  # dashes that do not break; NFKC makes '.', '!' only after the split
    "é", "Ä", "ß", "ÿ", "\u00aa", "\u00b2", "\u00bd",  # Latin-1: letters, ordinal, superscript digit, fraction
    "\ufb01", "\uff21", "\u0130", "\u03a3", "\u0399\u0308", "e\u0301", "\u0301",  # ligature, full-width, dotted I, sigma, combining
    "\u4e2d", "\u0661", "\u2167", "\u00a0", "\u200b", "\u3000",  # CJK, Arabic-Indic digit, Roman numeral, odd spaces
    "\U0001d400", "\U0001d7ce", "\U0001f600", "\U00010400",  # mathematical letter and digit, emoji, Deseret capital
    "\ud800", "\udfff",  # lone surrogates: separators
]
WORDS = ["the", "cat", "New", "YORK", "straße", "Strasse", "école", "ÉCOLE", "ﬁsh", "İstanbul", "x" * 300, "é" * 200, "𝐀𝐁"]


def random_prose(rng: random.Random, length: int) -> str:
    parts = []
    while len(parts) < length:
        if rng.random() < 0.3:
            parts.append(rng.choice(WORDS))
        else:
            parts.append(rng.choice(ALPHABET))
    return "".join(parts)


def many_words(count: int, seed: int) -> list[str]:
    """Prose with `count` words from a vocabulary large enough to grow the word and pair tables."""
    rng = random.Random(seed)
    vocabulary = ["".join(rng.choice("abcdefghij") for _ in range(rng.randint(1, 7))) for _ in range(20_000)]
    return [" ".join(rng.choice(vocabulary) for _ in range(200)) + rng.choice([". ", "\n", " "]) for _ in range(count // 200)]


def fixture_proses() -> list[str]:
    return [wikipedia.article_prose(text) for _, text in wikipedia.iter_articles(str(DUMP_XML))] + [wikipedia.article_prose(ARTICLE)]


def lines_per_bucket(buckets: list[bytes]) -> list[list[bytes]]:
    return [sorted(bucket.splitlines()) for bucket in buckets]


def assert_same_counts(proses: list[str]) -> None:
    c_counter = wikipedia.ngram_counter("c")
    python_counter = wikipedia.ngram_counter("python")
    assert isinstance(c_counter, ngramcount.NgramCounter)
    for prose in proses:
        assert c_counter.add(prose) == python_counter.add(prose), prose
        assert len(c_counter) == len(python_counter), prose
    c_words, c_pairs = c_counter.drain()
    python_words, python_pairs = python_counter.drain()
    assert c_words == python_words
    assert c_pairs == python_pairs
    assert len(c_counter) == 0 and c_counter.drain() == ({}, {})


def test_the_fixture_articles_count_the_same():
    proses = fixture_proses()
    assert_same_counts(proses)
    counter = wikipedia.ngram_counter("c")
    for prose in proses:
        counter.add(prose)
    words, pairs = counter.drain()
    # The dump's counts (test_queries_dump_counts.py counts two copies), the article's clitics cut.
    assert (words["cat"], words["york"], pairs["new york"]) == (9, 6, 6)
    assert "aristotle" in words and "s" not in words
    assert {word for word in words if "zz" in word} == {"zzexternallabel"}  # an external link's label is shown


@pytest.mark.parametrize("seed", range(6))
def test_random_unicode_prose_counts_the_same(seed):
    rng = random.Random(seed)
    assert_same_counts([random_prose(rng, rng.randint(0, 400)) for _ in range(300)])


def test_tables_grow_and_counts_pass_256():
    proses = many_words(60_000, seed=1)
    c_counter = wikipedia.ngram_counter("c")
    for prose in proses:
        c_counter.add(prose)
    words, pairs = c_counter.drain()
    assert len(words) > 8_192 and len(pairs) > 32_768  # what the first tables hold: both grew
    assert max(words.values()) > 256  # past the small ints CPython caches
    assert_same_counts(proses)


@pytest.mark.parametrize("partitions", [1, 7, 512])
def test_drain_runs_are_spill_run_buckets_of_drain(partitions):
    proses = fixture_proses() + many_words(4_000, seed=2) + [random_prose(random.Random(3), 2_000)]
    c_counter, python_counter = wikipedia.ngram_counter("c"), wikipedia.ngram_counter("python")
    for prose in proses:
        c_counter.add(prose)
        python_counter.add(prose)
    python_words, python_pairs = python_counter.drain()
    c_word_buckets, c_pair_buckets = c_counter.drain_runs(partitions)
    assert len(c_word_buckets) == len(c_pair_buckets) == partitions
    assert lines_per_bucket(c_word_buckets) == lines_per_bucket(spill.run_buckets(python_words, partitions))
    assert lines_per_bucket(c_pair_buckets) == lines_per_bucket(spill.run_buckets(python_pairs, partitions))
    assert len(c_counter) == 0


def test_the_counter_refuses_what_it_cannot_count(tmp_path):
    counter = wikipedia.ngram_counter("c")
    with pytest.raises(TypeError):
        counter.add(b"bytes are not prose")
    with pytest.raises(ValueError):
        counter.drain_runs(0)
    with pytest.raises(TypeError):
        ngramcount.NgramCounter("not callable")
    with pytest.raises(TypeError, match="returned int, not str"):
        ngramcount.NgramCounter(lambda text: 5).add("non-ASCII é")  # a fold that returns no str
    with pytest.raises(ValueError, match="unknown counter"):
        wikipedia.ngram_counter("fortran")
    with pytest.raises(ValueError, match="unknown counter"):
        dump_counts.count_dump([str(DUMP_XML)], tmp_path / "work", 1, 1, 0.0, counter="fortran")
    assert not (tmp_path / "work").exists()  # refused before any work


def test_the_dump_counter_gives_the_same_lists_with_either_counter(tmp_path, monkeypatch):
    monkeypatch.setattr(dump_counts, "PIECE_XML_BYTES", 1500)  # several pieces
    results = {}
    for implementation in ("c", "python"):
        words, pairs, totals = dump_counts.count_dump([str(DUMP_XML)], tmp_path / implementation, 2, 2, 1.0, workers=1,
                                                      partitions=3, max_keys=11, counter=implementation)
        results[implementation] = (words, pairs, totals["tokens"], totals["articles"])
    assert results["c"] == results["python"]
    assert results["c"][0] and results["c"][1]


def run_chunks(seed: int) -> list[bytes]:
    """Partitions of several runs, as spill.run_buckets writes them, with keys of every kind."""
    rng = random.Random(seed)
    chunks = []
    for _ in range(5):
        counts = {random_prose(rng, rng.randint(1, 12)).replace("\t", " ").replace("\n", " ").replace("\r", " "): rng.randint(1, 400)
                  for _ in range(300)}
        counts.update({f"word{n}": n for n in range(0, 900, 7)})  # shared by every run: summed across them
        counts = {key.encode("utf-8", "surrogatepass").decode("utf-8", "replace"): count for key, count in counts.items()}
        chunks.extend(spill.run_buckets(counts, 3))
    return chunks


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("min_count", [1, 100, 2_000])
def test_the_c_sum_of_run_lines_is_the_python_sum(seed, min_count):
    chunks = run_chunks(seed)
    python_sums = spill.sum_run_lines(chunks, min_count)
    assert sorted(ngramcount.sum_run_lines(chunks, min_count)) == sorted(python_sums)
    assert dict(python_sums).get("word700") == (5 * 700 if min_count <= 3_500 else None)
    assert all(count >= min_count for _, count in python_sums)


def test_run_lines_split_as_bytes_splitlines_and_bad_lines_are_refused():
    chunk = b"a b\t2\r\nc\t3\rtab\tin key\t4\na b\t5\n"
    assert sorted(ngramcount.sum_run_lines([chunk], 1)) == sorted(spill.sum_run_lines([chunk], 1)) == [("a b", 7), ("c", 3), ("tab\tin key", 4)]
    for bad in (b"no tab\n", b"key\t\n", b"key\t-3\n", b"key\t1x\n", b"ok\t1\n\nok\t2\n"):
        with pytest.raises(ValueError, match="is not 'key"):
            ngramcount.sum_run_lines([bad], 1)
        with pytest.raises(ValueError, match="is not 'key"):
            spill.sum_run_lines([bad], 1)
    with pytest.raises(TypeError):
        ngramcount.sum_run_lines(["not bytes"], 1)


def test_without_the_extension_the_dump_counter_falls_back_to_python(tmp_path, monkeypatch):
    with_c = dump_counts.count_dump([str(DUMP_XML)], tmp_path / "c", 2, 2, 1.0, workers=1, partitions=3)
    monkeypatch.setattr(wikipedia, "_CNgramCounter", None)
    monkeypatch.setattr(spill, "_c_sum_run_lines", None)
    assert isinstance(wikipedia.ngram_counter(), wikipedia.PythonNgramCounter)
    with pytest.raises(ValueError, match="not built"):
        wikipedia.ngram_counter("c")
    without_c = dump_counts.count_dump([str(DUMP_XML)], tmp_path / "python", 2, 2, 1.0, workers=1, partitions=3)
    assert without_c[:2] == with_c[:2] and without_c[2]["tokens"] == with_c[2]["tokens"]
