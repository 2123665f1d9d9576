"""Trainer figures: training step time (ours vs open_clip), loader images/s per core, GPU throughput and MFU.

    .venv/bin/python benchmarks/bench_trainer.py            # full CPU run (a few minutes)
    .venv/bin/python benchmarks/bench_trainer.py --quick    # smaller batch, fewer steps

1. Step time on CPU: forward + symmetric contrastive loss + backward + AdamW step, fp32 by default,
   for tiny-vit, RN50 and ViT-B/32 at a small batch, alternating ours and open_clip's equivalent
   model (same shapes, QuickGELU, same batch, same loss, same optimiser) in rounds so load on a
   shared machine hits both alike; the median step is reported.
   open_clip is in the `peers` extra. It imports torchvision at package import (for its image
   transforms and FrozenBatchNorm2d), and torchvision does not import with the CPU torch build
   here. When `import open_clip` fails for that reason only, this script installs an inert
   stand-in module for `torchvision` in sys.modules before importing open_clip: its attributes are
   placeholders that raise if anything is constructed from them. open_clip's model code (CLIP,
   VisionTransformer, ModifiedResNet, TextTransformer, ClipLoss) never calls torchvision, so the
   timed code is exactly open_clip's; the table says when the stand-in was used. Point
   --peers-path at a folder with open_clip installed (`pip install --no-deps --target DIR
   open_clip_torch`) if it is not in the venv.
2. Loader: trainer/data.py's ShardStream on 256 px JPEG shards at 224 px (the paper's random
   square crop), one process, images per CPU-second (= per core) and per wall second.
3. GPU (only where CUDA is available): ViT-B/32 samples/s at batch 256 with amp_bf16, and model
   FLOPs utilisation = (FLOPs per training sample x samples/s) / the GPU's peak bf16 FLOP/s.

The last line is one JSON object of every figure.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.machinery
import io
import json
import os
import random
import statistics
import sys
import tarfile
import tempfile
import time
import types
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from wit.trainer.loss import clip_loss  # noqa: E402
from wit.trainer.model import PRESETS, build_model, count_parameters  # noqa: E402

# Dense bf16 peak FLOP/s (no sparsity) by GPU name, for MFU; --peak-tflops overrides.
PEAK_BF16_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "L4": 121.0, "A10": 125.0}

# open_clip model names whose shapes equal our presets (the -quickgelu variants use QuickGELU as OpenAI did).
OPEN_CLIP_NAMES = {"RN50": "RN50-quickgelu", "ViT-B/32": "ViT-B-32-quickgelu"}


# ---------------------------------------------------------------- open_clip, with a torchvision stand-in if needed


class _PlaceholderMeta(type):
    def __getattr__(cls, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return f"torchvision-stand-in:{name}"


class _Placeholder(metaclass=_PlaceholderMeta):
    def __init__(self, *args, **kwargs):
        raise RuntimeError("torchvision stand-in (bench_trainer.py): image transforms are not available")


class _StandInModule(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Placeholder


def _install_torchvision_stand_in() -> None:
    for name in ("torchvision", "torchvision.transforms", "torchvision.transforms.functional", "torchvision.ops", "torchvision.ops.misc"):
        module = _StandInModule(name)
        module.__spec__ = importlib.machinery.ModuleSpec(name, None)
        module.__path__ = []
        sys.modules[name] = module
        if "." in name:
            parent, _, child = name.rpartition(".")
            setattr(sys.modules[parent], child, module)


def import_open_clip(peers_path: str | None):
    """(open_clip module or None, how it was imported)."""
    if peers_path:
        sys.path.append(peers_path)
    try:
        return importlib.import_module("open_clip"), "imported"
    except ModuleNotFoundError as exc:
        if exc.name != "torchvision" and not (exc.name or "").startswith("torchvision."):
            return None, f"unavailable ({exc})"
    except Exception as exc:  # a torchvision that fails to load its CUDA ops raises other errors
        if "torchvision" not in repr(exc):
            return None, f"unavailable ({type(exc).__name__}: {exc})"
    for name in [m for m in sys.modules if m == "torchvision" or m.startswith(("torchvision.", "open_clip"))]:
        del sys.modules[name]
    _install_torchvision_stand_in()
    try:
        return importlib.import_module("open_clip"), "imported with a torchvision stand-in (model code only)"
    except Exception as exc:
        return None, f"unavailable ({type(exc).__name__}: {exc})"


def open_clip_model(open_clip, preset: str):
    if preset in OPEN_CLIP_NAMES:
        return open_clip.create_model(OPEN_CLIP_NAMES[preset], device="cpu")
    config = PRESETS[preset]  # a tiny ViT: build open_clip's CLIP from the same shapes
    vision = open_clip.CLIPVisionCfg(layers=config.vision_layers, width=config.vision_width, head_width=config.vision_width // config.vision_heads,
                                     patch_size=config.vision_patch_size, image_size=config.image_size)
    text = open_clip.CLIPTextCfg(context_length=config.context_length, vocab_size=config.vocab_size, width=config.text_width,
                                 heads=config.text_heads, layers=config.text_layers)
    return open_clip.CLIP(embed_dim=config.embed_dim, vision_cfg=vision, text_cfg=text, quick_gelu=True)


# ---------------------------------------------------------------- step time


def random_batch(preset: str, batch: int):
    config = PRESETS[preset]
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(batch, 3, config.image_size, config.image_size, generator=generator)
    tokens = torch.randint(1, config.vocab_size - 2, (batch, config.context_length), generator=generator)
    tokens[:, 12] = config.vocab_size - 1  # EOT: the highest id, which both models locate
    return images, tokens


def make_step(model, loss_fn, precision: str):
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision != "fp32")

    def step(images, tokens):
        optimizer.zero_grad(set_to_none=True)
        with autocast:
            outputs = model(images, tokens)
        loss = loss_fn(*outputs[:3])
        loss.backward()
        optimizer.step()

    return step


def time_steps(step, batch_data, count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        step(*batch_data)
        times.append(time.perf_counter() - started)
    return times


def bench_step(preset: str, batch: int, rounds: int, steps: int, precision: str, open_clip) -> dict:
    torch.manual_seed(0)
    ours = build_model(preset).train()
    contenders = {"wit": (ours, make_step(ours, clip_loss, precision), count_parameters(ours)["total"])}
    if open_clip is not None:
        theirs = open_clip_model(open_clip, preset).train()
        loss = open_clip.ClipLoss()
        contenders["open_clip"] = (theirs, make_step(theirs, lambda i, t, s: loss(i, t, s), precision),
                                   sum(p.numel() for p in theirs.parameters()))
    data = random_batch(preset, batch)
    for _, step, _ in contenders.values():
        time_steps(step, data, 1)  # warm-up: allocator, first-call overheads
    times = {name: [] for name in contenders}
    for _ in range(rounds):  # alternate so that machine load affects both sides alike
        for name, (_, step, _) in contenders.items():
            times[name] += time_steps(step, data, steps)
    result = {}
    for name, (_, _, parameters) in contenders.items():
        median = statistics.median(times[name])
        result[name] = {"parameters": parameters, "step_s": median, "samples_per_s": batch / median}
    return result


# ---------------------------------------------------------------- loader


def synthetic_photo(rng: random.Random, size: int) -> bytes:
    """A photo-like JPEG: smooth gradients, shapes and mild noise (pure noise would overstate decode cost)."""
    from PIL import Image, ImageDraw, ImageFilter

    image = Image.linear_gradient("L").resize((size, size)).convert("RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x, y, r = rng.randrange(size), rng.randrange(size), rng.randrange(8, size // 3)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(rng.randrange(256) for _ in range(3)))
    noise = Image.effect_noise((size, size), 24).convert("RGB")
    image = Image.blend(image, noise, 0.15).filter(ImageFilter.SMOOTH)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


def write_loader_shards(folder: Path, count: int, size: int) -> list[str]:
    rng = random.Random(0)
    photos = [synthetic_photo(rng, size) for _ in range(64)]
    urls, per_shard = [], 500
    for shard in range(0, count, per_shard):
        path = folder / f"{shard // per_shard:05d}.tar"
        with tarfile.open(path, "w") as archive:
            for index in range(shard, min(count, shard + per_shard)):
                for extension, payload in (("jpg", photos[index % len(photos)]), ("txt", f"a photo number {index}".encode())):
                    info = tarfile.TarInfo(f"{index:09d}.{extension}")
                    info.size = len(payload)
                    archive.addfile(info, io.BytesIO(payload))
        urls.append(str(path))
    return urls


def bench_loader(images: int, shard_size: int, image_size: int) -> dict:
    from wit.trainer.data import ShardStream
    from wit.trainer.tokenizer import train_tokenizer

    tokenizer = train_tokenizer([f"a photo number {i}" for i in range(200)], vocab_size=300)
    with tempfile.TemporaryDirectory() as folder:
        urls = write_loader_shards(Path(folder), images, shard_size)
        stream = ShardStream(urls, tokenizer, image_size, 100, training=True, shuffle_buffer=500)
        iterator = iter(stream)
        next(iterator)  # first batch fills the shuffle buffer; not timed
        wall, cpu, done, decode_seconds = time.perf_counter(), time.process_time(), 0, 0.0
        while done < images:
            batch = next(iterator)
            done += len(batch["texts"])
            decode_seconds += batch["decode_seconds"]
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"images": done, "from_px": shard_size, "to_px": image_size, "images_per_cpu_s": done / cpu,
            "images_per_wall_s": done / wall, "decode_only_images_per_s": done / decode_seconds}


# ---------------------------------------------------------------- GPU


def training_flops_per_sample(preset: str) -> float:
    """FLOPs of forward + backward for one (image, text) pair, counted by torch on the meta device."""
    from torch.utils.flop_counter import FlopCounterMode

    model = build_model(preset, device="meta")
    config = PRESETS[preset]
    images = torch.empty(1, 3, config.image_size, config.image_size, device="meta")
    tokens = torch.zeros(1, config.context_length, dtype=torch.long, device="meta")
    counter = FlopCounterMode(display=False)
    with counter:
        image_features, text_features, scale = model(images, tokens)
        (image_features.sum() + text_features.sum()).backward()
    return float(counter.get_total_flops())


def bench_gpu(batch: int, steps: int, peak_tflops: float | None) -> dict:
    from wit.trainer.train import autocast_context

    device = torch.device("cuda")
    torch.manual_seed(0)
    model = build_model("ViT-B/32", device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    config = PRESETS["ViT-B/32"]
    images = torch.randn(batch, 3, config.image_size, config.image_size, device=device)
    tokens = torch.randint(1, config.vocab_size - 2, (batch, config.context_length), device=device)
    tokens[:, 12] = config.vocab_size - 1

    def step():
        optimizer.zero_grad(set_to_none=True)
        with autocast_context("amp_bf16", device):
            outputs = model(images, tokens)
        clip_loss(*outputs).backward()
        optimizer.step()

    for _ in range(3):
        step()
    torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(steps):
        step()
    torch.cuda.synchronize()
    samples_per_s = batch * steps / (time.perf_counter() - started)
    name = torch.cuda.get_device_name()
    peak = peak_tflops or next((value for key, value in PEAK_BF16_TFLOPS.items() if key in name), None)
    achieved = training_flops_per_sample("ViT-B/32") * samples_per_s
    return {"device": name, "batch": batch, "samples_per_s": samples_per_s, "achieved_tflops": achieved / 1e12,
            "peak_bf16_tflops": peak, "mfu": achieved / (peak * 1e12) if peak else None}


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="batch 4, fewer steps, smaller loader run")
    parser.add_argument("--presets", default="tiny-vit,RN50,ViT-B/32")
    parser.add_argument("--batch", type=int, default=None, help="batch for RN50/ViT-B/32 (default 8; 4 with --quick); tiny-vit uses 8x")
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32", help="CPU step precision (bf16 = autocast)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--peers-path", default=os.environ.get("WIT_PEERS_PATH"), help="folder with open_clip installed (--no-deps --target)")
    parser.add_argument("--gpu-batch", type=int, default=256)
    parser.add_argument("--peak-tflops", type=float, default=None, help="GPU peak bf16 TFLOP/s for MFU if not in the table")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    batch = args.batch or (4 if args.quick else 8)
    rounds, steps = (2, 1) if args.quick else (5, 1)  # one step per turn, alternating
    figures: dict = {"machine": {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
                                 "load_average_1m": os.getloadavg()[0]}, "precision": args.precision}

    open_clip, how = import_open_clip(args.peers_path)
    figures["open_clip"] = how if open_clip is None else f"{getattr(open_clip, '__version__', '?')} {how}"
    print(f"open_clip: {figures['open_clip']}")
    print(f"\nTraining step on CPU ({args.precision}, {torch.get_num_threads()} threads; forward + loss + backward + AdamW)")
    print(f"{'model':<10} {'batch':>5} {'impl':<10} {'params':>12} {'step s':>8} {'samples/s':>10}")
    figures["step"] = {}
    for preset in args.presets.split(","):
        preset_batch = batch * 8 if preset.startswith("tiny") else batch
        result = bench_step(preset, preset_batch, rounds, steps, args.precision, open_clip)
        figures["step"][preset] = {"batch": preset_batch, **result}
        for name, row in result.items():
            print(f"{preset:<10} {preset_batch:>5} {name:<10} {row['parameters']:>12,} {row['step_s']:>8.3f} {row['samples_per_s']:>10.2f}")
        if "open_clip" in result:
            ratio = result["wit"]["step_s"] / result["open_clip"]["step_s"]
            figures["step"][preset]["wit_over_open_clip"] = ratio
            print(f"{'':<10} {'':>5} {'ratio':<10} {'':>12} {ratio:>8.2f}  (wit step time / open_clip step time)")

    loader_images = 1000 if args.quick else 4000
    loader = bench_loader(loader_images, 256, 224)
    figures["loader"] = loader
    print("\nLoader (one process; tar read + shuffle buffer + JPEG decode + random square crop + resize + tokenize)")
    print(f"{loader['from_px']} px -> {loader['to_px']} px: {loader['images_per_cpu_s']:,.0f} images per CPU-second (per core), "
          f"{loader['images_per_wall_s']:,.0f} per wall second, decode+crop alone {loader['decode_only_images_per_s']:,.0f}/s")

    if torch.cuda.is_available():
        gpu = bench_gpu(args.gpu_batch, 10 if args.quick else 30, args.peak_tflops)
        figures["gpu"] = gpu
        mfu = f"MFU {gpu['mfu']:.1%}" if gpu["mfu"] is not None else "MFU unknown (pass --peak-tflops)"
        print(f"\nGPU {gpu['device']}: ViT-B/32 batch {gpu['batch']} amp_bf16: {gpu['samples_per_s']:,.0f} samples/s, "
              f"{gpu['achieved_tflops']:.1f} TFLOP/s, {mfu}")
    else:
        figures["gpu"] = None
        flops = training_flops_per_sample("ViT-B/32")
        figures["vit_b32_training_gflops_per_sample"] = flops / 1e9
        print(f"\nGPU: none here (CUDA unavailable); ViT-B/32 training FLOPs per sample: {flops / 1e9:.1f} GFLOP")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
