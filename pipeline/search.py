"""Beam composite of the query-driven source: queries in, Commons candidates out.

    query-list chunks --Reshuffle--> (id, query) --Reshuffle--> batches
        --SearchBatch (async, rate-limited, one client per process)--> candidates + outcomes
    candidates --by uid--> one per file, with every query that found it
    outcomes --> summary --> build counts (input, drop_license, search_*)

The per-query work (requests, parsing, paging, licences) is plain code in
pipeline/sources/commons/; this module only spreads it over workers and counts.
"""

from __future__ import annotations

import functools
import json

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.utils.shared import Shared

from wit.core.layout import DatasetLayout
from wit.pipeline.sources.commons.config import SearchConfig
from wit.pipeline.sources.commons.results import merge_candidates
from wit.pipeline.sources.commons.summaries import add_to_summary, empty_summary, merge_summaries, summary_counts
from wit.pipeline.sources.commons.worker import SearchWorker, load_queries

METRICS_NAMESPACE = "search_commons"


class _SearchBatch(beam.DoFn):
    """Searches a batch of (id, query); candidates on the main output, outcome records tagged."""

    def __init__(self, config: SearchConfig, shared: Shared, progress_dir: str | None = None) -> None:
        self._config = config
        self._shared = shared
        self._progress_dir = progress_dir

    def setup(self) -> None:
        # One worker (event loop, client, token bucket) per process, shared by all threads.
        self._worker = self._shared.acquire(lambda: SearchWorker(self._config), tag=repr(self._config))
        self._counters: dict = {}
        self._progress = None
        if self._progress_dir:
            from wit.pipeline.progress import ProgressReporter

            self._progress = ProgressReporter(self._progress_dir)

    def _count(self, name: str, value: int) -> None:
        if value:
            if name not in self._counters:
                self._counters[name] = Metrics.counter(METRICS_NAMESPACE, name)
            self._counters[name].inc(value)

    def process(self, batch):
        for candidates, record in self._worker.search(list(batch)):
            # Beam metrics only count from the bundle's own thread, hence here and not in the
            # event loop.
            self._count("queries", 1)
            self._count(f"outcome_{record['outcome']}", 1)
            if record["reason"]:
                self._count(f"failed_{record['reason']}", 1)
            for key in ("pages", "requests", "results", "candidates"):
                self._count(key, record[key])
            for name, count in record["drops"].items():
                self._count(name, count)
            for name, count in record["skipped"].items():
                self._count(f"skipped_{name}", count)
            for name, count in record["events"].items():
                self._count(f"http_{name}" if not name.startswith("http_") else name, count)
            if self._progress is not None:
                # The local progress line: queries done, candidates read, licence drops.
                dropped = sum(record["drops"].values())
                done = {"search_queries": 1, "input": record["candidates"] + dropped, **record["drops"]}
                self._progress.add(done)
            yield beam.pvalue.TaggedOutput("outcomes", record)
            yield from candidates

    def finish_bundle(self):
        if self._progress is not None:
            self._progress.add({}, force=True)


class _Summary(beam.CombineFn):
    def create_accumulator(self):
        return empty_summary()

    def add_input(self, summary, record):
        return add_to_summary(summary, record)

    def merge_accumulators(self, summaries):
        return merge_summaries(summaries)

    def extract_output(self, summary):
        return summary


QUERY_CHUNK = 1000  # queries per chunk a worker reads from the query list


@functools.lru_cache(maxsize=4)
def _query_texts(spec: str, expected_hash: str = "") -> tuple[str, ...]:
    """The query list, loaded once per worker process (and checked against the launcher's hash)."""
    return tuple(load_queries(spec, expected_hash))


def query_chunk(start: int, spec: str, size: int, expected_hash: str = ""):
    """(id, text) of queries start .. start+size-1 of the list `spec`."""
    return list(enumerate(_query_texts(spec, expected_hash)[start:start + size], start=start))


def _merge_group(uid_and_group):
    _uid, group = uid_and_group
    return merge_candidates(list(group))


class SearchCommons(beam.PTransform):
    """PBegin -> {"candidates", "counts", "outcomes", "summary"}.

    `queries` is a query-list spec (.txt/.parquet path or "default") or a list of texts (id =
    index).
    candidates: one dict per (file, text) with `matches` = every query that found it;
    counts: (key, n) pairs in the build's text-count keys: `input` (every candidate emitted
      plus every licence drop), `drop_license`, and search_* figures that are not drops;
    outcomes: one record per query (outcome, reason, pages, requests, results, candidates,
      drops, skipped, events);
    summary: one dict of the counts over all queries.
    """

    def __init__(self, config: SearchConfig, queries: str | list[str], progress_dir: str | None = None,
                 query_list_hash: str = "") -> None:
        super().__init__()
        self._config = config
        self._queries = queries
        self._query_list_hash = query_list_hash  # the launcher's sha256 of the list, checked on workers
        self._progress_dir = progress_dir  # local runs: where workers write progress counts
        self._shared = Shared()

    def _queries_with_ids(self, pbegin):
        """(id, text) for every query. A list spec is read here once (so a bad list fails
        before the job starts), but only chunk offsets go into the graph: workers read their
        chunk themselves, so 500,000 queries never bloat the job description."""
        if not isinstance(self._queries, str):
            return pbegin | "Queries" >> beam.Create(list(enumerate(self._queries)), reshuffle=False)
        total = len(load_queries(self._queries))
        return (
            pbegin
            | "QueryChunks" >> beam.Create(range(0, total, QUERY_CHUNK), reshuffle=False)
            | "SpreadChunks" >> beam.Reshuffle()
            | "ReadChunk" >> beam.FlatMap(query_chunk, self._queries, QUERY_CHUNK, self._query_list_hash)
        )

    def expand(self, pbegin):
        searched = (
            self._queries_with_ids(pbegin)
            # Spread queries over workers before the slow part: requests wait on the network
            # and on each worker's rate limit, so throughput comes from the number of workers.
            | "Spread" >> beam.Reshuffle()
            | "Batch" >> beam.BatchElements(min_batch_size=1, max_batch_size=self._config.batch_size)
            | "Search" >> beam.ParDo(_SearchBatch(self._config, self._shared, self._progress_dir))
            .with_outputs("outcomes", main="candidates")
        )
        candidates = (
            searched.candidates
            | "ByUid" >> beam.Map(lambda candidate: (candidate["uid"], candidate))
            | "SameFile" >> beam.GroupByKey()
            | "MergeQueries" >> beam.Map(_merge_group)
        )
        summary = searched.outcomes | "Summary" >> beam.CombineGlobally(_Summary())
        emitted = (
            candidates
            | "CountEmitted" >> beam.combiners.Count.Globally()
            | "AsInput" >> beam.Map(lambda n: ("input", n))
        )
        from_summary = summary | "SummaryCounts" >> beam.FlatMap(summary_counts)
        counts = (emitted, from_summary) | "Counts" >> beam.Flatten()
        return {"candidates": candidates, "counts": counts, "outcomes": searched.outcomes, "summary": summary}


OUTCOME_SCHEMA_FIELDS = (
    ("query_id", "int64"), ("query", "string"), ("outcome", "string"), ("reason", "string"),
    ("pages", "int64"), ("requests", "int64"), ("results", "int64"), ("candidates", "int64"),
    ("drops", "string"), ("skipped", "string"), ("events", "string"),
)


def outcome_row(record: dict) -> dict:
    """An outcome record as a flat parquet row (the per-reason dicts as JSON strings)."""
    row = {key: record[key] for key, _ in OUTCOME_SCHEMA_FIELDS if key not in ("drops", "skipped", "events")}
    for key in ("drops", "skipped", "events"):
        row[key] = json.dumps(record[key], sort_keys=True)
    return row


def _write_json(document: dict, path: str) -> str:
    from apache_beam.io.filesystems import FileSystems

    with FileSystems.create(path, mime_type="application/json") as handle:
        handle.write(json.dumps(document, indent=2).encode("utf-8") + b"\n")
    return path


class WriteSearchOutcomes(beam.PTransform):
    """{"outcomes", "summary"} -> OUT/counts/search_queries.parquet (one row per query) and
    OUT/counts/search_summary.json."""

    def __init__(self, out: str) -> None:
        super().__init__()
        self._layout = DatasetLayout(out)

    def expand(self, outputs):
        import pyarrow as pa

        schema = pa.schema([(name, getattr(pa, kind)()) for name, kind in OUTCOME_SCHEMA_FIELDS])
        rows = outputs["outcomes"] | "Rows" >> beam.Map(outcome_row)
        written = rows | "WriteQueries" >> beam.io.WriteToParquet(
            self._layout.search_queries_prefix, schema, file_name_suffix=".parquet", num_shards=1, shard_name_template="")
        summary_path = outputs["summary"] | "WriteSummary" >> beam.Map(_write_json, self._layout.search_summary)
        return written, summary_path
