"""Searching one query: page through its results until the cap, the end of the results or the
endpoint's result window, and end with one counted outcome (capped, exhausted, results, failed)."""

from __future__ import annotations

import asyncio
import logging
import math
from collections import Counter
from dataclasses import dataclass, field

from wit.pipeline.sources.commons.api import SearchPage, parse_search_response, search_params
from wit.pipeline.sources.commons.config import SearchConfig
from wit.pipeline.sources.commons.licenses import LICENSE_DROP, license_accepted
from wit.pipeline.sources.commons.results import result_to_candidate
from wit.pipeline.sources.mediawiki import MediaWikiClient, TokenBucket

log = logging.getLogger(__name__)

OUTCOMES = ("capped", "exhausted", "results", "failed")
# What searching one query gives: its candidates and its outcome record (QueryProgress.record).
QueryResult = tuple[list[dict], dict]


@dataclass
class QueryProgress:
    """Running totals of one query; `record()` is its counted outcome."""

    query_id: int
    query: str
    pages: int = 0  # successful responses
    results: int = 0  # search results seen
    candidates: int = 0  # emitted (licence accepted)
    drops: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)
    events: Counter = field(default_factory=Counter)  # HTTP-level: requests, retries, http_429 ...
    outcome: str = ""
    reason: str = ""
    last_continuation: dict | None = None

    def record(self) -> dict:
        return {
            "query_id": self.query_id,
            "query": self.query,
            "outcome": self.outcome,
            "reason": self.reason,
            "pages": self.pages,
            "requests": self.events.get("requests", 0),
            "results": self.results,
            "candidates": self.candidates,
            "drops": dict(self.drops),
            "skipped": dict(self.skipped),
            "events": dict(self.events),
        }


def max_pages(config: SearchConfig) -> int:
    """Upper bound on responses per query: the result window in pages, plus room for prop
    continuations (iicontinue) that repeat a page. Guards against a server that never ends."""
    return 2 * math.ceil(config.max_results / config.page_size) + 4


def next_request(progress: QueryProgress, page: SearchPage, config: SearchConfig) -> dict | None:
    """Params of the next request for this query, or None after setting progress.outcome."""
    if progress.candidates >= config.per_query_cap:
        progress.outcome = "capped"
        return None
    continuation = page.continuation
    if continuation is None:
        progress.outcome = "exhausted"
        return None
    offset = continuation.get("gsroffset")
    if isinstance(offset, int) and offset >= config.max_results:
        progress.outcome = "results"
        return None
    if continuation == progress.last_continuation:
        progress.outcome, progress.reason = "failed", "continuation_loop"
        return None
    if progress.pages >= max_pages(config):
        progress.outcome, progress.reason = "failed", "too_many_pages"
        return None
    progress.last_continuation = continuation
    limit = config.page_size
    if set(continuation) <= {"gsroffset", "continue"}:
        # Only the generator continues: ask for no more results than the cap still needs at
        # the share of results accepted so far (licence drops and skips included), and none
        # past the window.
        remaining = config.per_query_cap - progress.candidates
        accepted_share = progress.candidates / progress.results if progress.results else 1.0
        limit = min(limit, math.ceil(remaining / max(accepted_share, 0.1)))
        if isinstance(offset, int):
            limit = min(limit, config.max_results - offset)
    return search_params(progress.query, config, continuation, limit=max(1, limit))


async def search_query(client: MediaWikiClient, query_id: int, query: str, config: SearchConfig) -> QueryResult:
    """Page through one query. Returns (candidates, outcome record); never raises."""
    progress = QueryProgress(query_id, query)
    candidates: list[dict] = []
    seen_titles: set[str] = set()
    try:
        params: dict | None = search_params(query, config)
        while params is not None:
            response = await client.get(params)
            progress.events.update(response.events)
            if not response.ok:
                progress.outcome, progress.reason = "failed", response.failure
                break
            progress.pages += 1
            page = parse_search_response(response.data)
            if page.warnings:
                progress.events["api_warnings"] += page.warnings
            for result in page.results:
                progress.results += 1
                title = result.get("title") if isinstance(result, dict) else None
                if isinstance(title, str) and title in seen_titles:
                    # Results shift between pages while the index changes; count, don't repeat.
                    progress.skipped["duplicate_result"] += 1
                    continue
                candidate, skip = result_to_candidate(result, query_id, query, config)
                if candidate is None:
                    progress.skipped[skip] += 1
                    continue
                if isinstance(title, str):
                    seen_titles.add(title)
                if not license_accepted(candidate["meta"]["license"], config.licenses):
                    progress.drops[LICENSE_DROP] += 1
                    continue
                candidates.append(candidate)
                progress.candidates += 1
            params = next_request(progress, page, config)
    except Exception as exc:  # a bug or an input nobody foresaw: fail this query, not the job
        log.exception("search for query %d (%r) failed", query_id, query)
        progress.outcome, progress.reason = "failed", f"error_{type(exc).__name__}"
    return candidates, progress.record()


async def search_queries(client: MediaWikiClient, queries: list[tuple[int, str]], config: SearchConfig) -> list[QueryResult]:
    """Search a batch of (id, query) concurrently; the client's limits keep it polite."""
    return list(await asyncio.gather(*(search_query(client, qid, text, config) for qid, text in queries)))


async def search_all(queries: list[tuple[int, str]], config: SearchConfig,
                     bucket: TokenBucket | None = None) -> list[QueryResult]:
    """Open a client, search every query, close it: the whole source without Beam."""
    async with MediaWikiClient(config.endpoint, config.client_settings(), bucket=bucket) as client:
        return await search_queries(client, queries, config)
