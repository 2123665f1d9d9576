"""The command frame: help, version, usage errors and failure handling."""

import subprocess
import sys

import pytest

from wit.app import cli
from wit.core.errors import WitError


def run_wit(*args):
    return subprocess.run([sys.executable, "-m", "wit", *args], capture_output=True, text=True, timeout=120)


def test_help_explains_the_tool():
    result = run_wit("--help")
    assert result.returncode == 0
    assert "WebImageText" in result.stdout
    assert "Common Crawl" in result.stdout
    assert len(result.stdout.splitlines()) < 60  # one screen


def test_version():
    result = run_wit("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("wit ")


def test_no_command_is_a_usage_error():
    result = run_wit()
    assert result.returncode == 2
    assert "usage: wit" in result.stderr


def test_unknown_command_exits_2():
    result = run_wit("frobnicate")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_unknown_option_exits_2():
    result = run_wit("--no-such-flag")
    assert result.returncode == 2
    assert "unrecognized arguments" in result.stderr


@pytest.fixture
def failing_command(monkeypatch):
    """Register a throwaway subcommand whose handler raises, to exercise the error path."""

    original = cli.build_parser

    def build_parser():
        parser = original()
        subparsers = next(a for a in parser._actions if a.dest == "command")
        sub = subparsers.add_parser("boom")
        sub.add_argument("--kind", default="wit")

        def handler(args):
            if args.kind == "wit":
                raise WitError("input file missing.parquet does not exist")
            raise RuntimeError("unexpected\nmultiline")

        sub.set_defaults(handler=handler)
        return parser

    monkeypatch.setattr(cli, "build_parser", build_parser)


def test_failure_is_one_line_without_traceback(failing_command, capsys):
    assert cli.main(["boom"]) == 1
    err = capsys.readouterr().err
    assert err == "wit: error: input file missing.parquet does not exist\n"


def test_unexpected_failure_is_one_line_with_hint(failing_command, capsys):
    assert cli.main(["boom", "--kind", "other"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "RuntimeError: unexpected multiline" in err
    assert "-v" in err


def test_verbose_shows_the_traceback(failing_command):
    with pytest.raises(WitError):
        cli.main(["-v", "boom"])


def test_the_command_exits_quickly_but_only_after_its_threads_and_exit_handlers(tmp_path):
    # entry() skips the interpreter's module teardown with os._exit: what the interpreter would
    # do before it (join non-daemon threads, run exit handlers, flush stdout) must still happen.
    script = f"""
import atexit, threading, time
from pathlib import Path
import wit.app.cli as cli

def main():
    def late_writer():
        time.sleep(0.3)
        Path({str(tmp_path / "thread")!r}).write_text("done")
    threading.Thread(target=late_writer).start()
    atexit.register(lambda: Path({str(tmp_path / "atexit")!r}).write_text("ran"))
    print("no newline at the end", end="")
    return 3

cli.main = main
cli.entry()
"""
    finished = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert finished.returncode == 3, finished.stderr
    assert finished.stdout == "no newline at the end"
    assert (tmp_path / "thread").read_text() == "done" and (tmp_path / "atexit").read_text() == "ran"
