"""`wit filters check`: TSV verdicts from stdin and from table files."""

import io
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from wit.app.cli import main


def run(monkeypatch, capsys, argv, stdin=""):
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(argv)
    out = capsys.readouterr().out
    return code, [line.split("\t") for line in out.splitlines()]


def test_stdin_lines(monkeypatch, capsys):
    code, rows = run(
        monkeypatch,
        capsys,
        ["-q", "filters", "check"],
        "IMG_0976.JPG\nA golden retriever puppy in the grass\nCanon EOS 5D Mark II\n微信二维码\n\nclick here\n",
    )
    assert code == 0
    assert rows[0] == ["verdict", "lang", "score", "text"]
    verdicts = [r[0] for r in rows[1:]]
    assert verdicts == ["drop_filename", "keep", "drop_camera", "drop_nonenglish", "drop_length", "drop_boilerplate"]
    keep = rows[2]
    assert keep[1] == "en" and 0.0 < float(keep[2]) <= 1.0 and keep[3] == "A golden retriever puppy in the grass"


def test_flags_and_all_checks(monkeypatch, capsys):
    code, rows = run(monkeypatch, capsys, ["-q", "filters", "check", "--keep-filenames", "--all-checks", "--no-header"], "IMG_0976.JPG\n")
    assert code == 0
    assert len(rows) == 1 and rows[0][0] != "drop_filename"
    assert len(rows[0]) == 4 + 6


def test_tsv_input_with_column(monkeypatch, capsys, shared_data):
    code, rows = run(monkeypatch, capsys, ["-q", "filters", "check", "--input", str(shared_data / "captions_dev.tsv"), "--column", "text"])
    assert code == 0
    assert len(rows) == 1 + 323
    assert {r[0] for r in rows[1:]} >= {"keep", "drop_filename", "drop_camera", "drop_nonenglish"}


def test_parquet_input_with_urls(monkeypatch, capsys, tmp_path, shared_data):
    path = tmp_path / "c.parquet"
    pq.write_table(pa.table({"url": ["https://e.com/a.jpg", "data:image/png;base64,AA", "https://e.com/b.jpg"],
                             "caption": ["a red bicycle", "a red bicycle", None]}), path)
    code, rows = run(monkeypatch, capsys, ["-q", "filters", "check", "-i", str(path), "--url-column", "url"])
    assert code == 0
    assert [r[0] for r in rows[1:]] == ["keep", "drop_url", "drop_length"]
    code, rows = run(monkeypatch, capsys, ["-q", "filters", "check", "-i", str(shared_data / "real" / "img2dataset_test_1000.parquet")])
    assert code == 0 and len(rows) == 1001  # TEXT column found by name


def test_missing_column_is_a_clean_error(monkeypatch, capsys, tmp_path):
    path = tmp_path / "c.parquet"
    pq.write_table(pa.table({"x": ["a"]}), path)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert main(["-q", "filters", "check", "-i", str(path)]) == 1
    assert "no caption column" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["filters", "check", "--lid", "nope"], ["filters", "check", "--long-captions", "cut"]])
def test_bad_flags_are_usage_errors(argv):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
