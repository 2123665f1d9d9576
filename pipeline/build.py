"""`wit build`: the text side as a Beam pipeline, then (unless --until candidates) fetch.

    read -> normalise+filter -> dedup -> match -> cap -> OUT/candidates, OUT/counts
                                                      \\-> continue_into_fetch (images, shards)

On a remote runner (Dataflow ...) fetch is part of the same job (continue_into_fetch). On the
local runner it runs after the job, on the candidates the job wrote, in a pool of one fetch
process per core (fetch_kept_locally, pipeline/fetch_pool.py): the text side's running mode is
chosen by the input's size, the fetch stage's parallelism by the stage, so a small list keeps
every core busy fetching too. `wit build` starts the pool before the launcher imports Beam
(build_cli.start_fetch_pool_early), so its processes' start-up overlaps Beam's import and the
text side.

Each stage is a composite PTransform in its own module returning (kept, counts); this module
only wires them together, runs the job and checks the counts add up. Candidates travel between
the text-side stages as CandidateBatches (pipeline/batches.py): one Beam element per batch, so
Beam's per-element cost is paid per few hundred candidates; fetch takes them one per element.
"""

from __future__ import annotations

import logging
import shutil
import sys
import tempfile
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import apache_beam as beam

from wit.core.errors import WitError
from wit.core.layout import DatasetLayout
from wit.pipeline.batches import BatchCandidates, UnbatchCandidates
from wit.pipeline.cap import DEFAULT_PER_QUERY_CAP, CapPerQuery
from wit.pipeline.counting import WriteTextCounts, attempted_uids_check, read_json, reconcile, reconcile_fetch
from wit.pipeline.dedup import DedupByUid, buckets_for_input
from wit.pipeline.filter import FilterCandidates
from wit.pipeline.match import MatchQueries
from wit.core.runner import (describe_runner, dry_run, format_dry_run, is_dry_run, is_local_runner, local_fetch_workers,
                             make_pipeline_options, make_runner, workers_share_launcher_disk)
from wit.pipeline.progress import ProgressPrinter
from wit.pipeline.read import ReadCandidates
from wit.pipeline.sources.inputs import InputFile
from wit.pipeline.sources.remote import RemoteReadConfig
from wit.pipeline.sources.urllist import UrlListConfig
from wit.pipeline.write import WriteCandidates, WriteQueryCounts
from wit.filters.config import FilterConfig
from wit.pipeline.fetch_config import FetchConfig

if TYPE_CHECKING:  # the search source is imported only by search builds
    from wit.pipeline.sources.commons.config import SearchConfig

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildConfig:
    """Everything `wit build` decides before the pipeline starts; written whole into
    manifest.json (`build`) so later steps read the run's settings instead of guessing."""

    files: tuple[InputFile, ...]
    out: str
    filter_config: FilterConfig
    fetch: FetchConfig | None = None  # None: the text side only (--until candidates)
    queries: str | None = "default"  # query list spec; None skips match and cap
    per_query_cap: int = DEFAULT_PER_QUERY_CAP
    cap_seed: int = 0
    url_list_config: UrlListConfig = field(default_factory=UrlListConfig)
    query_list_hash: str = ""  # content hash of the query list, recorded in the manifest
    search: SearchConfig | None = None  # search the queries instead of reading files
    remote_reads: RemoteReadConfig = field(default_factory=RemoteReadConfig)  # http(s) retries
    # Where the workers read the query list when that is not `queries` itself: the launcher's
    # copy of a local file in the job's temp location (pipeline/worker_inputs.py).
    shipped_queries: str = ""

    @property
    def worker_queries(self) -> str | None:
        """The query-list spec the workers load."""
        return self.shipped_queries or self.queries

    @property
    def text_counts_path(self) -> str:
        return DatasetLayout(self.out).text_counts

    def to_json(self) -> dict:
        """The settings as manifest.json records them. Inputs are summarised (a crawl has ~90,000 files)."""
        formats = Counter(file.format for file in self.files)
        sizes = [file.size for file in self.files]
        return {
            "inputs": {"files": len(self.files), "formats": dict(sorted(formats.items())),
                       "bytes": sum(sizes) if all(size >= 0 for size in sizes) else None,
                       "first": [file.path for file in self.files[:5]]},
            "queries": self.queries,
            "shipped_queries": self.shipped_queries or None,
            "query_list_hash": self.query_list_hash,
            "per_query_cap": self.per_query_cap,
            "cap_seed": self.cap_seed,
            "url_list": _plain(asdict(self.url_list_config)),
            "remote_reads": asdict(self.remote_reads),
            "filters": _plain(asdict(self.filter_config)),
            "search": _plain(asdict(self.search)) if self.search is not None else None,
            "fetch": self.fetch.to_json() if self.fetch is not None else None,
        }


def _plain(value):
    """JSON-ready copy of dataclass values (tuples become lists)."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def build_text_side(pipeline: beam.Pipeline, config: BuildConfig, progress_dir: str | None = None,
                    spill_dir: str | None = None):
    """Adds the text-side stages to `pipeline`; returns the kept (capped) candidates as CandidateBatches.

    `spill_dir` (local runs: a folder every worker can write and read) makes the dedup and cap
    shuffles carry references to batches spilled there instead of the batches (pipeline/spill.py).
    """
    counts = []
    if config.search is not None:
        from wit.pipeline.search import SearchCommons, WriteSearchOutcomes

        searched = pipeline | "Search" >> SearchCommons(config.search, config.worker_queries, progress_dir,
                                                        config.query_list_hash)
        _ = searched | "SearchOutcomes" >> WriteSearchOutcomes(config.out)
        candidates, read_counts = searched["candidates"] | "BatchSearched" >> BatchCandidates(), searched["counts"]
    else:
        candidates, read_counts = pipeline | "Read" >> ReadCandidates(config.files, config.url_list_config, progress_dir,
                                                                      config.remote_reads)
    counts.append(read_counts)
    filtered, filter_counts = candidates | "Filter" >> FilterCandidates(config.filter_config, progress_dir)
    counts.append(filter_counts)
    kept, dedup_counts = filtered | "Dedup" >> DedupByUid(
        progress_dir, buckets=buckets_for_input(len(config.files), total_input_bytes(config.files)), spill_dir=spill_dir)
    counts.append(dedup_counts)
    if config.queries is not None:
        matched, match_counts = kept | "Match" >> MatchQueries(config.worker_queries, progress_dir, config.query_list_hash)
        cap = CapPerQuery(config.per_query_cap, config.cap_seed, progress_dir, spill_dir)
        kept, cap_counts = matched | "Cap" >> cap
        counts += [match_counts, cap_counts]
        _ = {"match_counts": cap.match_counts, "kept": kept} | "QueryCounts" >> WriteQueryCounts(config.out, config.worker_queries,
                                                                                         config.query_list_hash)
    counts.append(kept | "WriteCandidates" >> WriteCandidates(config.out, progress_dir))
    _ = tuple(counts) | "AllCounts" >> beam.Flatten() | "TextCounts" >> WriteTextCounts(config.text_counts_path)
    return kept


def continue_into_fetch(kept, config: BuildConfig):
    """THE hook from the text side into fetch + shards (pipeline/shard_stage.py).

    Applies FetchToShards to the kept candidates (CandidateBatches, unbatched here into one
    candidate dict per element, as FetchToShards takes them) in the same job: images are fetched into
    OUT/shards with OUT/sizes.json and OUT/manifest.json. Returns its output PCollection.
    """
    from wit.pipeline.shard_stage import FetchToShards

    fetch_config = config.fetch or FetchConfig(out=config.out, query_list_hash=config.query_list_hash)
    return kept | "UnbatchKept" >> UnbatchCandidates() | "FetchToShards" >> FetchToShards(fetch_config, build_settings=config.to_json())


def prepare_for_workers(config: BuildConfig, options, *, upload: bool = True) -> BuildConfig:
    """The config the workers run with: unchanged for the local runner; for a remote one, local
    inputs, output and archives are refused (UsageError, exit 2) and a local query-list file is
    uploaded to the job's temp location (`upload=False`: only named, for a dry run)."""
    from dataclasses import replace

    from wit.core.runner import is_local_path, refuse_local_paths, workers_share_launcher_disk
    from wit.pipeline.worker_inputs import ship_query_list

    if workers_share_launcher_disk(options):
        return config
    refuse_local_paths({"--input": [file.path for file in config.files], "--out": [config.out],
                        "--archive": list(config.fetch.archives) if config.fetch is not None else []}, options)
    if config.queries in (None, "default") or not is_local_path(config.queries):
        return config
    return replace(config, shipped_queries=ship_query_list(config.queries, config.query_list_hash, options, upload=upload))


def total_input_bytes(files: list[InputFile]) -> int | None:
    if any(file.size < 0 for file in files):
        return None
    return sum(file.size for file in files)


def fetch_in_job(config: BuildConfig, options) -> bool:
    """Whether the fetch stage is part of the Beam job: on remote runners; a local build fetches
    after the job in its own process pool (fetch_kept_locally)."""
    return config.fetch is not None and not is_local_runner(options)


def build_pipeline(config: BuildConfig, options, progress_dir: str | None = None,
                   spill_dir: str | None = None) -> beam.Pipeline:
    """The job, built and not run: the text side, then fetch where fetch_in_job says so."""
    pipeline = beam.Pipeline(runner=make_runner(options), options=options)
    kept = build_text_side(pipeline, config, progress_dir, spill_dir)
    if fetch_in_job(config, options):
        continue_into_fetch(kept, config)
    return pipeline


def start_fetch_pool(config: BuildConfig, workers: int):
    """The local fetch stage's worker processes, started now so their start-up overlaps the job."""
    from wit.pipeline.fetch_pool import FetchPool

    return FetchPool(_fetch_config(config), workers)


def _fetch_config(config: BuildConfig) -> FetchConfig:
    return config.fetch or FetchConfig(out=config.out, query_list_hash=config.query_list_hash)


def fetch_kept_locally(config: BuildConfig, pool=None) -> dict:
    """The fetch stage of a local build: the candidates the job wrote (OUT/candidates), read
    back as `wit fetch --input OUT/candidates` reads them, fetched by `pool`'s processes (or,
    with one worker, in this process) into the same shards and manifest FetchToShards writes.
    Returns the manifest."""
    from wit.pipeline.shard_work import fetch_in_process
    from wit.pipeline.sources import fetch_list_config, readable_candidates
    from wit.pipeline.sources.inputs import expand_inputs

    files = expand_inputs([DatasetLayout(config.out).candidates_dir])
    # An unreadable row is logged and left out; the reconciliation that follows then fails.
    candidates = readable_candidates(files, fetch_list_config())
    _LOGGER.info("wit build: fetching the kept candidates %s",
                 f"in {pool.workers} local processes" if pool is not None else "in this process")
    return fetch_in_process(candidates, _fetch_config(config), pool=pool, build_settings=config.to_json())


def run_build(config: BuildConfig, beam_args: list[str], *, show_progress: bool = True, pool=None,
              spill_shuffles: bool = True) -> dict:
    """Runs the build, prints the reconciled counts, returns the text_counts.json document.

    `pool`: a FetchPool started earlier for this build (build_cli starts it before importing
    Beam); it is used when this run fetches in a local pool of that many workers with its
    settings, and closed otherwise. Without it the pool is started here when needed.

    With Beam's --dry_run=True it only builds the job, prints what would run and returns that
    description. Raises WitError when input != kept + sum(drops). `spill_shuffles=False` keeps
    a local run's shuffled values in the runner's shuffle (benchmarks compare the two).
    """
    options = make_pipeline_options(beam_args, input_bytes=total_input_bytes(config.files))
    config = prepare_for_workers(config, options, upload=not is_dry_run(options))
    if is_dry_run(options):
        description = dry_run(build_pipeline(config, options), options, [(f.path, f.format, f.size) for f in config.files])
        if config.fetch is not None and not fetch_in_job(config, options):
            description["stages"].append(f"FetchToShards (after the job, in {local_fetch_workers(beam_args)} local process(es))")
        printed = format_dry_run("wit build", description)
        if config.shipped_queries:
            description["shipped_queries"] = config.shipped_queries
            printed += f"\n  queries       {config.queries} -> {config.shipped_queries} (uploaded at launch)"
        print(printed)
        return description
    local = is_local_runner(options)
    progress_dir = tempfile.mkdtemp(prefix="wit-progress-") if local else None
    # The local runner holds every shuffle in this process and hands a worker its whole share at
    # once: the big shuffles carry references to batches spilled here instead (pipeline/spill.py).
    spill_dir = tempfile.mkdtemp(prefix="wit-spill-") if spill_shuffles and workers_share_launcher_disk(options) else None
    if config.search is not None:
        from wit.pipeline.sources.commons.worker import load_queries

        total_units = len(load_queries(config.queries))  # the progress line counts queries
    else:
        total_units = len(config.files)
    printer = ProgressPrinter(progress_dir, total_units) if (progress_dir and show_progress) else None
    _LOGGER.info("wit build: %d input file(s) on %s", len(config.files), describe_runner(options))
    fetch_after_job = config.fetch is not None and not fetch_in_job(config, options)
    fetch_workers = local_fetch_workers(beam_args)
    wanted = fetch_after_job and fetch_workers > 1
    if pool is not None and not (wanted and pool.workers == fetch_workers and pool.serves(_fetch_config(config))):
        _LOGGER.warning("wit build: the fetch processes started early do not fit this run; starting over")
        pool.close()
        pool = None
    if wanted and pool is None:
        pool = start_fetch_pool(config, fetch_workers)
    try:
        try:
            pipeline = build_pipeline(config, options, progress_dir, spill_dir)
            if printer:
                printer.start()
            result = pipeline.run()
            result.wait_until_finish()
        finally:
            if printer:
                printer.stop()
            for folder in (progress_dir, spill_dir):
                if folder:
                    shutil.rmtree(folder, ignore_errors=True)
        summary = read_json(config.text_counts_path)
        _check_metrics(result, summary)
        summary["shuffle"] = largest_shuffled(result)
        if summary["shuffle"]:
            _LOGGER.info("wit build: largest shuffled values %s", summary["shuffle"])
        print(f"wit build: {reconcile(summary)}", file=sys.stderr)
        check_something_was_read(summary, config)
        if fetch_after_job:
            fetch_kept_locally(config, pool)
        if pool is not None:
            pool.stop()  # the workers wind down while the shards are reconciled
        if config.fetch is not None:
            print(f"wit build: {check_fetch_reconciles(summary['kept'], config.out)}", file=sys.stderr)
    finally:
        if pool is not None:
            pool.close()
    return summary


# Up to this many kept candidates the launcher also proves, uid by uid, that each was attempted
# exactly once (two uid columns read back: seconds); above it the manifest's counts are checked.
UID_CHECK_LIMIT = 2_000_000


def check_fetch_reconciles(kept: int, out: str) -> str:
    """`kept = attempted in shards`, from the manifest (and uid by uid for builds up to
    UID_CHECK_LIMIT); raises WitError when a kept candidate was lost or attempted twice."""
    from wit.core.storage import glob_urls
    from wit.shards.manifest import read_manifest

    layout = DatasetLayout(out)
    manifest = read_manifest(out)
    uid_check = None
    if kept <= UID_CHECK_LIMIT:
        uid_check = attempted_uids_check(glob_urls(f"{layout.candidates_dir}/*.parquet"),
                                         glob_urls(f"{layout.shards_dir}/*.parquet"))
    return reconcile_fetch(kept, manifest, uid_check)


def check_something_was_read(summary: dict, config: BuildConfig) -> None:
    """A build whose every input record or file was unreadable fails (exit 1) with the reason,
    instead of ending "successfully" with nothing kept. A bad file among good ones stays a
    counted drop_error."""
    if config.search is not None or not config.files:
        return
    errors = summary["drops"].get("drop_error", 0)
    if summary["input"] == 0:
        raise WitError(f"read nothing: the {len(config.files)} input file(s) held no records")
    if errors == summary["input"]:
        raise WitError(f"read nothing: all {errors:,} record(s) of the {len(config.files)} input file(s) were unreadable "
                       "(drop_error; the warnings above name each file and the reason)")


def largest_shuffled(result) -> dict[str, int]:
    """{distribution: its largest value} of the job's shuffle-size metrics (namespace wit): the
    largest element and the largest group per key at the dedup and cap shuffles ({} when the
    runner reports no distributions)."""
    try:
        from apache_beam.metrics.metric import MetricsFilter

        distributions = result.metrics().query(MetricsFilter().with_namespace("wit"))["distributions"]
    except Exception:  # noqa: BLE001 - not every runner reports metrics
        return {}
    largest: dict[str, int] = {}
    for distribution in distributions:
        value = distribution.committed if distribution.committed is not None else distribution.attempted
        if value is not None and value.count:
            name = distribution.key.metric.name
            largest[name] = max(largest.get(name, 0), int(value.max))
    return dict(sorted(largest.items()))


def _check_metrics(result, summary: dict) -> None:
    """Warn when the Beam metrics disagree with the written counts (they should not)."""
    try:
        from apache_beam.metrics.metric import MetricsFilter

        counters = result.metrics().query(MetricsFilter().with_namespace("wit"))["counters"]
    except Exception:  # noqa: BLE001 - not every runner reports metrics
        return
    metrics: dict[str, int] = {}
    for counter in counters:
        value = counter.committed if counter.committed is not None else counter.attempted
        metrics[counter.key.metric.name] = metrics.get(counter.key.metric.name, 0) + (value or 0)
    written = {"input": summary["input"], "kept": summary["kept"], **summary["drops"]}
    for key, n in written.items():
        if key in metrics and metrics[key] != n:
            _LOGGER.warning("wit build: metric %s = %d but the written count is %d", key, metrics[key], n)
