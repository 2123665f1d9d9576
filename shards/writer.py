"""Write one WIT-style webdataset shard: {key}.jpg {key}.txt {key}.json in a tar, plus a parquet
of every attempted sample (failures included, with status and error) and {shard}_stats.json.

A shard is published atomically: the tar is written under a temporary name and renamed when
complete, and the stats file is written last, so "stats exists" means "this shard is complete".
A killed run leaves at most a *.tmp file, which no reader pattern (*.tar) picks up and the next
run overwrites. Samples go into the tar in key order, whatever order their downloads finish in,
so the same results give a byte-identical tar (and sha256) on every run.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import tarfile
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Mapping

import pyarrow as pa
import pyarrow.parquet as pq

from wit.core.layout import join, parquet_name, stats_name, tar_name
from wit.core.schema import CAPTION_COLUMN, decode_meta, encode_meta, query_ids, samples_schema
from wit.core.storage import open_url, url_to_fs
from wit.shards.assign import shard_name

# Sample statuses. Every attempted sample ends with exactly one.
STATUSES = (
    "success",  # stored in the tar
    "failed_to_download",  # HTTP error, timeout, connection error, too large, too many redirects
    "failed_to_decode",  # not an image, corrupt or truncated, decompression bomb
    "filtered",  # below --min-image-size or above --max-aspect-ratio
    "opted_out",  # X-Robots-Tag noai/noimageai/noindex..., or robots.txt with --respect-robots
    "refused_address",  # private, loopback, link-local or metadata address (pipeline/safety.py)
    "not_in_archive",  # --archive given and the URL is not recorded in it
    "duplicate",  # --dedup-images: same sha256 as a sample with a smaller key
)
# --retry-failed re-attempts these; the others are decisions that would come out the same.
RETRYABLE_STATUSES = frozenset({"failed_to_download", "failed_to_decode", "not_in_archive"})

_TAR_MTIME = 0  # fixed, so identical samples give an identical tar
TAR_BUFFER_BYTES = 4 << 20


def sample_record(key: str, candidate: Mapping, status: str, error_message: str = "", image=None) -> dict:
    """The per-sample record: img2dataset's json fields plus wit's candidate fields."""
    return {
        "key": key,
        "uid": str(candidate.get("uid", "")),
        "url": str(candidate.get("url", "")),
        CAPTION_COLUMN: str(candidate.get("text", "") or ""),
        "status": status,
        "error_message": error_message or None,
        "width": image.width if image is not None else None,
        "height": image.height if image is not None else None,
        "original_width": image.original_width if image is not None else None,
        "original_height": image.original_height if image is not None else None,
        "sha256": image.sha256 if image is not None else None,
        "page_url": str(candidate.get("page_url", "") or ""),
        "source": str(candidate.get("source", "") or ""),
        "matches": query_ids(candidate.get("matches")),
        "selected_by": query_ids(candidate.get("selected_by")),
        "lang": str(candidate.get("lang", "") or ""),
        "meta": decode_meta(candidate.get("meta")),
    }


def sample_json(record: Mapping) -> dict:
    """The {key}.json of a stored sample: the record with meta entries merged in (never overriding)."""
    merged = {k: v for k, v in record.items() if k != "meta"}
    for name, value in record.get("meta", {}).items():
        merged.setdefault(name, value)
    return merged


class ShardWriter:
    """Collects the results of one shard and publishes tar, parquet and stats atomically.

    `keys` is every key of the shard in order; `add` may be called in any order and the tar is
    still written in key order (a sample waits only for the keys before it).
    """

    def __init__(self, shards_dir: str, shard_id: int, keys: list[str], image_ext: str = "jpg") -> None:
        self.shards_dir = shards_dir.rstrip("/")
        self.name = shard_name(shard_id)
        self.keys = list(keys)
        self.image_ext = image_ext
        self.fs, self.root = url_to_fs(self.shards_dir)
        self.fs.makedirs(self.root, exist_ok=True)
        self._local = _is_local(self.fs)
        if self._local:
            self._remove_stale_temps()
        self._tar_path = self._local_temp(tar_name(self.name))
        # A large buffer: the header, body and padding of every member (nine pieces per sample)
        # reach the file in a few big writes instead of one system call each.
        self._tar = open(self._tar_path, "wb", buffering=TAR_BUFFER_BYTES)
        self._pending: dict[str, tuple[dict, bytes | None]] = {}
        self._next = 0
        self.records: dict[str, dict] = {}
        self.started = time.time()

    def add(self, record: dict, image_bytes: bytes | None) -> None:
        key = record["key"]
        if key in self.records:
            raise ValueError(f"sample {key} added twice to shard {self.name}")
        self.records[key] = record
        self._pending[key] = (record, image_bytes if record["status"] == "success" else None)
        while self._next < len(self.keys) and self.keys[self._next] in self._pending:
            ready_record, ready_bytes = self._pending.pop(self.keys[self._next])
            if ready_bytes is not None:
                self._write_sample(ready_record, ready_bytes)
            self._next += 1

    def finish(self, extra_stats: Mapping | None = None) -> dict:
        """Publish the shard; returns its summary (what manifest.json lists)."""
        missing = [k for k in self.keys if k not in self.records]
        if missing:
            raise RuntimeError(f"shard {self.name}: {len(missing)} samples have no result (first {missing[0]})")
        _close_tar(self._tar)
        tar_sha256, tar_bytes = _file_sha256(self._tar_path)
        rows = [self.records[k] for k in self.keys]
        status_counts = Counter(r["status"] for r in rows)
        ended = time.time()
        stats = {
            "shard": self.name,
            "count": len(rows),
            "successes": status_counts.get("success", 0),
            "failed_to_download": status_counts.get("failed_to_download", 0),
            "failed_to_decode": status_counts.get("failed_to_decode", 0),
            "status_dict": dict(sorted(status_counts.items())),
            "error_counts": dict(Counter(_error_class(r) for r in rows if r["error_message"]).most_common(50)),
            "tar": tar_name(self.name),
            "tar_sha256": tar_sha256,
            "tar_bytes": tar_bytes,
            "start_time": self.started,
            "end_time": ended,
            "duration": round(ended - self.started, 3),
            **(extra_stats or {}),
        }
        parquet_path = self._local_temp(parquet_name(self.name))
        write_rows(rows, parquet_path)
        # Order matters: the stats file is the commit marker, so it goes last.
        self._publish(self._tar_path, tar_name(self.name))
        self._publish(parquet_path, parquet_name(self.name))
        stats_path = self._local_temp(stats_name(self.name))
        with open(stats_path, "w") as handle:
            json.dump(stats, handle, indent=2)
        self._publish(stats_path, stats_name(self.name))
        return shard_summary(stats, rows)

    def abort(self) -> None:
        try:
            self._tar.close()
        finally:
            if os.path.exists(self._tar_path):
                os.remove(self._tar_path)

    def _write_sample(self, record: dict, image_bytes: bytes) -> None:
        key = record["key"]
        payload = json.dumps(sample_json(record), ensure_ascii=False).encode("utf-8")
        caption = record["caption"].encode("utf-8", "surrogatepass")
        for name, data in ((f"{key}.{self.image_ext}", image_bytes), (f"{key}.txt", caption), (f"{key}.json", payload)):
            _write_tar_member(self._tar, name, data)

    def _remove_stale_temps(self) -> None:
        """Temp files of this shard left by a killed run (another pid) are garbage now."""
        for path in glob.glob(os.path.join(glob.escape(self.root), f"{self.name}[._]*.tmp")):
            try:
                os.remove(path)
            except FileNotFoundError:
                pass

    def _local_temp(self, final_name: str) -> str:
        if self._local:
            # Same folder as the final file, so the rename is atomic.
            return os.path.join(self.root, f"{final_name}.{os.getpid()}.tmp")
        handle, path = tempfile.mkstemp(suffix=f".{final_name}.tmp")
        os.close(handle)
        return path

    def _publish(self, local_path: str, final_name: str) -> None:
        final = f"{self.root}/{final_name}"
        if self._local:
            os.replace(local_path, final)
        else:  # object stores make an uploaded object visible whole, never half-written
            self.fs.put_file(local_path, final)
            os.remove(local_path)


def _write_tar_member(handle, name: str, data: bytes) -> None:
    """Append one regular file to a ustar archive.

    A hand-built 512-byte header: tarfile's generic path costs ~10x more per member, which
    shows at hundreds of images per second on one core. Readers (tarfile, webdataset, GNU tar)
    see an ordinary ustar archive; the tests read every shard back with tarfile and webdataset.
    """
    encoded = name.encode("utf-8")
    if len(encoded) > 100:
        raise ValueError(f"tar member name too long for ustar: {name!r}")
    header = bytearray(512)
    header[0 : len(encoded)] = encoded
    header[100:108] = b"0000644\0"  # mode
    header[108:116] = b"0000000\0"  # uid
    header[116:124] = b"0000000\0"  # gid
    header[124:136] = b"%011o\0" % len(data)  # size
    header[136:148] = b"%011o\0" % _TAR_MTIME  # mtime
    header[148:156] = b" " * 8  # checksum placeholder, counted as spaces
    header[156:157] = b"0"  # regular file
    header[257:263] = b"ustar\0"
    header[263:265] = b"00"
    header[148:156] = b"%06o\0 " % sum(header)
    handle.write(header)
    handle.write(data)
    if len(data) % 512:
        handle.write(bytes(512 - len(data) % 512))


def _close_tar(handle) -> None:
    """End-of-archive: two zero blocks, padded to tar's 10240-byte record like tarfile does."""
    handle.write(bytes(1024))
    remainder = handle.tell() % 10240
    if remainder:
        handle.write(bytes(10240 - remainder))
    handle.close()


def warm_up() -> None:
    """Pay the parquet writer's one-time cost now, ahead of the first shard's end.

    The first table pyarrow builds from Python lists imports pandas where it is installed
    (0.3-0.5 s): run here in a worker thread while the fetch waits for its last responses, it is
    off the path that ends the run.
    """
    pa.table({name: [] for name in samples_schema().names}, schema=samples_schema())


def write_rows(rows: Iterable[Mapping], path: str) -> None:
    names = samples_schema().names
    columns = {name: [] for name in names}
    for row in rows:
        for name in names:
            value = row.get(name)
            columns[name].append(encode_meta(value) if name == "meta" else value)
    pq.write_table(pa.table(columns, schema=samples_schema()), path)


def read_rows(shards_dir: str, shard_id: int) -> list[dict]:
    """Every attempted sample of a published shard, meta decoded back to a dict."""
    with open_url(join(shards_dir, parquet_name(shard_name(shard_id))), "rb") as handle:
        rows = pq.read_table(handle).to_pylist()
    for row in rows:
        row["meta"] = decode_meta(row.get("meta"))
    return rows


def read_stats(shards_dir: str, shard_id: int) -> dict | None:
    """The stats of a complete shard, or None when the shard is missing or unfinished."""
    fs, root = url_to_fs(shards_dir.rstrip("/"))
    name = shard_name(shard_id)
    stats_path = join(root, stats_name(name))
    if not fs.exists(stats_path) or not fs.exists(join(root, tar_name(name))) or not fs.exists(join(root, parquet_name(name))):
        return None
    with fs.open(stats_path, "r") as handle:
        return json.load(handle)


def read_tar_images(shards_dir: str, shard_id: int) -> dict[str, bytes]:
    """key -> stored image bytes of a published shard (reused by --retry-failed and dedup)."""
    images: dict[str, bytes] = {}
    with open_url(join(shards_dir, tar_name(shard_name(shard_id))), "rb") as handle:
        with tarfile.open(fileobj=handle, mode="r|") as tar:
            for member in tar:
                key, _, ext = member.name.rpartition(".")
                if ext in ("jpg", "webp", "jpeg", "png") and member.isfile():
                    images[key] = tar.extractfile(member).read()
    return images


def shard_summary(stats: Mapping, rows: Iterable[Mapping]) -> dict:
    """What the manifest needs about a shard, plus the (sha256, key) pairs for --dedup-images."""
    return {
        "shard": stats["shard"],
        "tar": stats["tar"],
        "samples": stats["successes"],
        "attempted": stats["count"],
        "sha256": stats["tar_sha256"],
        "bytes": stats["tar_bytes"],
        "status_counts": stats["status_dict"],
        "images": [(r["sha256"], r["key"]) for r in rows if r["status"] in ("success", "duplicate") and r["sha256"]],
    }


def _error_class(record: Mapping) -> str:
    """Error messages grouped for the stats: the part before any colon or digit-heavy detail."""
    message = record["error_message"] or ""
    return message.split(":", 1)[0][:80]


def _file_sha256(path: str) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def _is_local(fs) -> bool:
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    return protocol in ("file", "local")
