"""`wit build` end to end on the local runner: many files, two worker processes, counts reconcile.

Beam start-up costs seconds, so each distinct run happens once in a module-scoped fixture and the
tests read its outputs.
"""

import asyncio
import gzip
import importlib.util
import json
import re
import shutil
import threading
from collections import Counter
from pathlib import Path
from unittest import mock

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from wit.pipeline.sources import read_file
from wit.pipeline.sources.candidates import RecordError
from wit.pipeline.sources.inputs import InputFile
from wit.app.cli import main
from wit.core.records import TEXT_DROP_REASONS

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
CAP = 6
# Frequent English words the synthetic captions are made of, so several queries exceed the cap.
QUERIES = ["people", "world", "music", "house", "water", "school", "family", "night", "history", "government"]
TWO_WORKERS = ["--direct_running_mode=multi_processing", "--direct_num_workers=2"]
IN_MEMORY = ["--direct_running_mode=in_memory", "--direct_num_workers=1"]
CANDIDATE_COLUMNS = ["uid", "url", "caption", "page_url", "source", "text_field", "lang", "lang_score", "matches",
                     "selected_by", "meta"]


def synthetic_wat(folder: Path, links: int, files: int, seed: int) -> list[str]:
    spec = importlib.util.spec_from_file_location("make_synthetic_wat", REPO / "benchmarks" / "make_synthetic_wat.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.write_synthetic_wat(str(folder), links=links, files=files, seed=seed)["files"]


def count_source_records(paths, fmt_of) -> tuple[int, int]:
    """(candidates, errors) the sources yield, read directly without Beam."""
    candidates = errors = 0
    for path in paths:
        for item in read_file(InputFile(str(path), fmt_of(path))):
            if isinstance(item, RecordError):
                errors += 1
            else:
                candidates += 1
    return candidates, errors


@pytest.fixture(scope="module")
def build_run(tmp_path_factory, shared_data):
    capsys_like = _Capture()
    root = tmp_path_factory.mktemp("build")
    wat_files = synthetic_wat(root / "wat", links=4000, files=3, seed=11)
    laion = root / "lists" / "laion.parquet"
    laion.parent.mkdir()
    shutil.copy(shared_data / "real" / "img2dataset_test_1000.parquet", laion)
    truncated = shared_data / "real" / "priyanlc_CC-MAIN-sample.warc.wat.gz"
    dolma = shared_data / "real" / "dolma_sample-0000.warc.gz"
    queries = root / "queries.txt"
    queries.write_text("\n".join(QUERIES) + "\n")
    out = root / "out"
    argv = ["build", "--input", str(root / "wat" / "*.wat.gz"), str(laion), str(truncated), str(dolma),
            "--queries", str(queries), "--per-query-cap", str(CAP), "--cap-seed", "3",
            "--out", str(out), "--until", "candidates", *TWO_WORKERS]
    spill_folders = []  # (folder, {file: bytes}) of each wit-spill-* folder, just before the build removes it
    remove = shutil.rmtree

    def recording_rmtree(path, *args, **kwargs):
        if Path(path).name.startswith("wit-spill-"):
            spill_folders.append((path, {f.name: f.stat().st_size for f in Path(path).iterdir()}))
        return remove(path, *args, **kwargs)

    with mock.patch.object(shutil, "rmtree", recording_rmtree):
        code, err = capsys_like.run(argv)
    inputs = [*wat_files, laion, truncated, dolma]
    expected = count_source_records(inputs, lambda p: "parquet" if str(p).endswith(".parquet")
                                    else "warc" if str(p).endswith(".warc.gz") else "wat")
    return {"code": code, "err": err, "out": out, "expected": expected, "queries": queries,
            "spill_folders": spill_folders}


class _Capture:
    """Runs `wit` in-process and captures stderr (module fixtures cannot use capsys)."""

    def run(self, argv):
        import contextlib
        import io

        buffer = io.StringIO()
        with contextlib.redirect_stderr(buffer):
            code = main(argv)
        return code, buffer.getvalue()


def test_build_succeeds_and_prints_reconciled_counts(build_run):
    assert build_run["code"] == 0, build_run["err"]
    counts = json.loads((build_run["out"] / "counts" / "text_counts.json").read_text())
    line = re.search(r"input ([\d,]+) = kept ([\d,]+) \+ drops ([\d,]+)", build_run["err"])
    assert line, build_run["err"]
    assert int(line.group(1).replace(",", "")) == counts["input"]
    assert counts["input"] == counts["kept"] + sum(counts["drops"].values())
    assert set(TEXT_DROP_REASONS) <= set(counts["drops"])


def test_a_local_build_spills_its_shuffles_to_a_folder_it_removes(build_run):
    """The local runner's shuffles carried references: both workers wrote spill files (dedup,
    rank partials, held candidates), and the folder is gone once the job ended."""
    assert len(build_run["spill_folders"]) == 1
    folder, files = build_run["spill_folders"][0]
    assert len(files) >= 2 and sum(files.values()) > 0
    assert not Path(folder).exists()


def test_every_source_record_is_counted_once(build_run):
    counts = json.loads((build_run["out"] / "counts" / "text_counts.json").read_text())
    candidates, errors = build_run["expected"]
    assert errors == 1  # the truncated WAT's cut record
    assert counts["input"] == candidates + errors
    assert counts["drops"]["drop_error"] >= 1
    assert counts["flow"]["files_read"] == 3 + 3


def test_candidates_parquet_is_img2dataset_shaped(build_run):
    counts = json.loads((build_run["out"] / "counts" / "text_counts.json").read_text())
    parts = sorted((build_run["out"] / "candidates").glob("part-*.parquet"))
    assert parts
    table = pa.concat_tables([pq.read_table(p) for p in parts])
    assert table.column_names == CANDIDATE_COLUMNS
    assert table.num_rows == counts["kept"] > 0
    rows = table.to_pylist()
    assert len({r["uid"] for r in rows}) == len(rows)  # deduplicated
    for row in rows:
        assert row["url"].startswith(("http://", "https://"))
        assert row["selected_by"] and set(row["selected_by"]) <= set(row["matches"])
        words = set(re.findall(r"\w+", row["caption"].lower()))
        assert any(QUERIES[q] in words for q in row["matches"]), row


def test_cap_holds_and_query_counts_agree(build_run):
    parts = sorted((build_run["out"] / "candidates").glob("part-*.parquet"))
    rows = pa.concat_tables([pq.read_table(p) for p in parts]).to_pylist()
    selected = Counter(q for r in rows for q in r["selected_by"])
    matches = Counter(q for r in rows for q in r["matches"])
    queries = pq.read_table(build_run["out"] / "counts" / "queries.parquet").to_pylist()
    assert [q["text"] for q in queries] == QUERIES
    for query in queries:
        assert query["selected"] == selected[query["id"]] <= CAP
        assert query["matches"] == matches[query["id"]]
        assert query["matched_before_cap"] >= query["matches"]
    assert any(q["matched_before_cap"] > CAP and q["selected"] == CAP for q in queries)


@pytest.fixture(scope="module")
def no_queries_run(tmp_path_factory, shared_data):
    out = tmp_path_factory.mktemp("noqueries") / "out"
    code, err = _Capture().run(["build", "--input", str(shared_data / "real" / "img2dataset_test_1000.parquet"),
                                "--queries", "none", "--out", str(out), "--until", "candidates", *IN_MEMORY])
    return code, err, out


def test_queries_none_skips_match_and_cap(no_queries_run):
    code, err, out = no_queries_run
    assert code == 0, err
    counts = json.loads((out / "counts" / "text_counts.json").read_text())
    assert counts["input"] == 1000
    assert counts["drops"]["drop_nomatch"] == 0 and counts["drops"]["drop_cap"] == 0
    rows = pa.concat_tables([pq.read_table(p) for p in (out / "candidates").glob("part-*.parquet")]).to_pylist()
    assert len(rows) == counts["kept"] > 0
    assert all(r["matches"] == [] and r["selected_by"] == [] for r in rows)
    assert not (out / "counts" / "queries.parquet").exists()


# --- --crawl against a local server ------------------------------------------------------------

class LocalCrawlServer:
    """aiohttp on 127.0.0.1 serving a folder laid out like data.commoncrawl.org."""

    def __init__(self, root: Path):
        self.root = root
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.requests: list[str] = []

    def __enter__(self):
        from aiohttp import web

        @web.middleware
        async def record(request, handler):
            self.requests.append(request.path)
            return await handler(request)

        async def start():
            app = web.Application(middlewares=[record])
            app.router.add_static("/", self.root)
            self.runner = web.AppRunner(app)
            await self.runner.setup()
            site = web.TCPSite(self.runner, "127.0.0.1", 0)
            await site.start()
            return site._server.sockets[0].getsockname()[1]

        self.thread.start()
        self.port = asyncio.run_coroutine_threadsafe(start(), self.loop).result(timeout=10)
        self.url = f"http://127.0.0.1:{self.port}/"
        return self

    def __exit__(self, *exc):
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


@pytest.fixture(scope="module")
def crawl_run(tmp_path_factory, shared_data):
    root = tmp_path_factory.mktemp("cc")
    crawl = "CC-MAIN-2099-01"
    segment = root / "crawl-data" / crawl / "segments" / "1" / "wat"
    files = synthetic_wat(segment, links=600, files=2, seed=21)
    shutil.copy(shared_data / "real" / "cc-whirlwind_whirlwind.warc.wat.gz", segment / "whirlwind.warc.wat.gz")
    listed = [Path(f).relative_to(root).as_posix() for f in files] + \
        [(segment / "whirlwind.warc.wat.gz").relative_to(root).as_posix()]
    with gzip.open(root / "crawl-data" / crawl / "wat.paths.gz", "wt") as handle:
        handle.write("\n".join(listed) + "\n")
    out = root / "out"
    with LocalCrawlServer(root) as server:
        code, err = _Capture().run(["build", "--crawl", crawl, "--max-files", "2", "--cc-base-url", server.url,
                                    "--queries", "none", "--out", str(out), "--until", "candidates", *IN_MEMORY])
        missing_code, missing_err = _Capture().run(["build", "--crawl", "CC-MAIN-2099-02", "--cc-base-url", server.url,
                                                    "--queries", "none", "--out", str(root / "out2")])
        requests = list(server.requests)
    expected, _ = count_source_records(files, lambda p: "wat")
    return {"code": code, "err": err, "out": out, "expected": expected, "requests": requests,
            "missing": (missing_code, missing_err), "listed": listed}


def test_crawl_reads_the_index_and_the_first_n_files(crawl_run):
    assert crawl_run["code"] == 0, crawl_run["err"]
    counts = json.loads((crawl_run["out"] / "counts" / "text_counts.json").read_text())
    assert counts["input"] == crawl_run["expected"]
    assert counts["flow"]["files_read"] == 2
    assert "/crawl-data/CC-MAIN-2099-01/wat.paths.gz" in crawl_run["requests"]
    assert "/" + crawl_run["listed"][2] not in crawl_run["requests"]  # --max-files 2


def test_crawl_without_an_index_is_a_clear_error(crawl_run):
    code, err = crawl_run["missing"]
    assert code == 1 and "CC-MAIN-2099-02" in err and err.count("\n") == 1


# --- the whole of `wit build`: text side flowing on into fetch + shards -----------------------

CAPTIONS = ["a red bicycle leaning on a brick wall", "an old lighthouse on a rocky coast at dusk",
            "a bowl of fresh strawberries on a wooden table", "IMG_0976.JPG",
            "a small sailing boat on a calm blue lake", "a bicycle race through the mountains"]


@pytest.fixture(scope="module")
def build_and_fetch_run(tmp_path_factory):
    from image_server import ImageServer
    from photos import photo

    root = tmp_path_factory.mktemp("fetch")
    out = root / "out"
    with ImageServer([photo(320, 240, seed=i) for i in range(len(CAPTIONS))]) as server:
        rows = [{"url": server.url(f"/ok/{i}.jpg"), "caption": caption} for i, caption in enumerate(CAPTIONS)]
        rows.append({"url": server.url("/404/0.jpg"), "caption": "a bicycle parked outside a cafe in the rain"})
        pq.write_table(pa.Table.from_pylist(rows), root / "list.parquet")
        queries = root / "queries.txt"
        queries.write_text("bicycle\nlighthouse\nstrawberries\n")
        code, err = _Capture().run(["build", "--input", str(root / "list.parquet"), "--queries", str(queries),
                                    "--out", str(out), "--shard-size", "2", "--image-size", "64",
                                    "--allow-address", "127.0.0.1/32", *IN_MEMORY])
    return code, err, out


def test_build_flows_on_into_shards(build_and_fetch_run):
    import tarfile

    code, err, out = build_and_fetch_run
    assert code == 0, err
    counts = json.loads((out / "counts" / "text_counts.json").read_text())
    # 3 bicycle captions + lighthouse + strawberries match; the file name is dropped by the filters.
    assert counts["kept"] == 5 and counts["input"] == len(CAPTIONS) + 1
    sizes = json.loads((out / "sizes.json").read_text())
    assert sum(sizes.values()) == 4  # the 404 is attempted and recorded, not shipped
    captions = set()
    for name in sizes:
        with tarfile.open(out / "shards" / name) as tar:
            captions |= {tar.extractfile(m).read().decode() for m in tar.getmembers() if m.name.endswith(".txt")}
    assert captions == {c for c in CAPTIONS if any(q in c for q in ("bicycle", "lighthouse", "strawberries"))} - \
        {"a bicycle parked outside a cafe in the rain"}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["samples"] == 4  # written once every shard is in


def test_the_manifest_records_the_whole_build(build_and_fetch_run):
    from wit.filters.config import FilterConfig
    from wit.pipeline.cap import DEFAULT_PER_QUERY_CAP

    _, _, out = build_and_fetch_run
    manifest = json.loads((out / "manifest.json").read_text())
    build = manifest["build"]
    assert build["per_query_cap"] == DEFAULT_PER_QUERY_CAP and build["cap_seed"] == 0
    assert build["query_list_hash"] == manifest["query_list_hash"] != ""
    assert build["queries"].endswith("queries.txt")
    assert build["inputs"] == {"files": 1, "formats": {"parquet": 1}, "bytes": (out.parent / "list.parquet").stat().st_size,
                               "first": [str(out.parent / "list.parquet")]}
    assert build["filters"]["english_only"] is FilterConfig().english_only and build["filters"]["deny_domains"] == []
    assert build["fetch"] == manifest["config"] and build["fetch"]["shard_size"] == 2 and build["search"] is None


def test_flow_counts_say_how_many_left_each_stage(build_run):
    counts = json.loads((build_run["out"] / "counts" / "text_counts.json").read_text())
    drops, flow = counts["drops"], counts["flow"]
    filter_drops = sum(drops[r] for r in ("drop_url", "drop_length", "drop_boilerplate", "drop_filename",
                                          "drop_camera", "drop_nonenglish"))
    assert flow["passed_filters"] == counts["input"] - drops["drop_error"] - filter_drops
    assert flow["unique"] == flow["passed_filters"] - drops["drop_duplicate"]
    assert flow["matched"] == flow["unique"] - drops["drop_nomatch"]
    assert counts["kept"] == flow["matched"] - drops["drop_cap"]


# ---- a run that reads nothing fails ---------------------------------------------------------


def test_a_list_without_the_named_columns_is_a_usage_error_at_launch(tmp_path, capsys):
    listing = tmp_path / "list.parquet"
    pq.write_table(pa.Table.from_pylist([{"link": "https://a.example/1.jpg", "caption": "a red fox"}]), listing)
    assert main(["build", "--input", str(listing), "--queries", "none", "--out", str(tmp_path / "out"), *IN_MEMORY]) == 2
    err = capsys.readouterr().err
    assert "usage error" in err and "no 'url' column (columns: link, caption)" in err
    assert not (tmp_path / "out").exists(), "nothing ran"


def test_a_file_that_is_not_what_its_name_says_is_a_usage_error_at_launch(tmp_path, capsys):
    listing = tmp_path / "list.parquet"
    listing.write_text("url,caption\nhttps://a.example/1.jpg,a red fox\n")
    assert main(["build", "--input", str(listing), "--queries", "none", "--out", str(tmp_path / "out"), *IN_MEMORY]) == 2
    assert "is not a readable parquet file" in capsys.readouterr().err


def test_a_build_whose_every_input_failed_exits_1_with_the_reason(tmp_path, capsys):
    for name in ("a.wat.gz", "b.wat.gz"):
        (tmp_path / name).write_bytes(b"not gzip at all")
    code = main(["build", "--input", str(tmp_path / "*.wat.gz"), "--queries", "none", "--out", str(tmp_path / "out"), *IN_MEMORY])
    assert code == 1
    err = capsys.readouterr().err
    assert "input 2 = kept 0 + drops 2 (drop_error 2)" in err, "the counts still reconcile and are printed"
    assert "read nothing: all 2 record(s) of the 2 input file(s) were unreadable" in err


def test_a_small_build_fetches_in_one_process_per_core(tmp_path, monkeypatch, caplog):
    # A list far below SMALL_INPUT_BYTES: the text side runs in memory with one worker, but the
    # fetch stage still spreads its samples over one process per core (two here, on any
    # machine), none of them the launcher, and every one does some of the work.
    import logging
    import os

    import wit.core.runner as runner
    from image_server import ImageServer
    from photos import photo

    monkeypatch.setattr(runner, "available_cores", lambda: 2)
    out = tmp_path / "out"
    # Slow answers: one process alone would need seconds for the list, far longer than the other
    # takes to start, even on a loaded machine.
    with ImageServer([photo(160, 120, seed=i) for i in range(4)], latency_ms=(200, 300)) as server:
        rows = [{"url": server.url(f"/ok/{i}.jpg"), "caption": f"a photo of a red fox number {i}"} for i in range(60)]
        rows += [{"url": server.url(f"/404/{i}.jpg"), "caption": f"a photo of a lost fox number {i}"} for i in range(4)]
        pq.write_table(pa.Table.from_pylist(rows), tmp_path / "list.parquet")
        with caplog.at_level(logging.INFO):
            # Four requests in flight machine-wide (two per process) and two names looked up ahead
            # (one per process): a process admits three URLs at once and reads its next chunk of 16
            # only once it has admitted the last one, so no process can take every chunk before
            # the other has started.
            code, err = _Capture().run(["build", "--input", str(tmp_path / "list.parquet"), "--queries", "none",
                                        "--out", str(out), "--image-size", "32", "--concurrency", "4",
                                        "--dns-concurrency", "2", "--allow-address", "127.0.0.1/32"])
    assert code == 0, err
    messages = [record.getMessage() for record in caplog.records]
    assert any("local FnApiRunner, in_memory, 1 worker(s)" in m for m in messages), "the text side stays in memory"
    line = next(m for m in messages if m.startswith("fetch: 2 processes attempted"))
    by_pid = {int(pid): int(n.replace(",", "")) for n, pid in re.findall(r"([\d,]+) \(pid (\d+)\)", line)}
    assert len(by_pid) == 2 and os.getpid() not in by_pid
    assert all(n > 0 for n in by_pid.values()) and sum(by_pid.values()) == 64, line
    assert "wit build: kept 64 = attempted in shards 64 (failed_to_download 4, success 60); every kept uid once" in err


def test_the_fetch_processes_start_before_beam_is_imported_and_fetch(tmp_path):
    # `wit build` starts its fetch pool first, so that the workers' start-up overlaps the
    # launcher's import of Beam and the text side; run_build then fetches with that same pool
    # (a second pool would mean the early one was thrown away).
    import subprocess
    import sys

    rows = [{"url": f"http://127.0.0.1:9/{i}.jpg", "caption": f"a photo of a red fox number {i}"} for i in range(20)]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "list.parquet")
    script = f"""
import sys
import wit.core.runner as runner
import wit.pipeline.fetch_pool as fetch_pool

runner.available_cores = lambda: 2
started, used = [], []
real_init, real_run = fetch_pool.FetchPool.__init__, fetch_pool.FetchPool.run

def init(self, *args, **kwargs):
    started.append("apache_beam" in sys.modules)
    real_init(self, *args, **kwargs)

def run(self, *args, **kwargs):
    used.append(tuple(self.pids))
    return real_run(self, *args, **kwargs)

fetch_pool.FetchPool.__init__, fetch_pool.FetchPool.run = init, run
from wit.app.cli import main
code = main(["build", "--input", {str(tmp_path / "list.parquet")!r}, "--queries", "none", "--out", {str(tmp_path / "out")!r},
             "--retries", "0", "--allow-address", "127.0.0.1/32"])
print("POOLS", started, len(used), file=sys.stderr)
sys.exit(code)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "POOLS [False] 1" in done.stderr, "one pool, started before Beam's import, and it fetched"
    assert "wit build: kept 20 = attempted in shards 20 (failed_to_download 20); every kept uid once" in done.stderr
