"""The query list: build it from its sources, save it, load it.

A query list is a table with one row per query:

    id         int64   position in the list; the matcher reports these ids
    text       string  the query, NFKC + case-folded (queries/match_keys.py)
    source     string  the first source in SOURCE_PRIORITY that produced it
    count      int64   occurrences in Wikipedia (wordfreq: occurrences per billion words), or null
    pmi        float64 log2 pointwise mutual information of a Wikipedia bigram, or null
    pageviews  int64   summed pageviews of a Wikipedia title, or null

saved as parquet, with a one-query-per-line .txt export beside it. `content_hash` is the sha256
of that .txt export (`sha256sum queries.txt` prints the same), so later stages can record exactly
which list they matched against.

Union and dedup: sources are read in SOURCE_PRIORITY order and a query is kept once per match key
(queries/match_keys.py: the form the matcher compares), credited to the first source that had it;
evidence from later sources is merged into the same row.

Size: when the union is larger than `size`, `extra` queries are kept first, then WordNet lemmas
(the paper adds "all WordNet synsets not already in the list"), then every other source is cut
from its weak end in proportion: each row is ranked by its position within its own source's
evidence order (0 = strongest, 1 = weakest) and the lowest ranks fill the list. Kept rows stay in
priority order, so ids do not depend on how much was cut.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Iterable

from wit.queries import default_list, wordnet
from wit.queries.entry import QueryEntry
from wit.queries.match_keys import display_form, match_key
from wit.core.errors import WitError

log = logging.getLogger(__name__)

# Credit order for duplicates. `extra` is what the user asked for by hand; the rest follows the
# CLIP paper: Wikipedia words, then bigrams, then titles, then WordNet for what is still missing.
# `wordfreq` stands in for `wiki_unigram` in the offline default.
SOURCE_PRIORITY = ("extra", "wiki_unigram", "wordfreq", "wiki_bigram", "wiki_title", "wordnet")
# Trimming to --size keeps these first, in this order; every other source is cut by rank.
PROTECTED_TIERS = {"extra": 0, "wordnet": 1}
UNPROTECTED_TIER = 2
DEFAULT_SIZE = 500_000
COLUMNS = ("id", "text", "source", "count", "pmi", "pageviews")


@dataclass
class QueryList:
    texts: list[str]
    sources: list[str]
    count: list[int | None] = field(default_factory=list)
    pmi: list[float | None] = field(default_factory=list)
    pageviews: list[int | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = len(self.texts)
        for name in ("count", "pmi", "pageviews"):
            column = getattr(self, name)
            if not column:
                setattr(self, name, [None] * n)
            elif len(column) != n:
                raise ValueError(f"column {name} has {len(column)} rows, texts has {n}")
        if len(self.sources) != n:
            raise ValueError(f"sources has {len(self.sources)} rows, texts has {n}")

    def __len__(self) -> int:
        return len(self.texts)

    @cached_property
    def content_hash(self) -> str:
        """sha256 hex of the .txt export (one query per line, '\\n' after each)."""
        digest = hashlib.sha256()
        for text in self.texts:
            digest.update(text.encode("utf-8"))
            digest.update(b"\n")
        return digest.hexdigest()

    def source_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for source in self.sources:
            counts[source] = counts.get(source, 0) + 1
        return counts

    def to_table(self):
        import pyarrow as pa

        return pa.table(
            {
                "id": pa.array(range(len(self.texts)), pa.int64()),
                "text": pa.array(self.texts, pa.string()),
                "source": pa.array(self.sources, pa.string()),
                "count": pa.array(self.count, pa.int64()),
                "pmi": pa.array(self.pmi, pa.float64()),
                "pageviews": pa.array(self.pageviews, pa.int64()),
            }
        )

    def save(self, path: str | os.PathLike) -> tuple[Path | str, Path | str]:
        """Write PATH (.parquet) and the .txt export beside it, each atomically.

        PATH may be a remote fsspec URL (gs://...): both files are written locally, then uploaded.
        """
        import pyarrow.parquet as pq

        if "://" in str(path):
            return self._save_remote(str(path))
        parquet_path = Path(path)
        if parquet_path.suffix != ".parquet":
            parquet_path = parquet_path.with_suffix(parquet_path.suffix + ".parquet")
        txt_path = parquet_path.with_suffix(".txt")
        parquet_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = parquet_path.with_name(f".{parquet_path.name}.tmp-{os.getpid()}")
        pq.write_table(self.to_table(), tmp, compression="zstd")
        tmp.replace(parquet_path)
        tmp = txt_path.with_name(f".{txt_path.name}.tmp-{os.getpid()}")
        with open(tmp, "w", encoding="utf-8", newline="\n") as out:
            for text in self.texts:
                out.write(text)
                out.write("\n")
        tmp.replace(txt_path)
        return parquet_path, txt_path

    def _save_remote(self, url: str) -> tuple[str, str]:
        import tempfile

        from wit.core.storage import url_to_fs

        if not url.endswith(".parquet"):
            url += ".parquet"
        txt_url = url.removesuffix(".parquet") + ".txt"
        filesystem, remote_parquet = url_to_fs(url)
        _, remote_txt = url_to_fs(txt_url)
        with tempfile.TemporaryDirectory() as tmp:
            local_parquet, local_txt = self.save(Path(tmp) / "queries.parquet")
            filesystem.put_file(str(local_parquet), remote_parquet)
            filesystem.put_file(str(local_txt), remote_txt)
        return url, txt_url


# ---------------------------------------------------------------------------------------------
# Union of sources


def _evidence_order(entries: list[QueryEntry]) -> list[QueryEntry]:
    """Strongest evidence first; entries without evidence keep their given order (stable sort)."""

    def strength(entry: QueryEntry) -> float:
        for value in (entry.pageviews, entry.pmi, entry.count):
            if value is not None:
                return -float(value)
        return 0.0

    return sorted(entries, key=strength)


def build_query_list(entries_by_source: dict[str, Iterable[QueryEntry]], size: int = DEFAULT_SIZE) -> QueryList:
    """Union the sources in SOURCE_PRIORITY order, dedup on the match key, keep at most `size`."""
    if size < 1:
        raise WitError(f"--size must be >= 1, got {size}")
    unknown = set(entries_by_source) - set(SOURCE_PRIORITY)
    if unknown:
        raise ValueError(f"unknown query sources {sorted(unknown)}; known: {SOURCE_PRIORITY}")
    rows: dict[str, dict] = {}  # match key -> row, in insertion (= priority) order
    for source in SOURCE_PRIORITY:
        if source not in entries_by_source:
            continue
        ordered = _evidence_order(list(entries_by_source[source]))
        added = 0
        for position, entry in enumerate(ordered):
            key = match_key(entry.text)
            if not key:
                continue  # nothing a caption could match: punctuation or symbols only
            row = rows.get(key)
            if row is None:
                rows[key] = row = {
                    "text": display_form(entry.text),
                    "source": source,
                    "rank": position / max(len(ordered), 1),
                    "tier": UNPROTECTED_TIER,
                    "count": None,
                    "pmi": None,
                    "pageviews": None,
                }
                added += 1
            row["tier"] = min(row["tier"], PROTECTED_TIERS.get(source, UNPROTECTED_TIER))
            for name in ("count", "pmi", "pageviews"):
                value = getattr(entry, name)
                if row[name] is None and value is not None:
                    row[name] = value
        log.info("source %s: %d entries, %d new queries", source, len(ordered), added)
    kept = list(rows.values())
    if len(kept) > size:
        order = sorted(range(len(kept)), key=lambda i: (kept[i]["tier"], kept[i]["rank"], i))
        chosen = set(order[:size])
        log.info("union has %d queries; keeping the %d with the strongest evidence", len(kept), size)
        kept = [row for i, row in enumerate(kept) if i in chosen]
    return QueryList(
        texts=[row["text"] for row in kept],
        sources=[row["source"] for row in kept],
        count=[row["count"] for row in kept],
        pmi=[row["pmi"] for row in kept],
        pageviews=[row["pageviews"] for row in kept],
    )


# ---------------------------------------------------------------------------------------------
# Loading


def load_query_list(spec: str | os.PathLike, expected_hash: str | None = None) -> QueryList:
    """A query list from a .parquet or .txt path (local or any fsspec URL), or "default".

    `expected_hash` (the sha256 the launcher recorded, `content_hash`) makes a list with other
    content an error naming both hashes: a worker must match against the list the run records,
    not whatever its image builds as the default or a file that changed since launch.
    """
    spec = str(spec)
    if spec == "default":
        query_list = load_default_query_list()
    elif spec.endswith(".parquet"):
        query_list = _load_parquet(spec)
    elif spec.endswith(".txt"):
        query_list = _load_txt(spec)
    else:
        raise WitError(f"query list {spec!r}: give a .parquet or .txt file, or 'default'")
    if expected_hash and query_list.content_hash != expected_hash:
        raise QueryListMismatch(spec, expected_hash, query_list.content_hash)
    return query_list


class QueryListMismatch(WitError):
    """A worker loaded a query list whose content differs from the one the launcher recorded."""

    def __init__(self, spec: str, expected: str, found: str):
        hint = ("the default list is built from wordfreq and WordNet where it is loaded: build the worker "
                "image from the launcher's lock (docs/dataflow.md) or pass the list as a file"
                if spec == "default" else "the file changed after launch")
        super().__init__(f"query list {spec}: this worker loaded sha256 {found}, but the launcher recorded "
                         f"sha256 {expected} ({hint})")
        self.expected, self.found = expected, found


def _open(spec: str, mode: str):
    from wit.core.storage import open_url

    try:
        return open_url(spec, mode).open()
    except FileNotFoundError:
        raise WitError(f"query list {spec}: no such file") from None


def _check_query(spec: str, where: str, text: object, seen: dict[str, str]) -> str:
    if not isinstance(text, str) or not text.strip():
        raise WitError(f"query list {spec}, {where}: empty query")
    if "\n" in text or "\r" in text:
        raise WitError(f"query list {spec}, {where}: query contains a line break")
    key = match_key(text)
    if not key:
        raise WitError(f"query list {spec}, {where}: {text!r} has no letters or digits to match")
    if key in seen:
        raise WitError(f"query list {spec}, {where}: {text!r} duplicates {seen[key]} (same match key {key!r})")
    seen[key] = where
    return text


def _load_txt(spec: str) -> QueryList:
    texts: list[str] = []
    seen: dict[str, str] = {}
    with _open(spec, "rb") as handle:
        for line_number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise WitError(f"query list {spec}, line {line_number}: not valid UTF-8 ({exc.reason})") from None
            text = line.rstrip("\r\n").strip()
            texts.append(_check_query(spec, f"line {line_number}", text, seen))
    if not texts:
        raise WitError(f"query list {spec}: no queries")
    return QueryList(texts=texts, sources=["extra"] * len(texts))


def _load_parquet(spec: str, validate: bool = True) -> QueryList:
    """validate=False skips the per-query checks: only for files this module wrote itself."""
    import pyarrow.parquet as pq

    with _open(spec, "rb") as handle:
        try:
            table = pq.read_table(handle)
        except Exception as exc:  # pyarrow raises several types for a corrupt file
            raise WitError(f"query list {spec}: not a readable parquet file ({exc})") from None
    missing = {"id", "text"} - set(table.column_names)
    if missing:
        raise WitError(f"query list {spec}: missing column(s) {sorted(missing)}; has {table.column_names}")
    ids = table.column("id").to_pylist()
    texts = table.column("text").to_pylist()
    seen: dict[str, str] = {}
    for row, (query_id, text) in enumerate(zip(ids, texts) if validate else ()):
        if query_id != row:
            raise WitError(f"query list {spec}, row {row}: id is {query_id}, expected {row} (ids are 0..n-1 in order)")
        _check_query(spec, f"row {row} (id {query_id})", text, seen)
    if not texts:
        raise WitError(f"query list {spec}: no queries")

    def column(name, default=None):
        return table.column(name).to_pylist() if name in table.column_names else [default] * len(texts)

    return QueryList(
        texts=texts,
        sources=column("source", "extra"),
        count=column("count"),
        pmi=column("pmi"),
        pageviews=column("pageviews"),
    )


# ---------------------------------------------------------------------------------------------
# The offline default (what it is made of and where it is cached: queries/default_list.py)


def build_default_query_list(size: int = DEFAULT_SIZE, wordnet_dir: str | os.PathLike | None = None) -> QueryList:
    """The offline stand-in: wordfreq's English list for Wikipedia words, plus WordNet if present."""
    return build_query_list(default_list.default_entries(wordnet_dir), size=size)


def load_default_query_list(size: int = DEFAULT_SIZE, wordnet_dir: str | os.PathLike | None = None) -> QueryList:
    """The default list, built on first use and cached (see default_list.cache_dir())."""
    found = wordnet.find_wordnet_dir(wordnet_dir)
    path = default_list.cache_path(size, found)
    if path.exists():
        try:
            # Our own content-addressed file: the per-query checks (seconds) add nothing.
            return _load_parquet(str(path), validate=False)
        except WitError as exc:
            log.warning("ignoring a damaged cached default query list (%s); rebuilding", exc)
    started = time.perf_counter()
    query_list = build_default_query_list(size=size, wordnet_dir=found)
    log.info("built the default query list (%d queries) in %.1f s", len(query_list), time.perf_counter() - started)
    try:
        query_list.save(path)
        log.info("cached the default query list at %s", path)
    except OSError as exc:
        log.warning("could not cache the default query list at %s: %s", path, exc)
    return query_list
