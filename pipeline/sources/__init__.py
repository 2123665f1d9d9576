"""Candidate sources: Common Crawl WAT, WARC, and URL lists (one module each)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from wit.pipeline.sources.candidates import RecordError
from wit.pipeline.sources.inputs import InputFile, open_binary, open_text_list
from wit.pipeline.sources.remote import RemoteReadConfig
from wit.pipeline.sources.urllist import UrlListConfig, read_url_list

_LOGGER = logging.getLogger(__name__)


def read_file(file: InputFile, url_list_config: UrlListConfig | None = None,
              remote: RemoteReadConfig | None = None,
              on_event: Callable[[str], None] | None = None) -> Iterator[dict | RecordError]:
    """Candidates (and RecordErrors) from one input file of any supported format.

    Never raises for bad data: a file that cannot be opened or read past some point yields a
    RecordError after whatever it did yield. A remote file is retried and resumed as `remote`
    says first; `on_event` hears of each retry and resume (remote.READ_RETRIES, READ_RESUMES).
    """
    url_list_config = url_list_config or UrlListConfig()
    try:
        if file.format in ("wat", "warc"):
            from wit.pipeline.sources.wat import read_wat
            from wit.pipeline.sources.warc import read_warc

            reader = read_wat if file.format == "wat" else read_warc
            with open_binary(file.path, remote, on_event) as stream:
                yield from reader(stream, file.path)
        else:
            opener = open_text_list if file.format != "parquet" else open_binary
            with opener(file.path, remote, on_event) as stream:
                yield from read_url_list(stream, file.path, file.format, url_list_config)
    except Exception as exc:  # noqa: BLE001 - a file we cannot read is one counted error, not a failed job
        yield RecordError(file.path, f"cannot read {file.format} file: {type(exc).__name__}: {exc}")


def readable_candidates(files: list[InputFile], url_list_config: UrlListConfig | None = None,
                        on_unreadable: Callable[[], None] = lambda: None) -> Iterator[dict]:
    """The candidates of the files, read by read_file. An unreadable row or file is logged and
    reported to `on_unreadable` (a drop_error to count), never fatal."""
    for file in files:
        for item in read_file(file, url_list_config):
            if isinstance(item, RecordError):
                _LOGGER.warning("wit: skipped unreadable input at %s: %s", item.where, item.message)
                on_unreadable()
            else:
                yield item


def fetch_list_config(url_col: str = "url", caption_col: str = "caption") -> UrlListConfig:
    """How `wit fetch` reads a list: wit's own candidate columns carried, captions optional."""
    return UrlListConfig(url_col=url_col, caption_col=caption_col, carry_columns=True, caption_required=False)


def check_first_url_list(files: list[InputFile], url_list_config: UrlListConfig) -> None:
    """Fail at launch, as a usage error, when the first URL list cannot be read as configured.

    A corrupt file among many is a counted drop_error at run time; but a list without the named
    columns, or a file that is not what its name says, would make every file fail the same way
    and the run end with nothing kept. One header read here says so before any work starts.
    """
    from wit.core.errors import UsageError, WitError
    from wit.pipeline.sources.urllist import check_url_list_columns, url_list_columns

    first = next((file for file in files if file.format not in ("wat", "warc")), None)
    if first is None:
        return
    try:
        with open_text_list(first.path) if first.format != "parquet" else open_binary(first.path) as stream:
            columns = url_list_columns(stream, first.path, first.format)
    except Exception as exc:  # noqa: BLE001 - whatever the reader's library raises, the file is unusable
        raise UsageError(f"{first.path} is not a readable {first.format} file ({type(exc).__name__}: {exc}); "
                         f"name its format with --input-format if the suffix is wrong") from exc
    try:
        check_url_list_columns(columns, first.path, url_list_config)
    except WitError as exc:
        raise UsageError(f"{first.path}: {exc}") from exc
