"""The options of `wit train`: one dataclass, one argparse group.

Only the standard library here: `wit --help` adds these flags, and torch is slow to import.
`wit train` and `python -m wit.trainer.train` (the torchrun entry point) both build the config
with `TrainConfig.from_args(args)` from the flags of `add_train_arguments(parser)`.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, fields

# The names of trainer/model.py's PRESETS, spelled out so --help does not import torch.
PRESET_NAMES = ("RN50", "RN101", "RN50x4", "ViT-B/32", "ViT-B/16", "ViT-L/14", "tiny-vit", "tiny-rn")
PRECISIONS = ("amp", "amp_bf16", "fp32")


@dataclass(frozen=True)
class TrainConfig:
    """Every option of a training run; recorded in each checkpoint."""

    data: str
    out: str = "runs/clip"
    preset: str = "tiny-vit"
    model_config: str | None = None  # a JSON file of CLIPConfig fields; replaces the preset
    epochs: int = 1
    batch_size: int = 64  # per process; the loss sees batch_size * world_size pairs
    lr: float = 5e-4
    weight_decay: float = 0.2
    beta1: float = 0.9
    beta2: float = 0.98
    eps: float = 1e-6
    warmup: int = 2000
    precision: str | None = None  # None: by device (trainer/runtime.py default_precision)
    grad_checkpointing: bool = False
    compile: bool = False
    grad_clip: float | None = None
    workers: int = 4
    shuffle_buffer: int = 2000
    seed: int = 0
    train_num_samples: int | None = None
    tokenizer: str | None = None
    vocab_size: int | None = None
    tokenizer_samples: int = 500_000
    resume: str | None = None
    save_every: int = 1000
    log_every: int = 20
    stop_at_step: int | None = None
    val_data: str | None = None
    device: str | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> TrainConfig:
        return cls(**{f.name: getattr(args, f.name) for f in fields(cls) if hasattr(args, f.name)})


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """The training flags, shared by `wit train` and `python -m wit.trainer.train`."""
    data = parser.add_argument_group("data")
    data.add_argument("--data", required=True, help="training shards: a folder, brace pattern or glob, on any fsspec filesystem; join several with ::")
    data.add_argument("--train-num-samples", type=int, default=None, help="epoch length in samples (default: from sizes.json)")
    data.add_argument("--val-data", default=None, help="held-out shards: retrieval R@K after each epoch")
    data.add_argument("--workers", type=int, default=4, help="DataLoader worker processes per GPU")
    data.add_argument("--shuffle-buffer", type=int, default=2000, help="samples per worker shuffle buffer")
    model = parser.add_argument_group("model and tokenizer")
    model.add_argument("--preset", default="tiny-vit", choices=PRESET_NAMES)
    model.add_argument("--model-config", default=None, help="JSON file of model shape fields (trainer/model.py CLIPConfig) instead of a preset")
    model.add_argument("--tokenizer", default=None, help="tokenizer .json, or CLIP's bpe_simple_vocab_16e6.txt.gz; default: train one on the captions")
    model.add_argument("--vocab-size", type=int, default=None, help="vocabulary of a tokenizer trained at start (default: the preset's)")
    model.add_argument("--tokenizer-samples", type=int, default=500_000, help="captions a tokenizer trained at start sees")
    optim = parser.add_argument_group("optimisation")
    optim.add_argument("--epochs", type=int, default=1)
    optim.add_argument("--batch-size", type=int, default=64, help="per process; the loss sees batch size x processes")
    optim.add_argument("--lr", type=float, default=5e-4)
    optim.add_argument("--weight-decay", type=float, default=0.2)
    optim.add_argument("--beta1", type=float, default=0.9)
    optim.add_argument("--beta2", type=float, default=0.98)
    optim.add_argument("--eps", type=float, default=1e-6)
    optim.add_argument("--warmup", type=int, default=2000, help="linear warmup steps before the cosine decay")
    optim.add_argument("--grad-clip", type=float, default=None, help="clip the gradient norm to this value")
    runtime = parser.add_argument_group("runtime")
    runtime.add_argument("--precision", default=None, choices=PRECISIONS,
                         help="amp: fp16 autocast + GradScaler on CUDA; amp_bf16: bf16 autocast; on CPU both amp modes use bf16. "
                              "Default: amp on CUDA; on CPU fp32, or amp_bf16 where the CPU has bf16 matrix units (AMX)")
    runtime.add_argument("--grad-checkpointing", action="store_true", help="recompute activations in backward to save memory")
    runtime.add_argument("--compile", action="store_true", help="torch.compile the model")
    runtime.add_argument("--device", default=None, help="cpu, cuda, ... (default: cuda if available); under torchrun, cuda means cuda:LOCAL_RANK")
    runtime.add_argument("--seed", type=int, default=0)
    run = parser.add_argument_group("run folder")
    run.add_argument("--out", default="runs/clip", help="run folder: tokenizer.json, metrics.jsonl, checkpoints/")
    run.add_argument("--resume", default=None, help="a checkpoint path, or 'auto' for OUT/checkpoints/latest.pt if present")
    run.add_argument("--save-every", type=int, default=1000, help="also checkpoint every N steps (mid-epoch)")
    run.add_argument("--log-every", type=int, default=20, help="progress line and metrics every N steps")
    run.add_argument("--stop-at-step", type=int, default=None, help="stop (with a checkpoint) after N steps without changing the schedule")
