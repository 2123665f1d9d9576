"""Stage 6: write the text side: OUT/candidates/part-*.parquet and OUT/counts/queries.parquet.

Candidates parquet columns: uid, url, caption, page_url, source, text_field, lang, lang_score,
matches, selected_by, meta. The record's `text` is written as `caption` so img2dataset reads
the files with its defaults (url_col="url", caption_col="caption"); `meta` is a JSON string.
"""

from __future__ import annotations

import json
from collections import Counter

import apache_beam as beam
import pyarrow as pa
from apache_beam.transforms.window import GlobalWindows

from pipeline.counting import COUNTS_TAG, KEPT, CountingDoFn

CANDIDATES_SCHEMA = pa.schema([
    ("uid", pa.string()),
    ("url", pa.string()),
    ("caption", pa.string()),
    ("page_url", pa.string()),
    ("source", pa.string()),
    ("text_field", pa.string()),
    ("lang", pa.string()),
    ("lang_score", pa.float32()),
    ("matches", pa.list_(pa.int32())),
    ("selected_by", pa.list_(pa.int32())),
    ("meta", pa.string()),
])

QUERY_COUNT_KINDS = ("selected", "matches", "matched_before_cap")


def candidate_row(candidate: dict) -> dict:
    """The parquet row of a candidate (text -> caption, meta -> JSON)."""
    meta = candidate.get("meta") or {}
    return {
        "uid": candidate["uid"],
        "url": candidate["url"],
        "caption": candidate["text"],
        "page_url": candidate.get("page_url", ""),
        "source": candidate.get("source", ""),
        "text_field": candidate.get("text_field", ""),
        "lang": candidate.get("lang", ""),
        "lang_score": float(candidate.get("lang_score") or 0.0),
        "matches": list(candidate.get("matches") or ()),
        "selected_by": list(candidate.get("selected_by") or ()),
        "meta": json.dumps(meta, ensure_ascii=False, sort_keys=True) if meta else "",
    }


def row_candidate(row: dict) -> dict:
    """The candidate dict of a candidates-parquet row (inverse of candidate_row)."""
    candidate = dict(row)
    candidate["text"] = candidate.pop("caption")
    candidate["meta"] = json.loads(candidate["meta"]) if candidate.get("meta") else {}
    return candidate


class ToRowDoFn(CountingDoFn):
    def process(self, candidate: dict):
        self.count(KEPT)
        yield candidate_row(candidate)


class WriteCandidates(beam.PTransform):
    """kept candidates -> OUT/candidates/part-*.parquet; returns the `kept` counts."""

    def __init__(self, out: str, progress_dir: str | None = None):
        super().__init__()
        self._out = out.rstrip("/")
        self._progress_dir = progress_dir

    def expand(self, kept):
        rows = kept | "ToRow" >> beam.ParDo(ToRowDoFn(self._progress_dir)).with_outputs(COUNTS_TAG, main="rows")
        rows.rows | "WriteParquet" >> beam.io.WriteToParquet(
            f"{self._out}/candidates/part", CANDIDATES_SCHEMA, file_name_suffix=".parquet", record_batch_size=10000)
        return rows[COUNTS_TAG]


class TallyQueriesDoFn(beam.DoFn):
    """Per-bundle tallies of ((kind, query id), n): one output per query per bundle, not per match."""

    def __init__(self, fields: tuple[tuple[str, str], ...]):
        self._fields = fields  # (candidate field, count kind)

    def start_bundle(self):
        self._tally = Counter()

    def process(self, candidate: dict):
        for field, kind in self._fields:
            for query_id in candidate.get(field) or ():
                self._tally[(kind, query_id)] += 1

    def finish_bundle(self):
        for key, n in self._tally.items():
            yield GlobalWindows.windowed_value((key, n))
        self._tally = Counter()


def query_counts_table(totals: list, texts: list[str]):
    """The queries.parquet table: one row per query id, zeros included."""
    columns = {kind: [0] * len(texts) for kind in QUERY_COUNT_KINDS}
    for (kind, query_id), n in totals:
        if 0 <= query_id < len(texts):
            columns[kind][query_id] = n
    return pa.table({
        "id": pa.array(range(len(texts)), pa.int32()),
        "text": pa.array(texts, pa.string()),
        **{kind: pa.array(values, pa.int64()) for kind, values in columns.items()},
    })


def _write_query_counts(totals: list, path: str, queries_spec: str) -> str:
    import pyarrow.parquet as pq
    from apache_beam.io.filesystems import FileSystems
    from queries.querylist import load_query_list

    table = query_counts_table(totals, load_query_list(queries_spec).texts)
    with FileSystems.create(path, mime_type="application/octet-stream") as handle:
        pq.write_table(table, handle)
    return path


class WriteQueryCounts(beam.PTransform):
    """{"matched": before the cap, "kept": after} -> OUT/counts/queries.parquet.

    Columns: id, text, selected (candidates the query selected; never above the cap), matches
    (kept candidates that contain the query), matched_before_cap (all candidates that did).
    """

    def __init__(self, out: str, queries_spec: str):
        super().__init__()
        self._path = f"{out.rstrip('/')}/counts/queries.parquet"
        self._queries_spec = queries_spec

    def expand(self, inputs):
        matched = inputs["matched"] | "TallyMatched" >> beam.ParDo(TallyQueriesDoFn((("matches", "matched_before_cap"),)))
        kept = inputs["kept"] | "TallyKept" >> beam.ParDo(TallyQueriesDoFn((("selected_by", "selected"), ("matches", "matches"))))
        return (
            (matched, kept)
            | "AllTallies" >> beam.Flatten()
            | "SumPerQuery" >> beam.CombinePerKey(sum)
            | "AllQueries" >> beam.combiners.ToList()
            | "WriteParquet" >> beam.Map(_write_query_counts, self._path, self._queries_spec)
        )
