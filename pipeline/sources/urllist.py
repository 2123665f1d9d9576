"""URL lists: parquet, csv, tsv and jsonl files of (image url, caption) rows.

LAION, CC3M/CC12M, YFCC and DataComp pools all ship this way. Column names are configurable like
img2dataset's `url_col` / `caption_col`; when the configured name is absent, a case-insensitive
match and then the usual aliases (LAION's URL/TEXT) are tried, so the common files read without
flags. Files are streamed in batches: a 100 GB list never sits in memory.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from urllib.parse import unquote_plus

from wit.pipeline.sources.candidates import RecordError
from wit.core.errors import WitError
from wit.core.records import make_uid, new_candidate
from wit.core.schema import CARRIED_FIELDS, QUERY_ID_FIELDS, decode_meta, query_ids

URL_LIST_FORMATS = ("parquet", "csv", "tsv", "jsonl")
URL_ALIASES = ("url", "image_url", "imageurl", "download_url", "img_url", "photo_url")
CAPTION_ALIASES = ("caption", "text", "alt", "alt_text", "title", "description")
PAGE_URL_ALIASES = ("page_url", "pageurl", "source_url")
_BATCH_ROWS = 8192

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # real captions can exceed csv's 128 KiB default


@dataclass(frozen=True)
class UrlListConfig:
    """How to read a URL list (the `--url-col`/`--caption-col` flags of `wit build`)."""

    url_col: str = "url"
    caption_col: str = "caption"
    # YFCC-style lists store text URL-encoded with '+' for spaces.
    unquote_plus: bool = False
    # Extra columns copied into the candidate's `meta` (licence, photo id ...), as img2dataset's
    # save_additional_columns.
    meta_cols: tuple[str, ...] = field(default_factory=tuple)
    # Keep wit's own candidate columns (uid, matches, selected_by ...) and put every other column
    # into `meta`: what `wit fetch` needs to fetch a candidates parquet written by `wit build`,
    # or an img2dataset list whose extra columns should reach each sample's json.
    carry_columns: bool = False
    # img2dataset accepts URL-only lists; `wit fetch` does too, `wit build` needs captions.
    caption_required: bool = True




def resolve_column(available: Iterable[str], requested: str, aliases: Iterable[str], *, required: bool) -> str | None:
    """The column of `available` to read for `requested`: exact, case-insensitive, then an alias."""
    available = list(available)
    if requested in available:
        return requested
    by_lower = {name.lower(): name for name in available}
    for name in (requested, *aliases):
        if name.lower() in by_lower:
            return by_lower[name.lower()]
    if required:
        raise WitError(f"no {requested!r} column (columns: {', '.join(available) or 'none'}); "
                       "use --url-col / --caption-col to name it")
    return None


def url_list_format(path: str) -> str | None:
    """The URL-list format a path's extension names, ignoring a compression suffix."""
    name = path.lower()
    for suffix in (".gz", ".bz2", ".zst", ".deflate"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith(".csv"):
        return "csv"
    if name.endswith((".tsv", ".txt")):
        return "tsv"
    if name.endswith((".jsonl", ".json", ".ndjson")):
        return "jsonl"
    return None


class _Columns:
    """The resolved column names of one file."""

    def __init__(self, available: Iterable[str], config: UrlListConfig):
        available = list(available)
        self.available = available if config.carry_columns else []
        self.url = resolve_column(available, config.url_col, URL_ALIASES, required=True)
        self.caption = resolve_column(available, config.caption_col, CAPTION_ALIASES, required=config.caption_required)
        self.page_url = resolve_column(available, "page_url", PAGE_URL_ALIASES, required=False)
        self.meta = [name for name in config.meta_cols if name in available]
        missing = set(config.meta_cols) - set(self.meta)
        if missing:
            raise WitError(f"URL list has no column(s) {', '.join(sorted(missing))} named in --meta-cols")

    def names(self) -> list[str]:
        return list(dict.fromkeys(n for n in (self.url, self.caption, self.page_url, *self.meta, *self.available) if n))


def row_to_candidate(row: dict, columns: _Columns, config: UrlListConfig, source: str) -> dict:
    """One candidate from one row. Missing values become "" so the filters count the drop."""
    url = _as_text(row.get(columns.url)).strip()
    caption = _as_text(row.get(columns.caption))
    if config.unquote_plus:
        caption = unquote_plus(caption)
    page_url = _as_text(row.get(columns.page_url)) if columns.page_url else ""
    candidate = new_candidate(url, caption, page_url=page_url, source=source, text_field="caption")
    if columns.meta:
        candidate["meta"] = {name: _as_text(row.get(name)) for name in columns.meta}
    if config.carry_columns:
        _carry(row, columns, candidate)
    return candidate


def _carry(row: dict, columns: _Columns, candidate: dict) -> None:
    """Keep wit's candidate fields from `row`; every other non-empty column goes into meta."""
    meta = row.get("meta")
    if isinstance(meta, (str, dict)):
        candidate["meta"].update(decode_meta(meta))
    for name, value in row.items():
        if name in (columns.url, columns.caption, "meta") or value is None:
            continue
        if name in CARRIED_FIELDS:
            candidate[name] = query_ids(value) if name in QUERY_ID_FIELDS else value
        else:
            candidate["meta"].setdefault(str(name), _as_text(value))
    candidate["uid"] = str(candidate["uid"] or make_uid(candidate["url"], candidate["text"]))


def _as_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value != value:  # NaN from pandas-written files
        return ""
    return str(value)


def url_list_columns(stream: io.IOBase, path: str, fmt: str) -> list[str]:
    """The column names of a URL list, read from its header alone (parquet schema, csv/tsv
    header line, first jsonl object)."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return list(pq.ParquetFile(stream).schema_arrow.names)
    text = io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline="")
    if fmt in ("csv", "tsv"):
        return next(csv.reader(text, delimiter="," if fmt == "csv" else "\t"), [])
    # A bad row is a counted drop at run time, not a reason to refuse the file: the columns
    # come from the first of its first lines that is a JSON object.
    for line in itertools.islice(text, 1000):
        try:
            row = json.loads(line) if line.strip() else None
        except ValueError:
            continue
        if isinstance(row, dict):
            return list(row)
    raise ValueError("no JSON object in its first 1,000 lines")


def check_url_list_columns(columns: list[str], path: str, config: UrlListConfig) -> None:
    """Raise WitError naming what is missing when `config` cannot read a list with these columns."""
    _Columns(columns, config)


def read_url_list(stream: io.IOBase, path: str, fmt: str, config: UrlListConfig) -> Iterator[dict]:
    """Candidates from one URL-list file, streamed. `source` is `path#row`.

    Raises WitError when the url/caption columns cannot be found (the caller counts the file as
    an error); a malformed row yields a RecordError, counted as drop_error.
    """
    if fmt == "parquet":
        yield from _read_parquet(stream, path, config)
    elif fmt in ("csv", "tsv"):
        yield from _read_delimited(stream, path, "," if fmt == "csv" else "\t", config)
    elif fmt == "jsonl":
        yield from _read_jsonl(stream, path, config)
    else:
        raise WitError(f"unknown URL-list format {fmt!r} for {path} (one of {', '.join(URL_LIST_FORMATS)})")


def _read_parquet(stream, path: str, config: UrlListConfig) -> Iterator[dict]:
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(stream)
    columns = _Columns(parquet.schema_arrow.names, config)
    row_index = 0
    for batch in parquet.iter_batches(batch_size=_BATCH_ROWS, columns=columns.names()):
        for row in batch.to_pylist():
            yield row_to_candidate(row, columns, config, f"{path}#{row_index}")
            row_index += 1


def _read_delimited(stream, path: str, delimiter: str, config: UrlListConfig) -> Iterator[dict]:
    text = io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline="")
    # Quoted fields are read as pandas (and so img2dataset) writes and reads them, TSV included.
    reader = csv.reader(text, delimiter=delimiter, quoting=csv.QUOTE_MINIMAL)
    header = next(reader, None)
    if header is None:
        return
    columns = _Columns(header, config)
    positions = {name: header.index(name) for name in columns.names()}
    for row_index, values in enumerate(reader):
        if not values:
            continue
        if len(values) < len(header):
            yield RecordError(f"{path}#{row_index}", f"{len(values)} fields, header has {len(header)}")
            continue
        row = {name: values[position] for name, position in positions.items()}
        yield row_to_candidate(row, columns, config, f"{path}#{row_index}")


def _read_jsonl(stream, path: str, config: UrlListConfig) -> Iterator[dict]:
    columns = None
    for row_index, line in enumerate(io.TextIOWrapper(stream, encoding="utf-8", errors="replace")):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            yield RecordError(f"{path}#{row_index}", str(exc))
            continue
        if not isinstance(row, dict):
            yield RecordError(f"{path}#{row_index}", "not a JSON object")
            continue
        if columns is None:
            columns = _Columns(row.keys(), config)
        yield row_to_candidate(row, columns, config, f"{path}#{row_index}")
