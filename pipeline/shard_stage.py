"""The fetch + shards stage in Beam: candidates in, OUT/shards/*, OUT/sizes.json, OUT/manifest.json out.

The work is plain functions in pipeline/shard_work.py; `FetchToShards` is the thin Beam
composite that wires them:

  candidates -> hash bucket -> histogram -> bucket offsets      (shards/assign.py)
             -> GroupByKey(bucket) -> (shard, key, candidate)
             -> GroupByKey(shard) -> process_shards: fetch, decode, write the shards of a bundle
             -> [--dedup-images: group by sha256, rewrite shards that lose a duplicate]
             -> sizes.json + manifest.json

A DoFn fetches up to 8 shards of its bundle back to back in one event loop (process_shards).
"""

from __future__ import annotations

import apache_beam as beam

from wit.pipeline.counting import HoldingDoFn
from wit.pipeline.fetch import FetchConfig
from wit.pipeline.fetch_stats import FetchStats
from wit.pipeline.shard_work import duplicate_losers, manifest_entry, process_shards, remove_duplicates, shard_of_key
from wit.shards.assign import assign_bucket, bucket_of, bucket_offsets
from wit.shards.manifest import write_dataset_index


class _FetchShardsFn(HoldingDoFn):
    """Fetches the shards of a bundle back to back (process_shards), up to SHARDS_PER_CALL at a
    time: one shard per call would leave the cores idle at the end of every shard while its last
    stalled URLs wait for their timeout."""

    SHARDS_PER_CALL = 8  # bounds the candidates held: ~10-20 MB per shard of 10,000

    def __init__(self, config: FetchConfig) -> None:
        super().__init__()
        self.config = config

    def reset_held(self):
        self._held = []

    def hold(self, element):
        self._held.append(element)

    def is_full(self):
        return len(self._held) >= self.SHARDS_PER_CALL

    def flush(self):
        held, self._held = self._held, []
        stats = FetchStats()
        summaries = process_shards(held, self.config, stats)
        # The run's counts (requests, retries, DNS lookups) as counters: sums only, seconds in ms.
        for name, value in stats.to_json().items():
            if not name.endswith("_max"):
                counted = ("fetch_stats", f"{name}_ms", round(value * 1000)) if isinstance(value, float) else ("fetch_stats", name, value)
                beam.metrics.Metrics.counter(counted[0], counted[1]).inc(counted[2])
        for (shard_id, _), summary in zip(held, summaries):
            for status, count in summary["status_counts"].items():
                beam.metrics.Metrics.counter("fetch", status).inc(count)
            yield shard_id, summary


class AssignShards(beam.PTransform):
    """candidates -> (shard_id, (key, candidate)), deterministically (shards/assign.py)."""

    def __init__(self, shard_size: int) -> None:
        super().__init__()
        self.shard_size = shard_size

    def expand(self, candidates):
        by_bucket = candidates | "HashBucket" >> beam.Map(lambda c: (bucket_of(str(c.get("uid", ""))), c))
        offsets = (
            by_bucket
            | "CountPerBucket" >> beam.combiners.Count.PerKey()
            | "Histogram" >> beam.combiners.ToDict()
            | "Offsets" >> beam.Map(bucket_offsets)
        )
        size = self.shard_size
        return (
            by_bucket
            | "GroupByBucket" >> beam.GroupByKey()
            | "NumberWithinBucket"
            >> beam.FlatMap(
                lambda kv, offs: assign_bucket(offs[kv[0]], kv[1], size), offs=beam.pvalue.AsSingleton(offsets)
            )
        )


class _DedupImages(beam.PTransform):
    """(shard_id, summary) -> (shard_id, summary) with dataset-wide duplicate images removed."""

    def __init__(self, config: FetchConfig) -> None:
        super().__init__()
        self.config = config

    def expand(self, summaries):
        config = self.config
        losers_by_shard = (
            summaries
            | "ImageHashes" >> beam.FlatMap(lambda kv: [(sha, key) for sha, key in kv[1]["images"]])
            | "GroupByHash" >> beam.GroupByKey()
            | "Losers" >> beam.FlatMap(lambda kv: duplicate_losers((kv[0], key) for key in kv[1]).items())
            | "LoserShard" >> beam.Map(lambda loser: (shard_of_key(loser[0], config.shard_size), loser))
        )

        def rewrite(kv):
            shard_id, grouped = kv
            summary = grouped["summary"][0]
            losers = dict(grouped["losers"])
            return shard_id, remove_duplicates(shard_id, losers, config) if losers else summary

        return (
            {"summary": summaries, "losers": losers_by_shard}
            | "JoinLosers" >> beam.CoGroupByKey()
            | "RewriteShards" >> beam.Map(rewrite)
        )


class FetchToShards(beam.PTransform):
    """Fetch every candidate's image and write OUT/shards, OUT/sizes.json, OUT/manifest.json.

    Input: candidate dicts with at least uid, url, text (wit.core.records). Output: one
    (shard_id, summary) per shard; the manifest is written when all of them are in, with
    `build_settings` (a `wit build`'s BuildConfig.to_json()) recorded beside the fetch settings.
    """

    def __init__(self, config: FetchConfig, build_settings: dict | None = None) -> None:
        super().__init__()
        if not config.out:
            raise ValueError("FetchToShards needs config.out, the output folder")
        self.config = config
        self.build_settings = build_settings

    def expand(self, candidates):
        config, build_settings = self.config, self.build_settings
        summaries = (
            candidates
            | "AssignShards" >> AssignShards(config.shard_size)
            | "GroupByShard" >> beam.GroupByKey()
            | "FetchShards" >> beam.ParDo(_FetchShardsFn(config))
        )
        if config.dedup_images:
            summaries = summaries | "DedupImages" >> _DedupImages(config)
        (
            summaries
            | "DropImageHashes" >> beam.Map(lambda kv: manifest_entry(kv[1]))
            | "AllShards" >> beam.combiners.ToList()
            | "WriteManifest"
            >> beam.Map(
                lambda items: write_dataset_index(config.out, items, config.to_json(), config.query_list_hash, build_settings)
            )
        )
        return summaries
