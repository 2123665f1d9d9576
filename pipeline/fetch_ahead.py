"""Fetch ahead: a local build's fetch processes start on its first kept URLs while the launcher
is still importing Beam and running the text side.

A small local build spends its first seconds (~2 CPU s: Beam's import, building and running the
job) before the fetch stage gets its first candidate, while the fetch processes, started first,
sit idle. With fetch ahead the first of them reads the build's local URL lists and passes the
rows through the same per-record functions the text side runs (the filter chain, the query
matcher), takes the URLs that survive in order, one URL once, up to `limit` in all, and puts
them on the pool's task queue; every fetch process fetches them as it would a chunk (up to its
share of 256 MiB of stored images held for the launcher). When the fetch stage starts, the
launcher stops the fetching ahead and uses an outcome in place of a request for every kept
candidate with that URL (fetch_pool.FetchPool.run).

What ends in the shards is decided by the text side alone, as before: fetch ahead only changes
when a URL's request is made, never which candidates are kept, their keys or shards. A URL the
text side drops after all (a duplicate beyond the one kept, the cap) was fetched for nothing;
the run's fetch stats count those (`ahead_unused`), and `limit` bounds them. It is off for a
build that resumes into an output with shards (their URLs were fetched already), for inputs
that are not local URL lists, and with `--fetch-ahead 0`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass

from wit.filters.config import FilterConfig
from wit.pipeline import DEFAULT_FETCH_AHEAD
from wit.pipeline.sources.inputs import InputFile
from wit.pipeline.sources.urllist import UrlListConfig

log = logging.getLogger(__name__)

# The launcher takes the outcomes when its fetch stage starts; until then the fetch processes
# hold them, and stop fetching ahead once their images reach this many bytes in all.
DEFAULT_AHEAD_BYTES = 256 * 1024 * 1024
URL_LIST_FORMATS = ("parquet", "csv", "tsv", "jsonl")


@dataclass(frozen=True)
class FetchAheadPlan:
    """What the fetch processes need to find the first URLs the text side will keep."""

    files: tuple[InputFile, ...]
    url_list_config: UrlListConfig
    filter_config: FilterConfig
    queries: str | None  # query-list spec, None without matching (--queries none)
    limit: int  # URLs fetched ahead, over all processes
    held_bytes: int = DEFAULT_AHEAD_BYTES  # stored images held for the launcher, over all processes


def plan_fetch_ahead(files: list[InputFile], url_list_config: UrlListConfig, filter_config: FilterConfig,
                     queries: str | None, out: str, limit: int = DEFAULT_FETCH_AHEAD) -> FetchAheadPlan | None:
    """The plan for a local build, or None where fetching ahead does not apply: `limit` 0, an
    input that is not a local URL list (a crawl's text side is long anyway, and reading remote
    files twice costs), or an output folder that already has shards (a resumed build)."""
    from wit.core.layout import DatasetLayout
    from wit.core.runner import is_local_path

    if limit <= 0 or not files:
        return None
    if any(file.format not in URL_LIST_FORMATS or not is_local_path(file.path) for file in files):
        return None
    if not is_local_path(out):
        return None
    shards = DatasetLayout(out).shards_dir
    if os.path.isdir(shards) and os.listdir(shards):
        return None
    return FetchAheadPlan(tuple(files), url_list_config, filter_config, queries, limit)


def kept_urls(plan: FetchAheadPlan) -> Iterator[str]:
    """The first `plan.limit` distinct URLs whose rows pass the text side's per-record checks
    (read, filter chain, matcher), in input order. Unreadable rows and files are skipped here:
    the text side counts them. The chain and the matcher are built at the first next() (seconds
    with the default query list): run it off the event loop."""
    from wit.filters.chain import FilterChain
    from wit.pipeline.sources import read_file
    from wit.pipeline.sources.candidates import RecordError

    chain = FilterChain(plan.filter_config)
    matcher = None
    if plan.queries is not None:
        from wit.queries.matcher import load_matcher, match_candidate

        matcher = load_matcher(plan.queries)
    seen: set[str] = set()
    for file in plan.files:
        for candidate in read_file(file, plan.url_list_config):
            if isinstance(candidate, RecordError) or chain.apply(candidate) is not None:
                continue
            if matcher is not None and not match_candidate(candidate, matcher):
                continue
            url = str(candidate.get("url") or "")
            if not url or url in seen:
                continue
            yield url
            seen.add(url)
            if len(seen) >= plan.limit:
                return
