"""Query sources from fixtures in their real formats: WordNet db files, pageview dumps, XML dumps."""

import bz2
import gzip
import math
import shutil
from pathlib import Path

import pytest

from wit.queries import pageviews, wikipedia, wordnet
from wit.core.errors import WitError

FIXTURES = Path(__file__).parent / "fixtures" / "queries"
DUMP_XML = FIXTURES / "enwiki-sample-pages-articles.xml"

# Real lines in the hourly pageviews format (domain_code page_title count_views total_response_size).
PAGEVIEW_LINES = """\
en.wikipedia Main_Page 242332 0
en.wikipedia Barack_Obama 120 0
en.m.wikipedia Barack_Obama 80 0
en.wikipedia Special:Search 5000 0
en.wikipedia File:Cat_poster_1.jpg 900 0
en.wikipedia Mercury_(planet) 300 0
en.wikipedia New_York_City 450 0
de.wikipedia Berlin 7000 0
en.wiktionary cat 800 0
en.wikipedia Caf%C3%A9 250 0
en.wikipedia Rare_article 3 0
en Old_Style_Domain 60 0
en.wikipedia broken_line_without_counts
en.wikipedia Bad_Count x 0
"""


@pytest.fixture
def dump_bz2(tmp_path) -> Path:
    path = tmp_path / "enwiki-20240101-pages-articles1.xml-p1p41242.bz2"
    path.write_bytes(bz2.compress(DUMP_XML.read_bytes()))
    return path


# ---------------------------------------------------------------------------------------------
# WordNet


def test_wordnet_lemmas_from_the_database_files():
    found = wordnet.find_wordnet_dir(FIXTURES / "wordnet")
    texts = [entry.text for entry in wordnet.read_wordnet_entries(found)]
    assert {"entity", "cat", "true cat", "domestic cat", "Felis catus", "kitty-cat", "The Hague", "'s Gravenhage", "U.S.A.", "a cappella"} <= set(texts)
    assert "outback" in texts and "outback(a)" not in texts  # adjective marker stripped
    assert "breathe" in texts and "take a breath" in texts
    assert len(texts) == len(set(texts))
    assert not any("This software" in text for text in texts)  # licence header skipped


def test_wordnet_dir_must_hold_the_data_files(tmp_path):
    with pytest.raises(WitError, match="no WordNet data"):
        wordnet.find_wordnet_dir(tmp_path)


def test_malformed_wordnet_line_names_the_file_and_line(tmp_path):
    for name in wordnet.DATA_FILES:
        shutil.copy(FIXTURES / "wordnet" / name, tmp_path / name)
    with open(tmp_path / "data.noun", "a", encoding="utf-8") as handle:
        handle.write("02121620 05 n 0f cat 0 | too few words for the hex count\n")
    with pytest.raises(WitError, match=r"data\.noun, line 36: malformed"):
        wordnet.read_wordnet_entries(tmp_path)


# ---------------------------------------------------------------------------------------------
# Pageviews


def test_pageview_line_parsing():
    assert pageviews.parse_pageview_line("en.wikipedia Barack_Obama 120 0\n") == ("Barack Obama", 120)
    assert pageviews.parse_pageview_line("en.wikipedia Mercury_(planet) 300 0") == ("Mercury", 300)
    assert pageviews.parse_pageview_line("en.wikipedia Special:Search 5000 0") is None
    assert pageviews.parse_pageview_line("de.wikipedia Berlin 7000 0") is None
    assert pageviews.parse_pageview_line("en.wikipedia Main_Page 242332 0") is None
    with pytest.raises(ValueError):
        pageviews.parse_pageview_line("en.wikipedia Bad_Count x 0")
    with pytest.raises(ValueError):
        pageviews.parse_pageview_line("en.wikipedia only_two")


def test_titles_are_summed_over_hourly_files_and_thresholded(tmp_path, caplog):
    first = tmp_path / "pageviews-20240101-000000.gz"
    second = tmp_path / "pageviews-20240101-010000.gz"
    first.write_bytes(gzip.compress(PAGEVIEW_LINES.encode()))
    second.write_bytes(gzip.compress(b"en.wikipedia Barack_Obama 100 0\nen.wikipedia Rare_article 2 0\n"))
    totals = pageviews.sum_pageviews([str(first), str(second)])
    assert totals["Barack Obama"] == 300  # desktop + mobile, both hours
    assert totals["Rare article"] == 5
    assert totals["Café"] == 250  # percent-escapes decoded
    assert totals["Old Style Domain"] == 60
    assert "Berlin" not in totals and "cat" not in totals and not any(":" in title for title in totals)
    assert "2 lines were not" in caplog.text  # malformed lines are counted, not silently lost

    entries = pageviews.title_entries([str(first), str(second)], min_pageviews=100)
    assert [(e.text, e.pageviews) for e in entries] == [("New York City", 450), ("Barack Obama", 300), ("Mercury", 300), ("Café", 250)]


def test_missing_pageview_file_is_a_wit_error(tmp_path):
    with pytest.raises(WitError, match="no such file"):
        pageviews.sum_pageviews([str(tmp_path / "pageviews-20240101-000000.gz")])


# ---------------------------------------------------------------------------------------------
# Wikipedia dump


def test_articles_are_streamed_from_a_bz2_dump(dump_bz2):
    articles = list(wikipedia.iter_articles(str(dump_bz2)))
    assert [title for title, _ in articles] == ["Cat", "New York City", "Dog"]  # no redirect, no Talk page


def test_markup_is_stripped_to_prose():
    cat_text = dict(wikipedia.iter_articles(str(DUMP_XML)))["Cat"]
    prose = wikipedia.strip_wikitext(cat_text)
    for hidden in ("zzfileonly", "zzcommentonly", "zztableonly", "Infobox", "cite web", "Category", "Chat", "https"):
        assert hidden not in prose
    assert "The cat (Felis catus) is a small carnivorous mammal." in prose
    assert "zzexternallabel" in prose  # an external link's label is prose
    assert "Behaviour" in prose
    assert wikipedia.strip_wikitext("[[Star Wars: A New Hope]] and [[:Category:Cats|cats]]") == "Star Wars: A New Hope and cats"


def test_bigrams_stay_within_sentences():
    unigrams, bigrams = wikipedia.article_ngram_counts("The cat sleeps. Dogs bark, cats purr\nin York")
    assert unigrams["the"] == 1 and unigrams["cat"] == 1
    assert "sleeps dogs" not in bigrams and "purr in" not in bigrams
    assert bigrams["the cat"] == 1 and bigrams["in york"] == 1


def test_pmi_formula_and_scoring():
    assert wikipedia.bigram_pmi(6, 6, 6, 96) == pytest.approx(math.log2(16))
    unigrams = {"new": 6, "york": 6}
    assert list(wikipedia.score_bigram(("new york", 6), unigrams, 96, 4.0)) == [("new york", 6, pytest.approx(4.0))]
    assert list(wikipedia.score_bigram(("new york", 6), unigrams, 96, 4.5)) == []
    assert list(wikipedia.score_bigram(("new jersey", 6), unigrams, 96, 0.0)) == []  # both words must be kept


def test_malformed_and_truncated_dumps_are_wit_errors(tmp_path):
    broken = tmp_path / "broken.xml"
    broken.write_text(DUMP_XML.read_text()[:3000])
    with pytest.raises(WitError, match="malformed XML"):
        list(wikipedia.iter_articles(str(broken)))
    not_mediawiki = tmp_path / "other.xml"
    not_mediawiki.write_text("<html><body>hi</body></html>")
    with pytest.raises(WitError, match="not <mediawiki>"):
        list(wikipedia.iter_articles(str(not_mediawiki)))
    truncated = tmp_path / "truncated.xml.bz2"
    truncated.write_bytes(bz2.compress(DUMP_XML.read_bytes())[:500])
    with pytest.raises(WitError, match="truncated|malformed"):
        list(wikipedia.iter_articles(str(truncated)))


@pytest.mark.slow
def test_beam_count_job_on_two_dump_files(tmp_path, dump_bz2):
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner

    second = tmp_path / "enwiki-20240101-pages-articles2.xml"
    shutil.copy(DUMP_XML, second)
    unigram_files, bigram_files = wikipedia.run_count_job(
        [str(dump_bz2), str(second)],
        str(tmp_path / "work" / "counts-"),
        PipelineOptions(["--direct_running_mode=in_memory"]),
        min_count=6,
        min_bigram_count=6,
        pmi_threshold=3.7,
        runner=FnApiRunner(),
    )
    unigrams = {word: int(n) for word, n in wikipedia.read_count_files(unigram_files)}
    bigrams = {pair: (int(n), float(pmi)) for pair, n, pmi in wikipedia.read_count_files(bigram_files)}
    # Both files count: each word's count is twice its count in one file.
    assert unigrams == {"the": 32, "cat": 18, "is": 16, "new": 12, "york": 12, "dog": 12, "a": 10, "in": 8, "city": 8, "and": 6}
    total_tokens = sum(sum(wikipedia.article_ngram_counts(text)[0].values()) for _, text in wikipedia.iter_articles(str(DUMP_XML))) * 2
    # 'new york' scores log2 3.95; 'in new' 3.54, 'is a' 3.22, 'the cat' 2.18 fall under 3.7.
    assert set(bigrams) == {"new york"}
    count, pmi = bigrams["new york"]
    assert count == 12 and pmi == pytest.approx(math.log2(12 * total_tokens / (12 * 12)))
