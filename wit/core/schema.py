"""The columns of the two parquet files a dataset holds, one type per field.

OUT/candidates/*.parquet is the text side's result; OUT/shards/*.parquet has one row per
attempted sample. Both name the caption `caption` on disk, as img2dataset and LAION's lists do,
while the candidate record (wit.core.records) calls it `text`; both store `meta` (str -> str) as
a JSON object string, since its keys differ per source. This module is the one place where a
record becomes a row and a row becomes a record again.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping

CAPTION_COLUMN = "caption"


# The arrow schemas are built on first use: `wit --help` and the per-record code paths that
# only map fields must not import pyarrow.
@functools.cache
def candidates_schema():
    import pyarrow as pa

    query_ids = pa.list_(pa.int32())  # 500,000 queries fit in int32 with room to spare
    return pa.schema([
        ("uid", pa.string()),
        ("url", pa.string()),
        (CAPTION_COLUMN, pa.string()),
        ("page_url", pa.string()),
        ("source", pa.string()),
        ("text_field", pa.string()),
        ("lang", pa.string()),
        ("lang_score", pa.float32()),
        ("matches", query_ids),
        ("selected_by", query_ids),
        ("meta", pa.string()),
    ])


@functools.cache
def samples_schema():
    """One row per attempted sample: img2dataset's per-sample fields first, then the candidate's own."""
    import pyarrow as pa

    # The fields a sample shares with its candidate take the candidate's types: one type per field.
    shared = candidates_schema()
    return pa.schema([
        ("key", pa.string()),
        shared.field("uid"),
        shared.field("url"),
        shared.field(CAPTION_COLUMN),
        ("status", pa.string()),
        ("error_message", pa.string()),
        ("width", pa.int64()),
        ("height", pa.int64()),
        ("original_width", pa.int64()),
        ("original_height", pa.int64()),
        ("sha256", pa.string()),
        shared.field("page_url"),
        shared.field("source"),
        shared.field("matches"),
        shared.field("selected_by"),
        shared.field("lang"),
        shared.field("meta"),
    ])


# Candidate fields a row carries as they are (url and caption are read through their columns).
CARRIED_FIELDS = ("uid", "page_url", "source", "text_field", "lang", "lang_score", "matches", "selected_by")
QUERY_ID_FIELDS = ("matches", "selected_by")


def encode_meta(meta: Mapping | None) -> str:
    """meta as its column holds it: a JSON object with sorted keys, "" when empty."""
    return json.dumps(dict(meta), ensure_ascii=False, sort_keys=True) if meta else ""


def decode_meta(value) -> dict[str, str]:
    """meta from its column (JSON text), or as given when it already is a mapping."""
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else {}
    return {str(k): str(v) for k, v in dict(value or {}).items()}


def query_ids(values) -> list[int]:
    return [int(v) for v in (values or ())]


def candidate_row(candidate: Mapping) -> dict:
    """The candidates-parquet row of a candidate record."""
    return {
        "uid": candidate["uid"],
        "url": candidate["url"],
        CAPTION_COLUMN: candidate["text"],
        "page_url": candidate.get("page_url", ""),
        "source": candidate.get("source", ""),
        "text_field": candidate.get("text_field", ""),
        "lang": candidate.get("lang", ""),
        "lang_score": float(candidate.get("lang_score") or 0.0),
        "matches": query_ids(candidate.get("matches")),
        "selected_by": query_ids(candidate.get("selected_by")),
        "meta": encode_meta(candidate.get("meta")),
    }


def table_of(rows: list[dict], schema):
    """A pyarrow table of `schema` from row dicts, built column by column (faster than row by row)."""
    import pyarrow as pa

    return pa.Table.from_arrays([pa.array([row[name] for row in rows], type) for name, type in zip(schema.names, schema.types, strict=True)],
                                schema=schema)
