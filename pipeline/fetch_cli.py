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
Without Beam options the stage runs in this process, shard after shard (one process keeps
every core busy with one shard). Beam options (e.g. --direct_running_mode multi_processing
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
    add_fetch_arguments(parser)
    parser.set_defaults(handler=run_fetch, accepts_beam_args=True)


def run_fetch(args: argparse.Namespace) -> int:
    import itertools
    import logging
    import time

    from wit.pipeline.fetch_config import FetchConfig
    from wit.pipeline.url_list import expand_inputs, read_candidates

    log = logging.getLogger("wit.fetch")
    config = FetchConfig.from_args(args)
    inputs = expand_inputs(args.input)
    url_col, caption_col = args.url_col, args.caption_col
    beam_args = list(getattr(args, "beam_args", []))
    started = time.monotonic()
    if beam_args or args.beam:
        log.info("fetching %d input file(s) into %s in a Beam pipeline", len(inputs), config.out)
        manifest = _run_in_beam(inputs, url_col, caption_col, config, beam_args)
    else:
        from wit.pipeline.shard_work import fetch_in_process

        log.info("fetching %d input file(s) into %s in this process", len(inputs), config.out)
        candidates = itertools.chain.from_iterable(read_candidates(path, url_col, caption_col) for path in inputs)
        manifest = fetch_in_process(candidates, config)
    counts = ", ".join(f"{status} {n}" for status, n in manifest["status_counts"].items()) or "nothing attempted"
    print(
        f"wit fetch: {manifest['samples']} of {manifest['attempted']} samples stored in "
        f"{len(manifest['shards'])} shard(s) under {config.out}/shards in {time.monotonic() - started:.1f} s ({counts})"
    )
    return 0


def _run_in_beam(inputs: list[str], url_col: str, caption_col: str, config, beam_args: list[str]) -> dict:
    import apache_beam as beam

    from wit.core.runner import make_pipeline_options, make_runner
    from wit.pipeline.shard_stage import FetchToShards
    from wit.pipeline.url_list import read_candidates
    from wit.shards.manifest import read_manifest

    # Construction-time type checking infers every lambda's output type from its bytecode:
    # ~0.2 CPU s of each start, and this graph declares no type hints for it to check.
    options = make_pipeline_options([*beam_args, "--no_pipeline_type_check"], input_bytes=0)
    with beam.Pipeline(runner=make_runner(options), options=options) as pipeline:
        (
            pipeline
            | "InputFiles" >> beam.Create(inputs)
            | "ReadCandidates" >> beam.FlatMap(lambda path: read_candidates(path, url_col, caption_col))
            | "FetchToShards" >> FetchToShards(config)
        )
    return read_manifest(config.out)
