"""Read candidates for `wit fetch` from a candidates parquet or any img2dataset-style URL list.

Formats: parquet, csv, tsv, jsonl (one JSON object per line), each possibly compressed as
fsspec infers from the name (.gz, .zst, ...). Columns: `--url-col` (default url) and
`--caption-col` (default caption); when those are missing, a column of the same name in any
case is taken (LAION and img2dataset's test files say URL and TEXT), and `text` stands in for
caption. wit's own candidate columns (uid, page_url, source, lang, matches, selected_by, meta)
are kept; any other column goes into `meta`, so it reaches each sample's json the way
img2dataset's --save_additional_columns does.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping

import fsspec
import pyarrow.parquet as pq

from wit.errors import WitError
from wit.records import make_uid

FORMATS = ("parquet", "csv", "tsv", "jsonl")
CANDIDATE_COLUMNS = ("uid", "page_url", "source", "text_field", "lang", "lang_score", "matches", "selected_by")


def list_format(path: str) -> str:
    name = path.lower()
    for suffix in (".gz", ".bz2", ".xz", ".zst", ".lz4"):
        name = name.removesuffix(suffix)
    for fmt, endings in (("parquet", (".parquet",)), ("csv", (".csv",)), ("tsv", (".tsv", ".txt")), ("jsonl", (".jsonl", ".json", ".ndjson"))):
        if name.endswith(endings):
            return fmt
    raise WitError(f"{path}: unknown URL list format (expected one of .{', .'.join(FORMATS)})")


def expand_inputs(spec: str) -> list[str]:
    """Files named by a path, a folder (its URL-list files) or a glob, on any fsspec filesystem."""
    fs, root = fsspec.core.url_to_fs(spec)
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    prefix = "" if protocol in ("file", "local") else f"{protocol}://"
    if fs.isdir(root):
        paths = sorted(p for p in fs.find(root) if _is_list_file(p))
    elif any(ch in root for ch in "*?["):
        paths = sorted(fs.glob(root))
    elif fs.exists(root):
        paths = [root]
    else:
        raise WitError(f"--input: no such file or folder: {spec}")
    if not paths:
        raise WitError(f"--input: no URL list files in {spec}")
    return [prefix + p for p in paths]


def _is_list_file(path: str) -> bool:
    try:
        list_format(path)
        return True
    except WitError:
        return False


def iter_rows(path: str) -> Iterator[dict]:
    fmt = list_format(path)
    with fsspec.open(path, "rb", compression="infer") as handle:
        if fmt == "parquet":
            for batch in pq.ParquetFile(handle).iter_batches(batch_size=8192):
                yield from batch.to_pylist()
        elif fmt == "jsonl":
            for number, line in enumerate(io.TextIOWrapper(handle, encoding="utf-8"), start=1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise WitError(f"{path}:{number}: not a JSON object: {exc}") from None
        else:
            text = io.TextIOWrapper(handle, encoding="utf-8", newline="")
            yield from csv.DictReader(text, delimiter="\t" if fmt == "tsv" else ",")


def _column(columns, wanted: str, fallbacks: tuple[str, ...] = ()) -> str | None:
    for name in (wanted, *fallbacks):
        if name in columns:
            return name
        lowered = {c.lower(): c for c in columns}
        if name.lower() in lowered:
            return lowered[name.lower()]
    return None


def rows_to_candidates(rows: Iterator[Mapping], path: str, url_col: str = "url", caption_col: str = "caption") -> Iterator[dict]:
    """Candidate dicts (wit.records fields) from URL-list rows."""
    url_name = caption_name = None
    for number, row in enumerate(rows):
        if url_name is None:
            url_name = _column(row.keys(), url_col)
            if url_name is None:
                raise WitError(f"{path}: no {url_col!r} column (columns: {', '.join(row.keys())}); use --url-col")
            caption_name = _column(row.keys(), caption_col, ("caption", "text"))
        url = str(row.get(url_name) or "").strip()
        caption = "" if caption_name is None or row.get(caption_name) is None else str(row[caption_name])
        candidate = {
            "uid": "",
            "url": url,
            "text": caption,
            "page_url": "",
            "source": f"{path}:{number}",
            "text_field": "",
            "lang": "",
            "lang_score": 0.0,
            "matches": [],
            "selected_by": [],
            "meta": {},
        }
        meta = row.get("meta")
        if isinstance(meta, str) and meta.strip():
            meta = json.loads(meta)
        candidate["meta"] = {str(k): str(v) for k, v in (meta or {}).items()} if isinstance(meta, Mapping) else {}
        for name, value in row.items():
            if name in (url_name, caption_name, "meta") or value is None:
                continue
            if name in CANDIDATE_COLUMNS:
                candidate[name] = list(value) if name in ("matches", "selected_by") else value
            else:
                candidate["meta"].setdefault(str(name), str(value))
        candidate["uid"] = str(candidate["uid"] or make_uid(url, caption))
        yield candidate


def read_candidates(path: str, url_col: str = "url", caption_col: str = "caption") -> Iterator[dict]:
    return rows_to_candidates(iter_rows(path), path, url_col, caption_col)
