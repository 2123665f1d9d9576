"""Where and how a training process runs: its device, its default precision, its GradScaler.

Plain functions over plain inputs (an environment mapping, a GPU count, a CPU capability mapping,
a saved state dict), so each decision is testable on a CPU without torchrun or a GPU:

- `choose_device`: under torchrun every process on a node takes `cuda:LOCAL_RANK`, also when the
  user gave `--device cuda` without an index (all ranks on GPU 0 otherwise).
- `default_precision`: `amp` on CUDA; on CPU `fp32`, unless the CPU has bf16 matrix units.
- `restore_scaler`: load a checkpoint's GradScaler state only where both sides had an active
  scaler; a checkpoint written without one (CPU, fp32, amp_bf16) starts a fresh scaler.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping

import torch

from wit.core.errors import WitError


# ---------------------------------------------------------------- device


def choose_device(requested: str | None, environ: Mapping[str, str], cuda_device_count: int) -> torch.device:
    """The device of this process from `--device` (None: CUDA if any), torchrun's LOCAL_RANK and the GPU count.

    `cuda` without an index means this process's own GPU, `cuda:LOCAL_RANK`. An explicit index
    is kept for a single process per node, and refused when a node runs several processes: they
    would all share that one GPU (NCCL fails on duplicate GPUs, or they run out of memory).
    """
    local_rank = int(environ.get("LOCAL_RANK", "0"))
    local_world_size = int(environ.get("LOCAL_WORLD_SIZE", environ.get("WORLD_SIZE", "1")))
    if requested is None:
        requested = "cuda" if cuda_device_count > 0 else "cpu"
    try:
        device = torch.device(requested)
    except RuntimeError as exc:
        raise WitError(f"--device {requested}: {exc}") from None
    if device.type != "cuda":
        return device
    if cuda_device_count == 0:
        raise WitError(f"--device {requested}, but CUDA is not available here")
    if device.index is None:
        device = torch.device("cuda", local_rank)
    elif local_world_size > 1:
        raise WitError(f"--device {requested} would put all {local_world_size} processes of this node on one GPU; "
                       "give --device cuda and each process takes cuda:LOCAL_RANK")
    if device.index >= cuda_device_count:
        raise WitError(f"this process needs {device} (LOCAL_RANK {local_rank}) but only {cuda_device_count} GPU(s) are visible")
    return device


def ddp_device_ids(device: torch.device) -> list[int] | None:
    """DistributedDataParallel's device_ids: the one GPU of this process, None on CPU."""
    if device.type != "cuda":
        return None
    if device.index is None:
        raise WitError("a CUDA process needs an indexed device (cuda:N) for DDP")
    return [device.index]


# ---------------------------------------------------------------- precision


def cpu_runs_bf16_natively(capabilities: Mapping[str, object]) -> tuple[bool, str]:
    """(whether bf16 training is worth having on this CPU, why), from torch.cpu.get_capabilities().

    Only x86's AMX-BF16 tile units count. AVX512_BF16 alone (AMD Zen 4, Intel Cooper Lake) has
    bf16 dot products but no bf16 matrix engine; on the development machine's AMD EPYC with
    avx512_bf16, issue 18 measured `wit train` 3.7x slower with bf16 autocast than in fp32
    (docs/trainer.md has the caveats). ARM's bf16 extensions have not been measured here, so ARM
    stays fp32 by default.
    """
    name = capabilities.get("cpu_name") or capabilities.get("architecture") or "this CPU"
    if capabilities.get("amx_bf16"):
        return True, f"{name} has AMX-BF16 matrix units"
    if capabilities.get("avx512_bf16"):
        return False, f"{name} has avx512_bf16 but no AMX-BF16 matrix units"
    return False, f"{name} has no bf16 matrix units"


def cpu_capabilities() -> Mapping[str, object]:
    try:
        return torch.cpu.get_capabilities()
    except (AttributeError, RuntimeError):  # older torch, or cpuinfo failed to read the CPU
        return {}


def default_precision(device: torch.device, capabilities: Mapping[str, object] | None = None) -> tuple[str, str]:
    """(precision, why) when --precision is not given: amp on CUDA; on CPU fp32 unless bf16 runs natively."""
    if device.type == "cuda":
        return "amp", "CUDA: fp16 autocast with a GradScaler"
    if device.type != "cpu":
        return "fp32", f"{device.type}: no mixed precision default for this device"
    native, why = cpu_runs_bf16_natively(cpu_capabilities() if capabilities is None else capabilities)
    return ("amp_bf16", f"CPU: {why}") if native else ("fp32", f"CPU: {why}")


def autocast_context(precision: str, device: torch.device):
    """fp16 autocast for `amp` on CUDA, bf16 for `amp_bf16` (and for both on CPU), nothing for fp32."""
    if precision == "fp32":
        return contextlib.nullcontext()
    if device.type == "cuda":
        dtype = torch.float16 if precision == "amp" else torch.bfloat16
    else:
        dtype = torch.bfloat16  # CPU autocast is bf16 only in practice; fp16 there is slow and unscaled
    return torch.autocast(device_type=device.type, dtype=dtype)


# ---------------------------------------------------------------- GradScaler


def needs_grad_scaler(precision: str, device_type: str) -> bool:
    """fp16 autocast (amp on CUDA) needs loss scaling; bf16 and fp32 do not."""
    return precision == "amp" and device_type == "cuda"


def make_scaler(precision: str, device: torch.device) -> torch.amp.GradScaler:
    """A GradScaler that is active only where it is needed."""
    return torch.amp.GradScaler(device.type if device.type == "cuda" else "cpu", enabled=needs_grad_scaler(precision, device.type))


def restore_scaler(scaler: torch.amp.GradScaler, saved: Mapping | None) -> str:
    """Load a checkpoint's scaler state where it applies; returns what happened, for the log.

    GradScaler.load_state_dict raises on the empty state a disabled scaler saves, so a run that
    needs a scaler starts a fresh one (initial scale 2**16, which adapts in a few steps) when the
    checkpoint had none; a run that needs none ignores the saved state.
    """
    if not scaler.is_enabled():
        return "no GradScaler in this precision; a saved scaler state is not needed" if saved else "no GradScaler"
    if not saved:
        return f"the checkpoint has no GradScaler state (it was written without fp16 autocast): fresh scaler at scale {scaler.get_scale():g}"
    scaler.load_state_dict(dict(saved))
    return f"GradScaler restored at scale {float(saved['scale']):g}"
