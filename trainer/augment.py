"""SimCLR's augmentations as SLIP uses them, applied by kornia to a whole batch on the training device.

    uint8 squares (N, 3, R, R) from the loader -> two views (2N, 3, S, S), CLIP-normalised floats

Each view: a random resized crop (scale 0.08-1, aspect 3/4-4/3) to the model's size, colour jitter
(brightness, contrast, saturation 0.4, hue 0.1) with p 0.8, grayscale with p 0.2, Gaussian blur
with p 0.5, horizontal flip with p 0.5 (SLIP's `datasets.get_dataset`, for 224-px views). The blur's
sigma (0.1-2 px in SLIP) is scaled by S / 224, so that a 64-px view is blurred as much relative to its
size as SLIP's 224-px views were, instead of 3.5x more.

kornia draws its parameters from torch's global generator. So that a resumed run makes exactly
the views an uninterrupted one would, `make_views` seeds a forked generator from (seed, rank, step),
the way the loader's crops depend only on their position (trainer/data.py), and leaves the global
generator as it found it.
"""

from __future__ import annotations

import hashlib
import math

import torch

from wit.trainer.data import CLIP_MEAN, CLIP_STD

# SLIP's values (facebookresearch/SLIP datasets.py); the blur sigma is for 224-px views.
CROP_SCALE = (0.08, 1.0)
JITTER = dict(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1)
JITTER_P = 0.8
GRAYSCALE_P = 0.2
BLUR_SIGMA_AT_224 = (0.1, 2.0)
BLUR_P = 0.5
FLIP_P = 0.5


class SimCLRAugment(torch.nn.Module):
    """Two SimCLR views of every image in a uint8 batch, at `size` x `size`."""

    def __init__(self, size: int):
        super().__init__()
        import kornia.augmentation as K

        self.size = size
        sigma = tuple(s * size / 224 for s in BLUR_SIGMA_AT_224)
        kernel = max(3, 2 * math.ceil(3 * sigma[1]) + 1)  # +-3 sigma of the widest blur, odd
        self.augment = K.AugmentationSequential(
            K.RandomResizedCrop((size, size), scale=CROP_SCALE),
            K.ColorJitter(**JITTER, p=JITTER_P),
            K.RandomGrayscale(p=GRAYSCALE_P),
            K.RandomGaussianBlur((kernel, kernel), sigma, p=BLUR_P),
            K.RandomHorizontalFlip(p=FLIP_P),
        )
        self.register_buffer("mean", torch.tensor(CLIP_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(CLIP_STD).view(1, 3, 1, 1), persistent=False)

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 (N, 3, H, W) -> (2N, 3, size, size): all first views, then all second views."""
        floats = images.float() / 255.0
        views = torch.cat([self.augment(floats), self.augment(floats)])
        return (views - self.mean.to(views.device)) / self.std.to(views.device)


def view_seed(seed: int, rank: int, step: int) -> int:
    """A 63-bit seed for the views of one rank's batch at one step (stable across runs and platforms)."""
    digest = hashlib.sha256(f"slip-views/{seed}/{rank}/{step}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def make_views(augment: SimCLRAugment, images: torch.Tensor, seed: int) -> torch.Tensor:
    """The two views of `images` drawn with a generator seeded by `seed`; torch's RNG state is restored."""
    devices = [images.device] if images.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        return augment(images)
