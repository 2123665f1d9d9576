"""Counting a whole Wikipedia dump on one machine: every core, bounded memory, resumable.

The Beam job in wikipedia.py holds every article in memory on the local runner; this counter is
what `wit queries build --wiki-dump` runs locally (`--runner local`, the default). It gives the
same counts (the per-article logic is wikipedia.count_ngrams) in three steps over a
work directory:

1. plan: each dump is cut into pieces a worker reads on its own:
   * a multistream dump (`*-multistream.xml.bz2` with its `*-multistream-index.txt.bz2` beside
     it): runs of its bz2 streams, found from the index, about PIECE_COMPRESSED_BYTES each;
   * an uncompressed .xml file: byte ranges of PIECE_XML_BYTES (a piece owns the pages that
     start in its range);
   * anything else (a split .bz2 file, .gz, remote files): the whole file, one piece;
2. count: one worker process per core strips its pieces' articles to prose (wikipedia.py) and
   counts their words and word pairs (the C counter of _ngramcount.c, or its pure-Python twin
   wikipedia.PythonNgramCounter); when it holds `max_keys` distinct keys, and at the end of a
   piece, it spills them to run
   files partitioned by hash (spill.py). A piece's folder is renamed into place when the piece
   is complete, so a rerun resumes at the first unfinished piece;
3. merge: each word partition is summed and words seen `min_count` times are kept; each pair
   partition is summed and pairs seen `min_bigram_count` times whose two words are both kept
   are scored by PMI (spill.sum_partitions, summed in C where the extension is built). Memory
   per merge process: one partition's bytes of every run and their table, plus the kept words
   (a few million at most).

Every pair is spilled (which pairs can qualify is known only once every word is counted), so the
runs take disk: benchmarks/bench_dump_counts.py prints how much per MB of XML. They stay in the
work directory, so a rerun with other thresholds only merges again; delete it when done.
"""

from __future__ import annotations

import bz2
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from wit.core.errors import WitError
from wit.queries import spill, wikipedia

log = logging.getLogger(__name__)

PIECE_XML_BYTES = 32 << 20
PIECE_COMPRESSED_BYTES = 8 << 20  # bz2 streams expand about 4-5x
# The merge holds one partition of the distinct pairs per process: a full English dump has on the
# order of a billion distinct pairs, so 512 partitions keep that to a few million per process.
DEFAULT_PARTITIONS = 512
DEFAULT_MAX_KEYS = 2_000_000  # words + pairs a worker holds before it spills (~300 MB)


@dataclass(frozen=True)
class Piece:
    path: str
    kind: str  # "file", "xml-range" or "bz2-streams"
    start: int = 0
    end: int = -1

    def describe(self) -> str:
        return self.path if self.kind == "file" else f"{self.path} bytes {self.start}-{self.end}"


def multistream_index(path: str) -> str | None:
    """The index file beside a multistream dump, if there is one."""
    if not path.endswith("-multistream.xml.bz2"):
        return None
    index = path.removesuffix(".xml.bz2") + "-index.txt.bz2"
    return index if os.path.exists(index) else None


def stream_offsets(index_path: str) -> list[int]:
    """The byte offsets of a multistream dump's bz2 streams, from its index ('offset:id:title' lines)."""
    offsets: set[int] = set()
    try:
        with bz2.open(index_path, "rt", encoding="utf-8") as index:
            for number, line in enumerate(index, start=1):
                offset, _, rest = line.partition(":")
                if not offset.isdigit() or not rest:
                    raise WitError(f"multistream index {index_path}, line {number}: expected 'offset:page_id:title'")
                offsets.add(int(offset))
    except (OSError, EOFError) as exc:
        raise WitError(f"multistream index {index_path}: unreadable ({exc})") from None
    return sorted(offsets)


def plan_pieces(path: str) -> list[Piece]:
    """How one dump file is cut for the workers (see the module docstring)."""
    if "://" in path:
        return [Piece(path, "file")]
    if not os.path.exists(path):
        raise WitError(f"Wikipedia dump {path}: no such file")
    size = os.path.getsize(path)
    index = multistream_index(path)
    if index is not None:
        # The first stream (before the index's first offset) holds the header: a piece cuts it
        # away with everything before the first <page>.
        pieces, start = [], 0
        for offset in stream_offsets(index) + [size]:
            if offset > start and (offset - start >= PIECE_COMPRESSED_BYTES or offset == size):
                pieces.append(Piece(path, "bz2-streams", start, offset))
                start = offset
        return pieces
    if path.endswith(".xml"):
        return [Piece(path, "xml-range", start, min(start + PIECE_XML_BYTES, size)) for start in range(0, max(size, 1), PIECE_XML_BYTES)]
    return [Piece(path, "file")]


def _xml_range(piece: Piece) -> bytes:
    """The <page> elements that start in [start, end) of an uncompressed dump, whole."""
    with open(piece.path, "rb") as handle:
        handle.seek(piece.start)
        data = handle.read(piece.end - piece.start)
        first = data.find(b"<page>")
        last = data.rfind(b"<page>")
        if first < 0:
            return b""
        # The last page may run past the range: read on to its end.
        while data.find(b"</page>", last) < 0:
            more = handle.read(1 << 20)
            if not more:
                raise WitError(f"Wikipedia dump {piece.path}: the page at byte {piece.start + last} never ends (truncated file?)")
            data += more
        return data[first : data.find(b"</page>", last) + len(b"</page>")]


def _bz2_streams(piece: Piece) -> bytes:
    with open(piece.path, "rb") as handle:
        handle.seek(piece.start)
        compressed = handle.read(piece.end - piece.start)
    try:
        data = bz2.decompress(compressed)  # concatenated streams decompress as one
    except (OSError, ValueError, EOFError) as exc:
        raise WitError(f"Wikipedia dump {piece.describe()}: not bz2 streams ({exc}); is the index the dump's own?") from None
    first, last = data.find(b"<page>"), data.rfind(b"</page>")
    return b"" if first < 0 or last < 0 else data[first : last + len(b"</page>")]


def iter_piece_articles(piece: Piece):
    if piece.kind == "file":
        return wikipedia.iter_articles(piece.path)
    fragment = _xml_range(piece) if piece.kind == "xml-range" else _bz2_streams(piece)
    return wikipedia.iter_fragment_articles(fragment, piece.describe())


def count_piece(task: tuple) -> dict:
    """Counts one piece's words and pairs into run files under piece_dir (renamed there when complete)."""
    piece, piece_dir, partitions, max_keys, counter_implementation = task
    piece_dir = Path(piece_dir)
    partial = piece_dir.with_name(piece_dir.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)  # left by an interrupted run: redo the piece
    partial.mkdir(parents=True)
    counter = wikipedia.ngram_counter(counter_implementation)
    stats = {"articles": 0, "tokens": 0, "spills": 0, "bytes": _piece_size(piece)}

    def spill_counts() -> None:
        words, pairs = counter.drain_runs(partitions)
        spill.write_buckets(words, partial / f"words-{stats['spills']:04d}.tsv")
        spill.write_buckets(pairs, partial / f"pairs-{stats['spills']:04d}.tsv")
        stats["spills"] += 1

    add, article_prose = counter.add, wikipedia.article_prose
    for _, text in iter_piece_articles(piece):
        stats["tokens"] += add(article_prose(text))
        stats["articles"] += 1
        if len(counter) >= max_keys:
            spill_counts()
    if len(counter):
        spill_counts()
    (partial / "stats.json").write_text(json.dumps(stats))
    partial.rename(piece_dir)
    return stats


def _piece_size(piece: Piece) -> int:
    if piece.kind != "file":
        return piece.end - piece.start
    try:
        return os.path.getsize(piece.path)
    except OSError:
        return 0


def count_dump(
    paths: list[str],
    work_dir: str | os.PathLike,
    min_count: int,
    min_bigram_count: int,
    pmi_threshold: float,
    *,
    workers: int | None = None,
    partitions: int = DEFAULT_PARTITIONS,
    max_keys: int = DEFAULT_MAX_KEYS,
    counter: str = "auto",
) -> tuple[list[tuple[str, int]], list[tuple[str, int, float]], dict]:
    """(kept words with counts, kept pairs with counts and PMI, totals) of the dumps' articles.

    `counter` picks the word and pair counter (wikipedia.ngram_counter: "auto", "c", "python");
    both count the same.
    """
    if not paths:
        raise WitError("no Wikipedia dump files given")
    if min(min_count, min_bigram_count, partitions, max_keys) < 1:
        raise WitError("min_count, min_bigram_count, partitions and max_keys must be >= 1")
    wikipedia.ngram_counter(counter)  # an unknown or unbuilt counter fails here, not in a worker
    workers = max(1, workers or os.cpu_count() or 1)
    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    pieces = [piece for path in sorted(set(map(str, paths))) for piece in plan_pieces(path)]
    job = {"pieces": [[p.path, p.kind, p.start, p.end] for p in pieces], "partitions": partitions}
    job_file = work / "job.json"
    if job_file.exists() and json.loads(job_file.read_text()) != job:
        raise WitError(f"dump work directory {work} holds counts of other files or settings; give another --work-dir or empty it")
    job_file.write_text(json.dumps(job))

    todo = [(piece, str(work / f"piece-{n:06d}"), partitions, max_keys, counter)
            for n, piece in enumerate(pieces) if not (work / f"piece-{n:06d}").is_dir()]
    if len(todo) < len(pieces):
        log.info("Wikipedia: resuming, %d of %d pieces already counted in %s", len(pieces) - len(todo), len(pieces), work)
    total_bytes = sum(_piece_size(task[0]) for task in todo)
    started = time.perf_counter()
    done_bytes = 0
    with spill.pool(workers, len(todo)) as processes:
        for done, piece_stats in enumerate(processes.imap_unordered(count_piece, todo), start=1):
            done_bytes += piece_stats["bytes"]
            elapsed = time.perf_counter() - started
            rate = done_bytes / max(elapsed, 1e-9)
            log.info("Wikipedia: %d/%d pieces counted, %.0f MB at %.1f MB/s, ETA %.0f s",
                     done, len(todo), done_bytes / 1e6, rate / 1e6, (total_bytes - done_bytes) / max(rate, 1e-9))

    stats = [json.loads((work / f"piece-{n:06d}" / "stats.json").read_text()) for n in range(len(pieces))]
    total_tokens = sum(s["tokens"] for s in stats)
    word_runs = sorted(str(p) for p in work.glob("piece-*[0-9]/words-*.tsv"))
    pair_runs = sorted(str(p) for p in work.glob("piece-*[0-9]/pairs-*.tsv"))
    words: dict[str, int] = {}
    for kept in spill.sum_partitions(word_runs, partitions, min_count, workers):
        words.update(kept)
    pairs: list[tuple[str, int, float]] = []
    for kept in spill.sum_partitions(pair_runs, partitions, min_bigram_count, workers):
        for item in kept:
            pairs.extend(wikipedia.score_bigram(item, words, total_tokens, pmi_threshold))
    totals = {"pieces": len(pieces), "articles": sum(s["articles"] for s in stats), "tokens": total_tokens,
              "seconds": time.perf_counter() - started}
    log.info("Wikipedia: %d articles, %d tokens; %d words >= %d, %d pairs with PMI >= %g",
             totals["articles"], total_tokens, len(words), min_count, len(pairs), pmi_threshold)
    return sorted(words.items(), key=lambda item: (-item[1], item[0])), sorted(pairs, key=lambda item: (-item[2], item[0])), totals
