"""The training loop: read shards, compute CLIP's contrastive loss over the global batch, step AdamW.

Single process:      wit train --data OUT/shards --preset ViT-B/32 --out runs/b32
Several GPUs/nodes:  torchrun --nproc_per_node 8 -m wit.trainer.train --data ... (same flags)

Paper defaults: AdamW (beta2 0.98, eps 1e-6), decoupled weight decay 0.2 on weight matrices only
(none on gains, biases and the temperature), linear warmup then cosine decay, temperature clamped
at 100. Everything a resume needs is in one checkpoint (trainer/checkpoint.py).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch
import torch.distributed as dist

from wit.shards.reader import ReaderStats, expand_urls, epoch_size, iter_samples
from wit.trainer.checkpoint import load_checkpoint, save_checkpoint
from wit.trainer.config import PRECISIONS, TrainConfig, add_train_arguments
from wit.trainer.data import ShardStream, make_loader, normalize_images
from wit.trainer.loss import clip_loss
from wit.trainer.model import CLIP, MAX_LOGIT_SCALE, CLIPConfig, build_model, count_parameters, preset_config
from wit.trainer.runtime import autocast_context, choose_device, ddp_device_ids, default_precision, make_scaler, restore_scaler
from wit.trainer.tokenizer import Tokenizer, load_tokenizer, train_tokenizer
from wit.core.errors import WitError
from wit.core.storage import is_url, read_text

log = logging.getLogger("wit.train")


# ---------------------------------------------------------------- pieces the loop is made of


def setup_distributed(device_name: str | None) -> tuple[int, int, int, torch.device]:
    """(rank, world size, local rank, device); initialises torch.distributed under torchrun."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = choose_device(device_name, os.environ, torch.cuda.device_count() if torch.cuda.is_available() else 0)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return rank, world_size, local_rank, device


def leave_distributed(finished: bool) -> None:
    """Tear the process group down. After a finished run, every rank first meets at a barrier: a
    gloo worker thread drops a finished collective's tensors just after reporting it done, and a
    process whose interpreter is already shutting down by then aborts ("terminate called without
    an active exception"). The barrier holds no Python tensors and gives the other threads time.
    After a failure there is no barrier: the other ranks may never reach it."""
    if not dist.is_initialized():
        return
    if finished:
        dist.barrier()
    dist.destroy_process_group()


def parameter_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """Decay weight matrices and embeddings; not gains, biases (all 1-d) nor the scalar temperature."""
    decay, no_decay = [], []
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        (no_decay if parameter.ndim < 2 or "logit_scale" in name else decay).append(parameter)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def cosine_with_warmup(warmup: int, total: int):
    """Multiplier on the base lr: linear warmup over `warmup` steps, then cosine down to zero at `total`."""

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    return factor


def train_step(model, batch: dict, optimizer, scaler, scheduler, precision: str, device: torch.device, grad_clip: float | None) -> float:
    """One optimisation step on one batch; returns the (global-batch) loss."""
    images = normalize_images(batch["images"].to(device, non_blocking=True))
    tokens = batch["tokens"].to(device, non_blocking=True)
    optimizer.zero_grad(set_to_none=True)
    with autocast_context(precision, device):
        image_features, text_features, logit_scale = model(images, tokens)
    loss = clip_loss(image_features, text_features, logit_scale)
    scaler.scale(loss).backward()
    if grad_clip:
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    scaler.step(optimizer)
    scaler.update()
    scheduler.step()
    with torch.no_grad():  # keep the parameter itself in range, not only its use in forward
        unwrap(model).logit_scale.clamp_(0, MAX_LOGIT_SCALE)
    return loss.item()


def unwrap(model: torch.nn.Module) -> CLIP:
    """The CLIP inside DDP and/or torch.compile wrappers."""
    model = getattr(model, "_orig_mod", model)
    model = getattr(model, "module", model)
    return getattr(model, "_orig_mod", model)


def prepare_tokenizer(config: TrainConfig, run_dir: Path, context_length: int, default_vocab: int, rank: int, world_size: int) -> Tokenizer:
    """The run's tokenizer: the run's saved one, the user's file, or one trained on the shard captions (rank 0)."""
    saved = run_dir / "tokenizer.json"
    if not saved.exists() and rank == 0:
        if config.tokenizer:
            tokenizer = load_tokenizer(config.tokenizer)
        else:
            vocab_size = config.vocab_size or default_vocab
            log.info("training a %d-token BPE tokenizer on up to %d captions of %s", vocab_size, config.tokenizer_samples, config.data)
            tokenizer = train_tokenizer(caption_sample(config.data, config.tokenizer_samples), vocab_size, context_length)
        tokenizer.with_context_length(context_length).save(saved)
    if world_size > 1:
        dist.barrier()
    return load_tokenizer(saved, context_length)


def load_model_config(path: str) -> CLIPConfig:
    """A custom architecture from a JSON object of CLIPConfig fields (see the presets in trainer/model.py)."""
    try:
        return CLIPConfig.from_dict(json.loads(read_text(path)))
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise WitError(f"cannot use model config {path}: {exc}") from exc


def caption_sample(spec: str, limit: int):
    stats = ReaderStats()
    for index, sample in enumerate(iter_samples(spec, stats)):
        if index >= limit:
            break
        yield sample["txt"]


class MetricsLog:
    """metrics.jsonl in the run folder, plus TensorBoard when it is installed."""

    def __init__(self, run_dir: Path, enabled: bool):
        self.enabled = enabled
        self.path = run_dir / "metrics.jsonl"
        self.tensorboard = None
        if enabled:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tensorboard = SummaryWriter(str(run_dir / "tensorboard"))
            except ImportError:
                log.debug("tensorboard not installed; metrics go to %s only", self.path)

    def write(self, record: dict) -> None:
        if not self.enabled:
            return
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
        if self.tensorboard is not None:
            for key, value in record.items():
                if isinstance(value, (int, float)) and key != "step":
                    self.tensorboard.add_scalar(key, value, record["step"])

    def close(self) -> None:
        if self.tensorboard is not None:
            self.tensorboard.close()


def progress_line(step: int, total: int, epoch: int, loss: float, scale: float, samples_per_s: float, lr: float, loader_rate: float | None) -> str:
    done = step / max(1, total)
    bar = "#" * int(done * 20) + "." * (20 - int(done * 20))
    loader = f" | loader {loader_rate:,.0f} img/s/worker" if loader_rate else ""
    return (f"[{bar}] {step}/{total} ep {epoch} | loss {loss:.4f} | temp {1 / scale:.4f} (scale {scale:.1f})"
            f" | {samples_per_s:,.1f} samples/s | lr {lr:.2e}{loader}")


# ---------------------------------------------------------------- the loop


def train(config: TrainConfig) -> dict:
    """Train; returns a summary (final step, last loss, checkpoint path, bad samples)."""
    if config.precision is not None and config.precision not in PRECISIONS:
        raise WitError(f"--precision must be one of {', '.join(PRECISIONS)}")
    if is_url(config.out):
        # torch checkpoints, metrics.jsonl and resume all work on a local folder.
        raise WitError(f"--out is the run folder and must be local, not {config.out}; copy it to object storage after the run")
    rank, world_size, _, device = setup_distributed(config.device)
    is_main = rank == 0
    if config.precision is None:
        precision, why = default_precision(device)
        config = replace(config, precision=precision)
        if is_main:
            log.info("precision %s (the default on %s; %s); --precision chooses another", precision, device.type, why)
    run_dir = Path(config.out)
    checkpoint_dir = run_dir / "checkpoints"
    if is_main:
        run_dir.mkdir(parents=True, exist_ok=True)

    resume_state = None
    resume_path = config.resume
    if resume_path == "auto":
        resume_path = str(checkpoint_dir / "latest.pt") if (checkpoint_dir / "latest.pt").exists() else None
    if resume_path:
        resume_state = load_checkpoint(resume_path)
        if is_main and not (run_dir / "tokenizer.json").exists():
            Tokenizer.from_json(resume_state["tokenizer"]).save(run_dir / "tokenizer.json")

    urls = expand_urls(config.data)
    samples = config.train_num_samples or epoch_size(urls)
    global_batch = config.batch_size * world_size
    steps_per_epoch = samples // global_batch
    if steps_per_epoch == 0:
        raise WitError(f"{samples} samples is less than one global batch of {global_batch}; lower --batch-size")
    total_steps = steps_per_epoch * config.epochs

    preset = load_model_config(config.model_config) if config.model_config else preset_config(config.preset)
    tokenizer = prepare_tokenizer(config, run_dir, preset.context_length, preset.vocab_size, rank, world_size)
    model_config = preset.with_vocab(tokenizer.vocab_size, tokenizer.eot_token_id)
    torch.manual_seed(config.seed)
    model = build_model(model_config, device)
    if is_main:
        counts = count_parameters(model)
        log.info("model %s: %s parameters (image %s, text %s)", config.model_config or config.preset, f"{counts['total']:,}", f"{counts['visual']:,}", f"{counts['text']:,}")
        log.info("%d samples, %d shards, global batch %d (%d x %d processes), %d steps/epoch, %d epochs",
                 samples, len(urls), global_batch, config.batch_size, world_size, steps_per_epoch, config.epochs)
    if config.grad_checkpointing:
        model.set_grad_checkpointing(True)

    optimizer = torch.optim.AdamW(parameter_groups(model, config.weight_decay), lr=config.lr, betas=(config.beta1, config.beta2), eps=config.eps)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, cosine_with_warmup(config.warmup, total_steps))
    scaler = make_scaler(config.precision, device)
    if is_main and config.precision == "amp" and device.type != "cuda":
        log.info("--precision amp on %s: bf16 autocast without a GradScaler (fp16 autocast is for CUDA)", device.type)
    epoch, batches_done, step = 0, 0, 0
    stream_offsets: dict[int, int] = {}  # this rank's worker -> raw samples used, for an exact resume
    if resume_state is not None:
        model.load_state_dict(resume_state["model"])
        optimizer.load_state_dict(resume_state["optimizer"])
        scheduler.load_state_dict(resume_state["scheduler"])
        scaler_note = restore_scaler(scaler, resume_state.get("scaler"))
        position = resume_state["position"]
        epoch, batches_done, step = position["epoch"], position["batches_done"], position["step"]
        saved_offsets = position.get("stream_offsets") or []
        if batches_done and (len(saved_offsets) != world_size or position.get("workers") != config.workers):
            log.warning("resuming with a different process or worker count: the data stream restarts from an estimate, "
                        "not the exact sample it stopped at")
        elif batches_done:
            stream_offsets = {int(k): v for k, v in saved_offsets[rank].items()}
        if is_main:
            log.info("resumed from %s at epoch %d, batch %d, step %d (written under --precision %s, now %s; %s)", resume_path, epoch,
                     batches_done, step, resume_state.get("train_config", {}).get("precision"), config.precision, scaler_note)

    step_model: torch.nn.Module = model
    if world_size > 1:
        step_model = torch.nn.parallel.DistributedDataParallel(model, device_ids=ddp_device_ids(device))
    if config.compile:
        step_model = torch.compile(step_model)

    stream = ShardStream(urls, tokenizer, model_config.image_size, config.batch_size, training=True,
                         shuffle_buffer=config.shuffle_buffer, seed=config.seed, rank=rank, world_size=world_size)
    metrics = MetricsLog(run_dir, enabled=is_main)
    bad_samples: dict[str, int] = {}
    last_loss = float("nan")
    stop_at = min(total_steps, config.stop_at_step or total_steps)

    def checkpoint(*names: str) -> Path | None:
        """Every rank must call this (it gathers each rank's stream position); rank 0 writes the files."""
        every_rank_offsets = [stream_offsets]
        if world_size > 1:
            every_rank_offsets = [None] * world_size
            dist.all_gather_object(every_rank_offsets, stream_offsets)
        if not is_main:
            return None
        state = {
            "model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
            "scaler": scaler.state_dict(), "tokenizer": tokenizer.to_json(), "model_config": model_config.to_dict(),
            "train_config": asdict(config), "position": {"epoch": epoch, "batches_done": batches_done, "step": step,
                         "stream_offsets": every_rank_offsets, "workers": config.workers},
            "bad_samples": bad_samples,
        }
        return [save_checkpoint(checkpoint_dir / name, state) for name in names][0]

    latest = None
    model.train()
    while epoch < config.epochs and step < stop_at:
        stream.set_position(epoch, batches_done, stream_offsets)
        loader = iter(make_loader(stream, config.workers, pin_memory=device.type == "cuda"))
        window_start, window_samples, decode_seconds, decoded = time.perf_counter(), 0, 0.0, 0
        while batches_done < steps_per_epoch and step < stop_at:
            batch = next(loader, None)
            if batch is None:
                raise WitError(f"the shards of {config.data} ran out of usable samples (skipped so far: {bad_samples})")
            stream_offsets[batch["stream"]["worker"]] = batch["stream"]["offset"]
            for reason, count in batch["skipped"].items():
                bad_samples[reason] = bad_samples.get(reason, 0) + count
            decode_seconds, decoded = decode_seconds + batch["decode_seconds"], decoded + batch["decoded"]
            last_loss = train_step(step_model, batch, optimizer, scaler, scheduler, config.precision, device, config.grad_clip)
            batches_done += 1
            step += 1
            window_samples += global_batch
            if is_main and (step % config.log_every == 0 or step == stop_at or batches_done == steps_per_epoch):
                elapsed = time.perf_counter() - window_start
                scale = unwrap(step_model).temperature_scale().item()
                record = {
                    "step": step, "epoch": epoch, "loss": last_loss, "lr": scheduler.get_last_lr()[0],
                    "logit_scale": scale, "temperature": 1 / scale, "samples_per_s": window_samples / elapsed,
                    "loader_images_per_s_per_worker": decoded / decode_seconds if decode_seconds else None,
                    "bad_samples": sum(bad_samples.values()),
                }
                metrics.write(record)
                log.info(progress_line(step, total_steps, epoch, last_loss, scale, record["samples_per_s"], record["lr"],
                                       record["loader_images_per_s_per_worker"]))
                window_start, window_samples, decode_seconds, decoded = time.perf_counter(), 0, 0.0, 0
            if config.save_every and step % config.save_every == 0 and step < stop_at:
                latest = checkpoint("latest.pt")
        del loader  # shuts the epoch's workers down
        if batches_done == steps_per_epoch:
            epoch, batches_done, stream_offsets = epoch + 1, 0, {}
            latest = checkpoint("latest.pt", f"epoch_{epoch}.pt")
            if config.val_data:  # every rank encodes its share: none waits in a collective meanwhile
                from wit.trainer.evaluate import retrieval_metrics

                result = retrieval_metrics(unwrap(step_model), tokenizer, config.val_data, device=device, batch_size=config.batch_size,
                                           workers=config.workers, rank=rank, world_size=world_size)
                if is_main:
                    metrics.write({"step": step, "epoch": epoch, **{f"val_{k}": v for k, v in result.items()}})
                    log.info("val retrieval after epoch %d: %s", epoch, json.dumps(result))
    if step < total_steps and step == stop_at:
        latest = checkpoint("latest.pt")
        if is_main:
            log.info("stopped at step %d of %d as asked; continue with --resume auto", step, total_steps)
    metrics.close()
    if world_size > 1:  # every rank skipped its own bad samples: report the sum
        per_rank = [None] * world_size
        dist.all_gather_object(per_rank, bad_samples)
        bad_samples = {reason: sum(r.get(reason, 0) for r in per_rank) for reason in set().union(*per_rank)}
    if bad_samples and is_main:
        log.warning("skipped %d bad samples: %s", sum(bad_samples.values()), bad_samples)
    return {"step": step, "total_steps": total_steps, "loss": last_loss, "checkpoint": str(latest) if latest else None,
            "bad_samples": bad_samples}


def run_training(config: TrainConfig) -> int:
    """Train, leave the process group, print the summary as JSON on rank 0: what `wit train` and
    `python -m wit.trainer.train` both run, so `torchrun ... wit train` works as well as `-m`."""
    finished = False
    try:
        summary = train(config)
        finished = True
    finally:
        leave_distributed(finished)
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps(summary))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point for torchrun: `torchrun --nproc_per_node N -m wit.trainer.train ARGS`."""
    parser = argparse.ArgumentParser(prog="python -m wit.trainer.train", description="Train CLIP on webdataset shards.")
    add_train_arguments(parser)
    args = parser.parse_args(argv)
    rank = int(os.environ.get("RANK", "0"))
    logging.basicConfig(level=logging.INFO if rank == 0 else logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    try:
        return run_training(TrainConfig.from_args(args))
    except WitError as exc:  # `wit train` gets this from the wit command frame
        print(f"wit: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
