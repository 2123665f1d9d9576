"""wit.core.schema: one type per field, and a candidate survives the trip through its row."""

import io

import pyarrow as pa
import pyarrow.parquet as pq

from wit.core.records import CANDIDATE_FIELDS, new_candidate
from wit.core.schema import candidate_row, candidates_schema, decode_meta, encode_meta, samples_schema, table_of
from wit.pipeline.sources.urllist import UrlListConfig, read_url_list
from wit.shards.writer import sample_record


def test_every_field_has_one_type_in_both_files():
    candidates, samples = candidates_schema(), samples_schema()
    for name in set(candidates.names) & set(samples.names):
        assert candidates.field(name).type == samples.field(name).type, name
    assert candidates.field("matches").type == pa.list_(pa.int32())
    assert set(candidates.names) == (set(CANDIDATE_FIELDS) - {"text"}) | {"caption"}


def test_meta_is_json_text_in_a_column_and_a_dict_in_a_record():
    assert encode_meta({"b": "2", "a": "1"}) == '{"a": "1", "b": "2"}'
    assert encode_meta({}) == "" and decode_meta("") == {} and decode_meta(None) == {}
    assert decode_meta('{"licence": "CC BY 4.0"}') == decode_meta({"licence": "CC BY 4.0"}) == {"licence": "CC BY 4.0"}


def test_a_candidate_read_back_from_its_row_is_the_same_record():
    candidate = new_candidate("https://a.example/x.jpg", "a red fox in the snow", page_url="https://a.example/", source="f.wat#3")
    candidate.update(lang="en", lang_score=0.5, matches=[3, 70000], selected_by=[3], meta={"licence": "CC0"})
    buffer = io.BytesIO()
    pq.write_table(table_of([candidate_row(candidate)], candidates_schema()), buffer)
    buffer.seek(0)
    (read,) = read_url_list(buffer, "candidates.parquet", "parquet", UrlListConfig(carry_columns=True))
    assert {**read, "source": candidate["source"]} == candidate
    # ... and the sample record of a fetch keeps the same values under img2dataset's names
    record = sample_record("000000000", read, "success")
    assert (record["caption"], record["matches"], record["meta"]) == (candidate["text"], [3, 70000], {"licence": "CC0"})
