"""Collectives the trainer needs beyond DDP's gradient all-reduce, one implementation for gloo and NCCL.

`all_gather_with_grad` concatenates every rank's rows in rank order and keeps the autograd graph.
Its backward all-reduces (sums) the gradient of the whole gathered tensor and keeps this rank's
slice: the sum over ranks of what each rank's loss sends to this rank's rows. The same two
collectives run on every backend. (torch.distributed.nn's all_gather, used before, takes a
reduce-scatter path on NCCL and an all-to-all path elsewhere, so the gloo tests did not cover the
code a GPU run takes.) Every rank must pass the same number of rows, as the training batches do.

`all_gather_rows` gathers rows without gradients when ranks hold different numbers of them
(evaluation shards split unevenly): sizes first, then padded rows, then the padding dropped.
"""

from __future__ import annotations

import torch
import torch.distributed as dist


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


class _AllGatherWithGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, tensor: torch.Tensor) -> torch.Tensor:
        tensor = tensor.contiguous()
        parts = [torch.empty_like(tensor) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, tensor)
        ctx.rows, ctx.rank = tensor.shape[0], dist.get_rank()
        return torch.cat(parts, dim=0)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        # A copy: autograd may hand the same gradient buffer to other consumers.
        summed = grad.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(summed, op=dist.ReduceOp.SUM)
        return summed[ctx.rank * ctx.rows : (ctx.rank + 1) * ctx.rows]


def all_gather_with_grad(tensor: torch.Tensor) -> torch.Tensor:
    """Every rank's `tensor` concatenated along dim 0 in rank order, differentiable; identity on one process."""
    if not is_distributed():
        return tensor
    return _AllGatherWithGrad.apply(tensor)


def all_gather_rows(tensor: torch.Tensor) -> torch.Tensor:
    """Every rank's rows (any count per rank, same trailing shape) in rank order; no gradients."""
    if not is_distributed():
        return tensor
    world_size = dist.get_world_size()
    count = torch.tensor([tensor.shape[0]], dtype=torch.long, device=tensor.device)
    counts = [torch.zeros_like(count) for _ in range(world_size)]
    dist.all_gather(counts, count)
    sizes = [int(c.item()) for c in counts]
    padded = tensor.new_zeros((max(sizes), *tensor.shape[1:]))
    padded[: tensor.shape[0]] = tensor
    parts = [torch.empty_like(padded) for _ in range(world_size)]
    dist.all_gather(parts, padded)
    return torch.cat([part[:size] for part, size in zip(parts, sizes)], dim=0)


def sum_over_ranks(value: int, device: torch.device) -> int:
    """An integer summed over every rank (identity on one process)."""
    if not is_distributed():
        return value
    total = torch.tensor([value], dtype=torch.long, device=device)
    dist.all_reduce(total, op=dist.ReduceOp.SUM)
    return int(total.item())
