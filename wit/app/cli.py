"""The `wit` command: one front for every stage.

Each stage package contributes its subcommands through a `register(subparsers)` function in its
own cli module, listed in SUBCOMMAND_MODULES. Those modules import only argparse-level code at
module scope so that `wit --help` stays instant; heavy imports (Beam, torch) happen inside the
handlers.

Exit codes: 0 success, 1 failure (one line on stderr; the traceback only with -v), 2 usage error.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from wit import __version__
from wit.core.errors import UsageError, WitError

DESCRIPTION = """\
wit rebuilds the recipe behind CLIP's WebImageText (WIT) dataset as one pipeline:

  1. a query list: English Wikipedia words, high-PMI bigrams, popular article
     titles and WordNet synsets (500,000 queries in the paper);
  2. an Apache Beam job that reads candidate (image URL, caption) pairs from
     Common Crawl WAT/WARC files or URL lists, drops file-name, camera-metadata,
     boilerplate and non-English captions, keeps pairs whose caption contains a
     query, caps every query at 20,000 pairs, fetches the images and writes
     webdataset shards;
  3. a small CLIP trainer that trains on those shards, plus zero-shot eval.

It runs on a laptop (Beam DirectRunner) and at scale on Dataflow.
"""

EPILOG = """\
Run `wit COMMAND --help` for the options of a command.
Docs: README.md and docs/ in the source tree.
"""

# Stage modules that add subcommands, in the order they appear in --help.
SUBCOMMAND_MODULES: tuple[str, ...] = (
    "wit.queries.cli",
    "wit.filters.cli",
    "wit.pipeline.build_cli",
    "wit.pipeline.fetch_cli",
    "wit.trainer.cli",
    "wit.app.sample_cli",
    "wit.app.report_cli",
    "wit.app.demo",
)


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on usage errors already; this keeps the message to the point."""

    def error(self, message: str) -> None:  # noqa: D401 - argparse API
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="wit",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"wit {__version__}")
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument("-v", "--verbose", action="count", default=0, help="more logging; -v also shows tracebacks")
    verbosity.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module_name in SUBCOMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def configure_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else logging.DEBUG if verbose >= 2 else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    if verbose < 2:
        # Beam and HTTP clients are chatty at INFO; keep them to warnings unless asked.
        # (botocore and aiobotocore, under Beam's S3 and s3fs, log every credential lookup.)
        for noisy in ("apache_beam", "urllib3", "asyncio", "aiohttp", "botocore", "aiobotocore", "s3fs"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
        # Beam warns on import, through the root logger, that its optional BigQuery client is
        # missing; wit never uses BigQuery, so the line is only noise on every run.
        logging.getLogger().addFilter(_DropMessagesStarting("apitools not found"))


class _DropMessagesStarting(logging.Filter):
    def __init__(self, prefix: str):
        super().__init__()
        self._prefix = prefix

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self._prefix)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    # Commands that run a Beam pipeline (set_defaults(accepts_beam_args=True)) receive the
    # options argparse does not know as args.beam_args (--runner, --project ...); for every
    # other command an unknown option is still a usage error.
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        if not getattr(args, "accepts_beam_args", False):
            parser.error(f"unrecognized arguments: {' '.join(unknown)}")
        args.beam_args = unknown
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return 2
    configure_logging(args.verbose, args.quiet)
    try:
        result = args.handler(args)
    except KeyboardInterrupt:
        print("wit: interrupted", file=sys.stderr)
        return 130
    except UsageError as exc:
        if args.verbose:
            raise
        print(f"wit {args.command}: usage error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except (WitError, FileNotFoundError, PermissionError, IsADirectoryError, ValueError) as exc:
        if args.verbose:
            raise
        print(f"wit: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except Exception as exc:  # unexpected: still one line, with a hint how to see more
        if args.verbose:
            raise
        print(f"wit: error: {type(exc).__name__}: {_one_line(exc)} (run with -v for the traceback)", file=sys.stderr)
        return 1
    return int(result or 0)


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def entry() -> None:
    """The `wit` command (console script and `python -m wit`): main(), then a quick exit.

    By the time main() returns, everything wit writes is closed. What the interpreter would do
    next is wait for non-daemon threads, run the exit handlers (logging's flush, multiprocessing
    reaping its children, temporary folders) and then tear down every imported module, which
    after a build (Beam alone imports thousands) takes ~0.4 s or more of wall time for nothing (benchmarks/bench_exit.py). So the
    first two happen here, as the interpreter would do them, and the teardown is skipped.
    """
    import atexit
    import os
    import threading

    code = main()
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`wit ... | head`) or stream: nothing more to say
            pass
    os._exit(code if isinstance(code, int) else 1)


if __name__ == "__main__":
    entry()
