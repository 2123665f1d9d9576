"""The one-machine dump counter: pieces, spills, partitions and resume give the Beam job's counts."""

import bz2
import logging
import math
import re
import shutil
from pathlib import Path

import pytest

from wit.core.errors import WitError
from wit.queries import dump_counts, wikipedia

FIXTURES = Path(__file__).parent / "fixtures" / "queries"
DUMP_XML = FIXTURES / "enwiki-sample-pages-articles.xml"
# What the Beam job counts on the bz2 fixture and a plain copy (test_queries_sources.py).
EXPECTED_WORDS = {"the": 32, "cat": 18, "is": 16, "new": 12, "york": 12, "dog": 12, "a": 10, "in": 8, "city": 8, "and": 6}


def write_multistream(xml: bytes, directory: Path, pages_per_stream: int = 1) -> Path:
    """The fixture as Wikimedia writes a multistream dump: header, pages in bz2 streams, footer; and its index."""
    first = xml.index(b"<page>")
    last = xml.rindex(b"</page>") + len(b"</page>")
    pages = re.findall(rb"<page>.*?</page>", xml[first:last], re.S)
    dump = directory / "enwiki-20240101-pages-articles-multistream.xml.bz2"
    index_lines = []
    with open(dump, "wb") as out:
        out.write(bz2.compress(xml[:first]))
        for n in range(0, len(pages), pages_per_stream):
            offset = out.tell()
            group = pages[n : n + pages_per_stream]
            for page in group:
                title = re.search(rb"<title>(.*?)</title>", page).group(1).decode()
                index_lines.append(f"{offset}:{n}:{title}\n")
            out.write(bz2.compress(b"\n".join(group)))
        out.write(bz2.compress(xml[last:]))
    index = directory / "enwiki-20240101-pages-articles-multistream-index.txt.bz2"
    index.write_bytes(bz2.compress("".join(index_lines).encode()))
    return dump


@pytest.fixture
def two_dumps(tmp_path):
    compressed = tmp_path / "enwiki-20240101-pages-articles1.xml-p1p41242.bz2"
    compressed.write_bytes(bz2.compress(DUMP_XML.read_bytes()))
    plain = tmp_path / "enwiki-20240101-pages-articles2.xml"
    shutil.copy(DUMP_XML, plain)
    return [str(compressed), str(plain)]


def total_tokens(copies: int) -> int:
    return copies * sum(sum(wikipedia.article_ngram_counts(text)[0].values()) for _, text in wikipedia.iter_articles(str(DUMP_XML)))


@pytest.mark.parametrize("workers, max_keys, piece_bytes", [(1, 2_000_000, 32 << 20), (1, 7, 700), (2, 40, 1500)])
def test_counts_equal_the_beam_jobs_however_the_work_is_cut(tmp_path, two_dumps, monkeypatch, workers, max_keys, piece_bytes):
    monkeypatch.setattr(dump_counts, "PIECE_XML_BYTES", piece_bytes)
    words, pairs, totals = dump_counts.count_dump(two_dumps, tmp_path / "work", 6, 6, 3.7, workers=workers,
                                                  partitions=5, max_keys=max_keys)
    assert dict(words) == EXPECTED_WORDS
    assert totals["articles"] == 6 and totals["tokens"] == total_tokens(2)
    assert [(pair, count) for pair, count, _ in pairs] == [("new york", 12)]
    assert pairs[0][2] == pytest.approx(math.log2(12 * total_tokens(2) / (12 * 12)))
    if piece_bytes < 32 << 20:
        assert totals["pieces"] > 2  # the plain file was cut into byte ranges


def test_a_multistream_dump_is_read_by_its_streams(tmp_path, monkeypatch):
    monkeypatch.setattr(dump_counts, "PIECE_COMPRESSED_BYTES", 1)  # one stream per piece
    dump = write_multistream(DUMP_XML.read_bytes(), tmp_path)
    pieces = dump_counts.plan_pieces(str(dump))
    assert [piece.kind for piece in pieces] == ["bz2-streams"] * len(pieces) and len(pieces) >= 4
    titles = [title for piece in pieces for title, _ in dump_counts.iter_piece_articles(piece)]
    assert titles == ["Cat", "New York City", "Dog"]
    words, _, totals = dump_counts.count_dump([str(dump)], tmp_path / "work", 3, 3, 3.7, workers=1)
    assert {word: 2 * count for word, count in words} == EXPECTED_WORDS  # one copy, half the threshold
    assert totals["tokens"] == total_tokens(1)


def test_an_interrupted_count_resumes_and_other_inputs_are_refused(tmp_path, two_dumps, monkeypatch, caplog):
    monkeypatch.setattr(dump_counts, "PIECE_XML_BYTES", 700)
    work = tmp_path / "work"
    dump_counts.count_dump(two_dumps, work, 6, 6, 3.7, workers=1)
    pieces = sorted(work.glob("piece-*"))
    shutil.rmtree(pieces[-1])  # as if the job had stopped before the last piece
    (work / (pieces[-1].name + ".partial")).mkdir()
    caplog.set_level(logging.INFO)
    words, _, _ = dump_counts.count_dump(two_dumps, work, 6, 6, 3.7, workers=1)
    assert f"resuming, {len(pieces) - 1} of {len(pieces)} pieces already counted" in caplog.text
    assert dict(words) == EXPECTED_WORDS
    with pytest.raises(WitError, match="holds counts of other files"):
        dump_counts.count_dump(two_dumps[:1], work, 6, 6, 3.7, workers=1)


def test_wrong_dumps_are_named(tmp_path, monkeypatch):
    truncated = tmp_path / "enwiki-pages-articles.xml"
    truncated.write_bytes(DUMP_XML.read_bytes()[:2500])
    with pytest.raises(WitError, match="never ends"):
        dump_counts.count_dump([str(truncated)], tmp_path / "work", 1, 1, 0.0, workers=1)
    with pytest.raises(WitError, match="no such file"):
        dump_counts.count_dump([str(tmp_path / "absent.xml.bz2")], tmp_path / "work2", 1, 1, 0.0, workers=1)
    dump = write_multistream(DUMP_XML.read_bytes(), tmp_path)
    index = Path(str(dump).removesuffix(".xml.bz2") + "-index.txt.bz2")
    index.write_bytes(bz2.compress(b"12:0:Cat\n"))  # an offset inside a stream, not at its start
    monkeypatch.setattr(dump_counts, "PIECE_COMPRESSED_BYTES", 1)
    with pytest.raises(WitError, match="not bz2 streams"):
        dump_counts.count_dump([str(dump)], tmp_path / "work3", 1, 1, 0.0, workers=1)
