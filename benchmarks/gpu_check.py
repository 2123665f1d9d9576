"""One short GPU check of the trainer: real runs in fp16 and bf16, resumes across precisions, --compile, open_clip beside.

    .venv/bin/python benchmarks/gpu_check.py                                  # one CUDA GPU: a few minutes on an H100
    .venv/bin/python benchmarks/gpu_check.py --device cpu --steps 3 --tiny    # smoke run of this script anywhere

For each model (ViT-B/32 and RN50 at batch 256 by default) it runs `wit.trainer.train.train`
itself, the code `wit train` runs, on JPEG shards written on the fly (256 px photo-like images,
the size `wit build` writes), in one run folder with one schedule of 3 x --steps steps:

1. `--precision amp` (fp16 autocast + GradScaler) for --steps steps, then a checkpoint;
2. resumed under `amp_bf16` (bf16 autocast, no scaler) for --steps more;
3. resumed under `amp` again: a checkpoint without scaler state into a run with one (issue 18's bug);

then a fresh run with `--compile` (amp_bf16) for --steps steps (the first model only, unless
--compile-models says otherwise: compiling takes a minute or more per model). samples/s is the median of the
logged windows after the first (which holds warm-up and compilation), as the trainer logs it;
peak memory is torch.cuda.max_memory_allocated over the segment. The loader's rate (images/s per
worker x workers) is printed so a loader-bound segment is visible.

Then it times one training step on tensors already on the GPU (forward, contrastive loss,
backward, AdamW, and the GradScaler in fp16) for the same model and batch in wit and in open_clip
(the `-quickgelu` models of the same shapes) side by side: samples/s and peak memory. Where
open_clip does not import (it is not installable beside the CPU torch of the development
machine), that column says so. The training segments use a BPE trained on the synthetic captions
(a small vocabulary); the step rows use the presets' 49,408-token vocabulary, as open_clip does.

Prints one table, then one JSON line of every row. Exit status 0 when every row ran, 1 when one
failed (the table says which and why), 2 when the device is not there.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import logging
import os
import random
import statistics
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import torch  # noqa: E402

from bench_trainer import import_open_clip, open_clip_model, random_batch, synthetic_photo  # noqa: E402
from wit.trainer.config import TrainConfig  # noqa: E402
from wit.trainer.loss import clip_loss  # noqa: E402
from wit.trainer.model import build_model  # noqa: E402
from wit.trainer.runtime import autocast_context, make_scaler  # noqa: E402
from wit.trainer.tokenizer import train_tokenizer  # noqa: E402

FULL = {"models": "ViT-B/32,RN50", "batch": 256, "steps": 100, "step_iters": 20}
TINY = {"models": "tiny-vit,tiny-rn", "batch": 8, "steps": 3, "step_iters": 2}
WORDS = ("red", "green", "blue", "small", "large", "round", "square", "bright", "dark", "striped")


# ---------------------------------------------------------------- data


def write_shards(folder: Path, shards: int, per_shard: int, image_px: int) -> list[str]:
    """Shards of photo-like JPEGs (a pool of 64, reused) with varied captions; returns the captions."""
    rng = random.Random(0)
    photos = [synthetic_photo(rng, image_px) for _ in range(64)]
    folder.mkdir(parents=True, exist_ok=True)
    captions, sizes = [], {}
    for shard in range(shards):
        name = f"{shard:05d}.tar"
        with tarfile.open(folder / name, "w") as archive:
            for offset in range(per_shard):
                index = shard * per_shard + offset
                caption = f"a photo of a {' '.join(rng.sample(WORDS, 3))} thing number {index % 997}"
                captions.append(caption)
                for extension, payload in (("jpg", photos[index % len(photos)]), ("txt", caption.encode())):
                    info = tarfile.TarInfo(f"{index:09d}.{extension}")
                    info.size = len(payload)
                    archive.addfile(info, io.BytesIO(payload))
        sizes[name] = per_shard
    (folder / "sizes.json").write_text(json.dumps(sizes))
    return captions


# ---------------------------------------------------------------- measurements


def reset_peak(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def peak_gib(device: torch.device) -> float | None:
    return torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None


def train_segment(common: dict, device: torch.device, precision: str, stop_at: int, first_step: int, **extra) -> dict:
    """One `train` call in the run folder; its rows of metrics.jsonl summarised."""
    from wit.trainer.train import train

    config = TrainConfig(**common, precision=precision, stop_at_step=stop_at, **extra)
    reset_peak(device)
    started = time.perf_counter()
    summary = train(config)
    seconds = time.perf_counter() - started
    records = [json.loads(line) for line in (Path(config.out) / "metrics.jsonl").read_text().splitlines()]
    records = [r for r in records if "loss" in r and first_step < r["step"] <= stop_at]
    rates = [r["samples_per_s"] for r in records[1:]] or [r["samples_per_s"] for r in records]
    loader = [r["loader_images_per_s_per_worker"] for r in records if r.get("loader_images_per_s_per_worker")]
    # mmap: only the small scaler entry is read from a checkpoint of ~1.8 GB (ViT-B/32 with AdamW state)
    state = torch.load(Path(config.out) / "checkpoints" / "latest.pt", map_location="cpu", weights_only=False, mmap=True)
    losses = [r["loss"] for r in records]
    return {"steps": summary["step"] - first_step, "samples_per_s": statistics.median(rates), "peak_gib": peak_gib(device),
            "loss_first": losses[0], "loss_last": losses[-1], "finite": all(loss == loss and abs(loss) != float("inf") for loss in losses),
            "loader_images_per_s": statistics.median(loader) * max(1, config.workers) if loader else None,
            "scaler_scale": state["scaler"].get("scale") if state["scaler"] else None, "seconds": seconds}


def step_rate(model: torch.nn.Module, loss_fn, precision: str, device: torch.device, batch: tuple, iters: int) -> dict:
    """samples/s of forward + loss + backward + AdamW (+ GradScaler in fp16) on tensors already on the device."""
    model = model.to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    scaler = make_scaler(precision, device)
    images, tokens = (t.to(device) for t in batch)

    def step():
        optimizer.zero_grad(set_to_none=True)
        with autocast_context(precision, device):
            outputs = model(images, tokens)
        scaler.scale(loss_fn(*outputs[:3])).backward()
        scaler.step(optimizer)
        scaler.update()

    reset_peak(device)
    for _ in range(3):  # warm-up: cuDNN autotuning, allocator
        step()
    synchronize(device)
    started = time.perf_counter()
    for _ in range(iters):
        step()
    synchronize(device)
    return {"samples_per_s": images.shape[0] * iters / (time.perf_counter() - started), "peak_gib": peak_gib(device)}


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# ---------------------------------------------------------------- the check


def run_rows(args: argparse.Namespace, device: torch.device, work: Path) -> list[dict]:
    rows: list[dict] = []

    def attempt(row: dict, measure) -> None:
        print(f"gpu_check: {row['model']} {row['precision']} {row['what']} ({row['impl']}) ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        try:
            row.update(measure())
            row["status"] = "ok"
        except Exception as exc:  # a check script: record the failure in its row and go on
            row["status"] = f"FAILED: {type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"
        row.setdefault("seconds", time.perf_counter() - started)
        rows.append(row)

    shard_dir = work / "shards"
    captions = write_shards(shard_dir, shards=max(4, args.workers), per_shard=max(args.batch, 64), image_px=96 if args.tiny else 256)
    tokenizer = work / "tokenizer.json"
    context = 77 if not args.tiny else 32
    train_tokenizer(captions, 1024, context).save(tokenizer)
    segment = args.steps
    log_every = max(1, segment // 5)
    precisions = args.precisions.split(",")
    open_clip, how = import_open_clip(args.peers_path)
    open_clip_note = f"open_clip {getattr(open_clip, '__version__', '?')} {how}" if open_clip else f"open_clip {how}"

    for model in args.models.split(","):
        run = work / model.replace("/", "-")
        common = {"data": str(shard_dir), "out": str(run), "preset": model, "batch_size": args.batch, "workers": args.workers,
                  "train_num_samples": 3 * segment * args.batch, "warmup": min(10, segment), "lr": 5e-4,
                  "tokenizer": str(tokenizer), "save_every": 0, "log_every": log_every, "device": str(device), "shuffle_buffer": 256}
        first, second = precisions[0], precisions[-1]
        plan = [(first, "train", None), (second, f"resume from {first}", None), (first, f"resume from {second}", None)]
        for index, (precision, what, _) in enumerate(plan):
            stop, start = (index + 1) * segment, index * segment
            attempt({"model": model, "precision": precision, "what": what, "impl": "wit train", "batch": args.batch},
                    lambda p=precision, stop=stop, start=start: train_segment({**common, "resume": "auto"}, device, p, stop, start))
        if not args.no_compile and model in args.compile_models.split(","):
            compiled = {**common, "out": str(run) + "-compile"}
            attempt({"model": model, "precision": second, "what": "--compile", "impl": "wit train", "batch": args.batch},
                    lambda: train_segment(compiled, device, second, segment, 0, compile=True))
        for precision in precisions:
            batch = random_batch(model, args.batch)
            attempt({"model": model, "precision": precision, "what": "step on tensors", "impl": "wit", "batch": args.batch},
                    lambda p=precision: step_rate(build_model(model), clip_loss, p, device, batch, args.step_iters))
            if open_clip is None:
                rows.append({"model": model, "precision": precision, "what": "step on tensors", "impl": "open_clip",
                             "batch": args.batch, "status": f"skipped: {open_clip_note}"})
                continue
            loss = open_clip.ClipLoss()
            attempt({"model": model, "precision": precision, "what": "step on tensors", "impl": "open_clip", "batch": args.batch},
                    lambda p=precision: step_rate(open_clip_model(open_clip, model), lambda i, t, s: loss(i, t, s), p, device, batch,
                                                  args.step_iters))
            wit_row, theirs = rows[-2], rows[-1]
            if wit_row.get("samples_per_s") and theirs.get("samples_per_s"):
                wit_row["vs_open_clip"] = wit_row["samples_per_s"] / theirs["samples_per_s"]
    return rows


def cell(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def print_table(rows: list[dict], device_name: str, notes: list[str]) -> None:
    print(f"\ngpu_check on {device_name}")
    header = (f"{'model':<9} {'precision':<9} {'what':<22} {'impl':<10} {'batch':>5} {'steps':>5} {'samples/s':>10} {'x open_clip':>11} "
              f"{'peak GiB':>8} {'loss first->last':>17} {'loader img/s':>12} {'scaler':>8} {'wall s':>7}  status")
    print(header)
    print("-" * len(header))
    for row in rows:
        losses = f"{row['loss_first']:.3f}->{row['loss_last']:.3f}" if "loss_first" in row else "-"
        print(f"{row['model']:<9} {row['precision']:<9} {row['what']:<22} {row['impl']:<10} {row['batch']:>5} {cell(row.get('steps'), 'd'):>5} "
              f"{cell(row.get('samples_per_s'), ',.1f'):>10} {cell(row.get('vs_open_clip'), '.2f'):>11} {cell(row.get('peak_gib'), '.2f'):>8} "
              f"{losses:>17} {cell(row.get('loader_images_per_s'), ',.0f'):>12} {cell(row.get('scaler_scale'), 'g'):>8} "
              f"{cell(row.get('seconds'), '.0f'):>7}  {row['status']}")
    for note in notes:
        print(f"note: {note}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu for a smoke run")
    parser.add_argument("--tiny", action="store_true", help="tiny-vit and tiny-rn at batch 8: a smoke run of this script")
    parser.add_argument("--models", default=None, help=f"comma-separated presets (default {FULL['models']}; --tiny: {TINY['models']})")
    parser.add_argument("--batch", type=int, default=None, help=f"per step (default {FULL['batch']}; --tiny: {TINY['batch']})")
    parser.add_argument("--steps", type=int, default=None, help=f"steps per training segment (default {FULL['steps']}; --tiny: {TINY['steps']})")
    parser.add_argument("--step-iters", type=int, default=None, help="timed steps of the tensor step rows")
    parser.add_argument("--precisions", default="amp,amp_bf16", help="the first trains, the last resumes it, the first resumes that")
    parser.add_argument("--workers", type=int, default=None, help="loader workers (default: CPUs - 2, at most 14; --tiny: 0)")
    parser.add_argument("--no-compile", action="store_true", help="skip the --compile runs")
    parser.add_argument("--compile-models", default=None, help="models with a --compile run (default: the first; compiling costs a minute or more each)")
    parser.add_argument("--peers-path", default=os.environ.get("WIT_PEERS_PATH"), help="folder with open_clip installed (--no-deps --target)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice; --tiny on CPU: 1)")
    parser.add_argument("--work-dir", default=None, help="where shards and runs go (default: a temporary folder, removed)")
    args = parser.parse_args(argv)
    defaults = TINY if args.tiny else FULL
    for name in ("models", "batch", "steps", "step_iters"):
        if getattr(args, name) is None:
            setattr(args, name, defaults[name])
    if args.compile_models is None:
        args.compile_models = args.models.split(",")[0]
    if args.workers is None:
        args.workers = 0 if args.tiny else max(1, min(14, (os.cpu_count() or 2) - 2))

    if args.threads is None and args.tiny and args.device == "cpu":
        args.threads = 1  # a smoke run on a shared CPU: two threads contending for cores were 10x slower here
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("gpu_check: CUDA is not available on this machine (torch %s), so there is nothing to check here. "
              "Run it on a machine with a GPU, or smoke-test the script with --device cpu --steps 3 --tiny." % torch.__version__,
              file=sys.stderr)
        return 2
    if device.type == "cuda":
        device = torch.device("cuda", torch.cuda.current_device() if device.index is None else device.index)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    device_name = (torch.cuda.get_device_name(device) if device.type == "cuda"
                   else f"CPU ({os.cpu_count()} cores, {torch.get_num_threads()} torch threads, torch {torch.__version__})")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(args.work_dir or scratch)
        rows = run_rows(args, device, work)
    notes = [f"{time.perf_counter() - started:.0f} s in all; samples/s of 'wit train' rows include the loader "
             f"({args.workers} workers); 'step on tensors' rows do not"]
    if device.type == "cpu":
        notes.append("on CPU both amp and amp_bf16 are bf16 autocast without a GradScaler: the fp16 paths are only checked on CUDA")
    skipped = [row["status"] for row in rows if row["status"].startswith("skipped")]
    if skipped:
        notes.append(f"the open_clip column is empty: {skipped[0].removeprefix('skipped: ')}")
    print_table(rows, device_name, notes)
    print(json.dumps({"device": device_name, "rows": rows}))
    return 1 if any(row["status"].startswith("FAILED") for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
