"""Remote reads survive: http(s) input files are retried and resumed (pipeline/sources/remote.py).

A local http.server on 127.0.0.1 (nothing else is ever contacted) serves real gzip WAT files
and, on demand, answers 503 with Retry-After, resets the connection after K bytes, sends fewer
bytes than its Content-Length, ignores Range, or changes the file between requests. Sleeps are
injected (unit tests) or tiny (the end-to-end build), so every test is fast.
"""

from __future__ import annotations

import gzip
import importlib.util
import io
import json
import socket
import struct
import threading
from collections import Counter, defaultdict, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from wit.pipeline.sources import read_file
from wit.pipeline.sources.candidates import RecordError
from wit.pipeline.sources.inputs import InputFile, crawl_wat_files
from wit.pipeline.sources.remote import (READ_RESUMES, READ_RETRIES, RemoteReadConfig, RemoteReader,
                                         RemoteReadError, backoff_delay, parse_retry_after)

REPO = Path(__file__).resolve().parent.parent
ETAG = '"v1"'


def synthetic_wat(folder: Path, links: int, files: int, seed: int) -> list[str]:
    spec = importlib.util.spec_from_file_location("make_synthetic_wat", REPO / "benchmarks" / "make_synthetic_wat.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.write_synthetic_wat(str(folder), links=links, files=files, seed=seed)["files"]


class FaultyServer:
    """Serves a folder over HTTP/1.0 on 127.0.0.1, with faults queued per path.

    `fail(path, fault, ...)` queues faults that the next requests for the path use up, one each;
    `always(path, fault)` applies one to every request. Faults:
      ("status", code, retry_after)  answer `code` with an empty body
      ("reset", k)                   send the headers and k body bytes, then a TCP reset
      ("short", k)                   send the full Content-Length but only k bytes, then close
      ("ignore_range",)              answer 200 with the whole file even to a Range request
      ("etag", value)                serve normally with another ETag (the file "changed")
    """

    def __init__(self, root: Path):
        self.root = root
        self.faults: dict[str, deque] = defaultdict(deque)
        self.permanent: dict[str, tuple] = {}
        self.requests: list[tuple[str, str | None]] = []  # (path, Range header)
        self.lock = threading.Lock()

    def fail(self, path: str, *faults: tuple) -> None:
        self.faults[path].extend(faults)

    def always(self, path: str, fault: tuple) -> None:
        self.permanent[path] = fault

    def requests_for(self, path: str) -> list[str | None]:
        return [range_ for seen, range_ in self.requests if seen == path]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet test output
                pass

            def do_GET(self):
                with server.lock:
                    server.requests.append((self.path, self.headers.get("Range")))
                    queued = server.faults[self.path]
                    fault = queued.popleft() if queued else server.permanent.get(self.path, ("ok",))
                if fault[0] == "status":
                    self.send_response(fault[1])
                    if fault[2] is not None:
                        self.send_header("Retry-After", str(fault[2]))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                file = server.root / self.path.lstrip("/")
                if not file.is_file():
                    self.send_error(404)
                    return
                data = file.read_bytes()
                start = 0
                range_ = self.headers.get("Range")
                if range_ and fault[0] != "ignore_range":
                    start = int(range_.removeprefix("bytes=").split("-")[0])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.send_header("ETag", fault[1] if fault[0] == "etag" else ETAG)
                self.end_headers()
                if fault[0] in ("reset", "short"):
                    self.wfile.write(body[: fault[1]])
                    self.wfile.flush()
                    if fault[0] == "reset":
                        # SO_LINGER 0: close() sends RST instead of FIN, as a reset connection does.
                        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.close()
                    return
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture(scope="module")
def wat_files(tmp_path_factory) -> list[Path]:
    root = tmp_path_factory.mktemp("remote")
    return [Path(p) for p in synthetic_wat(root / "wat", links=3000, files=2, seed=5)]


@pytest.fixture
def server(wat_files):
    with FaultyServer(wat_files[0].parent) as running:
        yield running


class Recorder:
    """Injected sleep and event callback: what the reader waited and reported, nothing slept."""

    def __init__(self):
        self.sleeps: list[float] = []
        self.events: Counter = Counter()

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def event(self, name: str) -> None:
        self.events[name] += 1


FAST = RemoteReadConfig(attempts=4, backoff=0.01, backoff_max=5.0, timeout=10.0)


def read_all(url: str, config: RemoteReadConfig = FAST, recorder: Recorder | None = None,
             chunk: int = 4096) -> bytes:
    recorder = recorder or Recorder()
    out = io.BytesIO()
    with RemoteReader(url, config, recorder.event, sleep=recorder.sleep, jitter=lambda: 1.0) as stream:
        while block := stream.read(chunk):
            out.write(block)
        assert stream.tell() == out.tell()
    return out.getvalue()


def test_a_clean_read_is_one_request_with_the_same_bytes(server, wat_files):
    recorder = Recorder()
    name = "/" + wat_files[0].name
    assert read_all(server.url(name), recorder=recorder) == wat_files[0].read_bytes()
    assert server.requests_for(name) == [None]
    assert recorder.events == Counter() and recorder.sleeps == []


def test_slowdown_is_retried_with_retry_after_as_a_floor(server, wat_files):
    name = "/" + wat_files[0].name
    server.fail(name, *[("status", 503, 2)] * 3)
    recorder = Recorder()
    assert read_all(server.url(name), recorder=recorder) == wat_files[0].read_bytes()
    assert server.requests_for(name) == [None] * 4
    assert recorder.events == Counter({READ_RETRIES: 3})
    assert recorder.sleeps == [2.0, 2.0, 2.0]  # Retry-After 2 beats a 0.01 s backoff


def test_a_long_retry_after_is_cut_to_the_backoff_cap(server, wat_files):
    name = "/" + wat_files[0].name
    server.fail(name, ("status", 503, 3600))
    recorder = Recorder()
    assert read_all(server.url(name), recorder=recorder) == wat_files[0].read_bytes()
    assert recorder.sleeps == [FAST.backoff_max]


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_every_transient_status_is_retried(server, wat_files, status):
    name = "/" + wat_files[0].name
    server.fail(name, ("status", status, None))
    recorder = Recorder()
    assert read_all(server.url(name), recorder=recorder) == wat_files[0].read_bytes()
    assert recorder.events == Counter({READ_RETRIES: 1})
    assert recorder.sleeps == [FAST.backoff]


def test_a_reset_mid_file_resumes_at_the_byte_reached(server, wat_files):
    name = "/" + wat_files[0].name
    server.fail(name, ("reset", 20_000))
    recorder = Recorder()
    assert read_all(server.url(name), recorder=recorder) == wat_files[0].read_bytes()
    first, resumed = server.requests_for(name)
    offset = int(resumed.removeprefix("bytes=").rstrip("-"))
    assert first is None and 0 < offset <= 20_000
    assert recorder.events == Counter({READ_RETRIES: 1, READ_RESUMES: 1})


def test_a_body_shorter_than_its_content_length_is_resumed(server, wat_files):
    name = "/" + wat_files[0].name
    server.fail(name, ("short", 12_345), ("short", 5_000))
    recorder = Recorder()
    assert read_all(server.url(name), recorder=recorder) == wat_files[0].read_bytes()
    assert server.requests_for(name) == [None, "bytes=12345-", "bytes=17345-"]
    assert recorder.events == Counter({READ_RETRIES: 2, READ_RESUMES: 2})
    assert recorder.sleeps == [FAST.backoff, FAST.backoff]  # bytes arrived in between: no doubling


def test_a_server_that_ignores_range_still_gives_one_continuous_stream(server, wat_files):
    name = "/" + wat_files[0].name
    server.fail(name, ("short", 9_000), ("ignore_range",))
    recorder = Recorder()
    assert read_all(server.url(name), recorder=recorder) == wat_files[0].read_bytes()
    assert server.requests_for(name) == [None, "bytes=9000-"]
    assert recorder.events == Counter({READ_RETRIES: 1, READ_RESUMES: 1})


def test_a_file_that_changed_between_requests_is_not_stitched(server, wat_files):
    name = "/" + wat_files[0].name
    server.fail(name, ("short", 9_000), ("etag", '"v2"'))
    with pytest.raises(RemoteReadError, match="changed while it was read"):
        read_all(server.url(name))


def test_a_file_that_keeps_failing_is_given_up_after_the_attempts(server, wat_files):
    name = "/" + wat_files[0].name
    server.always(name, ("status", 503, None))
    recorder = Recorder()
    config = RemoteReadConfig(attempts=5, backoff=1.0, backoff_max=3.0)
    with pytest.raises(RemoteReadError, match="gave up on http://127.0.0.1:.*HTTP 503") as caught:
        read_all(server.url(name), config, recorder)
    assert name in str(caught.value)
    assert len(server.requests_for(name)) == 5
    assert recorder.sleeps == [1.0, 2.0, 3.0, 3.0]  # doubling, capped
    assert recorder.events == Counter({READ_RETRIES: 4})


def test_progress_renews_the_attempts_but_max_retries_bounds_a_file(server, wat_files):
    name = "/" + wat_files[0].name
    server.always(name, ("short", 1_000))  # every response cut after 1,000 bytes
    size = wat_files[0].stat().st_size
    recorder = Recorder()
    # Two failures in a row would end it, but each cut delivered bytes: the whole file arrives.
    assert read_all(server.url(name), RemoteReadConfig(attempts=2, backoff=0.0, max_retries=1000), recorder) \
        == wat_files[0].read_bytes()
    assert recorder.events[READ_RESUMES] == (size - 1) // 1_000
    with pytest.raises(RemoteReadError, match="3 retries in all"):
        read_all(server.url(name), RemoteReadConfig(attempts=2, backoff=0.0, max_retries=3))


def test_a_missing_file_is_not_retried(server):
    with pytest.raises(FileNotFoundError, match="404"):
        read_all(server.url("/nothing.warc.wat.gz"))
    assert server.requests_for("/nothing.warc.wat.gz") == [None]


def test_a_refused_connection_is_retried_then_given_up():
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    recorder = Recorder()
    with pytest.raises(RemoteReadError, match="ConnectionRefusedError"):
        read_all(f"http://127.0.0.1:{port}/a.wat.gz", RemoteReadConfig(attempts=3, backoff=0.01), recorder)
    assert recorder.events == Counter({READ_RETRIES: 2})


def test_backoff_doubles_from_the_base_is_jittered_down_and_capped():
    config = RemoteReadConfig(backoff=1.0, backoff_max=60.0)
    assert [backoff_delay(config, n, None, lambda: 1.0) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert [backoff_delay(config, n, None, lambda: 0.0) for n in range(1, 4)] == [0.5, 1, 2]
    assert backoff_delay(config, 1, 30.0, lambda: 0.0) == 30.0
    assert backoff_delay(config, 1, 1e9, lambda: 0.0) == 60.0
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def _candidates(items) -> list[tuple]:
    return [(c["url"], c["text"], c["page_url"], c["text_field"], c["source"].rsplit("@", 1)[1]) for c in items]


def test_read_file_over_faults_yields_the_clean_candidates_and_counts(server, wat_files):
    name = "/" + wat_files[1].name
    server.fail(name, ("status", 503, 0), ("reset", 30_000), ("status", 502, None), ("short", 20_000))
    events = Counter()
    remote = list(read_file(InputFile(server.url(name), "wat"), remote=FAST, on_event=lambda key: events.update([key])))
    local = list(read_file(InputFile(str(wat_files[1]), "wat")))
    assert not any(isinstance(item, RecordError) for item in remote)
    assert len(local) > 1000 and _candidates(remote) == _candidates(local)
    assert events == Counter({READ_RETRIES: 4, READ_RESUMES: 2})


def test_read_file_gives_a_failing_file_up_as_one_record_error(server, wat_files):
    name = "/" + wat_files[1].name
    server.always(name, ("status", 503, None))
    items = list(read_file(InputFile(server.url(name), "wat"), remote=RemoteReadConfig(attempts=2, backoff=0.0)))
    assert len(items) == 1 and isinstance(items[0], RecordError)
    assert items[0].where == server.url(name)
    assert "RemoteReadError" in items[0].message and server.url(name) in items[0].message


def test_a_failure_after_candidates_keeps_them_and_adds_one_error(server, wat_files):
    name = "/" + wat_files[1].name
    server.fail(name, ("short", 40_000))
    server.always(name, ("status", 503, None))  # the resume never succeeds
    items = list(read_file(InputFile(server.url(name), "wat"), remote=RemoteReadConfig(attempts=2, backoff=0.0)))
    errors = [item for item in items if isinstance(item, RecordError)]
    local = list(read_file(InputFile(str(wat_files[1]), "wat")))
    assert len(errors) == 1 and "at byte 40,000" in errors[0].message
    assert 0 < len(items) - 1 < len(local)
    assert _candidates(items[:-1]) == _candidates(local[: len(items) - 1])


def test_a_url_list_over_http_is_resumed_too(tmp_path, shared_data):
    rows = (shared_data / "real" / "yfcc100m_rows_from_public_tests.tsv").read_bytes()
    (tmp_path / "list.tsv.gz").write_bytes(gzip.compress(rows * 20))
    with FaultyServer(tmp_path) as running:
        running.fail("/list.tsv.gz", ("short", 2_000))
        events = Counter()
        remote = list(read_file(InputFile(running.url("/list.tsv.gz"), "tsv"), remote=RemoteReadConfig(backoff=0.0),
                                on_event=lambda key: events.update([key])))
    local = list(read_file(InputFile(str(tmp_path / "list.tsv.gz"), "tsv")))
    assert [item["url"] for item in remote] == [item["url"] for item in local] and len(local) > 20
    assert events == Counter({READ_RETRIES: 1, READ_RESUMES: 1})


def test_the_crawl_index_is_retried_at_launch(server, wat_files, tmp_path):
    crawl_dir = wat_files[0].parent / "crawl-data" / "CC-MAIN-2024-22"
    crawl_dir.mkdir(parents=True, exist_ok=True)
    with gzip.open(crawl_dir / "wat.paths.gz", "wt") as handle:
        handle.write("crawl-data/CC-MAIN-2024-22/a.warc.wat.gz\n")
    server.fail("/crawl-data/CC-MAIN-2024-22/wat.paths.gz", ("status", 503, 0), ("reset", 10))
    files = crawl_wat_files("CC-MAIN-2024-22", None, server.url("/"), RemoteReadConfig(backoff=0.0))
    assert [file.path for file in files] == [server.url("/crawl-data/CC-MAIN-2024-22/a.warc.wat.gz")]
    assert len(server.requests_for("/crawl-data/CC-MAIN-2024-22/wat.paths.gz")) == 3


def test_remote_read_flags_make_the_config():
    from wit.app.cli import build_parser

    args = build_parser().parse_args(["build", "--input", "x.wat.gz", "--out", "o", "--input-attempts", "3",
                                      "--input-backoff", "0.5", "--input-backoff-max", "9"])
    assert RemoteReadConfig.from_args(args) == RemoteReadConfig(attempts=3, backoff=0.5, backoff_max=9.0)
    defaults = build_parser().parse_args(["build", "--input", "x.wat.gz", "--out", "o"])
    assert RemoteReadConfig.from_args(defaults) == RemoteReadConfig()
    with pytest.raises(ValueError):
        RemoteReadConfig(attempts=0)


# --- `wit build --crawl` through the faulty server, end to end ---------------------------------

CRAWL = "CC-MAIN-2024-22"
IN_MEMORY = ["--direct_running_mode=in_memory", "--direct_num_workers=1"]


def _run_wit(argv) -> tuple[int, str]:
    import contextlib

    from wit.app.cli import main

    buffer = io.StringIO()
    with contextlib.redirect_stderr(buffer):
        code = main(argv)
    return code, buffer.getvalue()


def _candidate_rows(out: Path) -> list[tuple]:
    table = pa.concat_tables([pq.read_table(p) for p in sorted((out / "candidates").glob("part-*.parquet"))])
    return sorted((row["url"], row["caption"], row["text_field"]) for row in table.to_pylist())


@pytest.mark.slow
def test_build_crawl_through_a_faulty_server(tmp_path):
    segment = tmp_path / "crawl-data" / CRAWL / "segments" / "1" / "wat"
    files = [Path(p) for p in synthetic_wat(segment, links=3000, files=3, seed=17)]
    listed = ["/" + p.relative_to(tmp_path).as_posix() for p in files]
    with gzip.open(tmp_path / "crawl-data" / CRAWL / "wat.paths.gz", "wt") as handle:
        handle.write("\n".join(path.lstrip("/") for path in listed) + "\n")
    with FaultyServer(tmp_path) as running:
        running.fail(f"/crawl-data/{CRAWL}/wat.paths.gz", ("status", 503, 0))
        running.fail(listed[0], ("reset", 25_000))
        running.fail(listed[1], ("status", 503, 0), ("status", 503, 0), ("short", 30_000))
        running.always(listed[2], ("status", 503, 0))
        out = tmp_path / "out"
        code, err = _run_wit(["build", "--crawl", CRAWL, "--cc-base-url", running.url("/"),
                              "--input-attempts", "3", "--input-backoff", "0.01", "--input-backoff-max", "0.05",
                              "--queries", "none", "--out", str(out), "--until", "candidates", *IN_MEMORY])
        failing_requests = running.requests_for(listed[2])
    assert code == 0, err
    counts = json.loads((out / "counts" / "text_counts.json").read_text())
    # file 0: 1 retry, 1 resume; file 1: 2 retries + 1 retry that resumes; file 2: 3 attempts, 2 retries.
    assert counts["flow"]["read_retries"] == 6 and counts["flow"]["read_resumes"] == 2
    assert counts["drops"]["drop_error"] == 1 and len(failing_requests) == 3
    assert counts["flow"]["files_read"] == 3
    assert counts["input"] == counts["kept"] + sum(counts["drops"].values())
    assert "read_retries" not in counts["drops"]

    # The same two files read from disk give the same candidates: nothing lost, nothing twice.
    clean_out = tmp_path / "clean"
    code, err = _run_wit(["build", "--input", str(files[0]), str(files[1]), "--queries", "none",
                          "--out", str(clean_out), "--until", "candidates", *IN_MEMORY])
    assert code == 0, err
    clean = json.loads((clean_out / "counts" / "text_counts.json").read_text())
    assert counts["input"] == clean["input"] + 1 and counts["kept"] == clean["kept"] > 0
    assert _candidate_rows(out) == _candidate_rows(clean_out)
