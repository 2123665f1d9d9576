"""`wit report`: the dataset report (see wit/app/report.py)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="write OUT/report/: per-query counts, drops, languages, image sizes, shards, training curves",
        description="Write OUT/report/index.html and PNG plots from what `wit build` wrote to OUT (and, with "
        "--run, the training curves from RUN_DIR/metrics.jsonl). Parts that are missing are shown as "
        "'not available' with the reason.",
    )
    parser.add_argument("out", metavar="OUT", help="the output folder of a `wit build`")
    parser.add_argument("--run", metavar="RUN_DIR", help="a `wit train` run folder with metrics.jsonl")
    parser.add_argument("--per-query-cap", type=int, metavar="N",
                        help="cap line to draw on the per-query plot (default: the cap recorded in OUT/manifest.json)")
    parser.set_defaults(handler=run_report)


def run_report(args: argparse.Namespace) -> int:
    from wit.app.report import write_report

    if args.per_query_cap is not None and args.per_query_cap <= 0:
        raise ValueError("--per-query-cap must be a positive number")
    page = write_report(args.out, run_dir=args.run, cap=args.per_query_cap)
    print(f"report: {page}")
    return 0
