"""The query list: union and dedup, size, save/load, content hash, malformed files, the default."""

import hashlib

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from wit.queries import querylist
from wit.queries.entry import QueryEntry
from wit.queries.querylist import QueryList, build_query_list, load_query_list
from wit.core.errors import WitError


def entries(source, *texts, **evidence):
    return [QueryEntry(text, source, **evidence) for text in texts]


def test_union_dedups_on_the_match_key_and_credits_the_first_source():
    query_list = build_query_list(
        {
            "wordnet": entries("wordnet", "New_York", "Ice-Cream", "entity"),
            "wiki_unigram": [QueryEntry("Cat", "wiki_unigram", count=500), QueryEntry("york", "wiki_unigram", count=300)],
            "wiki_bigram": [QueryEntry("new york", "wiki_bigram", count=200, pmi=9.5)],
            "wiki_title": [QueryEntry("New York", "wiki_title", pageviews=12345), QueryEntry("Ice cream", "wiki_title", pageviews=99)],
        }
    )
    rows = {text: i for i, text in enumerate(query_list.texts)}
    assert set(rows) == {"cat", "york", "new york", "ice cream", "entity"}
    new_york = rows["new york"]
    # Credited to the bigram source (earlier in SOURCE_PRIORITY than titles and WordNet) ...
    assert query_list.sources[new_york] == "wiki_bigram"
    # ... with the evidence of every source that had it.
    assert query_list.pmi[new_york] == 9.5 and query_list.pageviews[new_york] == 12345 and query_list.count[new_york] == 200
    assert query_list.sources[rows["ice cream"]] == "wiki_title"
    assert query_list.sources[rows["entity"]] == "wordnet"
    # Priority order is the row order; within a source the strongest evidence comes first.
    assert query_list.texts[:2] == ["cat", "york"]


def test_texts_are_folded_display_forms_and_punctuation_only_entries_are_dropped():
    query_list = build_query_list({"extra": entries("extra", "  Straße  ", "O'Clock", "!!!", "", "Ｔｏｋｙｏ")})
    assert query_list.texts == ["strasse", "o'clock", "tokyo"]


def test_size_keeps_protected_sources_then_the_strongest_of_each_source():
    query_list = build_query_list(
        {
            "extra": entries("extra", "my query"),
            "wiki_unigram": [QueryEntry(f"word{i}", "wiki_unigram", count=1000 - i) for i in range(10)],
            "wiki_title": [QueryEntry(f"title{i}", "wiki_title", pageviews=10_000 - i) for i in range(10)],
            "wordnet": entries("wordnet", "lemma one", "lemma two"),
        },
        size=9,
    )
    assert len(query_list) == 9
    assert {"my query", "lemma one", "lemma two"} <= set(query_list.texts)
    # The remaining six slots are shared by rank within each source: the top three of each.
    assert [t for t in query_list.texts if t.startswith("word")] == ["word0", "word1", "word2"]
    assert [t for t in query_list.texts if t.startswith("title")] == ["title0", "title1", "title2"]


def test_size_must_be_positive():
    with pytest.raises(WitError):
        build_query_list({"extra": entries("extra", "cat")}, size=0)


def test_save_and_load_round_trip_with_the_content_hash_of_the_txt(tmp_path):
    original = build_query_list(
        {
            "wiki_unigram": [QueryEntry("cat", "wiki_unigram", count=7)],
            "wiki_bigram": [QueryEntry("new york", "wiki_bigram", count=3, pmi=6.25)],
            "wiki_title": [QueryEntry("Lady Gaga", "wiki_title", pageviews=4242)],
        }
    )
    parquet_path, txt_path = original.save(tmp_path / "list.parquet")
    table = pq.read_table(parquet_path)
    assert table.column_names == ["id", "text", "source", "count", "pmi", "pageviews"]
    assert table.column("id").to_pylist() == [0, 1, 2]
    assert txt_path.read_text(encoding="utf-8") == "cat\nnew york\nlady gaga\n"
    assert original.content_hash == hashlib.sha256(txt_path.read_bytes()).hexdigest()

    loaded = load_query_list(str(parquet_path))
    assert loaded.texts == original.texts and loaded.sources == original.sources
    assert loaded.count == [7, 3, None] and loaded.pmi == [None, 6.25, None] and loaded.pageviews == [None, None, 4242]
    assert loaded.content_hash == original.content_hash
    from_txt = load_query_list(str(txt_path))
    assert from_txt.texts == original.texts and from_txt.content_hash == original.content_hash


@pytest.mark.parametrize(
    "content, message",
    [
        (b"cat\n\ndog\n", "line 2: empty query"),
        (b"cat\ndog\n\xff\xfebad\n", "line 3: not valid UTF-8"),
        (b"cat\nIce cream\nice-cream\n", "line 3: 'ice-cream' duplicates line 2"),
        (b"cat\n...\n", "line 2: '...' has no letters or digits"),
        (b"", "no queries"),
    ],
)
def test_malformed_txt_query_file_names_the_line(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(WitError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_query_list(str(path))


def test_malformed_parquet_query_files(tmp_path):
    missing = tmp_path / "missing.parquet"
    pq.write_table(pa.table({"query": ["cat"]}), missing)
    with pytest.raises(WitError, match="missing column"):
        load_query_list(str(missing))
    gaps = tmp_path / "gaps.parquet"
    pq.write_table(pa.table({"id": [0, 2], "text": ["cat", "dog"]}), gaps)
    with pytest.raises(WitError, match="row 1: id is 2, expected 1"):
        load_query_list(str(gaps))
    empty_text = tmp_path / "empty.parquet"
    pq.write_table(pa.table({"id": [0, 1], "text": ["cat", None]}), empty_text)
    with pytest.raises(WitError, match="row 1 .*empty query"):
        load_query_list(str(empty_text))
    garbage = tmp_path / "garbage.parquet"
    garbage.write_bytes(b"not parquet at all")
    with pytest.raises(WitError, match="not a readable parquet"):
        load_query_list(str(garbage))


def test_unknown_spec_and_missing_file():
    with pytest.raises(WitError, match=r"\.parquet, \.txt or \.json"):
        load_query_list("queries.csv")
    with pytest.raises(WitError, match="no such file"):
        load_query_list("/nonexistent/queries.txt")


def test_query_list_columns_must_line_up():
    with pytest.raises(ValueError):
        QueryList(texts=["a", "b"], sources=["extra"])


@pytest.mark.slow
def test_default_list_is_built_once_then_read_from_the_cache(tmp_path, monkeypatch):
    from wit.queries import wordnet

    monkeypatch.setenv("WIT_CACHE", str(tmp_path / "cache"))
    first = querylist.load_default_query_list(size=200_000)
    assert len(first) == 200_000
    assert first.texts[:3] == ["the", "to", "and"]  # wordfreq's most frequent words lead
    counts = first.source_counts()
    if wordnet.find_wordnet_dir() is not None:
        # WordNet is kept whole (the paper adds all synsets); wordfreq fills the rest by frequency.
        assert set(counts) == {"wordfreq", "wordnet"} and counts["wordnet"] > 50_000
        assert {"domestic cat", "felis catus"} <= set(first.texts)
    else:
        assert set(counts) == {"wordfreq"}
    cached = list((tmp_path / "cache").glob("default-queries-*.parquet"))
    assert len(cached) == 1 and cached[0].with_suffix(".txt").exists()

    def no_rebuild(**kwargs):
        raise AssertionError("the cached default should have been read")

    monkeypatch.setattr(querylist, "build_default_query_list", no_rebuild)
    again = querylist.load_default_query_list(size=200_000)
    assert again.texts == first.texts and again.content_hash == first.content_hash


def test_save_to_an_fsspec_url(tmp_path):
    import fsspec

    query_list = build_query_list({"extra": entries("extra", "cat", "new york")})
    url = f"memory://{tmp_path.name}/lists/queries.parquet"
    parquet_url, txt_url = query_list.save(url)
    assert txt_url == f"memory://{tmp_path.name}/lists/queries.txt"
    with fsspec.open(txt_url, "rb") as handle:
        assert handle.read() == b"cat\nnew york\n"
    assert load_query_list(parquet_url).texts == ["cat", "new york"]
