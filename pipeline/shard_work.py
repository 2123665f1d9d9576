"""The work of the fetch + shards stage, as plain functions (no Beam).

- `process_shard`: make one shard complete. An asyncio loop keeps up to --concurrency downloads
  in flight while a thread pool decodes and resizes (Pillow releases the GIL there), and the
  writer publishes the tar atomically when every sample of the shard has a result.
- `duplicate_losers` / `remove_duplicates`: dataset-wide exact-duplicate removal by sha256.
- `fetch_in_process`: the whole stage in this process, the same steps `FetchToShards`
  (pipeline/shard_stage.py) runs in Beam: assign shards, make each complete, remove duplicates,
  write sizes.json and manifest.json. `wit fetch` uses it on a laptop, where a pipeline would
  add a second of start-up (importing Beam, planning and starting the runner) to every run and
  nothing else: one process already keeps every core busy with one shard.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor

from pipeline.archive import archive_index
from pipeline.fetch import Fetcher, FetchConfig, default_decode_threads
from pipeline.images import ImageRejected, process_image
from shards.assign import assign_all, members_digest, sample_digits, shard_name
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


def shard_of_key(key: str, shard_size: int) -> int:
    return int(key[: -sample_digits(shard_size)])


def losers_by_shard(summaries: Iterable[Mapping], shard_size: int) -> dict[int, dict[str, str]]:
    """shard_id -> {key: key of the kept copy} for the duplicate images of every shard."""
    losers = duplicate_losers((sha256, key) for summary in summaries for sha256, key in summary["images"])
    grouped: dict[int, dict[str, str]] = defaultdict(dict)
    for key, winner in losers.items():
        grouped[shard_of_key(key, shard_size)][key] = winner
    return dict(grouped)


def manifest_entry(summary: Mapping) -> dict:
    """A shard summary without the per-image hashes: they served the dedup step, not the manifest."""
    return {k: v for k, v in summary.items() if k != "images"}


def fetch_in_process(candidates: Iterable[Mapping], config: FetchConfig) -> dict:
    """Run the whole stage in this process, shard after shard; returns the manifest.

    Same shards, keys and manifest as `FetchToShards` in Beam (tests check it): the assignment
    is shards.assign.assign_all, which orders candidates exactly as the Beam path does.
    """
    if not config.out:
        raise ValueError("fetch_in_process needs config.out, the output folder")
    shards = assign_all(candidates, config.shard_size)
    log.info("%d candidates in %d shard(s) of up to %d", sum(map(len, shards.values())), len(shards), config.shard_size)
    summaries = {shard_id: process_shard(shard_id, keyed, config) for shard_id, keyed in sorted(shards.items())}
    if config.dedup_images:
        for shard_id, losers in losers_by_shard(summaries.values(), config.shard_size).items():
            summaries[shard_id] = remove_duplicates(shard_id, losers, config)
    entries = [manifest_entry(summary) for summary in summaries.values()]
    return write_dataset_index(config.out, entries, config.to_json(), config.query_list_hash)
