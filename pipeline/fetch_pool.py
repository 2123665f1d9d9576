"""The fetch + shards stage on every local core: worker processes fetch and decode, this
process writes the shards.

One Python process cannot keep many cores busy with the stage: its event loop (~0.8 ms of CPU
per request, under the GIL) and its decode threads take turns at the GIL, and Beam's local
runner gives a shard to one worker. So a local build runs the stage as a pool:

    this process: plan shards (skip complete ones) -> open a ShardWriter per shard
                  -> send (shard, key, url) chunks to one shared task queue
                  <- outcomes (status, error, resized image): records written in key order,
                     each shard published when its last sample is in
    N workers:    each one event loop + decode threads, as process_shards runs them, taking
                  chunks off the queue as their download slots free up

The parallelism comes from the stage, not from the input: samples of one shard are spread
over every worker, so a 3,000-URL list keeps every core busy as a crawl does. Only this
process writes, so a shard is still published atomically by one ShardWriter (no partial tar
after a kill) and a re-run skips complete shards, exactly as in process_shards; the shards are
byte-identical to the other drivers' (tests/test_shards.py runs the stage tests on all three).

The workers are spawned (not forked: the launcher may hold Beam's and pyarrow's threads) when
the pool is created, so their imports and set-up overlap whatever the launcher does meanwhile
(`wit build` creates it before it imports Beam and runs the text side). Machine-wide limits stay
what one process would have: --concurrency, --per-host-limit, --dns-concurrency and
--decode-buffer-mib are shared out between the workers. Each worker sends its run stats
(wit.pipeline.fetch_stats) ahead of its results; they are summed.

Given a fetch_ahead.FetchAheadPlan, the workers fetch the first URLs the build's text side will
keep before run() is called ("ahead" messages); run() stops that first ("ahead_end": what is
still in flight) and records a sample whose URL was fetched ahead from that outcome.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import itertools
import logging
import math
import multiprocessing
import os
import queue
import threading
import time
import traceback
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor

from wit.pipeline.fetch_config import FetchConfig

log = logging.getLogger(__name__)

# Samples per task message: a worker takes a chunk when it has free places. Each chunk costs a
# worker a hand-off to its reader thread and back (the GIL, the shared queue's lock, the
# launcher's refill), and until the next chunk is in, places freed meanwhile stand empty. On
# bench_fetch_web.py (--timeline) the last URL started at 13.1-14.2 s in five runs with 16
# a chunk, at 11.0-13.7 s (median 12.2) in six with 64. A short list still goes out in chunks of
# MIN_CHUNK_SAMPLES, at least CHUNKS_PER_WORKER per worker, so every worker gets a share.
MIN_CHUNK_SAMPLES = 16
MAX_CHUNK_SAMPLES = 64
CHUNKS_PER_WORKER = 8
RESULTS_PER_MESSAGE = 32  # a worker sends its results in batches of up to this many ...
RESULTS_FLUSH_S = 0.05  # ... or whatever it has, this often
QUEUED_CHUNKS_PER_WORKER = 4  # chunks waiting in the task queue, per worker: bounds what is held
PARENT_CHECK_S = 1.0  # a worker whose launcher died exits within this
# The cyclic collector in a worker: objects from start-up (modules, Pillow, aiohttp) are frozen
# out of its scans, and the youngest generation is collected every this many allocations,
# not every 700. Each request allocates hundreds of short-lived objects, and the default
# collections took ~4.5% of a worker's CPU on bench_fetch_web.py. Its --timeline counts them:
# 614-655 runs and 1.5-1.6 CPU s a worker before, 40-42 runs and 0.5 s with these.
YOUNG_COLLECTION_ALLOCATIONS = 10_000
OLDER_COLLECTIONS_EVERY = 10


def default_fetch_workers() -> int:
    from wit.core.runner import available_cores

    return available_cores()


def chunk_samples(samples: int, workers: int) -> int:
    """Samples per chunk of a shard's `samples` shared between `workers`."""
    return max(MIN_CHUNK_SAMPLES, min(MAX_CHUNK_SAMPLES, math.ceil(samples / (workers * CHUNKS_PER_WORKER))))


def worker_config(config: FetchConfig, workers: int) -> FetchConfig:
    """What each of `workers` processes runs with: the machine-wide limits shared out."""
    per_worker = lambda n: max(1, math.ceil(n / workers))  # noqa: E731
    cores = default_fetch_workers()
    return dataclasses.replace(
        config,
        query_list_hash="",  # the launcher records it in the manifest; workers only fetch
        concurrency=per_worker(config.concurrency),
        dns_concurrency=per_worker(config.dns_concurrency),
        per_host_limit=per_worker(config.per_host_limit) if config.per_host_limit else 0,
        decode_buffer_mib=per_worker(config.decode_buffer_mib),
        decode_threads=config.decode_threads or per_worker(cores),
    )


class FetchPool:
    """`workers` fetch processes, started at once; `process_shards(shards, config)` makes shards complete.

    Use as a context manager (the workers are stopped on exit, whatever happened). One pool
    serves one run of the stage: its config (fetch settings) is fixed when it starts.
    """

    def __init__(self, config: FetchConfig, workers: int | None = None, ahead=None) -> None:
        """`ahead`: a fetch_ahead.FetchAheadPlan, to fetch its first URLs before run() is called."""
        self.workers = max(1, workers or default_fetch_workers())
        self.config = config
        context = multiprocessing.get_context("spawn")
        self._tasks = context.Queue(maxsize=self.workers * QUEUED_CHUNKS_PER_WORKER)
        self._results = context.Queue()
        self._worker_config = each = worker_config(config, self.workers)
        # Set by run(): the workers stop fetching ahead and say which of those URLs are still out.
        self._ahead_stop = context.Event() if ahead is not None else None
        # The byte budget is shared out: each worker holds its share of the images until run().
        ahead_bytes = ahead.held_bytes // self.workers if ahead is not None else 0
        # Worker 0 alone reads the lists and builds the filter chain and the matcher (hundreds of
        # MB and over a CPU second with the default 500,000 queries); it puts the URLs it selects on the task
        # queue, and every worker fetches them as it fetches chunks.
        self._processes = [
            context.Process(target=_worker_main,
                            args=(each, self._tasks, self._results, number, ahead if number == 0 else None,
                                  self._ahead_stop, ahead_bytes),
                            name=f"wit-fetch-{number}", daemon=True)
            for number in range(self.workers)
        ]
        for process in self._processes:
            process.start()
        self.pids = [process.pid for process in self._processes]
        self.attempted_by_pid: dict[int, int] = {}  # samples each worker fetched, from its results
        self._stopped = self._stopping = False

    def __enter__(self) -> FetchPool:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close(graceful=exc_info[0] is None)

    def stop(self) -> None:
        """Tell the workers to exit once the queued work is done, without waiting for them
        (close() waits); the pool takes no more work."""
        if not self._stopping:
            self._stopping = True
            for _ in self._processes:
                self._tasks.put(None)

    def close(self, graceful: bool = True) -> None:
        if self._stopped:
            return
        self._stopped = True
        if graceful:
            self.stop()
            for process in self._processes:
                process.join(10)
        for process in self._processes:
            if process.is_alive():
                process.terminate()
                process.join(5)
        self._tasks.close()
        self._results.close()

    def serves(self, config: FetchConfig) -> bool:
        """Whether the workers run with `config`'s fetch settings (what only the launcher
        uses, the query list's hash, may differ: `wit build` starts the pool before it has it)."""
        return worker_config(config, self.workers) == self._worker_config

    def process_shards(self, shards: Iterable[tuple[int, Iterable[tuple[str, Mapping]]]], config: FetchConfig,
                       stats=None) -> list[dict]:
        """shard_work.process_shards with the samples fetched by the workers: make every shard
        complete (a complete one is kept); returns their summaries in the order given. `stats`
        (a FetchStats) gets the workers' counts of requests, retries and lookups."""
        from wit.pipeline.shard_work import _ShardJob, plan_shard

        planned = [plan_shard(shard_id, keyed, config) for shard_id, keyed in shards]
        jobs = [item for item in planned if isinstance(item, _ShardJob)]
        fetched = iter(self.run(jobs, config, stats) if jobs else [])
        return [next(fetched) if isinstance(item, _ShardJob) else item for item in planned]

    def run(self, jobs: list, config: FetchConfig, stats=None) -> list[dict]:
        """The summaries of `jobs` (shard_work._ShardJob), made complete by the workers."""
        from wit.pipeline.shard_work import _OpenShard, _Progress
        from wit.shards.writer import sample_record, warm_up as warm_up_writer

        if self._stopping:
            raise RuntimeError("FetchPool.run: the pool was stopped")
        if not self.serves(config):
            raise ValueError("FetchPool.run: the pool's workers were started with other fetch settings")
        ready, pending = self._end_fetch_ahead(stats)  # url -> (worker, outcome); urls still in flight
        late = len(pending)
        progress = _Progress(sum(len(job.keyed) - len(job.previous) for job in jobs), len(jobs))
        opened: dict[int, _OpenShard] = {}
        candidates: dict[int, dict[str, Mapping]] = {}  # shard -> key -> candidate, until the shard is written
        unfinished: set[int] = set()
        waiting: dict[str, list[tuple[int, str]]] = {}  # url fetched ahead, still in flight -> its samples
        served_ahead: Counter = Counter()  # url fetched ahead -> samples it served

        def record(shard_id: int, key: str, number: int, status: str, error, image) -> None:
            pid = self.pids[number]
            self.attempted_by_pid[pid] = self.attempted_by_pid.get(pid, 0) + 1
            shard = opened[shard_id]
            sample = sample_record(key, candidates[shard_id][key], status, error, image=image)
            shard.writer.add(sample, image.data if image is not None else None)
            progress.done(sample["status"])
            shard.outstanding -= 1
            if shard.outstanding == 0:
                shard.finish()
                progress.shard_done()
                unfinished.discard(shard_id)
                del candidates[shard_id]

        def serve_ahead(shard_id: int, key: str, url: str) -> None:
            served_ahead[url] += 1
            record(shard_id, key, *ready[url])

        def taken_ahead(shard_id: int, key: str, url: str) -> bool:
            """Whether the sample's URL was fetched ahead: then its outcome is recorded now, or
            once it arrives, instead of the URL going to the workers again."""
            if url in ready:
                serve_ahead(shard_id, key, url)
                return True
            if url in pending:
                waiting.setdefault(url, []).append((shard_id, key))
                return True
            return False

        def chunks() -> Iterator[list]:
            for job in jobs:
                shard = _OpenShard(job, config)  # opened as its samples go out, as process_shards does
                opened[job.shard_id] = shard
                progress.total += len(shard.todo) - (len(job.keyed) - len(job.previous))
                if not shard.todo:
                    shard.finish()
                    progress.shard_done()
                    continue
                candidates[job.shard_id] = dict(shard.todo)  # the workers get urls; records are made here
                unfinished.add(job.shard_id)
                todo = [(key, str(candidate.get("url") or "")) for key, candidate in shard.todo]
                if ready or pending:
                    todo = [(key, url) for key, url in todo if not taken_ahead(job.shard_id, key, url)]
                size = chunk_samples(len(todo), self.workers)
                for start in range(0, len(todo), size):
                    yield [(job.shard_id, key, url) for key, url in todo[start:start + size]]

        # The writer's one-time cost (pyarrow's first conversion imports pandas where installed)
        # is paid here while the workers download, not when the last sample arrives.
        threading.Thread(target=warm_up_writer, name="wit-writer-warm-up", daemon=True).start()
        pending_chunks = chunks()
        held = next(pending_chunks, None)
        next_report = time.monotonic() + _progress_every()
        try:
            while held is not None or unfinished:
                while held is not None:
                    try:
                        self._tasks.put_nowait(held)
                    except queue.Full:
                        break
                    held = next(pending_chunks, None)
                message = self._receive(stats)
                if message is not None:
                    kind, number, payload = message
                    if kind == "ahead":  # fetched ahead, arriving after run() began
                        for url, *outcome in payload:
                            ready[url] = (number, *outcome)
                            pending.discard(url)
                            for shard_id, key in waiting.pop(url, ()):
                                serve_ahead(shard_id, key, url)
                    else:
                        for shard_id, key, *outcome in payload:
                            record(shard_id, key, number, *outcome)
                if time.monotonic() >= next_report:
                    next_report += _progress_every()
                    progress.log_line()
        except BaseException:
            for shard in opened.values():
                if shard.summary is None:
                    shard.writer.abort()
            self.close(graceful=False)
            raise
        if self._ahead_stop is not None:
            self._count_fetched_ahead(ready, late, served_ahead, stats)
        log.info("fetch: %d processes attempted %s samples", self.workers,
                 " + ".join(f"{self.attempted_by_pid.get(pid, 0):,} (pid {pid})" for pid in self.pids))
        return [opened[job.shard_id].summary for job in jobs]

    def _receive(self, stats) -> tuple | None:
        """The next (kind, worker number, payload) message from the workers, or None when none
        came within RESULTS_FLUSH_S. Stats messages are merged into `stats` on the way; a
        worker's error or exit is raised."""
        while True:
            try:
                kind, number, payload = self._results.get(timeout=RESULTS_FLUSH_S)
            except queue.Empty:
                self._check_workers()
                return None
            if kind == "error":
                raise RuntimeError(f"fetch worker {number} failed:\n{payload}")
            if kind != "stats":  # stats are sent before the results they cover
                return kind, number, payload
            if stats is not None:
                stats.merge(payload)

    def _end_fetch_ahead(self, stats) -> tuple[dict[str, tuple], set[str]]:
        """Stop the fetching ahead; returns the outcomes the workers sent ({url: (worker number,
        status, error, image)}) and the URLs still in flight, whose outcomes follow."""
        ready: dict[str, tuple] = {}
        pending: set[str] = set()
        if self._ahead_stop is None:
            return ready, pending
        self._ahead_stop.set()
        still_fetching = set(range(self.workers))
        while still_fetching:
            message = self._receive(stats)
            if message is None:
                continue
            kind, number, payload = message
            if kind == "ahead":
                for url, *outcome in payload:
                    ready[url] = (number, *outcome)
            elif kind == "ahead_end":
                pending.update(payload)
                still_fetching.discard(number)
            else:
                raise RuntimeError(f"fetch worker {number} sent {kind!r} before any work was given")
        return ready, pending - ready.keys()

    @staticmethod
    def _count_fetched_ahead(ready: dict, late: int, served: Counter, stats) -> None:
        unused = len(ready) - len(served)
        log.info("fetch: %d URLs fetched ahead while the text side ran (%d of them still in flight when it ended): "
                 "%d served %d samples, %d not kept by it", len(ready), late, len(served), sum(served.values()), unused)
        if stats is not None:
            stats.add("ahead_fetched", len(ready))
            stats.add("ahead_late", late)
            stats.add("ahead_samples", sum(served.values()))
            stats.add("ahead_unused", unused)

    def _check_workers(self) -> None:
        for number, process in enumerate(self._processes):
            if process.exitcode is not None:
                raise RuntimeError(f"fetch worker {number} (pid {process.pid}) exited with code {process.exitcode} "
                                   "while fetching; complete shards are kept, a re-run redoes the rest")


def _progress_every() -> float:
    from wit.pipeline.shard_work import PROGRESS_EVERY_S

    return PROGRESS_EVERY_S


# ---- in a worker process ---------------------------------------------------------------------


def _worker_main(config: FetchConfig, tasks, results, number: int, ahead=None, ahead_stop=None, ahead_bytes: int = 0) -> None:
    """`ahead` (worker 0's only): the plan whose URLs it selects; `ahead_stop`: set while the
    pool fetches ahead, until run() begins; `ahead_bytes`: this worker's share of the images
    held meanwhile."""
    try:
        asyncio.run(_fetch_tasks(config, tasks, results, number, ahead, ahead_stop, ahead_bytes))
    except BaseException:  # noqa: BLE001 - reported to the launcher, which fails the run
        results.put(("error", number, traceback.format_exc()))
        code = 1
    else:
        code = 0
    # Once the results are through the pipe nothing is left to do: skip the interpreter's
    # teardown of aiohttp, Pillow, pyarrow and the matcher (tenths of a second the launcher
    # would wait for in close()).
    results.close()
    results.join_thread()
    os._exit(code)


def _quiet_collector() -> None:
    """Fewer, cheaper cyclic collections for a worker's run (YOUNG_COLLECTION_ALLOCATIONS);
    cycles (e.g. an exception and its traceback) are still collected."""
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_ALLOCATIONS, OLDER_COLLECTIONS_EVERY, OLDER_COLLECTIONS_EVERY)


def _next_chunk(tasks) -> list | None:
    """The next chunk of samples, or None when the launcher says stop (or is gone)."""
    parent = multiprocessing.parent_process()
    while True:
        try:
            return tasks.get(timeout=PARENT_CHECK_S)
        except queue.Empty:
            if parent is not None and not parent.is_alive():
                return None


async def _fetch_tasks(config: FetchConfig, tasks, results, number: int, ahead=None, ahead_stop=None,
                       ahead_bytes: int = 0) -> None:
    from wit.pipeline.fetch import ByteBudget, Fetcher, admission_limit, default_decode_threads, fetch_image
    from wit.pipeline.fetch_stats import FetchStats

    _quiet_collector()  # after the imports, so that their objects are frozen too
    loop = asyncio.get_running_loop()
    archive = None
    if config.archives:  # warcio only when replaying archives
        from wit.pipeline.archive import archive_index

        archive = archive_index(config.archives)
    downloading = asyncio.Semaphore(config.concurrency)
    admitted = asyncio.Semaphore(admission_limit(config))  # downloading, or looking the name up ahead
    decoding = ByteBudget(config.decode_buffer_mib * 1024 * 1024)
    outbox: list = []
    ahead_outbox: list = []  # (url, status, error, image) of URLs fetched ahead
    stats = FetchStats()

    def send() -> None:
        if outbox or ahead_outbox:
            counted = stats.take()
            if counted:  # ahead of the results: the launcher may finish the run on them
                results.put(("stats", number, counted))
            for kind, box in (("ahead", ahead_outbox), ("results", outbox)):
                if box:
                    results.put((kind, number, box[:]))
                    box.clear()

    async def flush_periodically() -> None:
        while True:
            await asyncio.sleep(RESULTS_FLUSH_S)
            if fetching_ahead is not None and not fetching_ahead.ended and ahead_stop.is_set():
                fetching_ahead.end()
            send()

    with ThreadPoolExecutor(default_decode_threads(config), thread_name_prefix="wit-decode") as decoder, \
            ThreadPoolExecutor(1, thread_name_prefix="wit-tasks") as reader:
        async with Fetcher(config, archive, stats) as fetcher:

            async def one(shard_id: int, key: str, url: str) -> None:
                status, error, image = await fetch_image(fetcher, url, downloading, decoding, decoder, config.images, admitted)
                outbox.append((shard_id, key, status, error, image))
                if len(outbox) >= RESULTS_PER_MESSAGE:
                    send()

            running: set[asyncio.Task] = set()
            failures: list[BaseException] = []

            def settle(task: asyncio.Task) -> None:
                running.discard(task)
                if not task.cancelled() and task.exception() is not None:
                    failures.append(task.exception())

            def start(coroutine) -> None:
                task = asyncio.create_task(coroutine)
                running.add(task)
                task.add_done_callback(settle)

            async def one_ahead(url: str) -> int:
                try:
                    status, error, image = await fetch_image(fetcher, url, downloading, decoding, decoder, config.images,
                                                             admitted)
                except Exception:  # as in the real work: the launcher fails the run (it would wait for the URL)
                    results.put(("error", number, traceback.format_exc()))
                    raise
                fetching_ahead.flying.discard(url)
                ahead_outbox.append((url, status, error, image))
                if len(ahead_outbox) >= RESULTS_PER_MESSAGE:
                    send()
                return len(image.data) if image is not None else 0

            def end_ahead(flying: list[str]) -> None:
                send()  # the outcomes so far go first: the launcher waits only for the rest
                results.put(("ahead_end", number, flying))

            fetching_ahead = None
            if ahead_stop is not None:
                fetching_ahead = _FetchingAhead(ahead_stop, admitted, one_ahead, end_ahead, ahead_bytes)
                if ahead is not None:
                    fetching_ahead.select(ahead, tasks)
            flusher = asyncio.ensure_future(flush_periodically())

            try:
                while (chunk := await loop.run_in_executor(reader, _next_chunk, tasks)) is not None:
                    if isinstance(chunk, tuple):  # ("ahead", urls) from worker 0
                        await fetching_ahead.fetch(chunk[1])
                        continue
                    for shard_id, key, url in chunk:
                        await admitted.acquire()
                        if failures:
                            raise failures[0]
                        start(one(shard_id, key, url))
                if fetching_ahead is not None:
                    fetching_ahead.cancel()  # whatever is still out was never asked for
                await asyncio.gather(*running)
                if failures:
                    raise failures[0]
                send()
            finally:
                flusher.cancel()
                if fetching_ahead is not None:
                    fetching_ahead.cancel()
                for task in list(running):
                    task.cancel()


class _FetchingAhead:
    """A worker's part in fetching ahead (pipeline/fetch_ahead.py). Worker 0 also selects: a
    thread reads the lists through the text side's checks and puts ("ahead", urls) on the task
    queue. Every worker fetches the URLs it takes from there until end() (the launcher's run()
    began: later ones are dropped) or cancel()."""

    def __init__(self, stop, admitted: asyncio.Semaphore, fetch_one, report_end, bytes_left: int):
        # `admitted`: the worker's places for URLs being looked up or downloaded, as for chunks
        self.stop, self.admitted, self.fetch_one, self.report_end = stop, admitted, fetch_one, report_end
        self.flying: set[str] = set()  # URLs whose outcome is not yet sent
        self.tasks: set[asyncio.Task] = set()
        self.ended = False
        self.bytes_left = bytes_left  # what is left of this worker's share of the images held
        self._selecting: ThreadPoolExecutor | None = None

    def select(self, plan, tasks) -> None:
        """Worker 0: select the plan's URLs off the event loop (the filter chain, the matcher
        and the reading take seconds) and queue them for every worker."""
        self._selecting = ThreadPoolExecutor(1, thread_name_prefix="wit-ahead")
        self._selecting.submit(self._queue_urls, plan, tasks)

    def _queue_urls(self, plan, tasks) -> None:
        from wit.pipeline.fetch_ahead import kept_urls

        try:
            urls = kept_urls(plan)
            while not self.ended and not self.stop.is_set() and (batch := list(itertools.islice(urls, MIN_CHUNK_SAMPLES))):
                item = ("ahead", batch)
                while not self.ended and not self.stop.is_set():
                    try:
                        tasks.put(item, timeout=RESULTS_FLUSH_S)
                        break
                    except queue.Full:
                        continue
        except Exception as exc:  # noqa: BLE001 - fetching ahead is an optimisation: the text side reports bad input
            log.warning("fetch ahead stopped: %s: %s", type(exc).__name__, exc)

    async def fetch(self, urls: list[str]) -> None:
        """Start fetching the URLs of one ("ahead", urls) item, as slots free up."""
        for url in urls:
            if self.ended or self.bytes_left <= 0:
                return  # never claimed: the launcher fetches it as any other URL
            await self.admitted.acquire()
            if self.ended:
                self.admitted.release()
                return
            self.flying.add(url)
            task = asyncio.create_task(self._one(url))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _one(self, url: str) -> None:
        self.bytes_left -= await self.fetch_one(url)

    def end(self) -> None:
        """Claim no more URLs; tell the launcher which are still in flight (their outcomes follow)."""
        self.ended = True
        self.report_end(sorted(self.flying))

    def cancel(self) -> None:
        """The launcher will not use what is still out: stop it."""
        self.ended = True
        if self._selecting is not None:
            self._selecting.shutdown(wait=False, cancel_futures=True)
        for task in list(self.tasks):
            task.cancel()
