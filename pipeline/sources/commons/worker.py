"""What a worker process holds: the query list it reads, and one search client shared by its
threads."""

from __future__ import annotations

import asyncio
import atexit
import threading

from wit.pipeline.sources.commons.config import SearchConfig
from wit.pipeline.sources.commons.paging import QueryResult, search_queries
from wit.pipeline.sources.mediawiki import MediaWikiClient


def load_queries(spec: str, expected_hash: str = "") -> list[str]:
    """Query texts by id (id = index) of a query list: .parquet, .txt or 'default'; with
    `expected_hash`, a list whose sha256 differs is an error (querylist.load_query_list)."""
    from wit.queries.querylist import load_query_list  # pyarrow: only where a list is read

    return list(load_query_list(spec, expected_hash=expected_hash or None).texts)


class SearchWorker:
    """Per worker process: one event loop on a daemon thread, one aiohttp client, one token
    bucket, shared by every DoFn instance (thread) of the process through Beam's Shared, so
    the request-rate and per-host limits hold for the whole process."""

    def __init__(self, config: SearchConfig) -> None:
        self.config = config
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="wit-search-loop", daemon=True)
        self._thread.start()
        self._client = MediaWikiClient(config.endpoint, config.client_settings())
        asyncio.run_coroutine_threadsafe(self._client.__aenter__(), self._loop).result()
        atexit.register(self.close)

    def search(self, queries: list[tuple[int, str]]) -> list[QueryResult]:
        future = asyncio.run_coroutine_threadsafe(search_queries(self._client, queries, self.config), self._loop)
        return future.result()

    def close(self) -> None:
        if self._loop.is_running():
            asyncio.run_coroutine_threadsafe(self._client.__aexit__(None, None, None), self._loop).result(timeout=10)
            self._loop.call_soon_threadsafe(self._loop.stop)
