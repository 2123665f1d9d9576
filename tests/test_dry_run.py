"""Beam's --dry_run=True: `wit build` builds the whole job, says what would run and exits 0
without reading inputs or writing outputs; checked for a simulated full crawl of 90,000 WATs."""

from __future__ import annotations

import gzip
import importlib.util

import pytest
from test_pipeline_build import LocalCrawlServer

from wit.app.cli import main
from wit.core.runner import DATAFLOW_REQUEST_LIMIT_BYTES

CRAWL = "CC-MAIN-2099-01"
FULL_CRAWL_WATS = 90_000


@pytest.fixture(scope="module")
def crawl_index(tmp_path_factory):
    """A local Common Crawl stand-in whose index lists 90,000 WAT files (none of them exists)."""
    root = tmp_path_factory.mktemp("crawl")
    index = root / "crawl-data" / CRAWL / "wat.paths.gz"
    index.parent.mkdir(parents=True)
    paths = [f"crawl-data/{CRAWL}/segments/1700000000.{s:05d}/wat/CC-MAIN-20990101000000-20990101030000-{i:05d}.warc.wat.gz"
             for s in range(100) for i in range(FULL_CRAWL_WATS // 100)]
    with gzip.open(index, "wt") as handle:
        handle.write("\n".join(paths) + "\n")
    queries = root / "queries.txt"
    queries.write_text("red fox\nlighthouse\nbicycle\n")
    with LocalCrawlServer(root) as server:
        yield server, root, queries


def dry_run_build(server, out, queries, *runner_args):
    return main(["build", "--crawl", CRAWL, "--cc-base-url", server.url, "--queries", str(queries),
                 "--out", str(out), "--dry_run=True", *runner_args])


def test_a_local_dry_run_builds_the_job_and_reads_nothing(crawl_index, tmp_path, capsys):
    server, _, queries = crawl_index
    assert dry_run_build(server, tmp_path / "out", queries, "--direct_running_mode=in_memory") == 0
    printed = capsys.readouterr().out
    assert "wit build: dry run on local FnApiRunner" in printed and "nothing was read or written" in printed
    for stage in ("Read", "Filter", "Dedup", "Match", "Cap", "WriteCandidates", "FetchToShards"):
        assert stage in printed, stage
    assert f"inputs        {FULL_CRAWL_WATS:,} file(s) (wat {FULL_CRAWL_WATS:,})" in printed
    assert set(server.requests) == {f"/crawl-data/{CRAWL}/wat.paths.gz"}, "only the index was read"
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(importlib.util.find_spec("google.cloud.storage") is None,
                    reason="DataflowRunner needs the gcp extra (scripts/test.sh installs it)")
def test_a_dataflow_dry_run_of_a_full_crawl_fits_the_request_limit(crawl_index, tmp_path, capsys):
    server, _, queries = crawl_index
    code = dry_run_build(server, "gs://wit-bucket/out", queries,
                         "--runner", "DataflowRunner", "--project", "wit-test", "--region", "us-central1",
                         "--temp_location", "gs://wit-bucket/tmp", "--no_auth", "--sdk_location", "container",
                         "--sdk_container_image", "europe-docker.pkg.dev/wit-test/wit/wit-pipeline:1")
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "wit build: dry run on DataflowRunner" in printed
    assert "worker image  europe-docker.pkg.dev/wit-test/wit/wit-pipeline:1" in printed
    # The local query list would travel with the job (not uploaded by a dry run): workers read the copy.
    from wit.queries.querylist import load_query_list

    digest = load_query_list(str(queries)).content_hash
    assert f"queries       {queries} -> gs://wit-bucket/tmp/wit-queries/{digest}/queries.txt (uploaded at launch)" in printed
    size = float(printed.split("pipeline      ")[1].split(" MiB")[0]) * 2**20
    assert 0 < size < DATAFLOW_REQUEST_LIMIT_BYTES
    print(f"pipeline for {FULL_CRAWL_WATS:,} WATs: {size / 2**20:.2f} MiB")  # shown with -s: the figure the docs quote
    assert server.requests.count(f"/crawl-data/{CRAWL}/wat.paths.gz") >= 1 and all("segments" not in r for r in server.requests)


def test_queries_build_dry_run_builds_the_counting_job_and_writes_nothing(tmp_path, capsys):
    import bz2
    from pathlib import Path

    fixtures = Path(__file__).parent / "fixtures" / "queries"
    dump = tmp_path / "enwiki-pages-articles.xml.bz2"
    dump.write_bytes(bz2.compress((fixtures / "enwiki-sample-pages-articles.xml").read_bytes()))
    out = tmp_path / "lists" / "queries.parquet"
    assert main(["queries", "build", "--out", str(out), "--wiki-dump", str(dump), "--no-wordnet",
                 "--runner", "direct", "--dry_run=True"]) == 0
    printed = capsys.readouterr().out
    assert "wit queries build: dry run on local FnApiRunner" in printed
    assert "CountNgrams" in printed and "WriteUnigrams" in printed and "1 file(s) (wikipedia-dump 1)" in printed
    assert not out.parent.exists() or not any(out.parent.iterdir()), "no list and no count files were written"
