"""The fetch pool's own settings: how a shard is cut into chunks for the workers, and the cyclic
collector in a worker. The pool's results are tested with the other drivers in test_shards.py."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from wit.pipeline.fetch_pool import (
    CHUNKS_PER_WORKER,
    MAX_CHUNK_SAMPLES,
    MIN_CHUNK_SAMPLES,
    YOUNG_COLLECTION_ALLOCATIONS,
    chunk_samples,
)


@pytest.mark.parametrize("workers", [1, 2, 4, 16])
def test_a_short_list_goes_out_in_small_chunks_so_every_worker_gets_a_share(workers):
    for samples in (1, 15, 16, 64, workers * CHUNKS_PER_WORKER * MIN_CHUNK_SAMPLES):
        assert chunk_samples(samples, workers) == MIN_CHUNK_SAMPLES
    # Whenever there are enough samples for every worker to get a chunk, there are enough chunks.
    for samples in range(workers * MIN_CHUNK_SAMPLES, 20_000, 997):
        assert math.ceil(samples / chunk_samples(samples, workers)) >= workers


@pytest.mark.parametrize("workers", [1, 2, 4, 16])
def test_a_long_list_goes_out_in_larger_chunks_within_the_bounds(workers):
    assert chunk_samples(10_000_000, workers) == MAX_CHUNK_SAMPLES
    sizes = [chunk_samples(samples, workers) for samples in range(1, 200_000, 613)]
    assert all(MIN_CHUNK_SAMPLES <= size <= MAX_CHUNK_SAMPLES for size in sizes)
    assert sizes == sorted(sizes), "a longer list never gets smaller chunks"
    # The web-like benchmark's list: 10,000 URLs on two workers goes out 64 at a time.
    assert chunk_samples(10_000, 2) == 64


def test_a_worker_freezes_its_start_up_objects_collects_less_often_and_still_frees_cycles():
    # In a fresh interpreter: the settings a worker runs with change nothing in the test process.
    code = f"""
import gc, json, weakref
from wit.pipeline.fetch_pool import _quiet_collector
_quiet_collector()
frozen = gc.get_freeze_count()

class Node:
    pass

a, b = Node(), Node()
a.other, b.other = b, a  # a cycle that only the collector frees
alive = weakref.ref(a)
del a, b
young = gc.get_count()[0]
garbage = [[] for _ in range({YOUNG_COLLECTION_ALLOCATIONS * 3})]  # allocations enough for collections
print(json.dumps({{"threshold": gc.get_threshold(), "frozen": frozen, "young_after_freeze": young,
                  "cycle_freed": alive() is None}}))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    figures = json.loads(result.stdout)
    assert figures["threshold"][0] == YOUNG_COLLECTION_ALLOCATIONS
    assert figures["frozen"] > 1000, "the objects of the worker's imports are out of the collector's scans"
    assert figures["young_after_freeze"] < 100
    assert figures["cycle_freed"], "a reference cycle is still collected without an explicit gc.collect()"
