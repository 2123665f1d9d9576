"""The fetch + shards stage: candidates in, OUT/shards/*, OUT/sizes.json, OUT/manifest.json out.

Plain functions do the work (`process_shard`, `remove_duplicates`); `FetchToShards` is the thin
Beam composite that wires them:

  candidates -> hash bucket -> histogram -> bucket offsets      (shards/assign.py)
             -> GroupByKey(bucket) -> (shard, key, candidate)
             -> GroupByKey(shard) -> process_shard: fetch, decode, write one shard
             -> [--dedup-images: group by sha256, rewrite shards that lose a duplicate]
             -> sizes.json + manifest.json

One DoFn call handles one whole shard: an asyncio loop keeps up to --concurrency downloads in
flight while a thread pool decodes and resizes (Pillow releases the GIL there), and the writer
publishes the tar atomically when every sample of the shard has a result.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor

import apache_beam as beam

from pipeline.archive import archive_index
from pipeline.fetch import Fetcher, FetchConfig, default_decode_threads
from pipeline.images import ImageRejected, process_image
from shards.assign import assign_bucket, bucket_of, bucket_offsets, members_digest, sample_digits, shard_name
from shards.manifest import write_dataset_index
from shards.writer import (
    RETRYABLE_STATUSES,
    ShardWriter,
    read_rows,
    read_stats,
    read_tar_images,
    sample_record,
    shard_summary,
)

log = logging.getLogger(__name__)
PROGRESS_EVERY_S = 10.0


def shards_dir(config: FetchConfig) -> str:
    return f"{config.out.rstrip('/')}/shards"


class ByteBudget:
    """An asyncio budget of bytes: acquire(n) waits until n more bytes fit under the limit.

    A body larger than the whole budget still goes through once nothing else is held, so no
    single image can wait forever.
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._used = 0
        self._changed = asyncio.Condition()

    async def acquire(self, n: int) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: self._used == 0 or self._used + n <= self._limit)
            self._used += n

    async def release(self, n: int) -> None:
        async with self._changed:
            self._used -= n
            self._changed.notify_all()


def process_shard(shard_id: int, keyed: Iterable[tuple[str, Mapping]], config: FetchConfig) -> dict:
    """Make shard `shard_id` complete and return its summary.

    A shard that is already complete with the same members is kept as it is (with
    --retry-failed only its retryable failures are fetched again); anything else is fetched.
    """
    keyed = sorted(keyed, key=lambda item: item[0])
    digest = members_digest(keyed)
    folder = shards_dir(config)
    stats = read_stats(folder, shard_id)
    previous: dict[str, dict] = {}
    previous_images: dict[str, bytes] = {}
    if stats is not None and stats.get("members_digest") == digest:
        rows = read_rows(folder, shard_id)
        retry = [r for r in rows if r["status"] in RETRYABLE_STATUSES]
        if not config.retry_failed or not retry:
            log.info("shard %s: complete, kept (%d samples)", shard_name(shard_id), stats["successes"])
            return {**shard_summary(stats, rows), "reused": True}
        log.info("shard %s: retrying %d failed samples", shard_name(shard_id), len(retry))
        previous = {r["key"]: r for r in rows if r["status"] not in RETRYABLE_STATUSES}
        previous_images = read_tar_images(folder, shard_id)
    elif stats is not None:
        log.warning("shard %s: its candidates changed since it was written; fetching it again", shard_name(shard_id))
    return asyncio.run(_fetch_shard(shard_id, keyed, config, digest, previous, previous_images))


async def _fetch_shard(shard_id, keyed, config, digest, previous, previous_images) -> dict:
    options = config.image_options()
    writer = ShardWriter(shards_dir(config), shard_id, [key for key, _ in keyed], image_ext=config.encode_format)
    try:
        todo = []
        for key, candidate in keyed:
            kept = previous.get(key)
            if kept is not None and (kept["status"] != "success" or key in previous_images):
                writer.add(kept, previous_images.get(key))
            else:
                todo.append((key, candidate))
        archive = archive_index(config.archives) if config.archives else None
        progress = _Progress(shard_name(shard_id), len(todo))
        loop = asyncio.get_running_loop()
        # Two bounds: downloads in flight (--concurrency), and bytes of downloaded bodies waiting
        # for the decoder (--decode-buffer-mib). A download slot is freed as soon as its body is
        # queued for decoding, so every request starts early (a stalled server costs its timeout
        # once, in parallel with the rest); a download waits only when the decoder is that many
        # bytes behind, which bounds memory whatever the image sizes.
        downloading = asyncio.Semaphore(config.concurrency)
        decoding = ByteBudget(config.decode_buffer_mib * 1024 * 1024)
        with ThreadPoolExecutor(default_decode_threads(config), thread_name_prefix="wit-decode") as decoder:
            async with Fetcher(config, archive) as fetcher:

                async def one(key: str, candidate: Mapping) -> None:
                    image = None
                    async with downloading:
                        download = await fetcher.fetch(str(candidate.get("url") or ""))
                        if download.status == "success":
                            await decoding.acquire(len(download.body))
                    if download.status != "success":
                        record = sample_record(key, candidate, download.status, download.error)
                    else:
                        try:
                            image = await loop.run_in_executor(decoder, process_image, download.body, options)
                            record = sample_record(key, candidate, "success", image=image)
                        except ImageRejected as rejected:
                            record = sample_record(key, candidate, rejected.status, str(rejected))
                        finally:
                            await decoding.release(len(download.body))
                    writer.add(record, image.data if image is not None else None)
                    progress.done(record["status"])

                reporter = asyncio.ensure_future(progress.report_periodically())
                try:
                    await asyncio.gather(*(one(key, candidate) for key, candidate in todo))
                finally:
                    reporter.cancel()
        summary = writer.finish({"members_digest": digest})
    except BaseException:
        writer.abort()
        raise
    progress.log_final(summary)
    return {**summary, "reused": False}


class _Progress:
    def __init__(self, shard: str, total: int) -> None:
        self.shard, self.total = shard, total
        self.finished = self.stored = 0
        self.started = time.monotonic()

    def done(self, status: str) -> None:
        self.finished += 1
        self.stored += status == "success"

    async def report_periodically(self) -> None:
        while True:
            await asyncio.sleep(PROGRESS_EVERY_S)
            elapsed = time.monotonic() - self.started
            log.info(
                "shard %s: %d/%d attempted, %d stored, %.0f images/s",
                self.shard, self.finished, self.total, self.stored, self.stored / max(elapsed, 1e-9),
            )

    def log_final(self, summary: Mapping) -> None:
        elapsed = time.monotonic() - self.started
        log.info(
            "shard %s: done in %.1f s: %d stored of %d attempted (%s)",
            self.shard, elapsed, summary["samples"], summary["attempted"],
            ", ".join(f"{k} {v}" for k, v in sorted(summary["status_counts"].items())),
        )


def duplicate_losers(images: Iterable[tuple[str, str]]) -> dict[str, str]:
    """key -> key of the kept copy, for every image whose sha256 a smaller key already has."""
    by_hash: dict[str, list[str]] = defaultdict(list)
    for sha256, key in images:
        by_hash[sha256].append(key)
    losers = {}
    for keys in by_hash.values():
        winner, *rest = sorted(keys)
        losers.update({key: winner for key in rest})
    return losers


def remove_duplicates(shard_id: int, losers: Mapping[str, str], config: FetchConfig) -> dict:
    """Rewrite a complete shard with `losers` marked "duplicate" (and left out of the tar)."""
    folder = shards_dir(config)
    stats = read_stats(folder, shard_id)
    if stats is None:
        raise RuntimeError(f"shard {shard_name(shard_id)} is not complete; cannot remove duplicates")
    rows = read_rows(folder, shard_id)
    if not any(r["key"] in losers and r["status"] == "success" for r in rows):
        return shard_summary(stats, rows)  # already removed by an earlier run
    images = read_tar_images(folder, shard_id)
    writer = ShardWriter(folder, shard_id, [r["key"] for r in rows], image_ext=config.encode_format)
    try:
        for row in rows:
            if row["key"] in losers and row["status"] == "success":
                row = {**row, "status": "duplicate", "error_message": f"same image as {losers[row['key']]}"}
            writer.add(row, images.get(row["key"]) if row["status"] == "success" else None)
        summary = writer.finish({"members_digest": stats.get("members_digest", "")})
    except BaseException:
        writer.abort()
        raise
    log.info("shard %s: %d duplicate images removed", shard_name(shard_id), sum(1 for r in rows if r["key"] in losers))
    return summary


# ---- Beam composites -------------------------------------------------------------------------


class _FetchShardFn(beam.DoFn):
    def __init__(self, config: FetchConfig) -> None:
        self.config = config

    def process(self, element):
        shard_id, keyed = element
        summary = process_shard(shard_id, keyed, self.config)
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
            | "LoserShard" >> beam.Map(lambda loser: (_shard_of_key(loser[0], config.shard_size), loser))
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


def _shard_of_key(key: str, shard_size: int) -> int:
    return int(key[: -sample_digits(shard_size)])


class FetchToShards(beam.PTransform):
    """Fetch every candidate's image and write OUT/shards, OUT/sizes.json, OUT/manifest.json.

    Input: candidate dicts with at least uid, url, text (wit.records). Output: one
    (shard_id, summary) per shard; the manifest is written when all of them are in.
    """

    def __init__(self, config: FetchConfig) -> None:
        super().__init__()
        if not config.out:
            raise ValueError("FetchToShards needs config.out, the output folder")
        self.config = config

    def expand(self, candidates):
        config = self.config
        summaries = (
            candidates
            | "AssignShards" >> AssignShards(config.shard_size)
            | "GroupByShard" >> beam.GroupByKey()
            | "FetchShard" >> beam.ParDo(_FetchShardFn(config))
        )
        if config.dedup_images:
            summaries = summaries | "DedupImages" >> _DedupImages(config)
        (
            summaries
            # the per-image hashes served the dedup step; the manifest needs only the counts
            | "DropImageHashes" >> beam.Map(lambda kv: {k: v for k, v in kv[1].items() if k != "images"})
            | "AllShards" >> beam.combiners.ToList()
            | "WriteManifest"
            >> beam.Map(
                lambda items: write_dataset_index(config.out, items, config.to_json(), config.query_list_hash)
            )
        )
        return summaries
