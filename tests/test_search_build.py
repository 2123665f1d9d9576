"""`wit build --search commons` end to end against the local api.php stand-in: search, filters,
dedup, match, cap, candidates parquet and counts."""

from __future__ import annotations

import json

import pytest

from fake_mediawiki import FakeCommons, ServerThread, make_file


SENTENCES = {
    "red fox": "A red fox resting in the snow near the edge of a pine forest on a cold winter morning",
    "lighthouse": "An old stone lighthouse standing on the rocky coast under a cloudy evening sky",
    "bicycle": "A blue bicycle leaning against a brick wall in a quiet street of the old town",
}


def files_for(query: str, n: int, license_name: str) -> list[dict]:
    return [make_file(f"{query} {license_name} {i}", license_name=license_name,
                      description={"en": f"{SENTENCES[query]}, photograph number {i}", "_type": "lang"})
            for i in range(n)]


@pytest.mark.slow
def test_wit_build_search_commons_writes_capped_licence_clean_candidates(tmp_path):
    import pyarrow.parquet as pq

    from wit.app.cli import main

    corpus = {query: files_for(query, 3, "CC BY-SA 4.0") + files_for(query, 2, "CC BY-NC 2.0") for query in SENTENCES}
    fake = FakeCommons(corpus=corpus)
    queries = tmp_path / "queries.txt"
    queries.write_text("\n".join(SENTENCES) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    with ServerThread(fake) as server:
        code = main(["build", "--search", "commons", "--search-endpoint", server.url, "--queries", str(queries),
                     "--per-query-cap", "2", "--licenses", "CC0,CC BY-SA", "--search-rate", "50",
                     "--search-page-size", "10", "--out", str(out), "--until", "candidates"])
    assert code == 0
    rows = pq.read_table(str(out / "candidates")).to_pylist()
    assert len(rows) == 3 * 2  # two per query: the cap
    assert all(len(row["matches"]) == 1 for row in rows)
    assert sorted(row["matches"][0] for row in rows) == [0, 0, 1, 1, 2, 2]
    assert all(row["source"].startswith("127.0.0.1") and row["page_url"].startswith("https://commons.example.org/wiki/File:") for row in rows)
    assert all(json.loads(row["meta"])["license"] == "CC BY-SA 4.0" for row in rows)
    counts = json.loads((out / "counts" / "text_counts.json").read_text())
    assert counts["drops"]["drop_license"] == 3 * 2
    assert counts["input"] == counts["kept"] + sum(counts["drops"].values())
    assert counts["input"] == 3 * 5 and counts["kept"] == 6
    outcomes = pq.read_table(str(out / "counts" / "search_queries.parquet")).to_pylist()
    assert sorted(row["outcome"] for row in outcomes) == ["capped"] * 3  # 3 accepted >= cap 2 on page one
