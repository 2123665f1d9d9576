"""Counts too many for memory: spilled to hash-partitioned run files, summed one partition at a time.

A run is one spill of a {key: count} dict: 'key\\tcount' lines grouped by partition (crc32 of the
key modulo `partitions`), with an index of each partition's byte range beside it
(RUN.index.json). Summing a partition reads its bytes from every run (about 1/partitions of
the runs) and sums them in one table (C where _ngramcount is built, else Python; same totals).
Used by pageviews.py (titles) and dump_counts.py (words and word pairs).
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path


def partition_of(key: str, partitions: int) -> int:
    """A stable partition (crc32, not Python's per-process salted hash: runs outlive a process)."""
    return zlib.crc32(key.encode("utf-8")) % partitions


def run_buckets(counts: dict[str, int], partitions: int) -> list[bytes]:
    """One spill's partitions: bucket p holds the 'key\tcount\n' lines of the keys in partition p."""
    buckets: list[list[str]] = [[] for _ in range(partitions)]
    crc32 = zlib.crc32
    for key, count in counts.items():
        buckets[crc32(key.encode("utf-8")) % partitions].append(f"{key}\t{count}\n")
    return ["".join(bucket).encode("utf-8") for bucket in buckets]


def write_buckets(buckets: list[bytes], path: Path) -> None:
    """Writes a run from its partitions' bytes (run_buckets, or the C counter's drain_runs), with the index."""
    offsets = [0]
    with open(path, "wb") as out:
        for data in buckets:
            out.write(data)
            offsets.append(offsets[-1] + len(data))
    Path(str(path) + ".index.json").write_text(json.dumps(offsets))


def write_run(counts: dict[str, int], path: Path, partitions: int) -> None:
    """One spill: 'key\tcount' lines grouped by partition, with an index of byte ranges."""
    write_buckets(run_buckets(counts, partitions), path)


def read_run_partition(path: Path | str, partition: int) -> bytes:
    offsets = json.loads(Path(str(path) + ".index.json").read_text())
    with open(path, "rb") as handle:
        handle.seek(offsets[partition])
        return handle.read(offsets[partition + 1] - offsets[partition])


def sum_run_lines(chunks: list[bytes], min_count: int) -> list[tuple[str, int]]:
    """(key, total) of the 'key\tcount' lines of some runs' partitions, for the keys reaching
    min_count; the reference for the C twin, _ngramcount.sum_run_lines (same pairs, any order)."""
    totals: dict[bytes, int] = {}
    get = totals.get
    for chunk in chunks:
        for line in chunk.splitlines():
            key, tab, count = line.rpartition(b"\t")
            if not tab or not count.isdigit():
                raise ValueError(f"run line {line[:200]!r} is not 'key\\tcount'")
            totals[key] = get(key, 0) + int(count)
    return [(key.decode("utf-8"), count) for key, count in totals.items() if count >= min_count]


try:  # the C sum is optional, as the C counter is (setup.py)
    from wit.queries._ngramcount import sum_run_lines as _c_sum_run_lines
except ImportError:  # pragma: no cover - depends on the install
    _c_sum_run_lines = None


def sum_partition(run_paths: list[str], partition: int, min_count: int) -> list[tuple[str, int]]:
    """(key, count) of one partition summed over every run, for the keys reaching min_count.

    Holds the partition's bytes of every run at once (1/partitions of the runs) and sums them in
    C where the extension is built (the table points into those bytes: no object per key)."""
    chunks = [read_run_partition(path, partition) for path in run_paths]
    return (_c_sum_run_lines or sum_run_lines)(chunks, min_count)


def _sum_partition_task(task: tuple) -> list[tuple[str, int]]:
    return sum_partition(*task)


class Serial:
    """The Pool interface, in this process (one worker, or one task)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def imap_unordered(self, function, tasks):
        return map(function, tasks)


def pool(workers: int, tasks: int):
    """A process pool of min(workers, tasks) processes, or Serial() when that is one."""
    import multiprocessing

    if min(workers, tasks) <= 1:
        return Serial()
    # spawn: forking a process with Beam's or pyarrow's threads running is not safe.
    return multiprocessing.get_context("spawn").Pool(min(workers, tasks))


def sum_partitions(run_paths: list[str], partitions: int, min_count: int, workers: int):
    """Yields, partition by partition (in any order), the keys reaching min_count over all runs."""
    tasks = [(run_paths, partition, min_count) for partition in range(partitions)]
    with pool(workers, len(tasks)) as processes:
        yield from processes.imap_unordered(_sum_partition_task, tasks)
