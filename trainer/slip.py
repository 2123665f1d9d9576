"""SLIP (Mu et al. 2021, "SLIP: Self-supervision meets Language-Image Pre-training"): CLIP's loss
plus `ssl_scale` x SimCLR's NT-Xent over two augmented views of each image.

    CLIP view  -> image encoder -> projection -> CLIP loss with the captions
    view 1, 2  -> the same image encoder (pooled features) -> MLP head -> NT-Xent (temperature 0.1)
    loss = CLIP loss + ssl_scale * NT-Xent

The MLP head is SLIP's: Linear, BatchNorm, ReLU, Linear, BatchNorm, ReLU, Linear, reading the image
encoder's pooled features before CLIP's projection (SLIP: 4096 hidden, 256 out for its ViTs). The
three image batches go through the encoder in one pass. Both losses are computed over the global
batch: the views' embeddings are all-gathered with gradients by the same helper as CLIP's
(trainer/loss.py `gather_features`), so the gradient algebra described there holds for both.

The head is only needed for training: checkpoints keep the CLIP weights under "model" as for
`--objective clip` (so eval and predict read either) and the head under "ssl_head".
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from wit.trainer.loss import clip_loss, gather_features
from wit.trainer.model import CLIP

SLIP_MLP_DIM, SLIP_EMB_DIM = 4096, 256  # SLIP's --ssl-mlp-dim and --ssl-emb-dim defaults


@dataclass(frozen=True)
class SSLHeadConfig:
    in_dim: int
    mlp_dim: int
    emb_dim: int

    @classmethod
    def for_encoder(cls, feature_width: int, embed_dim: int, mlp_dim: int | None = None, emb_dim: int | None = None) -> "SSLHeadConfig":
        """A head reading `feature_width` features: SLIP's 4096/256 widths, capped at 8x / 2x the
        model's embedding width unless given (ViT-B/16: 512 -> 4096/256, as in SLIP; tiny-rn: 128
        -> 1024/256). Uncapped, a 4096-wide head would hold most of a tiny model's parameters."""
        return cls(feature_width, mlp_dim or min(SLIP_MLP_DIM, 8 * embed_dim), emb_dim or min(SLIP_EMB_DIM, 2 * embed_dim))


def build_ssl_head(config: SSLHeadConfig) -> nn.Sequential:
    """SLIP's 3-layer projection MLP (SyncBatchNorm there; trainer/train.py converts it under DDP on CUDA)."""
    return nn.Sequential(OrderedDict([
        ("layer1", nn.Linear(config.in_dim, config.mlp_dim)),
        ("bn1", nn.BatchNorm1d(config.mlp_dim)),
        ("relu1", nn.ReLU(inplace=True)),
        ("layer2", nn.Linear(config.mlp_dim, config.mlp_dim)),
        ("bn2", nn.BatchNorm1d(config.mlp_dim)),
        ("relu2", nn.ReLU(inplace=True)),
        ("layer3", nn.Linear(config.mlp_dim, config.emb_dim)),
    ]))


class SLIP(nn.Module):
    """A CLIP and the SSL head, trained together (one module, so DDP and the optimizer see both)."""

    def __init__(self, clip: CLIP, ssl_head: nn.Module):
        super().__init__()
        self.clip = clip
        self.ssl_head = ssl_head

    def forward(self, images: torch.Tensor, tokens: torch.Tensor, views: torch.Tensor):
        """(image features, text features, logit scale, view-1 embeddings, view-2 embeddings).

        `views` holds all first views then all second views (trainer/augment.py). Image and text
        features are L2-normalised as CLIP's forward returns them; the view embeddings are not
        (the NT-Xent normalises them)."""
        count = images.shape[0]
        visual = self.clip.visual
        pooled = visual.pooled(torch.cat([images, views.to(images.dtype)]))
        image_features = F.normalize(visual.project(pooled[:count]), dim=-1)
        first, second = self.ssl_head(pooled[count:]).chunk(2)
        return image_features, self.clip.encode_text(tokens), self.clip.temperature_scale(), first, second


def nt_xent_loss(first: torch.Tensor, second: torch.Tensor, temperature: float) -> torch.Tensor:
    """SimCLR's NT-Xent over N pairs of views (features already gathered).

    Each of the 2N views is an anchor whose positive is the other view of its image and whose
    negatives are the other 2N - 2 views; the loss is the mean cross-entropy over the anchors of
    cosine similarity / temperature."""
    first, second = F.normalize(first.float(), dim=-1), F.normalize(second.float(), dim=-1)
    count = first.shape[0]
    labels = torch.arange(count, device=first.device)
    self_pair = torch.eye(count, dtype=torch.bool, device=first.device)
    logits_ab = first @ second.t() / temperature
    logits_aa = (first @ first.t() / temperature).masked_fill(self_pair, float("-inf"))
    logits_bb = (second @ second.t() / temperature).masked_fill(self_pair, float("-inf"))
    loss_a = F.cross_entropy(torch.cat([logits_ab, logits_aa], dim=1), labels)
    loss_b = F.cross_entropy(torch.cat([logits_ab.t(), logits_bb], dim=1), labels)
    return (loss_a + loss_b) / 2


def ssl_loss(first: torch.Tensor, second: torch.Tensor, temperature: float) -> torch.Tensor:
    """NT-Xent over the global batch: every rank's views gathered with gradients, as in `clip_loss`."""
    all_first, all_second = gather_features(first, second)
    return nt_xent_loss(all_first, all_second, temperature)


@dataclass(frozen=True)
class SlipLoss:
    """The objective on SLIP's forward outputs: (total, {"clip_loss": ..., "ssl_loss": ...})."""

    ssl_scale: float = 1.0
    temperature: float = 0.1

    def __call__(self, image_features, text_features, logit_scale, first, second):
        clip_part = clip_loss(image_features, text_features, logit_scale)
        ssl_part = ssl_loss(first, second, self.temperature)
        return clip_part + self.ssl_scale * ssl_part, {"clip_loss": clip_part.detach(), "ssl_loss": ssl_part.detach()}
