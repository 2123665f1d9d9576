"""Popular Wikipedia titles from Wikimedia's hourly pageview dumps, summed in bounded memory.

Files: dumps.wikimedia.org/other/pageviews/YYYY/YYYY-MM/pageviews-YYYYMMDD-HH0000.gz, one line
per (domain, page) and hour with four space-separated fields:

    domain_code page_title count_views total_response_size
    en Barack_Obama 1234 0
    en.m Barack_Obama 2345 0

English Wikipedia rows are those whose domain code is in ENGLISH_WIKIPEDIA (desktop and mobile,
in both the short spelling the files use and the long one of Wikimedia's other datasets). Views
are summed over every file given. Titles in a namespace (Special:, File:, Talk:, User talk: ...,
NAMESPACES) are skipped, as are the main page and '-'; a colon elsewhere stays ('Star Wars:
Episode IV'). Underscores become spaces, percent-escapes are decoded, and a trailing disambiguator
such as ' (planet)' is cut, since captions say 'Mercury', not 'Mercury (planet)'.

Lines that do not have four fields or a numeric count are counted and reported, never fatal: the
real dumps carry a few such lines.

At scale (a month is 720 files and billions of lines; MetaCLIP sums 25 days) `aggregate_titles`
works in bounded memory, in two phases over a work directory:

1. map: the files are cut into batches (FILES_PER_BATCH consecutive files); a worker process sums
   a batch's English rows in a dict keyed by the raw title, and whenever the dict holds
   `max_titles` titles (and at the end of the batch) it cleans them and spills them to a run
   file, hash-partitioned into `partitions` sections (crc32 of the title; spill.py). A batch's runs are
   renamed into place when it completes, so an interrupted job resumes at the first unfinished
   batch;
2. merge: each partition is summed across all runs (one partition in memory at a time, about
   1/partitions of all distinct titles), and titles reaching the threshold are kept.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import shutil
import time
import zlib
from collections import Counter
from pathlib import Path
from typing import Iterable, Iterator
from urllib.parse import unquote

from wit.queries import spill
from wit.queries.entry import QueryEntry
from wit.core.errors import WitError

log = logging.getLogger(__name__)

ENGLISH_WIKIPEDIA = frozenset({"en", "en.m", "en.wikipedia", "en.m.wikipedia"})
SKIPPED_TITLES = frozenset({"Main_Page", "-", "Main Page"})
# English Wikipedia's namespaces and their aliases ("X talk" of each is covered by the suffix rule).
NAMESPACES = frozenset(
    "talk user wikipedia wp project file image media mediawiki template help category portal draft "
    "timedtext module special book topic".split()
    + ["education program", "gadget", "gadget definition"]
)
_DISAMBIGUATOR = re.compile(r"\s*\([^()]*\)$")

# MetaCLIP kept titles with more than 70 views summed over 25 sampled days (600 hourly files).
# The default threshold scales that rate to the hours given, so it means the same whatever the
# number of files: 70 * hours / 600, at least 1.
METACLIP_MIN_VIEWS = 70
METACLIP_HOURS = 25 * 24
FILES_PER_BATCH = 24  # at most one day of hourly files per map task
DEFAULT_PARTITIONS = 64
DEFAULT_MAX_TITLES = 1_000_000  # titles a map worker sums before it spills (~150 MB of Python dict)


def default_min_pageviews(hourly_files: int) -> int:
    """MetaCLIP's 70 views per 600 hours, scaled to this many hourly files (at least 1)."""
    return max(1, math.ceil(METACLIP_MIN_VIEWS * hourly_files / METACLIP_HOURS))


def clean_title(raw_title: str) -> str | None:
    """The title as a query ('Mercury_(planet)' -> 'Mercury'), or None for a page to skip."""
    if raw_title in SKIPPED_TITLES:
        return None
    title = unquote(raw_title, errors="replace") if "%" in raw_title else raw_title
    title = title.replace("_", " ")
    prefix, colon, _ = title.partition(":")
    if colon:
        prefix = prefix.strip().lower()
        if prefix in NAMESPACES or prefix.endswith(" talk"):
            return None
    title = _DISAMBIGUATOR.sub("", title).strip()
    return title or None


def parse_pageview_line(line: str, domains: frozenset[str] = ENGLISH_WIKIPEDIA) -> tuple[str, int] | None:
    """(title, views) for an English Wikipedia article row; None for other rows.

    Raises ValueError for a line that is not in the pageview format.
    """
    fields = line.rstrip("\r\n").split(" ")
    if len(fields) != 4:
        raise ValueError(f"expected 4 space-separated fields, got {len(fields)}")
    domain, raw_title, views = fields[0], fields[1], fields[2]
    if not views.isdigit():
        raise ValueError(f"view count {views!r} is not a number")
    if domain not in domains:
        return None
    title = clean_title(raw_title)
    return None if title is None else (title, int(views))


READ_CHUNK = 1 << 20  # compressed bytes per read


def _open_binary(path: str, compression: str | None):
    from wit.core.storage import open_url

    try:
        return open_url(path, "rb", compression=compression).open()
    except FileNotFoundError:
        raise WitError(f"pageview file {path}: no such file") from None


def iter_lines(path: str) -> Iterator[list[bytes]]:
    """The lines of a pageview file (with their line ends cut), a list per chunk read.

    A .gz file is decompressed a chunk at a time by zlib and split in one call per chunk: three
    times faster than iterating a GzipFile line by line. Other files (.bz2, plain) are read as
    fsspec infers them.
    """
    if not path.endswith(".gz"):
        handle = _open_binary(path, "infer")
        try:
            while True:
                lines = handle.readlines(READ_CHUNK)
                if not lines:
                    return
                yield [line.rstrip(b"\r\n") for line in lines]
        finally:
            handle.close()
    handle = _open_binary(path, None)
    try:
        decompressor = zlib.decompressobj(wbits=31)
        carry = b""
        while True:
            chunk = handle.read(READ_CHUNK)
            if not chunk:
                break
            data = decompressor.decompress(chunk)
            while decompressor.eof and decompressor.unused_data:  # a file of several gzip members
                rest = decompressor.unused_data
                decompressor = zlib.decompressobj(wbits=31)
                data += decompressor.decompress(rest)
            lines = (carry + data).split(b"\n")
            carry = lines.pop()
            yield lines
        if not decompressor.eof:
            raise WitError(f"pageview file {path}: truncated or not gzip (the compressed stream ends early)")
        if carry:
            yield [carry]
    except zlib.error as exc:
        raise WitError(f"pageview file {path}: truncated or not gzip ({exc})") from None
    finally:
        handle.close()


def sum_raw_views(path: str, totals: dict[bytes, int], domains: frozenset[str] = ENGLISH_WIKIPEDIA,
                  max_titles: int | None = None, spill=None) -> tuple[int, int, int]:
    """Adds one file's English rows to `totals` (raw title bytes -> views); (lines, rows, malformed).

    Calls spill(totals) and clears it whenever it holds max_titles titles. Lines of other
    projects are rejected by their first bytes, before any split, since they are most of a file.
    """
    prefixes = tuple(domain.encode() + b" " for domain in domains)
    lines = rows = malformed = 0
    get = totals.get
    try:
        for chunk in iter_lines(path):
            lines += len(chunk)
            for line in chunk:
                if not line.startswith(prefixes):
                    continue
                fields = line.split(b" ")
                if len(fields) != 4 or not fields[2].isdigit():
                    malformed += 1
                    continue
                title = fields[1]
                totals[title] = get(title, 0) + int(fields[2])
                rows += 1
                if max_titles is not None and len(totals) >= max_titles:
                    spill(totals)
                    totals.clear()
    except (EOFError, OSError) as exc:
        raise WitError(f"pageview file {path}: truncated or unreadable ({exc})") from None
    return lines, rows, malformed


def _clean_totals(raw_totals: dict[bytes, int]) -> dict[str, int]:
    """Raw titles -> cleaned titles, merging the raw spellings that clean to the same title."""
    cleaned: dict[str, int] = {}
    get = cleaned.get
    for raw, views in raw_totals.items():
        title = clean_title(raw.decode("utf-8", "replace"))
        if title is not None:
            cleaned[title] = get(title, 0) + views
    return cleaned


def sum_pageviews(paths: Iterable[str], domains: frozenset[str] = ENGLISH_WIKIPEDIA) -> Counter:
    """Views per cleaned title, summed over all files in one dict: for a few files only.

    aggregate_titles does the same in bounded memory.
    """
    raw: dict[bytes, int] = {}
    for path in paths:
        lines, rows, malformed = sum_raw_views(path, raw, domains)
        _log_file(path, rows, malformed)
    return Counter(_clean_totals(raw))


def _log_file(path: str, rows: int, malformed: int) -> None:
    log.info("pageviews %s: %d English Wikipedia rows, %d malformed lines skipped", path, rows, malformed)
    if malformed:
        log.warning("pageviews %s: %d lines were not 'domain title views bytes' and were skipped", path, malformed)


# ---------------------------------------------------------------------------------------------
# Bounded-memory aggregation over many files


def _map_batch(task: tuple) -> dict:
    """Sums one batch of files and leaves its runs in batch_dir (renamed there when complete)."""
    batch_dir, paths, partitions, max_titles, domains = task
    batch_dir = Path(batch_dir)
    partial = batch_dir.with_name(batch_dir.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)  # left by an interrupted run: redo the batch
    partial.mkdir(parents=True)
    spills = 0

    def spill_run(raw_totals: dict[bytes, int]) -> None:
        nonlocal spills
        spill.write_run(_clean_totals(raw_totals), partial / f"run-{spills:04d}.tsv", partitions)
        spills += 1

    totals: dict[bytes, int] = {}
    stats = {"files": len(paths), "lines": 0, "rows": 0, "malformed": 0}
    for path in paths:
        lines, rows, malformed = sum_raw_views(path, totals, domains, max_titles, spill_run)
        stats["lines"] += lines
        stats["rows"] += rows
        stats["malformed"] += malformed
        if malformed:
            log.warning("pageviews %s: %d lines were not 'domain title views bytes' and were skipped", path, malformed)
    if totals:
        spill_run(totals)
    (partial / "stats.json").write_text(json.dumps(stats))
    partial.rename(batch_dir)
    return stats


def _job_fingerprint(paths: list[str], partitions: int, domains: frozenset[str]) -> str:
    text = json.dumps({"paths": paths, "partitions": partitions, "domains": sorted(domains)})
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def aggregate_titles(
    paths: Iterable[str],
    work_dir: str | os.PathLike,
    min_pageviews: int,
    *,
    partitions: int = DEFAULT_PARTITIONS,
    workers: int | None = None,
    max_titles: int = DEFAULT_MAX_TITLES,
    files_per_batch: int | None = None,
    domains: frozenset[str] = ENGLISH_WIKIPEDIA,
) -> list[tuple[str, int]]:
    """(title, views) of every title whose views summed over `paths` reach min_pageviews, most viewed first.

    Memory: each worker holds at most max_titles titles while it reads, and the merge holds one
    partition's titles at a time. work_dir (local) keeps the runs; run again with the same files
    and it resumes at the first unfinished batch. files_per_batch (default: the files spread
    over the workers, at most FILES_PER_BATCH) is kept in the work directory, so a resumed job
    cuts the same batches whatever its number of workers.
    """
    paths = sorted(set(map(str, paths)))
    if not paths:
        raise WitError("no pageview files given")
    if min(partitions, max_titles, min_pageviews, files_per_batch or 1) < 1:
        raise WitError("partitions, max_titles, min_pageviews and files_per_batch must be >= 1")
    workers = max(1, workers or os.cpu_count() or 1)
    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    fingerprint = _job_fingerprint(paths, partitions, domains)
    job_file = work / "job.json"
    if job_file.exists():
        job = json.loads(job_file.read_text())
        if job.get("fingerprint") != fingerprint:
            raise WitError(f"pageview work directory {work} holds runs of other files or settings; give another --work-dir or empty it")
        files_per_batch = job["files_per_batch"]
    elif files_per_batch is None:
        files_per_batch = min(FILES_PER_BATCH, math.ceil(len(paths) / workers))
    job_file.write_text(json.dumps({"fingerprint": fingerprint, "files": len(paths), "partitions": partitions,
                                    "files_per_batch": files_per_batch}))

    batches = [paths[i : i + files_per_batch] for i in range(0, len(paths), files_per_batch)]
    todo = [(str(work / f"batch-{n:06d}"), batch, partitions, max_titles, domains)
            for n, batch in enumerate(batches) if not (work / f"batch-{n:06d}").is_dir()]
    if len(todo) < len(batches):
        log.info("pageviews: resuming, %d of %d batches already summed in %s", len(batches) - len(todo), len(batches), work)
    started = time.perf_counter()
    lines = 0
    if todo:
        with spill.pool(workers, len(todo)) as processes:
            for done, stats in enumerate(processes.imap_unordered(_map_batch, todo), start=1):
                lines += stats["lines"]
                elapsed = time.perf_counter() - started
                eta = elapsed / done * (len(todo) - done)
                log.info("pageviews: %d/%d batches summed, %.1fM lines (%.2fM lines/s), ETA %.0f s",
                         done, len(todo), lines / 1e6, lines / 1e6 / max(elapsed, 1e-9), eta)

    runs = sorted(str(run) for run in work.glob("batch-*[0-9]/run-*.tsv"))
    kept: list[tuple[str, int]] = []
    for titles in spill.sum_partitions(runs, partitions, min_pageviews, workers):
        kept.extend(titles)
    kept.sort(key=lambda item: (-item[1], item[0]))
    totals = [json.loads((work / f"batch-{n:06d}" / "stats.json").read_text()) for n in range(len(batches))]
    log.info("pageviews: %d files, %d lines, %d English rows, %d malformed; %d titles with >= %d views (%.1f s)",
             len(paths), sum(t["lines"] for t in totals), sum(t["rows"] for t in totals), sum(t["malformed"] for t in totals),
             len(kept), min_pageviews, time.perf_counter() - started)
    return kept


def expand_paths(paths: Iterable[str]) -> list[str]:
    """Paths with globs ('gs://b/pageviews-202401*.gz', which no shell expands) expanded, sorted, deduplicated."""
    from wit.core.storage import glob_urls

    expanded: set[str] = set()
    for path in map(str, paths):
        if any(char in path for char in "*?["):
            matched = glob_urls(path)
            if not matched:
                raise WitError(f"pageview files {path}: the pattern matches no file")
            expanded.update(matched)
        else:
            expanded.add(path)
    return sorted(expanded)


def title_entries(paths: Iterable[str], min_pageviews: int | None, work_dir: str | os.PathLike | None = None,
                  workers: int | None = None, domains: frozenset[str] = ENGLISH_WIKIPEDIA) -> list[QueryEntry]:
    """Titles whose summed views reach min_pageviews (None: default_min_pageviews), most viewed first.

    The runs go to work_dir, else to a temporary directory removed afterwards.
    """
    import tempfile

    paths = expand_paths(paths)
    if min_pageviews is None:
        min_pageviews = default_min_pageviews(len(paths))
        log.info("pageviews: keeping titles with >= %d views (MetaCLIP's %d per %d hours, scaled to %d hourly files)",
                 min_pageviews, METACLIP_MIN_VIEWS, METACLIP_HOURS, len(paths))
    if work_dir is None:
        with tempfile.TemporaryDirectory(prefix="wit-pageviews-") as tmp:
            kept = aggregate_titles(paths, tmp, min_pageviews, workers=workers, domains=domains)
    else:
        kept = aggregate_titles(paths, work_dir, min_pageviews, workers=workers, domains=domains)
    return [QueryEntry(title, "wiki_title", pageviews=views) for title, views in kept]
