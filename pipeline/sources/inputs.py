"""Which files a build reads: paths and globs on Beam FileSystems, http(s) URLs, or a crawl.

Globs are expanded once at launch (so a typo fails before any worker starts) into a list of
files; the pipeline then reads them one per element, so work splits by file and no stage ever
holds the pool. Local paths, gs:// and s3:// go through Beam FileSystems; http(s):// through
remote.RemoteReader (Beam has no HTTP filesystem), which retries and resumes, so `--crawl` can
read Common Crawl directly; other URLs through fsspec.
"""

from __future__ import annotations

import gzip
import io
import os
from dataclasses import dataclass

from wit.pipeline.sources.remote import RemoteReadConfig, RemoteReader
from wit.pipeline.sources.urllist import url_list_format
from wit.core.errors import WitError
from wit.core.storage import open_url, require_filesystem, url_to_fs, with_protocol

# Where `--crawl` finds `crawl-data/CC-MAIN-YYYY-WW/wat.paths.gz`. Users on AWS can point it at
# s3://commoncrawl/; tests point it at a local server.
COMMON_CRAWL_BASE_URL = "https://data.commoncrawl.org/"
COMMON_CRAWL_BASE_URL_ENV = "WIT_CC_BASE_URL"

SOURCE_FORMATS = ("wat", "warc", "parquet", "csv", "tsv", "jsonl")


@dataclass(frozen=True)
class InputFile:
    """One file to read and how to read it."""

    path: str
    format: str
    size: int = -1  # bytes, -1 when unknown (http)


def is_http(path: str) -> bool:
    return path.startswith(("http://", "https://"))


# Schemes Beam's FileSystems read (on the launcher and on workers); any other URL (http(s),
# memory:// ...) goes through fsspec.
BEAM_SCHEMES = ("gs://", "s3://")


def _through_fsspec(path: str) -> bool:
    return "://" in path and not path.startswith(BEAM_SCHEMES)


def _folder_files(folder: str) -> list[tuple[str, int]]:
    """The files of a folder whose names tell a source format, at any depth, with their sizes."""
    fs, root = url_to_fs(folder)
    found = fs.find(root, detail=True)
    return sorted((with_protocol(fs, folder, path), int(info.get("size") or -1)) for path, info in found.items() if detect_format(path))


def _is_folder(pattern: str) -> bool:
    if any(ch in pattern for ch in "*?[") or is_http(pattern):
        return False
    if "://" not in pattern:
        return os.path.isdir(pattern)
    if _through_fsspec(pattern):
        fs, root = url_to_fs(pattern)
        return fs.isdir(root)
    return False


def detect_format(path: str) -> str | None:
    """The source format a file name implies: wat, warc, or a URL-list format."""
    name = path.lower().rsplit("/", 1)[-1]
    for suffix in (".gz", ".zst", ".lz4"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    if name.endswith(".wat"):
        return "wat"
    if name.endswith((".warc", ".arc")):
        return "warc"
    return url_list_format(path)


def expand_inputs(patterns: list[str], forced_format: str | None = None) -> list[InputFile]:
    """Every file the patterns name, in a stable order, with its format.

    A pattern is a file, a folder (its files of a known format, at any depth) or a glob: local,
    on gs:// or s3:// (Beam's FileSystems), or any other fsspec URL; http(s) URLs are taken as
    they are. Raises WitError for a pattern that matches nothing or a file whose format cannot be
    told from its name (name it with --input-format).
    """
    files: dict[str, InputFile] = {}
    for pattern in patterns:
        matched = _match(pattern)
        if not matched:
            where = "in the folder" if _is_folder(pattern) else "match"
            raise WitError(f"no input files {where} {pattern!r} (wat, warc, parquet, csv, tsv or jsonl, optionally compressed)")
        for path, size in matched:
            fmt = forced_format or detect_format(path)
            if fmt is None:
                raise WitError(f"cannot tell the format of {path!r} from its name; use --input-format "
                               f"({', '.join(SOURCE_FORMATS)})")
            files.setdefault(path, InputFile(path, fmt, size))
    return list(files.values())


def _match(pattern: str) -> list[tuple[str, int]]:
    """(path, size in bytes or -1) of every file a pattern names, sorted."""
    if is_http(pattern):
        return [(pattern, -1)]
    if _is_folder(pattern):
        return _folder_files(pattern)
    if "://" not in pattern:
        # Local files through the stdlib, so `wit fetch` need not import Beam to list them.
        import glob

        names = sorted(glob.glob(pattern)) if any(ch in pattern for ch in "*?[") else [pattern]
        return [(name, os.path.getsize(name)) for name in names if os.path.isfile(name)]
    if _through_fsspec(pattern):
        fs, root = url_to_fs(pattern)
        return sorted((with_protocol(fs, pattern, path), int(info.get("size") or -1)) for path, info in fs.glob(root, detail=True).items())
    from apache_beam.io.filesystems import FileSystems

    require_filesystem(pattern, beam=True)
    try:
        results = FileSystems.match([pattern])[0].metadata_list
        if not results and not any(ch in pattern for ch in "*?["):
            # A folder on one of Beam's object stores (which have no folders, only prefixes):
            # its files of a known format, at any depth, as a local or fsspec folder is read.
            below = FileSystems.match([pattern.rstrip("/") + "/**"])[0].metadata_list
            results = [meta for meta in below if detect_format(meta.path)]
    except Exception as exc:  # noqa: BLE001 - Beam raises BeamIOError and friends
        raise WitError(f"cannot list input {pattern!r}: {exc}") from exc
    return sorted((meta.path, meta.size_in_bytes) for meta in results)


def open_binary(path: str, remote: RemoteReadConfig | None = None, on_event=None):
    """A binary read stream for any supported location (caller closes it).

    http(s) streams retry and resume as `remote` says, reporting each retry and resume to
    `on_event(name)` (remote.READ_RETRIES, remote.READ_RESUMES).
    """
    if "://" not in path:
        return open(path, "rb")
    if is_http(path):
        return RemoteReader(path, remote, on_event)
    if _through_fsspec(path):
        # Streaming, not range requests: WAT/WARC files are read front to back once.
        return open_url(path, "rb", block_size=0).open()
    from apache_beam.io.filesystems import CompressionTypes, FileSystems

    require_filesystem(path, beam=True)
    return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)


def open_text_list(path: str, remote: RemoteReadConfig | None = None, on_event=None):
    """A binary stream of a URL list, decompressed as its name says (.gz, .zst, .bz2 ...)."""
    from fsspec.compression import compr
    from fsspec.utils import infer_compression

    stream = open_binary(path, remote, on_event)
    codec = infer_compression(path)
    return compr[codec](stream, mode="rb") if codec else stream


def crawl_base_url(override: str | None = None) -> str:
    base = override or os.environ.get(COMMON_CRAWL_BASE_URL_ENV) or COMMON_CRAWL_BASE_URL
    return base if base.endswith("/") else base + "/"


def crawl_wat_files(crawl: str, max_files: int | None, base_url: str | None = None,
                    remote: RemoteReadConfig | None = None) -> list[InputFile]:
    """The WAT files of a Common Crawl crawl (`CC-MAIN-YYYY-WW`), from its wat.paths.gz index."""
    import re

    if not re.fullmatch(r"CC-MAIN-\d{4}-\d{2}", crawl):
        raise WitError(f"--crawl wants an id like CC-MAIN-2024-22, not {crawl!r}")
    base = crawl_base_url(base_url)
    index_url = f"{base}crawl-data/{crawl}/wat.paths.gz"
    try:
        with open_binary(index_url, remote) as stream:
            raw = stream.read()
    except FileNotFoundError as exc:
        raise WitError(f"crawl {crawl} has no WAT index at {index_url}") from exc
    except OSError as exc:
        raise WitError(f"cannot read the WAT index {index_url}: {exc}") from exc
    try:
        lines = gzip.GzipFile(fileobj=io.BytesIO(raw)).read().decode("utf-8").split()
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise WitError(f"the WAT index {index_url} is not a gzip list of paths: {exc}") from exc
    if max_files is not None:
        lines = lines[:max_files]
    return [InputFile(base + line.lstrip("/"), "wat") for line in lines]
