"""Workers never see the launcher's files (pipeline/worker_inputs.py).

With a remote runner, a local --queries file travels with the job (uploaded to the job's temp
location under its sha256) and every other local path a worker would open is refused at launch
(exit 2). Every worker checks the query list it loads against the sha256 the launcher recorded.

The real runs use Beam's PortableRunner (its in-process job service, `--job_endpoint embed`)
with `--environment_type EXTERNAL`: the SDK workers are processes of a worker pool the test
starts in its own mount namespace, where the launcher's folder is hidden under an empty tmpfs,
so they cannot read the launcher's files as Dataflow's workers cannot. Storage is moto's S3 on
127.0.0.1. Run time: about a minute for the two real jobs (tests print it).
"""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wit.app.cli import main as wit
from wit.core.errors import WitError
from wit.queries.querylist import QueryList, QueryListMismatch, load_query_list

BUCKET = "wit-workers"
PORTABLE = ["--runner", "PortableRunner", "--job_endpoint", "embed"]


def test_a_worker_loading_another_list_fails_naming_both_hashes(tmp_path):
    path = tmp_path / "queries.txt"
    path.write_text("red\nblue\n")
    recorded = load_query_list(str(path)).content_hash
    assert load_query_list(str(path), expected_hash=recorded).texts == ["red", "blue"]
    path.write_text("red\nblue\ngreen\n")  # changed after launch
    with pytest.raises(QueryListMismatch) as raised:
        load_query_list(str(path), expected_hash=recorded)
    found = load_query_list(str(path)).content_hash
    assert raised.value.expected == recorded and raised.value.found == found
    assert recorded in str(raised.value) and found in str(raised.value)


def test_the_default_list_is_checked_by_hash_too(tmp_path, monkeypatch):
    """A worker whose default list differs (another wordfreq or WordNet in its image) fails."""
    from wit.queries.matcher import load_matcher
    from wit.queries import querylist

    launcher_list = QueryList(texts=["red", "blue"], sources=["wordfreq"] * 2)
    worker_list = QueryList(texts=["red", "blue", "green"], sources=["wordfreq"] * 3)
    monkeypatch.setattr(querylist, "load_default_query_list", lambda: worker_list)
    with pytest.raises(WitError, match=f"query list default: this worker loaded sha256 {worker_list.content_hash}, "
                                       f"but the launcher recorded sha256 {launcher_list.content_hash}"):
        load_matcher("default", launcher_list.content_hash)
    assert load_matcher("default", worker_list.content_hash).match("a green apple")


# ---- refused at launch ----------------------------------------------------------------------


@pytest.fixture
def url_list(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "list.parquet"
    pq.write_table(pa.Table.from_pylist([{"url": "http://images.example/a.jpg", "caption": "a red car"}]), path)
    return path


@pytest.mark.parametrize("command, option", [("build", "--input"), ("build", "--out"), ("fetch", "--archive")])
def test_a_remote_runner_refuses_local_paths_at_launch(command, option, url_list, tmp_path, capsys):
    pytest.importorskip("s3fs")
    pytest.importorskip("boto3")
    out = str(tmp_path / "out") if option == "--out" else "s3://bucket/out"
    argv = [command, "--input", str(url_list), "--out", out]
    argv += ["--queries", "none"] if command == "build" else ["--archive", str(tmp_path / "images.warc.gz")]
    code = wit([*argv, *PORTABLE])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith(f"wit {command}: usage error: PortableRunner runs the workers on other machines, which cannot read this "
                          "machine's files: --input "), err
    assert f"{option} {out if option == '--out' else tmp_path}" in err
    assert not (tmp_path / "out").exists()


def test_the_query_list_counting_job_refuses_a_local_dump_on_a_remote_runner(tmp_path, capsys):
    dump = tmp_path / "enwiki-pages-articles.xml.bz2"
    dump.write_bytes(b"")
    code = wit(["queries", "build", "--out", "gs://bucket/q.parquet", "--wiki-dump", str(dump), "--no-wordnet",
                "--runner", "PortableRunner", "--job_endpoint", "embed"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"PortableRunner runs the workers on other machines, which cannot read this machine's files: --wiki-dump {dump}." in err


def test_a_local_query_list_without_a_temp_location_is_refused(tmp_path, capsys, monkeypatch):
    pytest.importorskip("s3fs")
    pytest.importorskip("boto3")
    queries = tmp_path / "queries.txt"
    queries.write_text("red\n")
    monkeypatch.setattr("wit.pipeline.build.build_pipeline", lambda *a, **k: pytest.fail("the job was built"))
    from wit.pipeline.build import BuildConfig, run_build
    from wit.filters.config import FilterConfig

    config = BuildConfig(files=(), out="s3://bucket/out", filter_config=FilterConfig(), queries=str(queries),
                         query_list_hash=load_query_list(str(queries)).content_hash)
    with pytest.raises(WitError, match=r"--queries .*queries.txt is a file on this machine, which the workers of "
                                       r"PortableRunner cannot read: give --temp_location") as raised:
        run_build(config, PORTABLE)
    assert raised.value.__class__.__name__ == "UsageError"


# ---- real jobs whose workers cannot see the launcher's folder -------------------------------


@pytest.fixture(scope="module")
def s3():
    from storage_servers import moto_s3

    with moto_s3(BUCKET) as server:
        yield server


@pytest.fixture(scope="module")
def launcher_dir(tmp_path_factory):
    """A folder only the launcher sees: the worker pool runs with it hidden."""
    return tmp_path_factory.mktemp("launcher-only")


@pytest.fixture(scope="module")
def worker_cache(tmp_path_factory):
    """The workers' WIT_CACHE, where their default query list is cached."""
    return tmp_path_factory.mktemp("worker-cache")


@pytest.fixture(scope="module")
def worker_pool(s3, launcher_dir, worker_cache):
    """tests/worker_pool.py in a private mount namespace where `launcher_dir` is an empty tmpfs:
    its SDK worker processes see every other path of this machine, but not the launcher's
    folder (checked in that namespace before the pool starts). Yields `localhost:PORT`."""
    if shutil.which("unshare") is None or subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "true"], capture_output=True).returncode != 0:
        pytest.skip("needs `unshare --mount` (a private mount namespace) to hide the launcher's folder from the workers")
    _, _, env = s3
    # Beam's S3 client on the workers takes the endpoint from the job's options (--s3_endpoint_url);
    # s3fs, which reads the shipped list, from FSSPEC_S3_ENDPOINT_URL in this environment.
    env = {**env, "WIT_CACHE": str(worker_cache)}
    hidden = str(launcher_dir)
    script = (f'mount -t tmpfs wit-hidden "{hidden}" && [ -z "$(ls -A "{hidden}")" ] || exit 3; '
              f'exec "{sys.executable}" "{Path(__file__).parent / "worker_pool.py"}"')
    pool = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c", script], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd="/")
    try:
        port = pool.stdout.readline().strip()
        assert port.isdigit(), f"the worker pool did not start (exit {pool.poll()})"
        yield f"localhost:{port}"
    finally:
        pool.terminate()
        pool.wait(timeout=20)


def run_wit(env: dict, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wit", *argv], env=env, capture_output=True, text=True, timeout=400)


def remote_job_args(pool: str, endpoint: str) -> list[str]:
    return [*PORTABLE, "--environment_type", "EXTERNAL", "--environment_config", pool,
            "--temp_location", f"s3://{BUCKET}/tmp", f"--s3_endpoint_url={endpoint}"]


def put_url_list(client, key: str) -> str:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [{"url": f"http://images.example/{i}.jpg", "caption": caption} for i, caption in
            enumerate(["a red car", "a blue boat", "a red and blue kite", "a green field"])]
    table = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), table)
    client.put_object(Bucket=BUCKET, Key=key, Body=table.getvalue())
    return f"s3://{BUCKET}/{key}"


@pytest.mark.slow
def test_a_local_query_list_travels_with_the_job(s3, worker_pool, launcher_dir):
    import json

    import pyarrow.parquet as pq

    client, endpoint, env = s3
    started = time.monotonic()
    queries = launcher_dir / "queries.txt"  # absolute, and invisible to every worker
    queries.write_text("red\nblue\n")
    digest = load_query_list(str(queries)).content_hash
    url_list = put_url_list(client, "in/list.parquet")
    build = run_wit(env, "build", "--input", url_list, "--queries", str(queries), "--out", f"s3://{BUCKET}/out",
                    "--until", "candidates", *remote_job_args(worker_pool, endpoint))
    assert build.returncode == 0, build.stderr
    assert "wit build: input 4 = kept 3 + drops 1" in build.stderr, build.stderr
    shipped = f"tmp/wit-queries/{digest}/queries.txt"
    assert client.get_object(Bucket=BUCKET, Key=shipped)["Body"].read() == b"red\nblue\n"
    counts = pq.read_table(io.BytesIO(client.get_object(Bucket=BUCKET, Key="out/counts/queries.parquet")["Body"].read()))
    assert counts.column("text").to_pylist() == ["red", "blue"] and counts.column("matches").to_pylist() == [2, 2]
    assert json.loads(client.get_object(Bucket=BUCKET, Key="out/counts/text_counts.json")["Body"].read())["kept"] == 3
    print(f"shipped-list job: {time.monotonic() - started:.1f} s")


@pytest.mark.slow
def test_a_worker_whose_default_list_differs_fails_the_job(s3, worker_pool, launcher_dir, worker_cache):
    """The launcher's and the workers' `default` lists are cached under the same content-addressed
    name in their own WIT_CACHE, with one query more on the workers: the job fails, naming both."""
    from wit.queries import default_list, wordnet
    from wit.queries.querylist import DEFAULT_SIZE

    client, endpoint, env = s3
    started = time.monotonic()
    launcher_cache = launcher_dir / "cache"
    name = default_list.cache_path(DEFAULT_SIZE, wordnet.find_wordnet_dir()).name
    launcher_list = QueryList(texts=["red", "blue"], sources=["wordfreq"] * 2)
    worker_list = QueryList(texts=["red", "blue", "green"], sources=["wordfreq"] * 3)
    launcher_list.save(launcher_cache / name)
    worker_list.save(worker_cache / name)
    url_list = put_url_list(client, "in/list-default.parquet")
    build = run_wit({**env, "WIT_CACHE": str(launcher_cache)}, "build", "--input", url_list, "--queries", "default",
                    "--out", f"s3://{BUCKET}/out-default", "--until", "candidates", *remote_job_args(worker_pool, endpoint))
    assert build.returncode == 1, build.stderr
    assert (f"query list default: this worker loaded sha256 {worker_list.content_hash}, but the launcher recorded "
            f"sha256 {launcher_list.content_hash}") in build.stderr, build.stderr[-3000:]
    print(f"mismatched-default job: {time.monotonic() - started:.1f} s")
