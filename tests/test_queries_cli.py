"""`wit queries build` and `wit queries match`, end to end through the `wit` command frame."""

import bz2
import gzip
import hashlib
import io
import json
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from wit.app.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "queries"


def run_wit(argv, stdin_bytes=b"", monkeypatch=None):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin_bytes), encoding="utf-8"))
    return main(argv)


def test_queries_help_lists_both_commands(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["queries", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "build" in out and "match" in out


@pytest.mark.slow
def test_build_from_every_real_source_then_match(tmp_path, capsys, monkeypatch):
    dump = tmp_path / "enwiki-20240101-pages-articles.xml.bz2"
    dump.write_bytes(bz2.compress((FIXTURES / "enwiki-sample-pages-articles.xml").read_bytes()))
    views = tmp_path / "pageviews-20240101-000000.gz"
    views.write_bytes(gzip.compress(b"en.wikipedia Golden_Gate_Bridge 1500 0\nen.wikipedia Obscure_Page 3 0\nen.wikipedia Talk:Cat 5000 0\n"))
    extra = tmp_path / "extra.txt"
    extra.write_text("Selfie Stick\n", encoding="utf-8")
    out = tmp_path / "lists" / "queries.parquet"

    code = main(
        [
            "queries", "build", "--out", str(out),
            "--wiki-dump", str(dump), "--min-count", "3", "--min-bigram-count", "3", "--pmi-threshold", "3.7",
            "--pageviews", str(views), "--min-pageviews", "100",
            "--wordnet-dir", str(FIXTURES / "wordnet"),
            "--extra", str(extra),
            "--runner", "direct", "--direct-running-mode", "in_memory",
        ]
    )  # fmt: skip
    assert code == 0
    table = pq.read_table(out).to_pydict()
    rows = dict(zip(table["text"], zip(table["source"], table["count"], table["pmi"], table["pageviews"])))
    assert rows["selfie stick"][0] == "extra"
    assert rows["cat"][:2] == ("wiki_unigram", 9)
    assert rows["new york"][0] == "wiki_bigram" and rows["new york"][2] > 3.7
    assert rows["golden gate bridge"] == ("wiki_title", None, None, 1500)
    assert rows["domestic cat"][0] == "wordnet"
    assert "obscure page" not in rows and "talk:cat" not in rows and "felis" not in rows  # felis: 1 < min-count
    assert "the cat" not in rows  # low PMI
    txt = out.with_suffix(".txt")
    assert txt.read_text(encoding="utf-8").splitlines() == table["text"]
    assert hashlib.sha256(txt.read_bytes()).hexdigest() in capsys.readouterr().out
    # The counting job's outputs stay beside the list, as evidence.
    assert list(out.parent.glob("queries-wikipedia-unigrams*.tsv"))
    # So do the pageview runs, which a rerun resumes from.
    assert list(out.parent.glob("queries-pageviews/batch-000000/run-*.tsv"))

    capsys.readouterr()
    captions = "A Domestic-Cat on the GOLDEN GATE BRIDGE\nno match here zzz\n".encode() + b"bad \xff\xfe utf8 cat\n"
    assert run_wit(["queries", "match", "--queries", str(out)], captions, monkeypatch) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 3
    assert set(lines[0]["matches"]) >= {"cat", "domestic cat", "golden gate bridge", "the"}
    assert [table["text"][i] for i in lines[0]["ids"]] == lines[0]["matches"]
    assert lines[2]["caption"] == "bad \ufffd\ufffd utf8 cat" and "cat" in lines[2]["matches"]


def test_match_with_a_txt_list(tmp_path, capsys, monkeypatch):
    queries = tmp_path / "q.txt"
    queries.write_text("cat\nNew York\nice cream\n", encoding="utf-8")
    assert run_wit(["queries", "match", "--queries", str(queries)], b"Cat in NEW-YORK\ncategory\n\n", monkeypatch) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines == [
        {"caption": "Cat in NEW-YORK", "matches": ["cat", "New York"], "ids": [0, 1]},
        {"caption": "category", "matches": [], "ids": []},
        {"caption": "", "matches": [], "ids": []},
    ]


def test_malformed_query_file_is_one_line_error_naming_the_line(tmp_path, capsys, monkeypatch):
    queries = tmp_path / "q.txt"
    queries.write_bytes(b"cat\ndog\n\nbird\n")
    assert run_wit(["queries", "match", "--queries", str(queries)], b"cat\n", monkeypatch) == 1
    err = capsys.readouterr().err
    assert err.startswith("wit: error:") and "line 3: empty query" in err and err.count("\n") == 1


def test_build_refuses_bad_numbers_and_prism(tmp_path, capsys):
    assert main(["queries", "build", "--out", str(tmp_path / "q.parquet"), "--size", "0", "--no-wordnet"]) == 1
    assert "--size must be >= 1" in capsys.readouterr().err
    dump = tmp_path / "d.xml"
    dump.write_text("<mediawiki></mediawiki>")
    assert main(["queries", "build", "--out", str(tmp_path / "q.parquet"), "--wiki-dump", str(dump), "--runner", "PrismRunner"]) == 1
    assert "Prism" in capsys.readouterr().err


def test_a_dry_run_without_a_dump_is_refused_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "q.parquet"
    assert main(["queries", "build", "--out", str(out), "--wordnet-dir", str(FIXTURES / "wordnet"), "--wordfreq", "no",
                 "--dry_run=True"]) == 2
    assert "apply to the counting job of --wiki-dump" in capsys.readouterr().err
    assert not out.exists()


def test_build_with_only_extra_and_wordnet_fixture(tmp_path, capsys):
    extra = tmp_path / "extra.txt"
    extra.write_text("zebra crossing\ncat\n", encoding="utf-8")
    out = tmp_path / "q.parquet"
    code = main(["queries", "build", "--out", str(out), "--extra", str(extra), "--wordnet-dir", str(FIXTURES / "wordnet"), "--wordfreq", "no", "--size", "5"])
    assert code == 0
    table = pq.read_table(out).to_pydict()
    assert len(table["text"]) == 5
    assert table["text"][:2] == ["zebra crossing", "cat"] and table["source"][:2] == ["extra", "extra"]


@pytest.mark.slow
def test_local_counting_builds_the_same_list_as_the_beam_job(tmp_path, capsys):
    dump = tmp_path / "enwiki-20240101-pages-articles.xml.bz2"
    dump.write_bytes(bz2.compress((FIXTURES / "enwiki-sample-pages-articles.xml").read_bytes()))
    common = ["--wiki-dump", str(dump), "--min-count", "3", "--min-bigram-count", "3", "--pmi-threshold", "3.7", "--no-wordnet"]
    assert main(["queries", "build", "--out", str(tmp_path / "beam" / "queries.parquet"), *common,
                 "--runner", "direct", "--direct-running-mode", "in_memory"]) == 0
    assert main(["queries", "build", "--out", str(tmp_path / "local" / "queries.parquet"), *common, "--workers", "1"]) == 0
    beam = pq.read_table(tmp_path / "beam" / "queries.parquet").to_pydict()
    local = pq.read_table(tmp_path / "local" / "queries.parquet").to_pydict()
    def rows(table):  # ties in evidence are ordered as each counter emits them
        return {text: (source, count, None if pmi is None else round(pmi, 9))
                for text, source, count, pmi in zip(table["text"], table["source"], table["count"], table["pmi"])}

    assert rows(local) == rows(beam) and len(local["text"]) == len(beam["text"])
    assert "new york" in local["text"] and "cat" in local["text"]
    assert (tmp_path / "local" / "queries-wikipedia-work" / "job.json").exists()  # the resumable work directory
    capsys.readouterr()
    assert main(["queries", "build", "--out", str(tmp_path / "x.parquet"), *common, "--dry_run=True"]) == 2
    assert "--runner local takes no Beam options" in capsys.readouterr().err
