"""MetaCLIP's metadata.json as a query list, and `wit queries compare A B`."""

import json

import pytest

from wit.app.cli import main
from wit.core.errors import WitError
from wit.queries.compare import compare_query_lists
from wit.queries.entry import QueryEntry
from wit.queries.matcher import QueryMatcher
from wit.queries.querylist import build_query_list, load_query_list, read_json_list

# The shape of MetaCLIP's released metadata.json: one JSON list of strings, case-sensitive, so the
# same word may appear in several spellings; a few entries are punctuation only.
METACLIP_LIKE = ["cat", "Apple", "apple", "New York", "new-york", "Golden Gate Bridge", "!!", "  tabby  ", "zebra", "O'Neill"]


@pytest.fixture
def metadata_json(tmp_path):
    path = tmp_path / "metadata.json"
    path.write_text(json.dumps(METACLIP_LIKE), encoding="utf-8")
    return path


@pytest.fixture
def our_list(tmp_path):
    query_list = build_query_list(
        {
            "wordfreq": [QueryEntry("cat", "wordfreq", count=900), QueryEntry("apple", "wordfreq", count=800), QueryEntry("dog", "wordfreq", count=700)],
            "wiki_bigram": [QueryEntry("new york", "wiki_bigram", count=50, pmi=9.0), QueryEntry("ice cream", "wiki_bigram", count=40, pmi=8.0)],
            "wordnet": [QueryEntry("zebra", "wordnet"), QueryEntry("Felis catus", "wordnet")],
        }
    )
    path = tmp_path / "ours.parquet"
    query_list.save(path)
    return path


def test_metadata_json_loads_merging_spellings_the_matcher_cannot_tell_apart(metadata_json, caplog):
    loaded = read_json_list(str(metadata_json))
    assert loaded.query_list.texts == ["cat", "Apple", "New York", "Golden Gate Bridge", "tabby", "zebra", "O'Neill"]
    assert (loaded.strings, loaded.merged, loaded.unmatchable) == (10, 2, 1)
    assert loaded.strings == len(loaded.query_list) + loaded.merged + loaded.unmatchable
    assert "10 strings -> 7 queries" in caplog.text
    # --queries takes it like any other list: the matcher finds its queries in captions.
    query_list = load_query_list(str(metadata_json))
    assert not query_list.has_source_column
    matcher = QueryMatcher.from_query_list(query_list)
    found = {query_list.texts[i] for i in matcher.match("An apple on the Golden Gate bridge in new york")}
    assert found == {"Apple", "Golden Gate Bridge", "New York"}


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"cat": 1}', "holds a dict, expected a list of strings"),
        ('["cat", 3]', "entry 1: int 3, expected a string"),
        ('["cat", ', "not valid JSON"),
        ("[]", "no queries"),
        ('["!!", "--"]', "no queries"),
        ('["a\\nb"]', "entry 0: query contains a line break"),
    ],
)
def test_a_wrong_json_file_is_a_clear_error(tmp_path, content, message):
    path = tmp_path / "metadata.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(WitError, match=message):
        load_query_list(str(path))


def test_a_binary_or_unknown_file_is_a_clear_error(tmp_path):
    gz = tmp_path / "metadata.json"
    gz.write_bytes(b"\x1f\x8b\x08\x00\xff\xfe\x00")
    with pytest.raises(WitError, match="not UTF-8|not valid JSON"):
        load_query_list(str(gz))
    with pytest.raises(WitError, match=r"give a \.parquet, \.txt or \.json"):
        load_query_list(str(tmp_path / "queries.csv"))
    with pytest.raises(WitError, match="no such file"):
        load_query_list(str(tmp_path / "absent.json"))


def test_compare_counts_overlap_by_match_key_and_by_source(our_list, metadata_json):
    ours = load_query_list(str(our_list))
    theirs = read_json_list(str(metadata_json))
    result = compare_query_lists(ours, theirs.query_list, "ours", "theirs", b_strings=theirs.strings, examples=5)
    # Shared: cat, apple (as 'Apple'), new york (as 'New York'), zebra.
    assert result.shared == 4
    assert (result.a.queries, result.a.only_here) == (7, 3)
    assert (result.b.queries, result.b.strings, result.b.only_here) == (7, 10, 3)
    assert result.a.examples_only_here == ["dog", "ice cream", "felis catus"]
    assert result.b.examples_only_here == ["Golden Gate Bridge", "tabby", "O'Neill"]
    by_source = {row.source: (row.queries, row.shared) for row in result.a.by_source}
    assert by_source == {"wordfreq": (3, 2), "wiki_bigram": (2, 1), "wordnet": (2, 1)}
    assert sum(q for q, _ in by_source.values()) == result.a.queries
    assert sum(s for _, s in by_source.values()) == result.shared
    assert result.b.by_source is None


def test_wit_queries_compare_prints_sizes_overlap_and_sources(our_list, metadata_json, capsys):
    assert main(["queries", "compare", str(our_list), str(metadata_json), "--examples", "2"]) == 0
    out = capsys.readouterr().out
    assert f"A  {our_list}: 7 queries" in out
    assert f"B  {metadata_json}: 7 queries (10 strings in the file)" in out
    assert "in both      4 queries (57.1% of A, 57.1% of B)" in out
    assert "wordfreq" in out and "wiki_bigram" in out
    assert "B by source: no source column" in out
    assert "first only in A: dog, ice cream" in out


def test_wit_queries_compare_names_a_wrong_file_in_one_line(our_list, tmp_path, capsys):
    wrong = tmp_path / "metadata.json"
    wrong.write_text('{"not": "a list"}', encoding="utf-8")
    assert main(["queries", "compare", str(our_list), str(wrong)]) == 1
    err = capsys.readouterr().err
    assert "metadata.json" in err and "expected a list of strings" in err
