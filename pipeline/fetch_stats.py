"""The fetch stage's run statistics: counts and times beside the per-sample statuses.

Statuses say how each sample ended (shards/writer.py); these say what it took: HTTP requests,
retries by reason, hosts paused, DNS lookups, cache hits, lookup time, lookups in flight. One
`FetchStats` per event loop (the Fetcher and its resolver add to it); a run adds up its loops'
(worker processes send theirs with their results) and records the sum as manifest.json's
"fetch_stats". Names ending in "_max" are maxima and merge by max; all others are sums.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping


class FetchStats:
    def __init__(self) -> None:
        self._values: Counter = Counter()

    def add(self, name: str, amount: float = 1) -> None:
        self._values[name] += amount

    def peak(self, name: str, value: float) -> None:
        """Record a maximum (name ends in "_max")."""
        if value > self._values[name]:
            self._values[name] = value

    def merge(self, other: Mapping[str, float]) -> None:
        for name, value in other.items():
            if name.endswith("_max"):
                self.peak(name, value)
            else:
                self._values[name] += value

    def take(self) -> dict[str, float]:
        """What was added since the last take (for a worker's next message), and start afresh."""
        values = dict(self._values)
        self._values.clear()
        return values

    def __getitem__(self, name: str) -> float:
        return self._values[name]

    def to_json(self) -> dict[str, float]:
        return {name: round(value, 6) if isinstance(value, float) else value for name, value in sorted(self._values.items())}

    def summary_line(self) -> str:
        """One log line: requests, retries, DNS lookups and their cost."""
        v = self._values
        lookups = v["dns_lookups"]
        mean_ms = 1000 * v["dns_lookup_s"] / lookups if lookups else 0.0
        return (
            f"{v['requests']:,} requests, {v['retries']:,} retries, {v['host_pauses']:,} host pauses; DNS: "
            f"{lookups:,} lookups ({mean_ms:.1f} ms mean, {v['dns_in_flight_max']:,} in flight at most, "
            f"{v['dns_slot_wait_s']:.2f} s waiting for a slot), {v['dns_cache_hits']:,} cache hits, "
            f"{v['dns_negative_hits']:,} negative hits, {v['dns_shared']:,} shared lookups, "
            f"{v['dns_failures']:,} failures"
        )
