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
    assert rows[0] == ["verdict", "lang", "p_english", "text"]
    verdicts = [r[0] for r in rows[1:]]
    assert verdicts == ["drop_filename", "keep", "drop_camera", "drop_nonenglish", "drop_length", "drop_boilerplate"]
    keep = rows[2]
    assert keep[1] == "en" and 0.4 <= float(keep[2]) <= 1.0 and keep[3] == "A golden retriever puppy in the grass"
    # checks before language identification dropped these: no language, no estimate
    assert rows[1][1:3] == ["", ""] and rows[3][1:3] == ["", ""]


def test_a_caption_judged_not_english_never_reads_en(monkeypatch, capsys):
    """fastText's best label for this Zulu sentence is English at low confidence; the cascade
    drops it on its unknown words, and the output says 'und' with P(English) under the threshold."""
    zulu = "Ngiyabonga kakhulu ngosizo lwakho, sizobonana kusasa ekuseni"
    code, rows = run(monkeypatch, capsys, ["-q", "filters", "check", "--no-header"], zulu + "\nDas ist ein schönes Haus am See\n")
    assert code == 0
    assert rows[0][:2] == ["drop_nonenglish", "und"] and float(rows[0][2]) < 0.4
    assert rows[1][:2] == ["drop_nonenglish", "de"] and float(rows[1][2]) < 0.4
    # with --keep-non-english the caption stays, and still is not called English
    code, rows = run(monkeypatch, capsys, ["-q", "filters", "check", "--no-header", "--keep-non-english"], zulu + "\n")
    assert rows[0][:2] == ["keep", "und"]


def test_labels_are_scored_on_each_part_of_the_split(monkeypatch, capsys, shared_data):
    path = str(shared_data / "captions_dev.tsv")
    counts = {}
    for split in ("tune", "holdout"):
        argv = ["-q", "filters", "check", "-i", path, "--column", "text", "--label-column", "label", "--split", split]
        assert main(argv) == 0
        captured = capsys.readouterr()
        counts[split] = len(captured.out.splitlines()) - 1
        assert f"scores on {counts[split]} labelled rows (split {split})" in captured.err
        scored = {line.split("\t")[0]: line.split("\t") for line in captured.err.splitlines() if line.count("\t") == 4}
        assert {"keep", "drop_filename", "drop_camera", "drop_nonenglish", "drop_other"} <= set(scored)
        assert sum(int(scored[label][1]) for label in scored if label != "label") == counts[split]
    assert counts["tune"] + counts["holdout"] == 323 and counts["tune"] > counts["holdout"] > 0


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
