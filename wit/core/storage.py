"""Where wit reads and writes: local paths and URLs (s3://, gs://, memory:// ...).

Every fsspec filesystem the project opens goes through `url_to_fs` or `open_url` here, and every
object-store path handed to Beam's FileSystems is checked with `require_filesystem(url,
beam=True)` first. So a URL whose filesystem package is not installed fails with one line that
names the extra to install (a WitError), not with fsspec's or Beam's ImportError text.

Credentials and endpoints are the storage libraries' own: for S3, boto3's chain (AWS_* variables,
~/.aws, instance roles) on both sides, AWS_ENDPOINT_URL or FSSPEC_S3_ENDPOINT_URL for s3fs, and
Beam's --s3_endpoint_url (docs/storage.md).
"""

from __future__ import annotations

import importlib
import os
import posixpath
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from wit.core.errors import WitError


@dataclass(frozen=True)
class Backend:
    """What an object store needs installed: fsspec's filesystem, and what Beam's needs on top."""

    extra: str  # the wit extra that installs both
    fsspec_module: str  # fsspec imports it to open the URL
    beam_module: str  # Beam's FileSystems needs it for the same scheme


_AWS = Backend("aws", "s3fs", "boto3")
_GCP = Backend("gcp", "gcsfs", "google.cloud.storage")
BACKENDS = {"s3": _AWS, "s3a": _AWS, "gs": _GCP, "gcs": _GCP}


def url_schemes(url: str) -> list[str]:
    """The schemes of a URL, lower case; fsspec chains (`simplecache::s3://...`) give several."""
    schemes = []
    for part in str(url).split("::"):
        if "://" in part:
            schemes.append(part.split("://", 1)[0].lower())
        elif part and part.isidentifier():  # a chained protocol given bare, e.g. `simplecache`
            schemes.append(part.lower())
    return schemes


def _importable(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def require_filesystem(url: str, *, beam: bool = False) -> None:
    """Raise WitError naming the extra to install when the URL's filesystem is missing.

    `beam=True` also checks what Beam's FileSystems needs for the scheme (the launcher and the
    workers of `wit build` read and write gs:// and s3:// through Beam). Local paths and schemes
    without a known extra pass; fsspec reports those itself.
    """
    for scheme in url_schemes(url):
        backend = BACKENDS.get(scheme)
        if backend is None:
            continue
        modules = (backend.fsspec_module, backend.beam_module) if beam else (backend.fsspec_module,)
        if not all(_importable(module) for module in modules):
            raise WitError(f"{scheme}:// paths need the {backend.extra} extra: pip install 'wit[{backend.extra}]'")


def url_to_fs(url: str, **kwargs):
    """fsspec's (filesystem, path) for a URL or local path, after `require_filesystem`."""
    import fsspec

    require_filesystem(url)
    return fsspec.core.url_to_fs(url, **kwargs)


def with_protocol(fs, original: str, path: str) -> str:
    """A path fsspec listed (without its protocol), as a URL of the same kind as `original`:
    `s3://b/k` for a listing of `s3://b/...`; local paths stay plain paths."""
    protocol = original.split("://", 1)[0] if "://" in original else None
    return fs.unstrip_protocol(path) if protocol and protocol != "file" else path


def glob_urls(pattern: str) -> list[str]:
    """Every file a glob names, as URLs of the pattern's kind, sorted."""
    fs, root = url_to_fs(pattern)
    return sorted(with_protocol(fs, pattern, path) for path in fs.glob(root))


def open_url(url: str, mode: str = "rb", **kwargs):
    """fsspec's OpenFile for a URL or local path (use it in a `with`), after `require_filesystem`."""
    import fsspec

    require_filesystem(url)
    return fsspec.open(url, mode, **kwargs)


def is_url(path: str | os.PathLike) -> bool:
    return "://" in str(path)


def read_bytes(path: str | os.PathLike) -> bytes:
    """A whole file, local (as pathlib reads it) or remote."""
    if not is_url(path):
        return Path(path).read_bytes()
    with open_url(str(path), "rb") as handle:
        return handle.read()


def read_text(path: str | os.PathLike, encoding: str = "utf-8") -> str:
    return read_bytes(path).decode(encoding)


@contextmanager
def local_file(path: str | os.PathLike) -> Iterator[str]:
    """A local path with the file's content: the path itself, or a scratch copy of a remote file
    (for readers that want a real file, such as torch.load and tokenizers), removed afterwards."""
    if not is_url(path):
        yield str(path)
        return
    fs, remote = url_to_fs(str(path))
    if not fs.isfile(remote):
        raise FileNotFoundError(f"no such file: {path}")
    with tempfile.TemporaryDirectory(prefix="wit-") as scratch:
        local = os.path.join(scratch, posixpath.basename(remote.rstrip("/")) or "file")
        fs.get_file(remote, local)
        yield local
