"""What the workers will open that the launcher named: checked, and shipped where that is safe,
before the job starts.

Workers of a remote runner (Dataflow; Flink, Spark or any portable runner) run on other
machines, where a path on the launcher's disk names nothing. So when the runner is not the
local FnApiRunner:

- a local query-list file (`--queries list.txt`) is uploaded to the job's temp location
  (`--temp_location`, else `--staging_location`) under its sha256, and the workers read that
  copy: a list is small, the launcher has already read and checked it, and a data engineer
  expects it to travel with the job the way `--requirements_file` does;
- every other local path a worker would open (`--input` files, `--out`, `--archive`) is refused
  with a usage error (exit 2) naming the paths: inputs can be any size, so copying them is the
  user's call, and an output written to a worker's own disk would be lost.

Every query list, shipped or not, is also checked on the workers against the sha256 the
launcher recorded (`load_query_list(spec, expected_hash)`): a worker image whose default list
differs, or a bucket file replaced after launch, fails loudly with both hashes.

The local FnApiRunner's workers are threads or processes on the launcher's machine and read its
paths as they are. The checks that need no upload (`refuse_local_paths`,
`workers_share_launcher_disk`) live in wit.core.runner, for every command that runs a job.
"""

from __future__ import annotations

import posixpath

from wit.core.errors import UsageError
from wit.core.runner import is_local_path, runner_name
from wit.core.storage import open_url, read_bytes

SHIPPED_QUERIES_DIR = "wit-queries"


def job_temp_location(options) -> str | None:
    """Where the runner keeps the job's temporary files: --temp_location, else --staging_location."""
    from apache_beam.options.pipeline_options import GoogleCloudOptions

    cloud = options.view_as(GoogleCloudOptions)
    for location in (cloud.temp_location, cloud.staging_location):
        if location and not is_local_path(location):
            return location.rstrip("/")
    return None


def shipped_query_list_url(path: str, content_hash: str, temp_location: str) -> str:
    """The copy's URL, named by the list's sha256 (the hash the workers check), so relaunching
    with the same list writes the same object; the file name is kept (its suffix says how to
    read it)."""
    return f"{temp_location}/{SHIPPED_QUERIES_DIR}/{content_hash}/{posixpath.basename(str(path))}"


def ship_query_list(path: str, content_hash: str, options, *, upload: bool = True) -> str:
    """Upload a local query-list file to the job's temp location; returns the URL workers read.

    `upload=False` (a dry run) only says where it would go."""
    temp_location = job_temp_location(options)
    if temp_location is None:
        raise UsageError(f"--queries {path} is a file on this machine, which the workers of {runner_name(options)} "
                         "cannot read: give --temp_location gs://BUCKET/tmp (wit uploads the list there) or "
                         "put the list in a bucket and pass its URL")
    url = shipped_query_list_url(path, content_hash, temp_location)
    if upload:
        with open_url(url, "wb") as handle:
            handle.write(read_bytes(path))
    return url
