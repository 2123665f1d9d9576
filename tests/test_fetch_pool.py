"""The fetch pool's own settings: the cyclic collector in a worker. The pool's results are tested
with the other drivers in test_shards.py."""

from __future__ import annotations

import json
import subprocess
import sys

from wit.pipeline.fetch_pool import YOUNG_COLLECTION_ALLOCATIONS


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
