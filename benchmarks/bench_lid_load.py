"""What the default language identifier costs a process before its first caption: seconds and
resident memory for each word list and model the cascade loads, then the C cascade itself.

Run each in a fresh process (the lists are cached once loaded):
.venv/bin/python benchmarks/bench_lid_load.py
Last line: one JSON object of every figure.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from wit.filters import language  # noqa: E402


def resident_bytes() -> int:
    """This process's resident set size now (Linux /proc), not its peak."""
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    import os

    return pages * os.sysconf("SC_PAGE_SIZE")


def main() -> int:
    steps = [
        ("english_vocabulary", language.english_vocabulary),
        ("known_english_words", language.known_english_words),
    ]
    if hasattr(language, "rare_english_words"):
        steps.append(("rare_english_words", language.rare_english_words))
    steps.append(("fastText model", language._fasttext_predict))
    steps.append(("get_identifier('cascade')", lambda: language.get_identifier("cascade")))
    figures = {}
    print("step                          words     seconds  resident MB added")
    for name, load in steps:
        before, start = resident_bytes(), time.perf_counter()
        loaded = load()
        seconds, added = time.perf_counter() - start, resident_bytes() - before
        size = len(loaded) if isinstance(loaded, frozenset) else ""
        figures[name] = {"seconds": round(seconds, 3), "resident_added_mb": round(added / 1e6, 1), "words": size or None}
        print(f"{name:<28}  {str(size):>8}  {seconds:7.3f}  {added / 1e6:8.1f}")
    figures["resident_total_mb"] = round(resident_bytes() / 1e6, 1)
    print(f"resident after all: {figures['resident_total_mb']} MB")
    print(json.dumps(figures, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
