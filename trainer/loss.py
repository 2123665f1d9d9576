"""CLIP's symmetric contrastive loss over the global batch.

For N pairs with L2-normalised embeddings I (image) and T (text) and logit scale s = 1/temperature:

    logits = s * I @ T.T                       (N x N; the diagonal holds the true pairs)
    loss   = (CE(logits, diag) + CE(logits.T, diag)) / 2

With several processes each holds N/world pairs. `gather_features` all-gathers the embeddings
*with gradients* (trainer/distributed.py, the same collectives on gloo and NCCL), so every rank
computes the loss of the full global batch. Its backward sums the gradient that every rank sends
to a rank's own features, i.e. world times the gradient of the one global loss; DDP then averages
over ranks, leaving exactly the gradient a single process would get on the concatenated batch
(tests/test_trainer_ddp.py checks this).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from wit.trainer.distributed import all_gather_with_grad


def contrastive_loss(image_features: torch.Tensor, text_features: torch.Tensor, logit_scale: torch.Tensor) -> torch.Tensor:
    """Mean of the image->text and text->image cross-entropies; features must already be gathered."""
    logits_per_image = logit_scale * image_features @ text_features.t()
    labels = torch.arange(logits_per_image.shape[0], device=logits_per_image.device)
    return (F.cross_entropy(logits_per_image, labels) + F.cross_entropy(logits_per_image.t(), labels)) / 2


def gather_features(image_features: torch.Tensor, text_features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Concatenate every rank's features in rank order, keeping the autograd graph (identity if not distributed)."""
    return all_gather_with_grad(image_features), all_gather_with_grad(text_features)


def clip_loss(image_features: torch.Tensor, text_features: torch.Tensor, logit_scale: torch.Tensor) -> torch.Tensor:
    """The loss every rank computes: contrastive loss over the gathered global batch, in fp32."""
    all_images, all_texts = gather_features(image_features, text_features)
    return contrastive_loss(all_images.float(), all_texts.float(), logit_scale.float())
