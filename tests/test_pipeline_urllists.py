"""URL lists in every format: columns by name, alias or flag; bad rows counted, never raised."""

import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from wit.pipeline.sources import read_file
from wit.pipeline.sources.candidates import RecordError
from wit.pipeline.sources.inputs import InputFile
from wit.pipeline.sources.urllist import UrlListConfig, read_url_list, resolve_column
from wit.core.errors import WitError

ROWS = [
    {"url": "https://example.com/a.jpg", "caption": "a red bicycle", "page_url": "https://example.com/a", "licence": "cc-by"},
    {"url": "https://example.com/b.jpg", "caption": 'a "quoted", comma caption', "page_url": "", "licence": "cc0"},
    {"url": "https://example.com/c.jpg", "caption": "", "page_url": "", "licence": ""},
]


def read_all(path, fmt, config=None):
    items = list(read_file(InputFile(str(path), fmt), config))
    return [i for i in items if not isinstance(i, RecordError)], [i for i in items if isinstance(i, RecordError)]


def write_list(tmp_path, fmt, rows=ROWS):
    if fmt == "parquet":
        path = tmp_path / "list.parquet"
        pq.write_table(pa.Table.from_pylist(rows), path)
    elif fmt in ("csv", "tsv"):
        import csv

        path = tmp_path / f"list.{fmt}"
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter="," if fmt == "csv" else "\t",
                                    quoting=csv.QUOTE_MINIMAL if fmt == "csv" else csv.QUOTE_NONE, escapechar="\\")
            writer.writeheader()
            writer.writerows(rows)
    else:
        path = tmp_path / "list.jsonl"
        path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize("fmt", ["parquet", "csv", "tsv", "jsonl"])
def test_every_format_reads_the_same_candidates(tmp_path, fmt):
    path = write_list(tmp_path, fmt, ROWS if fmt != "tsv" else [dict(r, caption=r["caption"].replace('"', "")) for r in ROWS])
    candidates, errors = read_all(path, fmt, UrlListConfig(meta_cols=("licence",)))
    assert errors == []
    assert [c["url"] for c in candidates] == [r["url"] for r in ROWS]
    if fmt != "tsv":
        assert [c["text"] for c in candidates] == [r["caption"] for r in ROWS]
    assert candidates[0]["page_url"] == "https://example.com/a"
    assert candidates[0]["meta"] == {"licence": "cc-by"}
    assert all(c["text_field"] == "caption" for c in candidates)
    assert [c["source"] for c in candidates] == [f"{path}#{i}" for i in range(3)]


def test_laion_parquet_reads_with_upper_case_aliases(shared_data):
    candidates, errors = read_all(shared_data / "real" / "img2dataset_test_1000.parquet", "parquet")
    assert errors == [] and len(candidates) == 1000
    table = pq.read_table(shared_data / "real" / "img2dataset_test_1000.parquet")
    assert candidates[0]["url"] == table.column("URL")[0].as_py()
    assert candidates[0]["text"] == table.column("TEXT")[0].as_py()


def test_yfcc_tsv_with_named_columns_and_unquote_plus(shared_data):
    config = UrlListConfig(url_col="download_url", caption_col="title", unquote_plus=True,
                           meta_cols=("license_name", "photo_id"))
    candidates, errors = read_all(shared_data / "real" / "yfcc100m_rows_from_public_tests.tsv", "tsv", config)
    assert errors == [] and len(candidates) == 6
    gnome = candidates[0]
    assert gnome["url"] == "http://farm1.staticflickr.com/8/7088065_65c9d45e09.jpg"
    assert gnome["text"] == "Gnome"
    assert gnome["page_url"] == "http://www.flickr.com/photos/30302697@N00/7088065/"
    assert gnome["meta"] == {"license_name": "Attribution-NonCommercial License", "photo_id": "7088065"}
    assert "Team Muppet Show" in {c["text"] for c in candidates}
    assert "IMG_0976" in {c["text"] for c in candidates}


def test_gzipped_csv_and_configured_columns(tmp_path):
    path = tmp_path / "list.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write("image,alt_words\nhttps://x.org/1.png,first caption\nhttps://x.org/2.png,second caption\n")
    candidates, errors = read_all(path, "csv", UrlListConfig(url_col="image", caption_col="alt_words"))
    assert errors == [] and [c["text"] for c in candidates] == ["first caption", "second caption"]


def test_bad_rows_are_counted_errors(tmp_path):
    path = tmp_path / "list.jsonl"
    path.write_text('{"url": "https://a/1.jpg", "caption": "ok"}\nnot json\n[1, 2]\n\n{"url": "https://a/2.jpg"}\n')
    candidates, errors = read_all(path, "jsonl")
    assert [c["url"] for c in candidates] == ["https://a/1.jpg", "https://a/2.jpg"]
    assert candidates[1]["text"] == ""  # missing caption: a candidate the length filter will count
    assert len(errors) == 2
    short = tmp_path / "short.csv"
    short.write_text("url,caption\nhttps://a/1.jpg,fine\nhttps://a/2.jpg\n")
    candidates, errors = read_all(short, "csv")
    assert len(candidates) == 1 and len(errors) == 1


def test_missing_url_column_is_one_file_error(tmp_path):
    path = write_list(tmp_path, "parquet", [{"link": "https://a/1.jpg", "caption": "x"}])
    candidates, errors = read_all(path, "parquet")
    assert candidates == [] and len(errors) == 1 and "--url-col" in errors[0].message


def test_resolve_column():
    assert resolve_column(["URL", "TEXT"], "url", ["url"], required=True) == "URL"
    assert resolve_column(["URL", "TEXT"], "caption", ["caption", "text"], required=True) == "TEXT"
    assert resolve_column(["a"], "page_url", [], required=False) is None
    with pytest.raises(WitError):
        resolve_column(["a", "b"], "url", ["url"], required=True)


def test_carry_columns_keeps_candidate_fields_and_moves_the_rest_into_meta(tmp_path):
    """`wit fetch` re-reads a candidates parquet: uid and the cap's choices must survive."""
    path = tmp_path / "part-0.parquet"
    pq.write_table(pa.table({
        "uid": ["00000000000000aa"], "url": ["https://example.com/a.jpg"], "caption": ["a cat"],
        "matches": [[3, 7]], "selected_by": [[7]], "lang": ["en"], "meta": ['{"license": "CC0"}'],
        "similarity": [0.31],
    }), path)
    config = UrlListConfig(carry_columns=True)
    with open(path, "rb") as stream:
        (candidate,) = read_url_list(stream, str(path), "parquet", config)
    assert candidate["uid"] == "00000000000000aa"
    assert candidate["matches"] == [3, 7] and candidate["selected_by"] == [7] and candidate["lang"] == "en"
    assert candidate["meta"] == {"license": "CC0", "similarity": "0.31"}
    with open(path, "rb") as stream:
        (plain,) = read_url_list(stream, str(path), "parquet", UrlListConfig())
    assert plain["selected_by"] == [] and plain["meta"] == {}
