"""Which files `wit fetch` reads, and their candidates: a candidates parquet or any URL list.

Reading is `wit build`'s URL-list source (pipeline/sources/urllist.py) with `carry_columns`:
wit's own candidate columns (uid, matches, selected_by ...) are kept, and any other column goes
into `meta`, so it reaches each sample's json the way img2dataset's --save_additional_columns
does. Files may be compressed as fsspec infers from the name (.gz, .zst, ...).
"""

from __future__ import annotations

from collections.abc import Iterator

import fsspec

from wit.pipeline.sources.common import RecordError
from wit.pipeline.sources.urllist import URL_LIST_FORMATS, UrlListConfig, read_url_list, url_list_format
from wit.core.errors import WitError


def expand_inputs(spec: str) -> list[str]:
    """Files named by a path, a folder (its URL-list files) or a glob, on any fsspec filesystem."""
    fs, root = fsspec.core.url_to_fs(spec)
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    prefix = "" if protocol in ("file", "local") else f"{protocol}://"
    if fs.isdir(root):
        paths = sorted(p for p in fs.find(root) if url_list_format(p))
    elif any(ch in root for ch in "*?["):
        paths = sorted(fs.glob(root))
    elif fs.exists(root):
        paths = [root]
    else:
        raise WitError(f"--input: no such file or folder: {spec}")
    if not paths:
        raise WitError(f"--input: no URL list files in {spec}")
    return [prefix + p for p in paths]


def read_candidates(path: str, url_col: str = "url", caption_col: str = "caption") -> Iterator[dict]:
    """Candidate dicts (wit.core.records fields) from one list file; a malformed row is a WitError."""
    fmt = url_list_format(path)
    if fmt is None:
        raise WitError(f"{path}: unknown URL list format (expected one of .{', .'.join(URL_LIST_FORMATS)})")
    config = UrlListConfig(url_col=url_col, caption_col=caption_col, carry_columns=True, caption_required=False)
    with fsspec.open(path, "rb", compression="infer") as handle:
        for item in read_url_list(handle, path, fmt, config):
            if isinstance(item, RecordError):
                raise WitError(f"{item.where}: {item.message}")
            yield item
