"""Streaming (image, caption) batches from webdataset shards for training and evaluation.

    shard URLs --split by rank and DataLoader worker--> shards/reader.py samples
      --shuffle buffer (undecoded bytes)--> JPEG draft decode + random square crop --> batches

Each worker builds whole batches: uint8 images (N, 3, S, S) and token ids (N, context), and for
SLIP the uncropped centre square of each image (N, 3, S/0.875, S/0.875) for its views. Images
stay uint8 until they reach the model's device, where `normalize_images` applies CLIP's mean and
std: a quarter of the bytes to copy, and the float maths runs on the accelerator.

Determinism, so that a resumed run sees exactly the batches an uninterrupted one would: the shard
order depends on (seed, epoch, pass), the shuffle buffer on (seed, epoch, rank, worker), each
crop on (seed, epoch, sample); a resumed worker replays its stream without decoding the samples
it already delivered. Training streams loop over their shards until the loop stops asking, so
every rank runs the same number of steps per epoch (the epoch length comes from sizes.json).
"""

from __future__ import annotations

import io
import logging
import random
import time
from collections import Counter
from dataclasses import dataclass
from typing import Iterator

import torch
from PIL import Image
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from wit.shards.reader import ReaderStats, iter_shard

log = logging.getLogger(__name__)

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


# Training crops a size x size square from the image resized to a short side of size / 0.875
# (256 px for 224): the paper's "random square crop from resized images", and the size img2dataset
# and `wit build` store, so shards of 256 px train at 224 px without any resampling.
TRAIN_RESIZE_RATIO = 1 / 0.875


def load_image(data: bytes, size: int, rng: random.Random | None) -> torch.Tensor:
    """JPEG/PNG/WebP bytes -> uint8 (3, size, size).

    Training (rng given): resize to a short side of size / 0.875, then a random size x size crop.
    Evaluation (rng None): resize to a short side of `size`, then the centre crop (CLIP's preprocess).
    Only the cropped region is resampled (PIL's resize with a box), not skipped when the image
    already has the target short side; JPEG draft mode lets libjpeg decode at 1/2, 1/4 or 1/8
    scale when the image is at least that much larger than needed.
    """
    target = round(size * TRAIN_RESIZE_RATIO) if rng is not None else size
    return _square_crop(_decode(data, target), target, size, rng)


def load_image_and_square(data: bytes, size: int, rng: random.Random) -> tuple[torch.Tensor, torch.Tensor]:
    """Training's random crop (as `load_image`) and, from the same decode, the whole centre square
    at the short side size / 0.875: the raw image SLIP's augmented views are cut from."""
    target = round(size * TRAIN_RESIZE_RATIO)
    image = _decode(data, target)
    return _square_crop(image, target, size, rng), _square_crop(image, target, target, None)


def _decode(data: bytes, target: int) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.draft("RGB", (target, target))
    return image.convert("RGB")


def _square_crop(image: Image.Image, target: int, size: int, rng: random.Random | None) -> torch.Tensor:
    """The size x size crop (random with rng, else centred) of `image` resized to a short side of `target`."""
    width, height = image.size
    scale = target / min(width, height)
    scaled_width, scaled_height = max(target, round(width * scale)), max(target, round(height * scale))
    if rng is not None:
        left, top = rng.randint(0, scaled_width - size), rng.randint(0, scaled_height - size)
    else:
        left, top = (scaled_width - size) // 2, (scaled_height - size) // 2
    if scaled_width == width and scaled_height == height:
        image = image.crop((left, top, left + size, top + size))
    else:
        scale_x, scale_y = scaled_width / width, scaled_height / height  # exact after rounding
        box = (left / scale_x, top / scale_y, min(width, (left + size) / scale_x), min(height, (top + size) / scale_y))
        image = image.resize((size, size), Image.BICUBIC, box=box)
    return torch.frombuffer(bytearray(image.tobytes()), dtype=torch.uint8).view(size, size, 3).permute(2, 0, 1)


def normalize_images(images: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """uint8 (N, 3, H, W) -> CLIP-normalised floats, on whatever device `images` is on."""
    mean = torch.tensor(CLIP_MEAN, device=images.device, dtype=dtype).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD, device=images.device, dtype=dtype).view(1, 3, 1, 1)
    return (images.to(dtype) / 255.0 - mean) / std


def shuffled(samples: Iterator[dict], buffer_size: int, rng: random.Random) -> Iterator[dict]:
    """Reservoir-style shuffle buffer: yield a random element of a full buffer, refill, repeat."""
    if buffer_size <= 1:
        yield from samples
        return
    buffer: list[dict] = []
    for sample in samples:
        if len(buffer) < buffer_size:
            buffer.append(sample)
            continue
        index = rng.randrange(buffer_size)
        buffer[index], sample = sample, buffer[index]
        yield sample
    rng.shuffle(buffer)
    yield from buffer


@dataclass
class StreamPosition:
    """Where a rank's stream is: the epoch, the batches of it already consumed, and per worker how
    many raw samples its stream had used up by its last consumed batch (`offsets`, from the batches'
    "stream" field). Without offsets a resume assumes no bad samples were skipped before it."""

    epoch: int = 0
    batches_done: int = 0
    offsets: dict[int, int] | None = None


class ShardStream(IterableDataset):
    """Batches of (uint8 images, token ids) from shards, split over ranks and DataLoader workers.

    Each batch also carries what the worker skipped since its previous batch (`skipped`, by
    reason) and how fast it decoded (`decode_seconds`, `decoded`), so the trainer can count bad
    samples and report loader images/s per worker although workers are separate processes.
    """

    def __init__(self, urls: list[str], tokenizer, image_size: int, batch_size: int, *, training: bool,
                 shuffle_buffer: int = 2000, seed: int = 0, rank: int = 0, world_size: int = 1, ssl_squares: bool = False):
        super().__init__()
        if not urls:
            raise ValueError("ShardStream needs at least one shard URL")
        self.urls = list(urls)
        self.tokenizer = tokenizer
        self.image_size = image_size
        self.batch_size = batch_size
        self.training = training
        self.shuffle_buffer = shuffle_buffer if training else 0
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.ssl_squares = ssl_squares and training  # SLIP: also the raw square of each image, "ssl_images"
        self.position = StreamPosition()

    def set_position(self, epoch: int, batches_done: int = 0, offsets: dict[int, int] | None = None) -> None:
        """Call before creating the DataLoader iterator (workers copy the dataset when they start)."""
        self.position = StreamPosition(epoch, batches_done, {int(k): v for k, v in offsets.items()} if offsets else None)

    # -- the per-worker stream ----------------------------------------------------------------

    def _consumer(self) -> tuple[int, int, int, int]:
        """(consumer id, consumer count, worker id, worker count) of the calling process."""
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info else (0, 1)
        # A fresh DataLoader asks worker 0 first. After resuming at batch b, the batch due next
        # belonged to worker b % W, so worker i takes over the stream of worker (i + b) % W.
        worker = (worker + self.position.batches_done) % workers
        return self.rank * workers + worker, self.world_size * workers, worker, workers

    def _raw_samples(self, consumer: int, consumers: int, stats: ReaderStats) -> Iterator[dict]:
        """Undecoded samples of this consumer's share: whole shards if there are enough, else every n-th sample."""
        epoch = self.position.epoch
        passes = range(1_000_000_000) if self.training else range(1)
        for pass_number in passes:
            order = list(self.urls)
            if self.training:  # the same order on every consumer, so the shares do not overlap
                random.Random(f"{self.seed}/{epoch}/{pass_number}").shuffle(order)
            if len(order) >= consumers:
                for url in order[consumer::consumers]:
                    yield from iter_shard(url, stats)
            else:
                for index, sample in enumerate(s for url in order for s in iter_shard(url, stats)):
                    if index % consumers == consumer:
                        yield sample
            if stats.shards == 0 or (stats.samples == 0 and pass_number > 0):
                return  # nothing readable: stop instead of spinning forever

    def __iter__(self) -> Iterator[dict]:
        consumer, consumers, worker, workers = self._consumer()
        if len(self.urls) < consumers and worker == 0 and self.rank == 0 and self.position.batches_done == 0:
            log.info("%d shard(s) for %d readers: splitting by sample, every reader reads every shard", len(self.urls), consumers)
        epoch = self.position.epoch
        stats = ReaderStats()
        stream = shuffled(self._raw_samples(consumer, consumers, stats), self.shuffle_buffer, random.Random(f"{self.seed}/{epoch}/{self.rank}/{worker}"))
        # Replay (without decoding) what this worker's stream had delivered before the resume point.
        offsets = self.position.offsets or {}
        if worker in offsets:
            consumed = offsets[worker]
        else:  # DataLoader hands out worker batches round robin: worker w made batches w, w+W, ...
            consumed = max(0, -(-(self.position.batches_done - worker) // workers)) * self.batch_size
        for _ in range(consumed):
            if next(stream, None) is None:
                return
        reported = Counter()
        images, squares, texts = [], [], []
        decode_seconds, decoded = 0.0, 0
        for sample in stream:
            consumed += 1
            started = time.perf_counter()
            rng = random.Random(f"{self.seed}/{epoch}/{sample['__url__']}/{sample['__key__']}") if self.training else None
            try:
                if self.ssl_squares:
                    image, square = load_image_and_square(sample["jpg"], self.image_size, rng)
                    squares.append(square)
                else:
                    image = load_image(sample["jpg"], self.image_size, rng)
                images.append(image)
            except Exception as exc:  # PIL raises many types on corrupt or truncated images
                stats.skip("bad_image")
                log.debug("skipping %s/%s: %s", sample["__url__"], sample["__key__"], exc)
                continue
            decode_seconds += time.perf_counter() - started
            decoded += 1
            texts.append(sample["txt"])
            if len(images) == self.batch_size:
                skipped = stats.skipped - reported
                reported = Counter(stats.skipped)
                batch = {
                    "images": torch.stack(images),
                    "tokens": self.tokenizer(texts),
                    "texts": texts,
                    "skipped": dict(skipped),
                    "decode_seconds": decode_seconds,
                    "decoded": decoded,
                    "stream": {"worker": worker, "offset": consumed},
                }
                if self.ssl_squares:
                    batch["ssl_images"] = torch.stack(squares)
                yield batch
                images, squares, texts, decode_seconds, decoded = [], [], [], 0.0, 0
        leftover = stats.skipped - reported
        if not self.training and (images or leftover):
            # Evaluation keeps the last partial batch; it may be empty and only carry the last skips.
            size = self.image_size
            yield {"images": torch.stack(images) if images else torch.empty(0, 3, size, size, dtype=torch.uint8),
                   "tokens": self.tokenizer(texts), "texts": texts, "skipped": dict(leftover),
                   "decode_seconds": decode_seconds, "decoded": decoded, "stream": {"worker": worker, "offset": consumed}}
        elif self.training and stats.samples == 0:
            log.warning("reader %d found no usable samples in its shards (skipped: %s)", consumer, dict(stats.skipped))


def make_loader(stream: ShardStream, num_workers: int, pin_memory: bool = False) -> DataLoader:
    """A DataLoader over worker-made batches (batch_size=None: the workers batch)."""
    return DataLoader(
        stream,
        batch_size=None,
        num_workers=num_workers,
        pin_memory=pin_memory,
        prefetch_factor=4 if num_workers else None,
        persistent_workers=False,
    )
