"""Popular Wikipedia titles from Wikimedia's hourly pageview dumps.

Files: dumps.wikimedia.org/other/pageviews/YYYY/YYYY-MM/pageviews-YYYYMMDD-HH0000.gz, one line
per (domain, page) and hour with four space-separated fields:

    domain_code page_title count_views total_response_size
    en.wikipedia Barack_Obama 1234 0

English Wikipedia rows are those whose domain code is in ENGLISH_WIKIPEDIA (desktop and mobile,
in both the short and the long spelling Wikimedia has used). Views are summed over every file
given. Titles with ':' (Special:, File:, Talk:, ...) are skipped, as are the main page and '-';
underscores become spaces, percent-escapes are decoded, and a trailing disambiguator such as
' (planet)' is cut, since captions say 'Mercury', not 'Mercury (planet)'.

Lines that do not have four fields or a numeric count are counted and reported, never fatal: the
real dumps carry a few such lines.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from typing import Iterable, Iterator
from urllib.parse import unquote

from wit.queries.entry import QueryEntry
from wit.core.errors import WitError

log = logging.getLogger(__name__)

ENGLISH_WIKIPEDIA = frozenset({"en", "en.m", "en.wikipedia", "en.m.wikipedia"})
SKIPPED_TITLES = frozenset({"Main_Page", "-", "Main Page"})
_DISAMBIGUATOR = re.compile(r"\s*\([^()]*\)$")


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
    if domain not in domains or raw_title in SKIPPED_TITLES:
        return None
    title = unquote(raw_title, errors="replace")
    if ":" in title:
        return None
    title = _DISAMBIGUATOR.sub("", title.replace("_", " ")).strip()
    if not title:
        return None
    return title, int(views)


def _lines(path: str) -> Iterator[str]:
    from wit.core.storage import open_url

    try:
        with open_url(path, "rt", compression="infer", encoding="utf-8", errors="replace") as handle:
            yield from handle
    except FileNotFoundError:
        raise WitError(f"pageview file {path}: no such file") from None


def sum_pageviews(paths: Iterable[str], domains: frozenset[str] = ENGLISH_WIKIPEDIA) -> Counter:
    """Views per cleaned title, summed over all files (gzip/bz2 inferred from the name)."""
    totals: Counter = Counter()
    for path in paths:
        malformed = 0
        rows = 0
        for line in _lines(path):
            try:
                parsed = parse_pageview_line(line, domains)
            except ValueError:
                malformed += 1
                continue
            if parsed is not None:
                totals[parsed[0]] += parsed[1]
                rows += 1
        log.info("pageviews %s: %d English Wikipedia article rows, %d malformed lines skipped", path, rows, malformed)
        if malformed:
            log.warning("pageviews %s: %d lines were not 'domain title views bytes' and were skipped", path, malformed)
    return totals


def title_entries(paths: Iterable[str], min_pageviews: int, domains: frozenset[str] = ENGLISH_WIKIPEDIA) -> list[QueryEntry]:
    """Titles whose summed views reach min_pageviews, most viewed first."""
    totals = sum_pageviews(paths, domains)
    entries = [QueryEntry(title, "wiki_title", pageviews=views) for title, views in totals.most_common() if views >= min_pageviews]
    log.info("pageviews: %d titles, %d with >= %d views", len(totals), len(entries), min_pageviews)
    return entries
