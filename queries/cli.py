"""`wit queries build` and `wit queries match`.

Module scope imports argparse only; the handlers import the heavy parts (Beam, pyarrow).
"""

from __future__ import annotations

import argparse

DEFAULT_OUT = "queries.parquet"


def register(subparsers) -> None:
    queries = subparsers.add_parser(
        "queries",
        help="build the query list, match captions against one, or compare two",
        description="Build CLIP's query list (Wikipedia words, high-PMI bigrams, popular titles, WordNet; up to 500,000), "
        "check which queries a caption contains, or compare two lists (ours, MetaCLIP's metadata.json).",
    )
    commands = queries.add_subparsers(dest="queries_command", metavar="COMMAND")
    queries.set_defaults(handler=lambda args: queries.print_help() or 2)
    _register_build(commands)
    _register_match(commands)
    _register_compare(commands)


def _register_build(commands) -> None:
    build = commands.add_parser(
        "build",
        help="build a query list (parquet + txt)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="""\
Build a query list from any of its sources and write OUT (.parquet) plus OUT's .txt export.

With no --wiki-dump, wordfreq's English word list stands in for the Wikipedia unigram counts
(offline default). WordNet is read from --wordnet-dir, /usr/share/wordnet or nltk's installed
data, unless --no-wordnet. A Wikipedia dump is counted on this machine by default (--runner
local: every core, bounded memory, a resumable work directory); --runner DataflowRunner with
--beam-args counts it with Beam on Dataflow (--runner direct: the same Beam job in this process).""",
        epilog="""\
examples:
  wit queries build --out queries.parquet                       # offline default
  wit queries build --wiki-dump enwiki-latest-pages-articles*.xml.bz2 \\
      --pageviews pageviews-20240101-*.gz --min-pageviews 500 --out queries.parquet""",
    )
    build.add_argument("--out", default=DEFAULT_OUT, help=f"output parquet path; the .txt export goes beside it (default {DEFAULT_OUT})")
    build.add_argument("--size", type=int, default=500_000, help="keep at most this many queries, strongest evidence first (default 500000)")
    wiki = build.add_argument_group("Wikipedia words and bigrams")
    wiki.add_argument("--wiki-dump", nargs="+", default=[], metavar="XML", help="pages-articles XML dump files (.xml, .xml.bz2; local or any fsspec/Beam path)")
    wiki.add_argument("--min-count", type=int, default=100, help="keep words seen at least this many times (default 100)")
    wiki.add_argument("--min-bigram-count", type=int, default=100, help="score bigrams seen at least this many times (default 100)")
    wiki.add_argument("--pmi-threshold", type=float, default=5.0, help="keep bigrams with log2 PMI >= this (default 5.0, a ratio of 32)")
    wiki.add_argument("--work-dir", default=None, help="where the counts and the resumable partial work go (default: OUT's folder; a gs:// path on Dataflow)")
    titles = build.add_argument_group("Wikipedia titles")
    titles.add_argument("--pageviews", nargs="+", default=[], metavar="FILE", help="hourly pageviews-YYYYMMDD-HH0000.gz files; views are summed over all of them")
    titles.add_argument("--min-pageviews", type=int, default=None,
                        help="keep titles with at least this many summed views (default: MetaCLIP's 70 views per 25 days, "
                        "scaled to the hours given: ceil(70 * files / 600), at least 1)")
    other = build.add_argument_group("WordNet, wordfreq and extra queries")
    other.add_argument("--wordnet-dir", default=None, help="folder with WordNet 3.0 data.noun/data.verb/... (default: /usr/share/wordnet or nltk data)")
    other.add_argument("--no-wordnet", action="store_true", help="leave WordNet out")
    other.add_argument("--wordfreq", choices=("auto", "yes", "no"), default="auto", help="add wordfreq's English list (auto: only when no --wiki-dump is given)")
    other.add_argument("--extra", nargs="+", default=[], metavar="TXT", help="files of extra queries, one per line; always kept")
    beam = build.add_argument_group("Counting the dump: this machine or Beam")
    beam.add_argument("--runner", default="local",
                      help="'local' (default: this machine, no Beam, --workers processes), 'direct' (Beam's FnApiRunner in this process, "
                      "for small dumps), or a Beam runner name such as DataflowRunner (never Prism)")
    beam.add_argument("--workers", type=int, default=None,
                      help="processes counting the dump (--runner local) and summing the pageview files (default: one per core)")
    beam.add_argument("--direct-running-mode", choices=("in_memory", "multi_threading", "multi_processing"), default="in_memory", help="local runner mode (default in_memory)")
    beam.add_argument("--direct-num-workers", type=int, default=1, help="local workers for multi_threading/multi_processing (default 1)")
    beam.add_argument("--beam-args", dest="beam_args_text", default="",
                      help="more Beam pipeline options as one string, e.g. \"--project=P --region=R --temp_location=gs://B/tmp\"; "
                      "options wit does not know (--dry_run=True, --project ...) may also be given directly")
    build.set_defaults(handler=run_build, accepts_beam_args=True)


def _register_match(commands) -> None:
    match = commands.add_parser(
        "match",
        help="print the queries found in each caption read from stdin",
        description="Read captions from stdin, one per line, and print one JSON line per caption: "
        '{"caption": ..., "matches": [query texts], "ids": [query ids]}. Invalid UTF-8 is replaced, never fatal.',
    )
    match.add_argument("--queries", default="default", help="query list: a .parquet, .txt or .json (MetaCLIP's metadata.json) file, or 'default' (default)")
    match.add_argument("--max-chars", type=int, default=4096, help="scan only this many characters of each caption (default 4096)")
    match.set_defaults(handler=run_match)


def _register_compare(commands) -> None:
    compare = commands.add_parser(
        "compare",
        help="sizes and overlap of two query lists (ours, MetaCLIP's metadata.json, a .txt)",
        description="Print each list's size, how many queries both hold, and for a list with a source column "
        "(a list `wit queries build` wrote) how many of each source's queries the other list holds. Queries are "
        "compared the way the matcher compares them: case- and punctuation-insensitively (match keys).",
        epilog="example: wit queries compare queries.parquet metadata.json",
    )
    compare.add_argument("a", metavar="A", help="a .parquet, .txt or .json list, or 'default'")
    compare.add_argument("b", metavar="B", help="a .parquet, .txt or .json list, or 'default'")
    compare.add_argument("--examples", type=int, default=10, help="print the first N queries only one list has (default 10)")
    compare.set_defaults(handler=run_compare)


# ---------------------------------------------------------------------------------------------


def _pipeline_options(args):
    import shlex

    from apache_beam.options.pipeline_options import PipelineOptions

    flags = shlex.split(args.beam_args_text) + list(getattr(args, "beam_args", []))
    if args.runner in ("direct", "DirectRunner"):
        flags += [f"--direct_running_mode={args.direct_running_mode}", f"--direct_num_workers={args.direct_num_workers}"]
    else:
        flags.append(f"--runner={args.runner}")
    return PipelineOptions(flags)


def _runner(args, options):
    from wit.core.runner import make_runner
    from wit.core.errors import WitError

    if args.runner.lower() in ("prismrunner", "prism"):
        raise WitError("--runner Prism downloads a binary at run time; use 'direct' locally")
    return make_runner(options)  # FnApiRunner locally: DirectRunner may switch to Prism (a download)


def run_build(args) -> int:
    import logging
    import os
    import time

    from wit.queries import pageviews, wordnet
    from wit.queries.default_list import wordfreq_entries
    from wit.queries.entry import QueryEntry
    from wit.queries.querylist import build_query_list, load_query_list
    from wit.core.errors import UsageError, WitError

    log = logging.getLogger("wit.queries")
    started = time.perf_counter()
    for name in ("size", "min_count", "min_bigram_count", "min_pageviews", "workers"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise WitError(f"--{name.replace('_', '-')} must be >= 1")
    entries: dict[str, list] = {}

    for path in args.extra:
        extra = load_query_list(path)
        entries.setdefault("extra", []).extend(QueryEntry(text, "extra") for text in extra.texts)

    if args.work_dir:
        work_dir = args.work_dir
    elif "://" in args.out:
        work_dir = args.out.rsplit("/", 1)[0]
    else:
        work_dir = os.path.dirname(os.path.abspath(args.out))
    list_name = args.out.rsplit("/", 1)[-1].removesuffix(".parquet")

    beam_options_given = bool(args.beam_args_text or getattr(args, "beam_args", []))
    if beam_options_given and not args.wiki_dump:
        # Nothing else runs on Beam: a dry run must not quietly write the list instead.
        raise UsageError("Beam options (--dry_run, --project ...) apply to the counting job of --wiki-dump; without a dump "
                         "the list is built on this machine and nothing runs on Beam")
    if args.wiki_dump and args.runner == "local":
        from wit.queries import dump_counts

        if beam_options_given:
            raise UsageError("--runner local takes no Beam options (--dry_run, --project ...): give --runner direct or DataflowRunner with them")
        if "://" in work_dir:
            raise WitError(f"--runner local counts in a local work directory; {work_dir} is remote: give a local --work-dir")
        words, pairs, _ = dump_counts.count_dump(args.wiki_dump, os.path.join(work_dir, list_name + "-wikipedia-work"),
                                                  args.min_count, args.min_bigram_count, args.pmi_threshold, workers=args.workers)
        entries["wiki_unigram"] = [QueryEntry(word, "wiki_unigram", count=n) for word, n in words]
        entries["wiki_bigram"] = [QueryEntry(pair, "wiki_bigram", count=n, pmi=pmi) for pair, n, pmi in pairs]
        log.info("Wikipedia: %d words >= %d, %d bigrams with PMI >= %g", len(words), args.min_count, len(pairs), args.pmi_threshold)
    elif args.wiki_dump:
        from wit.core.runner import dry_run, format_dry_run, is_dry_run, refuse_local_paths, workers_share_launcher_disk
        from wit.queries import wikipedia

        options = _pipeline_options(args)
        runner = _runner(args, options)
        if not workers_share_launcher_disk(options):  # the counting job's workers read the dumps and write here
            refuse_local_paths({"--wiki-dump": args.wiki_dump, "--work-dir": [work_dir]}, options)
        work_prefix = work_dir.rstrip("/") + "/" + list_name + "-wikipedia-"
        if is_dry_run(options):
            pipeline = wikipedia.build_count_job(args.wiki_dump, work_prefix, options, args.min_count,
                                                 args.min_bigram_count, args.pmi_threshold, runner=runner)
            inputs = [(path, "wikipedia-dump", -1) for path in args.wiki_dump]
            print(format_dry_run("wit queries build", dry_run(pipeline, options, inputs)))
            return 0
        log.info("counting words in %d dump file(s) with Beam (%s) ...", len(args.wiki_dump), args.runner)
        unigram_files, bigram_files = wikipedia.run_count_job(
            args.wiki_dump, work_prefix, options, args.min_count, args.min_bigram_count, args.pmi_threshold, runner=runner
        )
        entries["wiki_unigram"] = [QueryEntry(word, "wiki_unigram", count=int(n)) for word, n in wikipedia.read_count_files(unigram_files)]
        entries["wiki_bigram"] = [
            QueryEntry(pair, "wiki_bigram", count=int(n), pmi=float(pmi)) for pair, n, pmi in wikipedia.read_count_files(bigram_files)
        ]
        log.info("Wikipedia: %d words >= %d, %d bigrams with PMI >= %g", len(entries["wiki_unigram"]), args.min_count, len(entries["wiki_bigram"]), args.pmi_threshold)

    if args.pageviews:
        log.info("summing pageviews over %d file(s) ...", len(args.pageviews))
        # The runs are spilled to a local folder (they are read back by byte range); kept there,
        # a rerun resumes, or re-thresholds without reading the files again.
        pageview_dir = None if "://" in work_dir else os.path.join(work_dir, list_name + "-pageviews")
        entries["wiki_title"] = pageviews.title_entries(args.pageviews, args.min_pageviews, work_dir=pageview_dir, workers=args.workers)

    if not args.no_wordnet:
        found = wordnet.find_wordnet_dir(args.wordnet_dir)
        if found is None:
            log.warning("WordNet not found (install Debian's wordnet-base or pass --wordnet-dir); building without it")
        else:
            entries["wordnet"] = wordnet.read_wordnet_entries(found)

    if args.wordfreq == "yes" or (args.wordfreq == "auto" and not args.wiki_dump):
        log.info("adding wordfreq's English list%s", " (standing in for Wikipedia unigrams)" if not args.wiki_dump else "")
        entries["wordfreq"] = wordfreq_entries()

    if not entries:
        raise WitError("no query sources: give --wiki-dump, --pageviews, --extra, or allow WordNet/wordfreq")
    query_list = build_query_list(entries, size=args.size)
    parquet_path, txt_path = query_list.save(args.out)
    by_source = ", ".join(f"{source} {n}" for source, n in query_list.source_counts().items())
    log.info("wrote %s and %s: %d queries (%s), sha256 %s, in %.1f s", parquet_path, txt_path, len(query_list), by_source, query_list.content_hash, time.perf_counter() - started)
    print(f"{parquet_path}\t{len(query_list)} queries\tsha256 {query_list.content_hash}")
    return 0


def run_match(args) -> int:
    import io
    import json
    import sys

    from wit.queries.matcher import QueryMatcher
    from wit.queries.querylist import load_query_list
    from wit.core.errors import WitError

    if args.max_chars < 1:
        raise WitError("--max-chars must be >= 1")
    query_list = load_query_list(args.queries)
    matcher = QueryMatcher.from_query_list(query_list, max_chars=args.max_chars)
    texts = query_list.texts
    stdin = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace", newline=None)
    out = sys.stdout
    for line in stdin:
        caption = line.rstrip("\n")
        ids = matcher.match(caption)
        out.write(json.dumps({"caption": caption, "matches": [texts[i] for i in ids], "ids": ids}, ensure_ascii=False))
        out.write("\n")
    out.flush()
    return 0


def run_compare(args) -> int:
    from wit.core.errors import WitError
    from wit.queries.compare import compare_query_lists, format_comparison
    from wit.queries.querylist import load_query_list, read_json_list

    if args.examples < 0:
        raise WitError("--examples must be >= 0")

    def load(spec):
        if spec.endswith(".json"):
            loaded = read_json_list(spec)
            return loaded.query_list, loaded.strings
        query_list = load_query_list(spec)
        return query_list, len(query_list)

    a, a_strings = load(args.a)
    b, b_strings = load(args.b)
    comparison = compare_query_lists(a, b, args.a, args.b, a_strings, b_strings, examples=args.examples)
    print(format_comparison(comparison))
    return 0
