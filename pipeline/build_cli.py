"""`wit build`: web pages or URL lists in, a matched, capped candidate set (and shards) out.

Module scope imports argparse only (plus the filter and fetch flag definitions), so that
`wit --help` stays instant; Beam is imported by the handler.
"""

from __future__ import annotations

import argparse

from wit.pipeline import DEFAULT_FETCH_AHEAD, DEFAULT_PER_QUERY_CAP

BUILD_DESCRIPTION = """\
Read candidate (image URL, caption) pairs from Common Crawl WAT/WARC files or URL lists,
normalise and filter the captions, drop duplicates, keep the pairs whose caption contains a
query, cap every query at --per-query-cap pairs, and write OUT/candidates/*.parquet and
OUT/counts/; then fetch the images into webdataset shards (unless --until candidates).

Options this command does not know are Beam pipeline options, e.g.
  --direct_num_workers 4                      (local run; default: one per core)
  --runner DataflowRunner --project P --region R --temp_location gs://B/tmp
  --sdk_container_image IMAGE                 (see docs/dataflow.md)
"""

EXAMPLES = """\
examples:
  wit build --input 'data/*.warc.wat.gz' --out out/ --until candidates
  wit build --crawl CC-MAIN-2024-22 --max-files 10 --out out/
  wit build --input laion.parquet --url-col URL --caption-col TEXT --queries none --out out/
  wit build --search commons --queries default --per-query-cap 1000 --licenses "CC0,CC BY,CC BY-SA,Public domain" \\
      --search-contact you@example.org --out out/
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "build",
        help="run the Beam pipeline: pages or URL lists -> filtered, matched, capped candidates -> shards",
        description=BUILD_DESCRIPTION,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        # Beam options such as --project must never be taken for an abbreviation of ours.
        allow_abbrev=False,
    )
    add_build_arguments(parser)
    parser.set_defaults(handler=run, accepts_beam_args=True)


def add_build_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_argument_group("input")
    source.add_argument("--input", nargs="+", default=[], metavar="PATH_OR_GLOB",
                        help="WAT/WARC files or URL lists (parquet/csv/tsv/jsonl); local, gs://, s3://, http(s)://")
    source.add_argument("--input-format", choices=("wat", "warc", "parquet", "csv", "tsv", "jsonl"),
                        help="format of every input (default: from each file name)")
    source.add_argument("--crawl", metavar="CC-MAIN-YYYY-WW", help="read this Common Crawl crawl's WAT files")
    source.add_argument("--max-files", type=int, metavar="N", help="with --crawl: only the first N WAT files")
    source.add_argument("--cc-base-url", metavar="URL",
                        help="where Common Crawl lives (default $WIT_CC_BASE_URL or https://data.commoncrawl.org/)")
    source.add_argument("--url-col", default="url", help="URL-list column with the image URL (default: url)")
    source.add_argument("--caption-col", default="caption", help="URL-list column with the caption (default: caption)")
    source.add_argument("--caption-unquote-plus", action="store_true",
                        help="URL-list captions are URL-encoded with + for spaces (YFCC100M)")
    source.add_argument("--meta-cols", default="", metavar="A,B",
                        help="URL-list columns to carry into each sample's json (licence, photo id ...)")

    recipe = parser.add_argument_group("queries and cap")
    recipe.add_argument("--queries", default="default", metavar="FILE|default|none",
                        help="query list (.parquet/.txt, or MetaCLIP's metadata.json), the embedded default, or none to skip matching and the cap")
    recipe.add_argument("--per-query-cap", type=int, default=DEFAULT_PER_QUERY_CAP, metavar="N",
                        help=f"at most N candidates per query (default {DEFAULT_PER_QUERY_CAP})")
    recipe.add_argument("--cap-seed", type=int, default=0, help="seed of the hash that ranks candidates within a query")

    output = parser.add_argument_group("output")
    output.add_argument("--out", required=True, metavar="OUT", help="output folder (local, gs://, s3://)")
    output.add_argument("--until", choices=("candidates",), help="stop after writing OUT/candidates and OUT/counts")
    output.add_argument("--fetch-ahead", type=int, default=DEFAULT_FETCH_AHEAD, metavar="N",
                        help="local runs on local URL lists: the fetch processes fetch the first N URLs the text side "
                             "will keep while it runs (same checks; shards unchanged); 0 = off (default %(default)s)")

    from wit.filters.config import add_filter_arguments  # argparse-only twin of wit.filters.chain's
    from wit.pipeline.fetch_config import add_fetch_arguments
    from wit.pipeline.sources.commons.config import add_search_arguments
    from wit.pipeline.sources.remote import add_remote_read_arguments

    add_remote_read_arguments(parser)
    add_filter_arguments(parser)
    add_fetch_arguments(parser)
    add_search_arguments(parser)


def config_from_args(args):
    """BuildConfig from parsed arguments; raises WitError for impossible combinations."""
    from wit.pipeline.build import BuildConfig
    from wit.pipeline.sources import check_first_url_list
    from wit.pipeline.sources.inputs import crawl_wat_files, expand_inputs
    from wit.pipeline.sources.remote import RemoteReadConfig
    from wit.core.errors import WitError
    from wit.core.storage import require_filesystem

    search = None
    if getattr(args, "search", None):
        from wit.pipeline.sources.commons.config import SearchConfig

        if args.input or args.crawl:
            raise WitError("--search replaces --input/--crawl: a build reads a pool or searches, not both")
        if args.queries.lower() == "none":
            raise WitError("--search needs a query list: every query is searched (--queries FILE|default)")
        search = SearchConfig.from_args(args)
    elif not args.input and not args.crawl:
        raise WitError("nothing to read: give --input PATH..., --crawl CC-MAIN-YYYY-WW or --search commons")
    if args.max_files is not None and not args.crawl:
        raise WitError("--max-files goes with --crawl")
    if args.max_files is not None and args.max_files < 1:
        raise WitError("--max-files must be at least 1")
    if args.per_query_cap < 1:
        raise WitError("--per-query-cap must be at least 1")
    if getattr(args, "fetch_ahead", 0) < 0:
        raise WitError("--fetch-ahead must be 0 (off) or more")
    try:
        remote_reads = RemoteReadConfig.from_args(args)
    except ValueError as exc:
        raise WitError(str(exc)) from exc
    require_filesystem(args.out, beam=True)  # now, with the extra to install, not from a worker
    files = expand_inputs(args.input, args.input_format) if args.input else []
    url_list_config = url_list_config_from_args(args)
    check_first_url_list(files, url_list_config)
    if args.crawl:
        files += crawl_wat_files(args.crawl, args.max_files, args.cc_base_url, remote_reads)
    queries = None if args.queries.lower() == "none" else args.queries
    query_list_hash = ""
    if queries is not None:
        from wit.queries.querylist import load_query_list

        # Loaded here too so that a missing or bad list fails now, not on a worker.
        query_list_hash = load_query_list(queries).content_hash
    from wit.filters.config import FilterConfig
    from wit.pipeline.fetch_config import FetchConfig

    fetch = None if args.until == "candidates" else FetchConfig.from_args(args, out=args.out, query_list_hash=query_list_hash)
    return BuildConfig(
        files=tuple(files),
        out=args.out,
        filter_config=FilterConfig.from_args(args),
        fetch=fetch,
        queries=queries,
        per_query_cap=args.per_query_cap,
        cap_seed=args.cap_seed,
        url_list_config=url_list_config,
        query_list_hash=query_list_hash,
        search=search,
        remote_reads=remote_reads,
    )


def url_list_config_from_args(args):
    from wit.pipeline.sources.urllist import UrlListConfig

    return UrlListConfig(url_col=args.url_col, caption_col=args.caption_col, unquote_plus=args.caption_unquote_plus,
                         meta_cols=tuple(name.strip() for name in args.meta_cols.split(",") if name.strip()))


def run(args) -> int:
    beam_args = list(getattr(args, "beam_args", []))
    # The fetch processes start first, before this process imports Beam (~1.5 CPU s) and runs
    # the text side: their own start-up (a Python each, aiohttp, Pillow) takes the cores this
    # process leaves idle meanwhile, and they are ready when the first candidates are.
    pool = start_fetch_pool_early(args, beam_args)
    try:
        from wit.core.runner import use_options_in_launcher
        from wit.pipeline.build import run_build

        use_options_in_launcher(beam_args)
        config = config_from_args(args)
        run_build(config, beam_args, show_progress=not args.quiet, pool=pool)
    except BaseException:
        if pool is not None:
            pool.close(graceful=False)  # a usage error or a failed build: do not wait for the workers
        raise
    finally:
        if pool is not None:
            pool.close()
    return 0


def start_fetch_pool_early(args, beam_args: list[str]):
    """The local fetch pool of this build, started now (None when the build will not fetch
    in a local pool: --until candidates, another runner, a dry run, one worker). Its settings
    are the fetch flags alone; run_build checks them against the build's and its own decision."""
    from wit.core.runner import local_fetch_pool_size

    if args.until == "candidates":
        return None
    workers = local_fetch_pool_size(beam_args)
    if workers < 2:
        return None
    from wit.pipeline.fetch_config import FetchConfig
    from wit.pipeline.fetch_pool import FetchPool

    try:
        config = FetchConfig.from_args(args, out=args.out)
    except Exception:  # noqa: BLE001 - a bad fetch flag or output: config_from_args reports it next
        return None
    return FetchPool(config, workers, fetch_ahead_plan(args))


def fetch_ahead_plan(args):
    """What the early fetch processes may fetch ahead (pipeline/fetch_ahead.py), or None."""
    from wit.core.runner import is_local_path

    if getattr(args, "fetch_ahead", 0) <= 0 or getattr(args, "search", None) or args.crawl or not args.input:
        return None
    if not all(is_local_path(pattern) for pattern in args.input):
        return None  # listing remote inputs here would import their filesystems before Beam's
    from wit.filters.config import FilterConfig
    from wit.pipeline.fetch_ahead import plan_fetch_ahead
    from wit.pipeline.sources.inputs import expand_inputs

    try:
        files = expand_inputs(args.input, args.input_format)
        queries = None if args.queries.lower() == "none" else args.queries
        return plan_fetch_ahead(files, url_list_config_from_args(args), FilterConfig.from_args(args), queries,
                                args.out, args.fetch_ahead)
    except Exception:  # noqa: BLE001 - a bad input or flag: config_from_args reports it next
        return None
