"""Checkpoints: one file with everything needed to resume mid-epoch or to run eval and predict.

    {"model", "optimizer", "scaler", "scheduler", "tokenizer" (JSON), "model_config",
     "train_config", "position": {"epoch", "batches_done", "step"}, "objective", "format"}
    + "ssl_head", "ssl_head_config" for --objective slip ("model" is always the plain CLIP)

Written atomically (a temporary file in the same folder, then os.replace), so an interrupted
save never leaves a half-written checkpoint where `--resume` would find it.
"""

from __future__ import annotations

import os
from pathlib import Path

from wit.core.errors import WitError
from wit.core.storage import is_url, local_file

FORMAT = "wit-clip-1"


def save_checkpoint(path: str | Path, state: dict) -> Path:
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    torch.save({"format": FORMAT, **state}, temporary)
    os.replace(temporary, path)
    return path


def load_checkpoint(path: str | Path) -> dict:
    """A checkpoint from a local path or a URL (s3://, gs:// ...; copied to a scratch file for torch.load)."""
    if is_url(path):
        try:
            with local_file(path) as local:
                return _read_checkpoint(Path(local), shown=str(path))
        except FileNotFoundError:
            raise WitError(f"checkpoint not found: {path}") from None
    return _read_checkpoint(Path(path), shown=str(Path(path)))


def _read_checkpoint(path: Path, shown: str) -> dict:
    import torch

    if not path.is_file():
        raise WitError(f"checkpoint not found: {shown}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # torch raises RuntimeError/UnpicklingError/EOFError on bad files
        raise WitError(f"cannot read checkpoint {shown}: {exc}") from exc
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise WitError(f"{shown} is not a wit checkpoint (written by `wit train`)")
    return state


def load_model(path: str | Path, device: str = "cpu"):
    """(model in eval mode, tokenizer, checkpoint dict) from a checkpoint file."""
    from wit.trainer.model import CLIP, CLIPConfig
    from wit.trainer.tokenizer import Tokenizer

    state = load_checkpoint(path)
    model = CLIP(CLIPConfig.from_dict(state["model_config"]))
    model.load_state_dict(state["model"])
    tokenizer = Tokenizer.from_json(state["tokenizer"])
    return model.to(device).eval(), tokenizer, state
