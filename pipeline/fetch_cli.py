"""`wit fetch`: run the fetch + shards stage alone on a candidates parquet or a URL list.

    wit fetch --input candidates/ --out OUT
    wit fetch --input laion_part.parquet --url-col URL --caption-col TEXT --out OUT --image-size 224

Only argparse at module level, so `wit --help` stays instant. Options argparse does not know
(--runner, --direct_num_workers, --project ...) go to Beam and make the run a Beam pipeline;
without them the stage runs in this process and Beam is not even imported (a second less of
start-up, measured in benchmarks/bench_fetch.py).
"""

from __future__ import annotations

import argparse

HELP = "fetch images of a candidates parquet or URL list into webdataset shards"
EPILOG = """\
Input: a candidates parquet from `wit build`, or any img2dataset-style URL list (parquet, csv,
tsv, jsonl; a file, a folder or a glob, local or on gs://, s3://, https://).
Output: OUT/shards/{00000.tar, 00000.parquet, 00000_stats.json}, OUT/sizes.json,
OUT/manifest.json. Re-running on the same OUT keeps complete shards and redoes the rest.
Without Beam options the stage runs on every core: one worker process per core fetches and
decodes, as a local `wit build` does, this process writing the shards; --processes N sets the
count, and --processes 1 (or a one-core machine) runs it all in this process. Beam options (e.g. --direct_running_mode multi_processing
--direct_num_workers 4, or --runner DataflowRunner ...), or --beam, run it as a Beam pipeline:
the same stage `wit build` runs, on FnApiRunner locally (wit/core/runner.py).
"""


def register(subparsers) -> None:
    from wit.pipeline.fetch_config import add_fetch_arguments

    parser = subparsers.add_parser(
        "fetch", help=HELP, description=HELP, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--input", required=True, help="candidates parquet or URL list: file, folder or glob")
    parser.add_argument("--out", required=True, help="output folder (local or gs://, s3://)")
    parser.add_argument("--url-col", default="url", help="URL column (default %(default)s)")
    parser.add_argument("--caption-col", default="caption", help="caption column (default %(default)s; 'text' if absent)")
    parser.add_argument(
        "--beam", action="store_true",
        help="run as a Beam pipeline even with no Beam options given (any Beam option implies it)",
    )
    parser.add_argument(
        "--processes", type=int, default=0,
        help="processes that fetch and decode, this one writing the shards (default 0: one per core; 1: all in this process)",
    )
    add_fetch_arguments(parser)
    parser.set_defaults(handler=run_fetch, accepts_beam_args=True)


def run_fetch(args: argparse.Namespace) -> int:
    import logging
    import time

    from wit.core.errors import WitError
    from wit.pipeline.fetch_config import FetchConfig
    from wit.pipeline.sources import check_first_url_list, fetch_list_config, readable_candidates
    from wit.pipeline.sources.inputs import BEAM_SCHEMES, expand_inputs

    log = logging.getLogger("wit.fetch")
    config = FetchConfig.from_args(args)
    if args.input.startswith(BEAM_SCHEMES):  # listed by Beam's FileSystems (others: no Beam import)
        from wit.core.runner import use_options_in_launcher

        use_options_in_launcher(list(getattr(args, "beam_args", [])))
    inputs = expand_inputs([args.input])
    archives = [file.path for file in inputs if file.format in ("wat", "warc")]
    if archives:
        more = f" and {len(archives) - 1:,} more" if len(archives) > 1 else ""
        raise WitError(f"--input: wit fetch reads candidates parquet and URL lists, not WAT/WARC files "
                       f"({archives[0]}{more}); use wit build for those")
    list_config = fetch_list_config(args.url_col, args.caption_col)
    check_first_url_list(inputs, list_config)
    beam_args = list(getattr(args, "beam_args", []))
    started = time.monotonic()
    if beam_args or args.beam:
        log.info("fetching %d input file(s) into %s in a Beam pipeline", len(inputs), config.out)
        manifest, unreadable = _run_in_beam(inputs, list_config, config, beam_args)
    else:
        from wit.pipeline.shard_work import fetch_in_process

        unreadable_rows = []
        candidates = readable_candidates(inputs, list_config, lambda: unreadable_rows.append(1))
        processes = fetch_processes(args.processes)
        if processes == 1:
            log.info("fetching %d input file(s) into %s in this process", len(inputs), config.out)
            manifest = fetch_in_process(candidates, config)
        else:
            from wit.pipeline.fetch_pool import FetchPool

            with FetchPool(config, processes) as pool:
                log.info("fetching %d input file(s) into %s in %d processes", len(inputs), config.out, pool.workers)
                manifest = fetch_in_process(candidates, config, pool=pool)
        unreadable = len(unreadable_rows)
    counts = ", ".join(f"{status} {n}" for status, n in manifest["status_counts"].items()) or "nothing attempted"
    print(
        f"wit fetch: {manifest['samples']} of {manifest['attempted']} samples stored in "
        f"{len(manifest['shards'])} shard(s) under {config.out}/shards in {time.monotonic() - started:.1f} s ({counts})"
        + (f"; {unreadable} unreadable input row(s) skipped (drop_error)" if unreadable else "")
    )
    if unreadable and not manifest["attempted"]:
        raise WitError(f"no candidate could be read from --input {args.input}: every row or file was unreadable (see the warnings above)")
    return 0


def fetch_processes(requested: int) -> int:
    """The fetch processes of a run without Beam: `requested`, or one per core when it is 0.

    Every core by default: one process's event loop and decode threads share one interpreter
    lock, and on a web-like list (benchmarks/bench_fetch_web.py, 2 cores) the run is CPU-bound
    (decoding), so one process leaves part of the machine idle.
    """
    if requested < 0:
        from wit.core.errors import WitError

        raise WitError(f"--processes must be 0 (one per core) or more, not {requested}")
    if requested:
        return requested
    from wit.core.runner import available_cores

    return available_cores()


def _count_unreadable_in_beam() -> None:
    from apache_beam.metrics import Metrics

    Metrics.counter("wit.fetch", "drop_error").inc()


def _run_in_beam(inputs, list_config, config, beam_args: list[str]) -> tuple[dict, int]:
    import apache_beam as beam
    from apache_beam.metrics.metric import MetricsFilter

    from wit.core.runner import make_pipeline_options, make_runner, refuse_local_paths, workers_share_launcher_disk
    from wit.pipeline.shard_stage import FetchToShards
    from wit.pipeline.sources import readable_candidates
    from wit.shards.manifest import read_manifest

    # Construction-time type checking infers every lambda's output type from its bytecode:
    # ~0.2 CPU s of each start, and this graph declares no type hints for it to check.
    options = make_pipeline_options([*beam_args, "--no_pipeline_type_check"], input_bytes=0)
    if not workers_share_launcher_disk(options):  # a remote runner's workers cannot open local paths
        refuse_local_paths({"--input": [file.path for file in inputs], "--out": [config.out],
                            "--archive": list(config.archives)}, options)
    pipeline = beam.Pipeline(runner=make_runner(options), options=options)
    (
        pipeline
        | "InputFiles" >> beam.Create(inputs)
        | "ReadCandidates" >> beam.FlatMap(lambda file: readable_candidates([file], list_config, _count_unreadable_in_beam))
        | "FetchToShards" >> FetchToShards(config)
    )
    result = pipeline.run()
    result.wait_until_finish()
    counters = result.metrics().query(MetricsFilter().with_namespace("wit.fetch").with_name("drop_error"))["counters"]
    return read_manifest(config.out), sum(counter.committed or 0 for counter in counters)
