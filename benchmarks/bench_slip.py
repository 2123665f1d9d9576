"""SLIP's claim in miniature: CLIP vs SLIP on the demo's data, same steps, several seeds.

    .venv/bin/python benchmarks/bench_slip.py                   # 3 seeds each, ~15 min on 2 cores
    .venv/bin/python benchmarks/bench_slip.py --seeds 1 --epochs 1   # a smoke run

The data is `wit demo`'s: `wit sample-web` (MNIST digits and photographs that ship inside PyPI
wheels, captioned as the web captions them) and `wit build` over it with the demo's settings
(cap 400, 64 px). For each objective and seed, `wit train` runs the same training (a small ViT at
32 px by default, or the demo's tiny-rn; lr 2e-3, fp32) for the same number of steps; `--objective slip` adds SimCLR's loss on
two augmented views (trainer/slip.py). Then, on the 1,000 held-out digits the archive never held:

- zero-shot top-1 with the demo's prompts (`wit demo`'s DIGIT_TEMPLATES, close to the training
  captions) and with the generic ImageNet-style ensemble of trainer/evaluate.py (transfer);
- linear-probe top-1: frozen image features (the encoder's pooled features, before CLIP's
  projection: what both objectives shape), scikit-learn's LogisticRegression with its inverse
  regularisation C chosen on a validation split of the probe's training half (the CLIP paper's
  protocol), refit on the whole training half, scored on the other half (stratified 50/50).

Each figure is printed as mean +- sample standard deviation over the seeds, with every seed's
value, the wall time per run, and the difference SLIP - CLIP. The last line is one JSON object.
Run times are wall-clock on whatever the machine is doing; the comparison is the point.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from wit.app.demo import DIGIT_TEMPLATES, DemoSettings  # noqa: E402
from wit.core.layout import DatasetLayout  # noqa: E402
from wit.trainer.checkpoint import load_model  # noqa: E402
from wit.trainer.data import load_image, normalize_images  # noqa: E402
from wit.trainer.evaluate import DEFAULT_TEMPLATES, class_embeddings, image_folder  # noqa: E402

PROBE_C = tuple(10.0**k for k in range(-3, 4))  # the regularisation sweep

# The default model: a ViT at 32 px (MNIST's own scale) with a 2-layer text tower, so that 3 seeds
# x 2 objectives fit in about 15 minutes on 2 cores; --demo-model trains the demo's tiny-rn at 64 px.
BENCH_MODEL = {"embed_dim": 64, "image_size": 32, "vision_layers": 2, "vision_width": 64, "vision_patch_size": 8,
               "vision_heads": 2, "context_length": 24, "vocab_size": 1000, "text_width": 64, "text_heads": 2,
               "text_layers": 2, "eot_token_id": 999}


def wit(*args: str, threads: int | None = None) -> str:
    """Run `python -m wit ARGS` (with `threads` torch threads); its output, or a clear failure."""
    environment = {**os.environ, **({"OMP_NUM_THREADS": str(threads)} if threads else {})}
    result = subprocess.run([sys.executable, "-m", "wit", *args], capture_output=True, text=True, env=environment)
    if result.returncode != 0:
        sys.exit(f"wit {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result.stdout


def build_demo_data(work: Path, settings: DemoSettings) -> tuple[Path, Path]:
    """(shard folder, sample folder), built as `wit demo` builds them (reused if already there)."""
    sample, dataset = work / "sample", work / "dataset"
    shards = Path(DatasetLayout(str(dataset)).shards_dir)
    if not (sample / "heldout").is_dir():
        wit("sample-web", "--out", str(sample), "--heldout-per-class", str(settings.heldout_per_class))
    if not list(shards.glob("*.tar")):
        wit("build", "--input", str(sample / "sample.warc.gz"), "--archive", str(sample / "sample.warc.gz"),
            "--queries", str(sample / "queries.txt"), "--per-query-cap", str(settings.per_query_cap),
            "--image-size", str(settings.image_size), "--shard-size", str(settings.shard_size), "--out", str(dataset))
    return shards, sample


def train(shards: Path, run: Path, settings: DemoSettings, model: list[str], objective: str, seed: int,
          threads: int | None) -> tuple[Path, float, dict]:
    """(checkpoint, wall seconds, last metrics record) of one `wit train` run as the demo trains."""
    started = time.perf_counter()
    wit("-q", "train", "--data", str(shards), *model, "--out", str(run), "--epochs", str(settings.epochs),
        "--batch-size", str(settings.batch_size), "--lr", str(settings.lr), "--warmup", str(settings.warmup),
        "--workers", "1", "--precision", "fp32", "--log-every", "10", "--save-every", "0", "--seed", str(seed),
        "--objective", objective, threads=threads)
    seconds = time.perf_counter() - started
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return run / "checkpoints" / "latest.pt", seconds, records[-1]


@torch.no_grad()
def heldout_features(model, paths: list[Path]) -> tuple[torch.Tensor, torch.Tensor]:
    """(normalised CLIP image embeddings, pooled encoder features) of the held-out images, centre crops."""
    size = model.config.image_size
    images = normalize_images(torch.stack([load_image(Path(p).read_bytes(), size, rng=None) for p in paths]))
    pooled = torch.cat([model.visual.pooled(chunk) for chunk in images.split(256)])
    embeddings = torch.nn.functional.normalize(model.visual.project(pooled), dim=-1)
    return embeddings, pooled


def linear_probe(features: np.ndarray, labels: np.ndarray, seed: int = 0) -> dict:
    """Top-1 of a logistic regression on frozen features: C by a validation split, refit, test on held-out half."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    train_x, test_x, train_y, test_y = train_test_split(features, labels, test_size=0.5, stratify=labels, random_state=seed)
    fit_x, val_x, fit_y, val_y = train_test_split(train_x, train_y, test_size=0.25, stratify=train_y, random_state=seed)

    def fitted(c: float, x, y):
        scaler = StandardScaler().fit(x)
        return scaler, LogisticRegression(C=c, max_iter=2000).fit(scaler.transform(x), y)

    def accuracy(model, x, y) -> float:
        scaler, classifier = model
        return float((classifier.predict(scaler.transform(x)) == y).mean())

    scores = {c: accuracy(fitted(c, fit_x, fit_y), val_x, val_y) for c in PROBE_C}
    best = max(PROBE_C, key=lambda c: (scores[c], -c))  # ties: the stronger regularisation
    return {"top1": accuracy(fitted(best, train_x, train_y), test_x, test_y), "C": best, "train": len(train_y), "test": len(test_y)}


def evaluate(checkpoint: Path, sample: Path) -> dict:
    model, tokenizer, _ = load_model(checkpoint)
    names, samples = image_folder(sample / "heldout", str(sample / "classnames.txt"))
    labels = torch.tensor([label for _, label in samples])
    embeddings, pooled = heldout_features(model, [path for path, _ in samples])
    result = {}
    for key, templates in (("zero_shot_demo_prompts", list(DIGIT_TEMPLATES)), ("zero_shot_generic_prompts", list(DEFAULT_TEMPLATES))):
        classifier = class_embeddings(model, tokenizer, names, templates, "cpu")
        result[key] = float(((embeddings @ classifier.t()).argmax(dim=1) == labels).float().mean())
    probe = linear_probe(pooled.numpy(), labels.numpy())
    result["linear_probe"], result["probe_C"] = probe["top1"], probe["C"]
    result["probe_images"] = (probe["train"], probe["test"])
    return result


def reference_probes(sample: Path, model_config: dict | None) -> dict:
    """Linear-probe top-1 on what no training made: the centre-cropped pixels, and an untrained encoder."""
    from wit.trainer.model import CLIPConfig, build_model, preset_config

    names, samples = image_folder(sample / "heldout", str(sample / "classnames.txt"))
    labels = np.array([label for _, label in samples])
    config = CLIPConfig.from_dict(model_config) if model_config else preset_config(DemoSettings().preset)
    pixels = torch.stack([load_image(Path(p).read_bytes(), config.image_size, rng=None) for p, _ in samples]).float()
    torch.manual_seed(0)
    untrained = build_model(config).eval()
    with torch.no_grad():
        features = untrained.visual.pooled(normalize_images(pixels.to(torch.uint8)))
    return {"pixels": linear_probe(pixels.flatten(1).numpy(), labels)["top1"], "untrained_encoder": linear_probe(features.numpy(), labels)["top1"]}


def spread(values: list[float]) -> str:
    mean = statistics.fmean(values)
    deviation = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{mean:.3f} +- {deviation:.3f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds per objective (0..N-1)")
    parser.add_argument("--epochs", type=int, default=6, help="epochs of the demo's 2,700 pairs (42 steps each at batch 64)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--demo-model", action="store_true", help="the demo's tiny-rn at 64 px instead of the small 32-px ViT")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads per training run (default torch's); on a machine busy with other jobs, 1 is "
                             "several times faster than 2 threads fighting for the cores")
    parser.add_argument("--work", default=None, help="folder for the data and runs (default: a temporary one); reuses built data")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    settings = replace(DemoSettings(), epochs=args.epochs, batch_size=args.batch_size, warmup=20)
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="bench_slip_"))
    started = time.perf_counter()
    shards, sample = build_demo_data(work, settings)
    model_name = settings.preset if args.demo_model else "a 32-px ViT (BENCH_MODEL)"
    model = ["--preset", settings.preset]
    if not args.demo_model:
        (work / "bench_model.json").write_text(json.dumps(BENCH_MODEL))
        model = ["--model-config", str(work / "bench_model.json")]
    print(f"data: {work} ({time.perf_counter() - started:.0f} s); {model_name}, batch {settings.batch_size}, "
          f"{settings.epochs} epochs, {args.seeds} seeds per objective; {args.threads or torch.get_num_threads()} torch threads, "
          f"cpu count {os.cpu_count()}, load {os.getloadavg()[0]:.1f}", flush=True)

    results: dict[str, list[dict]] = {"clip": [], "slip": []}
    for seed in range(args.seeds):
        for objective in ("clip", "slip"):  # alternate, so machine load hits both alike
            checkpoint, seconds, last = train(shards, work / f"{objective}-{seed}", settings, model, objective, seed, args.threads)
            result = {"seed": seed, "seconds": round(seconds, 1), "steps": last["step"], "loss": last["loss"], **evaluate(checkpoint, sample)}
            if objective == "slip":
                result["clip_loss"], result["ssl_loss"] = last["clip_loss"], last["ssl_loss"]
            results[objective].append(result)
            print(f"{objective} seed {seed}: {json.dumps(result)}", flush=True)

    metrics = ("zero_shot_demo_prompts", "zero_shot_generic_prompts", "linear_probe")
    steps = results["clip"][0]["steps"]
    print(f"\nheld-out digits: {len(image_folder(sample / 'heldout', str(sample / 'classnames.txt'))[1])}, chance 0.100; "
          f"{steps} steps each; mean +- std over {args.seeds} seeds\n")
    print("| top-1 | CLIP | SLIP | SLIP - CLIP |")
    print("|---|---|---|---|")
    for metric in metrics:
        clip = [r[metric] for r in results["clip"]]
        slip = [r[metric] for r in results["slip"]]
        difference = [s - c for s, c in zip(slip, clip)]
        print(f"| {metric.replace('_', ' ')} | {spread(clip)} | {spread(slip)} | {spread(difference)} |")
    clip_seconds, slip_seconds = ([r["seconds"] for r in results[o]] for o in ("clip", "slip"))
    print(f"| (wall seconds per run) | {statistics.fmean(clip_seconds):.0f} | {statistics.fmean(slip_seconds):.0f} | "
          f"x{statistics.fmean(slip_seconds) / statistics.fmean(clip_seconds):.2f} |")
    references = reference_probes(sample, None if args.demo_model else BENCH_MODEL)
    print(f"\nlinear probe without training, for reference: pixels {references['pixels']:.3f}, "
          f"untrained encoder {references['untrained_encoder']:.3f}")
    print(json.dumps({"settings": {"model": model_name, "batch_size": settings.batch_size, "epochs": settings.epochs,
                                   "steps": steps, "seeds": args.seeds, "threads": args.threads}, "results": results, "references": references}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
