"""Checkpoints of untrained MICRO CLIPs, and small ImageFolders, for the eval and predict tests.

An untrained model is enough to test the evaluation machinery (shapes, splits, sums, that training
a head or an encoder moves top-1); what a trained model scores is the demo's business.
"""

from __future__ import annotations

import random
from pathlib import Path

import torch

from trainer_shards import COLOURS, MICRO, SHAPES, make_image
from wit.trainer.checkpoint import save_checkpoint
from wit.trainer.model import CLIP, CLIPConfig
from wit.trainer.tokenizer import train_tokenizer

WORDS = [f"a photo of a {colour} {shape}" for colour in COLOURS for shape in SHAPES] + ["a picture of a thing", "this is an image"]


def micro_tokenizer():
    return train_tokenizer(WORDS * 20, vocab_size=MICRO["vocab_size"], context_length=MICRO["context_length"], min_frequency=1)


def micro_model(seed: int = 0):
    """(untrained MICRO CLIP in eval mode, a tokenizer that fits it)."""
    tokenizer = micro_tokenizer()
    torch.manual_seed(seed)
    config = CLIPConfig(**{**MICRO, "vocab_size": tokenizer.vocab_size, "eot_token_id": tokenizer.eot_token_id})
    return CLIP(config).eval(), tokenizer


def write_micro_checkpoint(path: Path, seed: int = 0) -> Path:
    model, tokenizer = micro_model(seed)
    return save_checkpoint(path, {"model": model.state_dict(), "tokenizer": tokenizer.to_json(),
                                  "model_config": model.config.to_dict(), "position": {"epoch": 0, "batches_done": 0, "step": 0}})


def write_colour_folder(root: Path, per_class: int, seed: int = 0, colours=tuple(COLOURS)) -> Path:
    """ImageFolder root/<colour>/<n>.jpg of shapes in that colour on noisy backgrounds."""
    rng = random.Random(seed)
    for colour in colours:
        (root / colour).mkdir(parents=True, exist_ok=True)
        for n in range(per_class):
            (root / colour / f"{n:03d}.jpg").write_bytes(make_image(colour, rng.choice(SHAPES), rng))
    return root
