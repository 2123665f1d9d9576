"""`wit demo`: the whole recipe on the embedded default, offline, with a summary at the end.

Every step runs the real command in a child process (`python -m wit ...`), exactly as a user
would type it, so the demo exercises the same code paths as real use:

  sample-web -> build (archive replay) -> train (tiny preset) -> eval (held-out digits, twice)
  -> predict (one held-out image) -> report

Zero-shot is measured twice. Transfer: the built-in prompt ensemble (trainer/prompts.py), generic
templates that share no phrasing with the sample's captions; this is the headline figure. In
distribution: the caption templates the sample web wrote the digit captions with, which shows how
much of the figure the training phrasing carries.

The figures in the summary are read back from the files the steps wrote (text_counts.json,
queries.parquet, sizes.json, metrics.jsonl) and from the JSON line `wit eval` prints, so the
summary cannot disagree with the output folder.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

from wit.core.errors import WitError
from wit.core.layout import DatasetLayout

def training_caption_templates() -> list[str]:
    """The sample web's digit-caption templates that name the digit only by its word, as `{}` templates:
    the phrasing the model trained on (zero-shot with them is in-distribution, not transfer)."""
    from wit.app.sample_web import DIGIT_TEMPLATES

    return [t.replace("{Name}", "{}").replace("{name}", "{}") for t in DIGIT_TEMPLATES if "{numeral}" not in t]


@dataclass(frozen=True)
class DemoSettings:
    """What differs between the full demo and the quick one the end-to-end test runs."""

    per_query_cap: int = 400
    image_size: int = 64
    shard_size: int = 1000
    preset: str = "tiny-rn"
    epochs: int = 12
    batch_size: int = 128
    lr: float = 2e-3
    warmup: int = 50
    heldout_per_class: int = 100
    objective: str = "clip"  # or "slip": CLIP's loss plus SimCLR on augmented views (wit train --objective)

    @classmethod
    def quick(cls) -> "DemoSettings":
        return cls(epochs=1, warmup=5, heldout_per_class=20)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the whole recipe offline on the embedded sample and summarise it",
        description="Write the sample web archive, build a dataset from it (images by archive replay), train a "
        "tiny CLIP for a few CPU minutes, evaluate it zero-shot on held-out digits (generic prompts: transfer; the "
        "training caption templates: in-distribution), predict one image and write "
        "the report, then print a summary. Needs the demo and train extras (scripts/demo.sh installs them).",
    )
    parser.add_argument("--out", default="demo", metavar="DIR", help="folder for everything the demo writes (default: demo)")
    parser.add_argument("--quick", action="store_true", help="one training epoch and fewer held-out images (for tests)")
    parser.add_argument("--epochs", type=int, default=None, help="training epochs (default 12; 1 with --quick)")
    parser.add_argument("--objective", choices=("clip", "slip"), default="clip",
                        help="training objective (wit train --objective): slip adds SimCLR on two augmented views of each image")
    parser.set_defaults(handler=run_demo_command)


def run_demo_command(args: argparse.Namespace) -> int:
    settings = DemoSettings.quick() if args.quick else DemoSettings()
    if args.epochs is not None:
        settings = replace(settings, epochs=args.epochs)
    settings = replace(settings, objective=args.objective)
    summary = run_demo(Path(args.out), settings, verbose=args.verbose)
    print(format_summary(summary))
    (Path(args.out) / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return 0


def run_demo(out: Path, settings: DemoSettings, verbose: int = 0) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    sample, dataset, run = out / "sample", out / "dataset", out / "run"
    templates = out / "training_caption_templates.txt"
    templates.write_text("# the sample web's digit-caption templates: zero-shot with these is in-distribution\n"
                         + "\n".join(training_caption_templates()) + "\n")
    timings = {}

    def step(name: str, *wit_args: str) -> str:
        started = time.monotonic()
        output = _run_wit(name, list(wit_args), verbose)
        timings[name] = round(time.monotonic() - started, 1)
        return output

    step("sample-web", "sample-web", "--out", str(sample), "--heldout-per-class", str(settings.heldout_per_class))
    step(
        "build", "build",
        "--input", str(sample / "sample.warc.gz"),
        "--archive", str(sample / "sample.warc.gz"),
        "--queries", str(sample / "queries.txt"),
        "--per-query-cap", str(settings.per_query_cap),
        "--image-size", str(settings.image_size),
        "--shard-size", str(settings.shard_size),
        "--out", str(dataset),
    )
    train_output = step(
        "train", "train",
        "--data", DatasetLayout(str(dataset)).shards_dir,
        "--preset", settings.preset,
        "--out", str(run),
        "--epochs", str(settings.epochs),
        "--batch-size", str(settings.batch_size),
        "--lr", str(settings.lr),
        "--warmup", str(settings.warmup),
        "--workers", "1",
        "--precision", "fp32",
        "--log-every", "10",
        "--objective", settings.objective,
    )
    checkpoint = _final_checkpoint(run, train_output)
    heldout = ("--checkpoint", str(checkpoint), "--imagefolder", str(sample / "heldout"), "--class-names", str(sample / "classnames.txt"))
    eval_output = step("eval", "eval", *heldout)  # transfer: the built-in prompt ensemble
    in_distribution_output = step("eval-training-templates", "eval", *heldout, "--templates", str(templates))
    example = sorted((sample / "heldout" / "seven").glob("*.png"))[0]
    labels = ",".join((sample / "classnames.txt").read_text().split())
    predict_output = step("predict", "predict", "--checkpoint", str(checkpoint), "--image", str(example), "--labels", labels)
    step("report", "report", str(dataset), "--run", str(run))  # the cap comes from the build's manifest
    return collect_summary(dataset, run, eval_output, in_distribution_output, predict_output, example, timings, settings)


def _run_wit(name: str, wit_args: list[str], verbose: int) -> str:
    """Run `python -m wit ARGS`, echo its output as it comes, return it; fail with the step name."""
    command = [sys.executable, "-m", "wit", *(["-v"] if verbose else []), *wit_args]
    print(f"\n=== wit {' '.join(wit_args)}", flush=True)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    lines = []
    assert process.stdout is not None
    for line in process.stdout:
        print(line, end="", flush=True)
        lines.append(line)
    if process.wait() != 0:
        raise WitError(f"demo step '{name}' failed (exit {process.returncode}); its output is above")
    return "".join(lines)


def _last_json(output: str) -> dict:
    for line in reversed(output.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise WitError("expected a JSON summary line in the step's output")


def _final_checkpoint(run: Path, train_output: str) -> Path:
    summary = _last_json(train_output)
    path = summary.get("checkpoint") or summary.get("final_checkpoint")
    if path and Path(path).exists():
        return Path(path)
    latest = run / "checkpoints" / "latest.pt"
    if latest.exists():
        return latest
    raise WitError(f"no checkpoint found in {run}")


def collect_summary(dataset: Path, run: Path, eval_output: str, in_distribution_output: str, predict_output: str,
                    example: Path, timings: dict, settings: DemoSettings) -> dict:
    import pyarrow.parquet as pq

    layout = DatasetLayout(str(dataset))
    counts = json.loads(Path(layout.text_counts).read_text())
    queries = pq.read_table(layout.query_counts).to_pylist()
    sizes = json.loads(Path(layout.sizes).read_text())
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    losses = [m["loss"] for m in metrics if "loss" in m]
    zero_shot = _last_json(eval_output)["zero_shot"]
    in_distribution = _last_json(in_distribution_output)["zero_shot"]
    chance = 1.0 / zero_shot["classes"]
    return {
        "candidates_in": counts["input"],
        "drops": {reason: n for reason, n in counts["drops"].items() if n},
        "pairs_kept": counts["kept"],
        "queries_hit": sum(1 for q in queries if q["matched_before_cap"]),
        "queries": len(queries),
        "queries_capped": sum(1 for q in queries if q["matched_before_cap"] > settings.per_query_cap),
        "per_query_cap": settings.per_query_cap,
        "shards": len(sizes),
        "samples_in_shards": sum(sizes.values()),
        "loss_start": losses[0] if losses else None,
        "loss_end": losses[-1] if losses else None,
        "steps": metrics[-1].get("step") if metrics else 0,
        "objective": settings.objective,
        "zero_shot_top1": zero_shot["top1"],
        "zero_shot_top5": zero_shot["top5"],
        "zero_shot_templates": zero_shot["templates"],
        "heldout_images": zero_shot["images"],
        "chance": chance,
        "top1_over_chance": zero_shot["top1"] / chance,
        "in_distribution_top1": in_distribution["top1"],
        "in_distribution_top5": in_distribution["top5"],
        "in_distribution_templates": in_distribution["templates"],
        "in_distribution_over_chance": in_distribution["top1"] / chance,
        "predict_image": str(example),
        "predict": predict_output.strip().splitlines()[-10:],
        "report": f"{layout.report_dir}/index.html",
        "seconds": timings,
    }


def format_summary(summary: dict) -> str:
    drops = ", ".join(f"{reason} {n:,}" for reason, n in summary["drops"].items())
    steps = " ".join(f"{name} {seconds:.0f}s" for name, seconds in summary["seconds"].items())
    return "\n".join([
        "",
        "=== wit demo: summary",
        f"candidates in      {summary['candidates_in']:,}",
        f"drops              {drops}",
        f"queries hit        {summary['queries_hit']} of {summary['queries']} "
        f"({summary['queries_capped']} capped at {summary['per_query_cap']})",
        f"pairs kept         {summary['pairs_kept']:,}",
        f"shards written     {summary['shards']} ({summary['samples_in_shards']:,} samples)",
        f"training loss      {summary['loss_start']:.3f} -> {summary['loss_end']:.3f} over {summary['steps']} steps"
        f" ({summary['objective']})",
        f"zero-shot top-1    {summary['zero_shot_top1']:.1%} on {summary['heldout_images']} held-out digits "
        f"(chance {summary['chance']:.1%}, {summary['top1_over_chance']:.1f}x chance); top-5 {summary['zero_shot_top5']:.1%}; "
        f"transfer: {summary['zero_shot_templates']} built-in prompts unlike the captions",
        f"  in-distribution  {summary['in_distribution_top1']:.1%} ({summary['in_distribution_over_chance']:.1f}x chance); "
        f"top-5 {summary['in_distribution_top5']:.1%}; the {summary['in_distribution_templates']} training caption templates as prompts",
        f"report             {summary['report']}",
        f"time               {steps}",
    ])
