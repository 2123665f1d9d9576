"""Per-record logic of the match stage and the counts check, without Beam."""

import pytest

from wit.pipeline.counting import counts_summary, reconcile
from wit.queries.matcher import match_candidate
from wit.core.schema import candidate_row, candidates_schema
from wit.pipeline.write import rows_table
from wit.queries.matcher import QueryMatcher
from wit.core.errors import WitError
from wit.core.records import new_candidate


@pytest.fixture(scope="module")
def matcher():
    return QueryMatcher.from_texts(["bicycle", "red", "stone wall"])


def test_match_sets_the_ids_of_every_query_found(matcher):
    candidate = new_candidate("https://a/x.jpg", "a red bicycle by a stone wall")
    assert match_candidate(candidate, matcher)
    assert candidate["matches"] == [0, 1, 2]
    nothing = new_candidate("https://a/y.jpg", "a blue car")
    assert not match_candidate(nothing, matcher) and nothing["matches"] == []


def test_match_keeps_the_query_a_search_source_set(matcher):
    searched = new_candidate("https://a/z.jpg", "a red bicycle")
    searched["matches"] = [7]  # the query the search API was asked
    assert match_candidate(searched, matcher)
    assert searched["matches"] == [7]


def test_reconcile_prints_and_fails_loudly():
    summary = counts_summary({"input": 10, "kept": 3, "drop_nomatch": 5, "drop_cap": 2})
    assert reconcile(summary) == "input 10 = kept 3 + drops 7 (drop_nomatch 5, drop_cap 2)"
    broken = counts_summary({"input": 10, "kept": 3, "drop_nomatch": 5})
    with pytest.raises(WitError, match="off by 2"):
        reconcile(broken)


def test_candidate_rows_write_text_as_caption_and_meta_as_json():
    candidate = new_candidate("https://a/x.jpg", "a red bicycle", page_url="https://a/", source="f@1", text_field="alt")
    candidate.update(lang="en", lang_score=0.9, matches=[0, 1], selected_by=[1], meta={"license": "CC BY 4.0"})
    table = rows_table([candidate_row(candidate), candidate_row(new_candidate("https://a/y.jpg", "x"))])
    assert table.schema == candidates_schema()
    first = table.to_pylist()[0]
    assert first["caption"] == "a red bicycle" and "text" not in first
    assert first["meta"] == '{"license": "CC BY 4.0"}'
    assert table.to_pylist()[1]["meta"] == ""
