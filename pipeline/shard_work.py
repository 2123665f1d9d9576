"""The work of the fetch + shards stage, as plain functions (no Beam).

- `process_shards`: make shards complete. One asyncio loop keeps up to
  --concurrency downloads in flight while a thread pool decodes and resizes (Pillow releases
  the GIL there), and each shard's writer publishes its tar atomically when every sample of
  the shard has a result.
- `duplicate_losers` / `remove_duplicates`: dataset-wide exact-duplicate removal by sha256.
- `fetch_in_process`: the whole stage in this process, the same steps `FetchToShards`
  (pipeline/shard_stage.py) runs in Beam: assign shards, make each complete, remove duplicates,
  write sizes.json and manifest.json. `wit fetch` uses it on a laptop, where a pipeline would
  add a second of start-up (importing Beam, planning and starting the runner) to every run and
  nothing else: one process already keeps every core busy, and here it fetches the shards back
  to back (process_shards), where Beam hands its DoFn one shard at a time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor

from wit.core.layout import DatasetLayout
from wit.pipeline.fetch_config import FetchConfig
from wit.pipeline.fetch_stats import FetchStats
from wit.shards.assign import assign_all, members_digest, sample_digits, shard_name
from wit.shards.manifest import write_dataset_index
from wit.shards.writer import (
    RETRYABLE_STATUSES,
    ShardWriter,
    read_rows,
    read_stats,
    read_tar_images,
    sample_record,
    shard_summary,
    warm_up as warm_up_writer,
)

log = logging.getLogger(__name__)

PROGRESS_EVERY_S = 10.0


def shards_dir(config: FetchConfig) -> str:
    return DatasetLayout(config.out).shards_dir


@dataclass
class _ShardJob:
    """A shard to fetch: its members in key order, and the rows a previous run settled (with
    --retry-failed: every row but the retryable failures; their images are read when the shard
    opens, so shards waiting their turn do not hold them)."""

    shard_id: int
    keyed: list[tuple[str, Mapping]]
    digest: str
    previous: dict[str, dict] = field(default_factory=dict)


def plan_shard(shard_id: int, keyed: Iterable[tuple[str, Mapping]], config: FetchConfig) -> dict | _ShardJob:
    """The summary of a shard that is already complete, or the job that makes it complete.

    A shard that is complete with the same members is kept as it is (with --retry-failed only
    its retryable failures are fetched again); anything else is fetched.
    """
    keyed = sorted(keyed, key=lambda item: item[0])
    digest = members_digest(keyed)
    folder = shards_dir(config)
    stats = read_stats(folder, shard_id)
    if stats is not None and stats.get("members_digest") == digest:
        rows = read_rows(folder, shard_id)
        retry = [r for r in rows if r["status"] in RETRYABLE_STATUSES]
        if not config.retry_failed or not retry:
            log.info("shard %s: complete, kept (%d samples)", shard_name(shard_id), stats["successes"])
            return {**shard_summary(stats, rows), "reused": True}
        log.info("shard %s: retrying %d failed samples", shard_name(shard_id), len(retry))
        previous = {r["key"]: r for r in rows if r["status"] not in RETRYABLE_STATUSES}
        return _ShardJob(shard_id, keyed, digest, previous)
    if stats is not None:
        log.warning("shard %s: its candidates changed since it was written; fetching it again", shard_name(shard_id))
    return _ShardJob(shard_id, keyed, digest)


def process_shards(shards: Iterable[tuple[int, Iterable[tuple[str, Mapping]]]], config: FetchConfig,
                   stats: FetchStats | None = None) -> list[dict]:
    """Make every shard complete; returns their summaries in the order given. `stats` gets the
    run's counts of requests, retries and DNS lookups.

    The shards to fetch share one event loop, one session and one decoder pool, back to back:
    the next shard's requests start as soon as slots free up, not when the previous shard's
    last (stalled) request times out. Fetched one at a time, every shard would end with up to
    one timeout of idle cores (3,000 URLs with 1% stalls: 35 s as 3 shards, 13 s as one).
    """
    planned = [plan_shard(shard_id, keyed, config) for shard_id, keyed in shards]
    jobs = [item for item in planned if isinstance(item, _ShardJob)]
    fetched = iter(asyncio.run(_fetch_shards(jobs, config, stats)) if jobs else [])
    return [next(fetched) if isinstance(item, _ShardJob) else item for item in planned]


class _OpenShard:
    """A shard being fetched: its writer and how many of its samples are still out."""

    def __init__(self, job: _ShardJob, config: FetchConfig) -> None:
        self.job = job
        folder = shards_dir(config)
        self.writer = ShardWriter(folder, job.shard_id, [key for key, _ in job.keyed], image_ext=config.images.encode_format)
        images = read_tar_images(folder, job.shard_id) if job.previous else {}
        self.todo = []
        for key, candidate in job.keyed:
            kept = job.previous.get(key)
            # A settled success is kept only with its image; without it, it is fetched again.
            if kept is not None and (kept["status"] != "success" or key in images):
                self.writer.add(kept, images.get(key))
            else:
                self.todo.append((key, candidate))
        self.outstanding = len(self.todo)
        self.started = time.monotonic()
        self.summary: dict | None = None

    def finish(self) -> None:
        summary = self.writer.finish({"members_digest": self.job.digest})
        log.info(
            "shard %s: done in %.1f s: %d stored of %d attempted (%s)",
            shard_name(self.job.shard_id), time.monotonic() - self.started, summary["samples"], summary["attempted"],
            ", ".join(f"{k} {v}" for k, v in sorted(summary["status_counts"].items())),
        )
        self.summary = {**summary, "reused": False}


async def _fetch_shards(jobs: list[_ShardJob], config: FetchConfig, stats: FetchStats | None = None) -> list[dict]:
    # Imported here: a launcher whose pool fetches (fetch_pool.py) plans and writes shards with
    # this module and never needs aiohttp, Pillow or warcio (~0.25 s of its start-up).
    from wit.pipeline.fetch import ByteBudget, Fetcher, admission_limit, default_decode_threads, fetch_image

    options = config.images
    archive = None
    if config.archives:  # warcio only when replaying archives
        from wit.pipeline.archive import archive_index

        archive = archive_index(config.archives)
    loop = asyncio.get_running_loop()
    # Two bounds: downloads in flight (--concurrency), and bytes of downloaded bodies waiting
    # for the decoder (--decode-buffer-mib). A download slot is freed as soon as its body is
    # queued for decoding, so every request starts early (a stalled server costs its timeout
    # once, in parallel with the rest); a download waits only when the decoder is that many
    # bytes behind, which bounds memory whatever the image sizes.
    downloading = asyncio.Semaphore(config.concurrency)
    # Samples admitted at once: those downloading, and up to --dns-concurrency more whose names
    # are looked up ahead, without a download slot (fetch_image).
    admitted = asyncio.Semaphore(admission_limit(config))
    decoding = ByteBudget(config.decode_buffer_mib * 1024 * 1024)
    # The samples to fetch, as far as the settled rows tell (a settled success whose image is
    # missing from its tar is found when its shard opens, and added then).
    progress = _Progress(sum(len(job.keyed) - len(job.previous) for job in jobs), len(jobs))
    opened: list[_OpenShard] = []
    try:
        with ThreadPoolExecutor(default_decode_threads(config), thread_name_prefix="wit-decode") as decoder:
            async with Fetcher(config, archive, stats) as fetcher:

                async def one(shard: _OpenShard, key: str, candidate: Mapping) -> None:
                    # The caller admitted this sample.
                    status, error, image = await fetch_image(fetcher, str(candidate.get("url") or ""), downloading, decoding, decoder,
                                                             options, admitted)
                    record = sample_record(key, candidate, status, error, image=image)
                    image_bytes = image.data if image is not None else None
                    shard.writer.add(record, image_bytes)
                    progress.done(record["status"])
                    shard.outstanding -= 1
                    if shard.outstanding == 0:
                        shard.finish()
                        progress.shard_done()

                reporter = asyncio.ensure_future(progress.report_periodically())
                running: set[asyncio.Task] = set()
                failures: list[BaseException] = []

                def settle(task: asyncio.Task) -> None:
                    running.discard(task)
                    if not task.cancelled() and task.exception() is not None:
                        failures.append(task.exception())  # a bug, not a fetch outcome: stop

                try:
                    for job in jobs:
                        shard = _OpenShard(job, config)
                        opened.append(shard)
                        progress.total += len(shard.todo) - (len(job.keyed) - len(job.previous))
                        if not shard.todo:
                            shard.finish()
                            progress.shard_done()
                        for key, candidate in shard.todo:
                            await admitted.acquire()  # at most admission_limit samples wait for a download
                            if failures:
                                raise failures[0]
                            task = asyncio.create_task(one(shard, key, candidate))
                            running.add(task)
                            task.add_done_callback(settle)
                    # Every request is out; the wait for the last ones (a stall costs its whole
                    # timeout) leaves the cores idle, so the writer's one-time cost goes there.
                    await asyncio.gather(*running, loop.run_in_executor(decoder, warm_up_writer))
                    if failures:
                        raise failures[0]
                finally:
                    reporter.cancel()
                    for task in list(running):
                        task.cancel()
    except BaseException:
        for shard in opened:
            if shard.summary is None:
                shard.writer.abort()
        raise
    return [shard.summary for shard in opened]


class _Progress:
    """One progress line every PROGRESS_EVERY_S for all shards being fetched."""

    def __init__(self, total: int, shards: int) -> None:
        self.total, self.shards = total, shards
        self.finished = self.stored = self.shards_done = 0
        self.started = time.monotonic()

    def done(self, status: str) -> None:
        self.finished += 1
        self.stored += status == "success"

    def shard_done(self) -> None:
        self.shards_done += 1

    async def report_periodically(self) -> None:
        while True:
            await asyncio.sleep(PROGRESS_EVERY_S)
            self.log_line()

    def log_line(self) -> None:
        elapsed = time.monotonic() - self.started
        log.info(
            "fetch: %d/%d attempted, %d stored, %.0f images/s, %d of %d shard(s) done",
            self.finished, self.total, self.stored, self.stored / max(elapsed, 1e-9), self.shards_done, self.shards,
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
    writer = ShardWriter(folder, shard_id, [r["key"] for r in rows], image_ext=config.images.encode_format)
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


def fetch_in_process(candidates: Iterable[Mapping], config: FetchConfig, *, pool=None,
                     build_settings: Mapping | None = None) -> dict:
    """Run the whole stage without Beam, shard after shard; returns the manifest.

    Same shards, keys and manifest as `FetchToShards` in Beam (tests check it): the assignment
    is wit.shards.assign.assign_all, which orders candidates exactly as the Beam path does.
    With `pool` (a wit.pipeline.fetch_pool.FetchPool) its worker processes fetch and decode,
    and this process writes; without it this process does everything.
    `build_settings` (a `wit build`'s BuildConfig.to_json()) is recorded in the manifest.
    """
    if not config.out:
        raise ValueError("fetch_in_process needs config.out, the output folder")
    shards = assign_all(candidates, config.shard_size)
    log.info("%d candidates in %d shard(s) of up to %d", sum(map(len, shards.values())), len(shards), config.shard_size)
    stats = FetchStats()
    fetched = (pool.process_shards if pool is not None else process_shards)(sorted(shards.items()), config, stats)
    if stats["attempts"]:
        log.info("fetch: %s", stats.summary_line())
    summaries = dict(zip(sorted(shards), fetched))
    if config.dedup_images:
        for shard_id, losers in losers_by_shard(summaries.values(), config.shard_size).items():
            summaries[shard_id] = remove_duplicates(shard_id, losers, config)
    entries = [manifest_entry(summary) for summary in summaries.values()]
    return write_dataset_index(config.out, entries, config.to_json(), config.query_list_hash, build_settings,
                               fetch_stats=stats.to_json())
