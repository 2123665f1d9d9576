"""Write tiny webdataset shards for the reader and trainer tests, in wit's layout and img2dataset's.

The images are generated (a coloured shape on a noisy background, JPEG-encoded, not square) with
a caption that names the colour and the shape, so a tiny CLIP can learn the pairing on a CPU.
MICRO and train_args are that tiny CLIP and the `wit train` arguments the tests run it with.
"""

from __future__ import annotations

import io
import json
import random
import tarfile
from pathlib import Path

from PIL import Image, ImageDraw

COLOURS = {"red": (220, 30, 30), "green": (30, 180, 40), "blue": (30, 60, 220), "yellow": (235, 215, 30)}
SHAPES = ("circle", "square")
# A model small enough to train in seconds on a loaded 2-core machine (same code as every preset).
MICRO = {"embed_dim": 64, "image_size": 32, "vision_layers": 2, "vision_width": 64, "vision_patch_size": 8,
         "vision_heads": 2, "context_length": 16, "vocab_size": 300, "text_width": 64, "text_heads": 2,
         "text_layers": 2, "eot_token_id": 299}


def train_args(data, out, model_config, *extra, batch_size=32):
    """`wit train` arguments for MICRO-sized runs; `extra` adds flags."""
    return ["-q", "train", "--data", str(data), "--out", str(out), "--model-config", str(model_config),
            "--batch-size", str(batch_size), "--lr", "2e-3", "--warmup", "5", "--vocab-size", "300", "--precision", "fp32",
            "--log-every", "1", "--save-every", "0", *extra]


def make_image(colour: str, shape: str, rng: random.Random, size: tuple[int, int] = (80, 64)) -> bytes:
    background = tuple(rng.randint(90, 160) for _ in range(3))
    image = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(image)
    width, height = size
    radius = rng.randint(height // 4, height // 3)
    cx, cy = rng.randint(radius + 8, width - radius - 8), rng.randint(radius, height - radius)
    box = (cx - radius, cy - radius, cx + radius, cy + radius)
    (draw.ellipse if shape == "circle" else draw.rectangle)(box, fill=COLOURS[colour])
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


def make_pairs(count: int, seed: int = 0) -> list[tuple[bytes, str]]:
    rng = random.Random(seed)
    pairs = []
    for _ in range(count):
        colour, shape = rng.choice(list(COLOURS)), rng.choice(SHAPES)
        pairs.append((make_image(colour, shape, rng), f"a photo of a {colour} {shape}"))
    return pairs


def _add(archive: tarfile.TarFile, name: str, payload: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(payload)
    archive.addfile(info, io.BytesIO(payload))


def write_shard(path: Path, members: list[tuple[str, bytes]]) -> None:
    with tarfile.open(path, "w") as archive:
        for name, payload in members:
            _add(archive, name, payload)


def write_dataset(out: Path, pairs: list[tuple[bytes, str]], per_shard: int, style: str = "wit") -> Path:
    """Shards for `pairs`; returns the shard folder. style "wit": OUT/shards/*.tar + OUT/sizes.json;
    style "img2dataset": 00000.tar with 9-digit keys, 00000_stats.json beside it, no sizes.json."""
    shard_dir = out / "shards" if style == "wit" else out
    shard_dir.mkdir(parents=True, exist_ok=True)
    sizes = {}
    for shard_index, start in enumerate(range(0, len(pairs), per_shard)):
        members = []
        chunk = pairs[start : start + per_shard]
        for offset, (image, caption) in enumerate(chunk):
            key = f"{shard_index:05d}{offset:04d}"
            meta = {"key": key, "url": f"http://example.test/{key}.jpg", "caption": caption, "status": "success",
                    "error_message": None, "width": 80, "height": 64}
            if style == "wit":
                meta.update({"uid": f"{start + offset:016x}", "page_url": "http://example.test/", "lang": "en", "matches": [1]})
            members += [(f"{key}.jpg", image), (f"{key}.txt", caption.encode()), (f"{key}.json", json.dumps(meta).encode())]
        name = f"{shard_index:05d}.tar"
        write_shard(shard_dir / name, members)
        sizes[name] = len(chunk)
        if style == "img2dataset":
            stats = {"count": len(chunk), "successes": len(chunk), "failed_to_download": 0, "failed_to_resize": 0}
            (shard_dir / f"{shard_index:05d}_stats.json").write_text(json.dumps(stats))
    if style == "wit":
        (out / "sizes.json").write_text(json.dumps(sizes))
    return shard_dir
