"""Stage 6: write the text side: OUT/candidates/part-*.parquet and OUT/counts/queries.parquet.

Candidates parquet columns: uid, url, caption, page_url, source, text_field, lang, lang_score,
matches, selected_by, meta. The record's `text` is written as `caption` so img2dataset reads
the files with its defaults (url_col="url", caption_col="caption"); `meta` is a JSON string.
"""

from __future__ import annotations

from collections import Counter
from itertools import chain

import apache_beam as beam
import pyarrow as pa

from wit.core.layout import DatasetLayout
from wit.core.schema import candidate_row, candidates_schema, table_of
from wit.pipeline.batches import CandidateBatch
from wit.pipeline.counting import COUNTS_TAG, KEPT, HoldingDoFn

QUERY_COUNT_KINDS = ("selected", "matches", "matched_before_cap")


def rows_table(rows: list[dict]) -> pa.Table:
    """A candidates table from candidate_row dicts."""
    return table_of(rows, candidates_schema())


class ToTablesDoFn(HoldingDoFn):
    """CandidateBatches -> pyarrow tables of up to `batch_rows` rows (counted as `kept`).

    Building the columns here, in bulk, costs a fraction of Beam's row-by-row WriteToParquet.
    """

    def __init__(self, batch_rows: int = 20000, progress_dir: str | None = None):
        super().__init__(progress_dir)
        self._batch_rows = batch_rows

    def reset_held(self):
        self._rows = []

    def hold(self, batch: CandidateBatch):
        self.count(KEPT, len(batch))
        self._rows.extend(candidate_row(candidate) for candidate in batch.candidates)

    def is_full(self):
        return len(self._rows) >= self._batch_rows

    def flush(self):
        if self._rows:
            yield rows_table(self._rows)
            self._rows = []


class WriteCandidates(beam.PTransform):
    """kept CandidateBatches -> OUT/candidates/part-*.parquet; returns the `kept` counts."""

    def __init__(self, out: str, progress_dir: str | None = None):
        super().__init__()
        self._out = out.rstrip("/")
        self._progress_dir = progress_dir

    def expand(self, kept):
        tables = kept | "ToTables" >> beam.ParDo(ToTablesDoFn(progress_dir=self._progress_dir)).with_outputs(COUNTS_TAG, main="tables")
        tables.tables | "WriteParquet" >> beam.io.WriteToParquetBatched(
            DatasetLayout(self._out).candidates_prefix, candidates_schema(), file_name_suffix=".parquet")
        return tables[COUNTS_TAG]


def tally_queries(candidates: list[dict], fields: tuple[tuple[str, str], ...], tally: dict[str, Counter]) -> None:
    """Adds each query id in each candidate's `field` to tally[kind] (kind -> Counter of query ids)."""
    for field, kind in fields:
        # Counter.update over one flat iterable counts in C, not per id in Python.
        tally.setdefault(kind, Counter()).update(chain.from_iterable(candidate.get(field) or () for candidate in candidates))


class TallyQueriesDoFn(HoldingDoFn):
    """One {kind: Counter of query ids} per bundle: one output per bundle, not per match."""

    def __init__(self, fields: tuple[tuple[str, str], ...]):
        super().__init__()
        self._fields = fields  # (candidate field, count kind)

    def reset_held(self):
        self._tally: dict[str, Counter] = {}

    def hold(self, batch: CandidateBatch):
        tally_queries(batch.candidates, self._fields, self._tally)

    def flush(self):
        if self._tally:
            yield self._tally
        self._tally = {}


def sum_tallies(tallies) -> dict[str, Counter]:
    """{kind: Counter} tallies summed kind by kind."""
    total: dict[str, Counter] = {}
    for tally in tallies:
        for kind, counter in tally.items():
            total.setdefault(kind, Counter()).update(counter)
    return total


def query_counts_table(totals: dict[str, Counter], texts: list[str]):
    """The queries.parquet table from {kind: Counter of query ids}: one row per query id, zeros included."""
    columns = {kind: [0] * len(texts) for kind in QUERY_COUNT_KINDS}
    for kind, counter in totals.items():
        for query_id, n in counter.items():
            if 0 <= query_id < len(texts):
                columns[kind][query_id] = n
    return pa.table({
        "id": pa.array(range(len(texts)), pa.int32()),
        "text": pa.array(texts, pa.string()),
        **{kind: pa.array(values, pa.int64()) for kind, values in columns.items()},
    })


def _write_query_counts(totals: dict[str, Counter], path: str, queries_spec: str, query_list_hash: str = "") -> str:
    import pyarrow.parquet as pq
    from apache_beam.io.filesystems import FileSystems
    from wit.queries.querylist import load_query_list

    table = query_counts_table(totals, load_query_list(queries_spec, expected_hash=query_list_hash or None).texts)
    with FileSystems.create(path, mime_type="application/octet-stream") as handle:
        pq.write_table(table, handle)
    return path


class WriteQueryCounts(beam.PTransform):
    """{"match_counts": {query: n} dicts before the cap, "kept": CandidateBatches after} -> OUT/counts/queries.parquet.

    Columns: id, text, selected (candidates the query selected; never above the cap), matches
    (kept candidates that contain the query), matched_before_cap (all candidates that did).
    """

    def __init__(self, out: str, queries_spec: str, query_list_hash: str = ""):
        super().__init__()
        self._path = DatasetLayout(out).query_counts
        self._queries_spec = queries_spec
        self._query_list_hash = query_list_hash

    def expand(self, inputs):
        matched = inputs["match_counts"] | "KeyMatched" >> beam.Map(lambda counts: {"matched_before_cap": Counter(counts)})
        kept = inputs["kept"] | "TallyKept" >> beam.ParDo(TallyQueriesDoFn((("selected_by", "selected"), ("matches", "matches"))))
        return (
            (matched, kept)
            | "AllTallies" >> beam.Flatten()
            | "SumTallies" >> beam.CombineGlobally(sum_tallies)
            | "WriteParquet" >> beam.Map(_write_query_counts, self._path, self._queries_spec, self._query_list_hash)
        )
