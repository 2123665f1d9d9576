"""CLIP, the whole model in one file (Radford et al. 2021, "Learning Transferable Visual Models
From Natural Language Supervision"; shapes as in OpenAI's released models).

    image -> ModifiedResNet | VisionTransformer -> image embedding  \
                                                                      cosine similarity x temperature
    tokens -> causal TextTransformer (EOT features) -> text embedding /

Read top to bottom: attention and transformer blocks, the two image encoders, the text encoder,
CLIP itself, then the presets and parameter counting.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import asdict, dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

# The temperature is learned as log(1/T); it starts at T = 0.07 and logits are capped at 100.
INIT_LOGIT_SCALE = math.log(1 / 0.07)
MAX_LOGIT_SCALE = math.log(100.0)


# ---------------------------------------------------------------- building blocks


class QuickGELU(nn.Module):
    """x * sigmoid(1.702 x): the GELU approximation the released CLIP models were trained with."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


class SelfAttention(nn.Module):
    """Multi-head self-attention with a fused qkv projection (same parameters as nn.MultiheadAttention)."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        assert width % heads == 0, "width must be divisible by heads"
        self.heads = heads
        self.in_proj = nn.Linear(width, 3 * width)
        self.out_proj = nn.Linear(width, width)

    def forward(self, x: torch.Tensor, causal: bool) -> torch.Tensor:
        batch, length, width = x.shape
        q, k, v = self.in_proj(x).view(batch, length, 3, self.heads, width // self.heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        return self.out_proj(out.transpose(1, 2).reshape(batch, length, width))


class ResidualAttentionBlock(nn.Module):
    """Pre-norm transformer block: x + attn(ln(x)), then x + mlp(ln(x)) with a 4x hidden layer."""

    def __init__(self, width: int, heads: int, quick_gelu: bool):
        super().__init__()
        self.ln_1 = nn.LayerNorm(width)
        self.attn = SelfAttention(width, heads)
        self.ln_2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(
            OrderedDict(
                c_fc=nn.Linear(width, 4 * width),
                gelu=QuickGELU() if quick_gelu else nn.GELU(),
                c_proj=nn.Linear(4 * width, width),
            )
        )

    def forward(self, x: torch.Tensor, causal: bool = False) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), causal)
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, width: int, layers: int, heads: int, quick_gelu: bool = True, causal: bool = False):
        super().__init__()
        self.causal = causal
        self.grad_checkpointing = False
        self.resblocks = nn.ModuleList(ResidualAttentionBlock(width, heads, quick_gelu) for _ in range(layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.resblocks:
            if self.grad_checkpointing and self.training:
                x = checkpoint(block, x, self.causal, use_reentrant=False)
            else:
                x = block(x, self.causal)
        return x


# ---------------------------------------------------------------- image encoder 1: modified ResNet


class Bottleneck(nn.Module):
    """ResNet bottleneck where striding is an average pool after the 3x3 conv (anti-aliasing, Zhang 2019)."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.avgpool = nn.AvgPool2d(stride) if stride > 1 else nn.Identity()
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride > 1 or inplanes != planes * self.expansion:
            self.downsample = nn.Sequential(
                OrderedDict(
                    pool=nn.AvgPool2d(stride) if stride > 1 else nn.Identity(),
                    conv=nn.Conv2d(inplanes, planes * self.expansion, 1, bias=False),
                    bn=nn.BatchNorm2d(planes * self.expansion),
                )
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(self.avgpool(out)))
        return self.relu(out + identity)


class AttentionPool2d(nn.Module):
    """Replaces global average pooling: one attention query (the mean feature) over all positions."""

    def __init__(self, spatial: int, embed_dim: int, heads: int, output_dim: int):
        super().__init__()
        self.positional_embedding = nn.Parameter(torch.randn(spatial**2 + 1, embed_dim) / embed_dim**0.5)
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.k_proj = nn.Linear(embed_dim, embed_dim)
        self.v_proj = nn.Linear(embed_dim, embed_dim)
        self.c_proj = nn.Linear(embed_dim, output_dim)
        self.heads = heads

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c_proj(self.pool(x))

    def pool(self, x: torch.Tensor) -> torch.Tensor:
        """The attention-pooled features before the output projection (N, embed_dim)."""
        x = x.flatten(2).transpose(1, 2)  # N, HW, C
        x = torch.cat([x.mean(dim=1, keepdim=True), x], dim=1) + self.positional_embedding.to(x.dtype)
        batch, length, channels = x.shape
        head_dim = channels // self.heads

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.view(batch, -1, self.heads, head_dim).transpose(1, 2)

        q, k, v = split(self.q_proj(x[:, :1])), split(self.k_proj(x)), split(self.v_proj(x))
        out = F.scaled_dot_product_attention(q, k, v)  # N, heads, 1, head_dim
        return out.transpose(1, 2).reshape(batch, channels)


class ModifiedResNet(nn.Module):
    """ResNet-D style 3-conv stem, anti-aliased strided blocks and attention pooling."""

    def __init__(self, layers: tuple[int, ...], output_dim: int, heads: int, image_size: int, width: int):
        super().__init__()
        self.image_size = image_size
        self.grad_checkpointing = False
        self.stem = nn.Sequential(
            OrderedDict(
                conv1=nn.Conv2d(3, width // 2, 3, stride=2, padding=1, bias=False),
                bn1=nn.BatchNorm2d(width // 2),
                relu1=nn.ReLU(inplace=True),
                conv2=nn.Conv2d(width // 2, width // 2, 3, padding=1, bias=False),
                bn2=nn.BatchNorm2d(width // 2),
                relu2=nn.ReLU(inplace=True),
                conv3=nn.Conv2d(width // 2, width, 3, padding=1, bias=False),
                bn3=nn.BatchNorm2d(width),
                relu3=nn.ReLU(inplace=True),
                pool=nn.AvgPool2d(2),
            )
        )
        self._inplanes = width
        self.layer1 = self._make_layer(width, layers[0])
        self.layer2 = self._make_layer(width * 2, layers[1], stride=2)
        self.layer3 = self._make_layer(width * 4, layers[2], stride=2)
        self.layer4 = self._make_layer(width * 8, layers[3], stride=2)
        embed_dim = width * 32  # the ResNet feature dimension
        self.feature_width = embed_dim
        self.attnpool = AttentionPool2d(image_size // 32, embed_dim, heads, output_dim)

    def _make_layer(self, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        layers = [Bottleneck(self._inplanes, planes, stride)]
        self._inplanes = planes * Bottleneck.expansion
        layers += [Bottleneck(self._inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.project(self.pooled(x))

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features before the projection into the joint space (N, feature_width)."""
        x = self.stem(x)
        for stage in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = checkpoint(stage, x, use_reentrant=False) if self.grad_checkpointing and self.training else stage(x)
        return self.attnpool.pool(x)

    def project(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.attnpool.c_proj(pooled)


# ---------------------------------------------------------------- image encoder 2: ViT


class VisionTransformer(nn.Module):
    """Patch embedding, class token, positional embedding, the extra ln_pre, transformer, ln_post, projection."""

    def __init__(self, image_size: int, patch_size: int, width: int, layers: int, heads: int, output_dim: int, quick_gelu: bool):
        super().__init__()
        self.image_size = image_size
        scale = width**-0.5
        self.conv1 = nn.Conv2d(3, width, kernel_size=patch_size, stride=patch_size, bias=False)
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(scale * torch.randn((image_size // patch_size) ** 2 + 1, width))
        self.ln_pre = nn.LayerNorm(width)
        self.transformer = Transformer(width, layers, heads, quick_gelu)
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(scale * torch.randn(width, output_dim))
        self.feature_width = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.project(self.pooled(x))

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        """The class token after ln_post, before the projection into the joint space (N, width)."""
        x = self.conv1(x).flatten(2).transpose(1, 2)  # N, patches, width
        cls = self.class_embedding.to(x.dtype).expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], dim=1) + self.positional_embedding.to(x.dtype)
        x = self.transformer(self.ln_pre(x))
        return self.ln_post(x[:, 0])

    def project(self, pooled: torch.Tensor) -> torch.Tensor:
        return pooled @ self.proj


# ---------------------------------------------------------------- text encoder


class TextTransformer(nn.Module):
    """Causal transformer over BPE tokens; the sequence is represented by its end-of-text token."""

    def __init__(self, vocab_size: int, context_length: int, width: int, layers: int, heads: int, output_dim: int, quick_gelu: bool, eot_token_id: int):
        super().__init__()
        self.context_length = context_length
        self.eot_token_id = eot_token_id
        self.token_embedding = nn.Embedding(vocab_size, width)
        self.positional_embedding = nn.Parameter(torch.empty(context_length, width))
        self.transformer = Transformer(width, layers, heads, quick_gelu, causal=True)
        self.ln_final = nn.LayerNorm(width)
        self.text_projection = nn.Parameter(torch.empty(width, output_dim))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.token_embedding(tokens) + self.positional_embedding[: tokens.shape[1]]
        x = self.ln_final(self.transformer(x))
        # Causal attention means the EOT position has seen the whole caption and nothing after it.
        eot_positions = (tokens == self.eot_token_id).int().argmax(dim=-1)
        return x[torch.arange(x.shape[0], device=x.device), eot_positions] @ self.text_projection


# ---------------------------------------------------------------- CLIP


@dataclass(frozen=True)
class CLIPConfig:
    embed_dim: int
    image_size: int
    vision_layers: int | tuple[int, int, int, int]  # an int means ViT, a 4-tuple means ResNet stages
    vision_width: int
    vision_patch_size: int | None
    vision_heads: int
    context_length: int = 77
    vocab_size: int = 49408
    text_width: int = 512
    text_heads: int = 8
    text_layers: int = 12
    eot_token_id: int = 49407
    quick_gelu: bool = True

    @property
    def is_vit(self) -> bool:
        return isinstance(self.vision_layers, int)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "CLIPConfig":
        data = dict(data)
        if isinstance(data["vision_layers"], list):
            data["vision_layers"] = tuple(data["vision_layers"])
        return cls(**data)

    def with_vocab(self, vocab_size: int, eot_token_id: int, context_length: int | None = None) -> "CLIPConfig":
        return replace(self, vocab_size=vocab_size, eot_token_id=eot_token_id, context_length=context_length or self.context_length)


class CLIP(nn.Module):
    def __init__(self, config: CLIPConfig):
        super().__init__()
        self.config = config
        if config.is_vit:
            self.visual = VisionTransformer(
                config.image_size, config.vision_patch_size, config.vision_width, config.vision_layers,
                config.vision_heads, config.embed_dim, config.quick_gelu,
            )
        else:
            self.visual = ModifiedResNet(config.vision_layers, config.embed_dim, config.vision_heads, config.image_size, config.vision_width)
        self.text = TextTransformer(
            config.vocab_size, config.context_length, config.text_width, config.text_layers, config.text_heads,
            config.embed_dim, config.quick_gelu, config.eot_token_id,
        )
        self.logit_scale = nn.Parameter(torch.tensor(INIT_LOGIT_SCALE))
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """OpenAI's initialisation: small normal embeddings, depth-scaled projections in residual branches."""
        text = self.text
        nn.init.normal_(text.token_embedding.weight, std=0.02)
        nn.init.normal_(text.positional_embedding, std=0.01)
        nn.init.normal_(text.text_projection, std=text.transformer.resblocks[0].ln_1.normalized_shape[0] ** -0.5)
        for transformer in self.transformers():
            width = transformer.resblocks[0].ln_1.normalized_shape[0]
            proj_std = width**-0.5 * (2 * len(transformer.resblocks)) ** -0.5
            for block in transformer.resblocks:
                nn.init.normal_(block.attn.in_proj.weight, std=width**-0.5)
                nn.init.normal_(block.attn.out_proj.weight, std=proj_std)
                nn.init.normal_(block.mlp.c_fc.weight, std=(2 * width) ** -0.5)
                nn.init.normal_(block.mlp.c_proj.weight, std=proj_std)
        if isinstance(self.visual, ModifiedResNet):
            pool = self.visual.attnpool
            std = pool.c_proj.in_features**-0.5
            for linear in (pool.q_proj, pool.k_proj, pool.v_proj, pool.c_proj):
                nn.init.normal_(linear.weight, std=std)
            for stage in (self.visual.layer1, self.visual.layer2, self.visual.layer3, self.visual.layer4):
                for block in stage:
                    nn.init.zeros_(block.bn3.weight)  # each residual branch starts as the identity
        self.logit_scale.fill_(INIT_LOGIT_SCALE)

    def transformers(self) -> list[Transformer]:
        found = [self.text.transformer]
        if isinstance(self.visual, VisionTransformer):
            found.append(self.visual.transformer)
        return found

    def set_grad_checkpointing(self, enabled: bool = True) -> None:
        for transformer in self.transformers():
            transformer.grad_checkpointing = enabled
        if isinstance(self.visual, ModifiedResNet):
            self.visual.grad_checkpointing = enabled

    def encode_image(self, images: torch.Tensor, normalize: bool = True) -> torch.Tensor:
        features = self.visual(images)
        return F.normalize(features, dim=-1) if normalize else features

    def encode_text(self, tokens: torch.Tensor, normalize: bool = True) -> torch.Tensor:
        features = self.text(tokens)
        return F.normalize(features, dim=-1) if normalize else features

    def temperature_scale(self) -> torch.Tensor:
        """exp(logit_scale), clamped so no logit exceeds 100 even if the parameter drifts above log(100)."""
        return self.logit_scale.clamp(max=MAX_LOGIT_SCALE).exp()

    def forward(self, images: torch.Tensor, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """L2-normalised image and text embeddings, and the logit scale (1 / temperature)."""
        return self.encode_image(images), self.encode_text(tokens), self.temperature_scale()


# ---------------------------------------------------------------- presets

# The paper's shapes (Table 19/20 of the paper, and OpenAI's released checkpoints).
PRESETS: dict[str, CLIPConfig] = {
    "RN50": CLIPConfig(embed_dim=1024, image_size=224, vision_layers=(3, 4, 6, 3), vision_width=64, vision_patch_size=None, vision_heads=32),
    "RN101": CLIPConfig(embed_dim=512, image_size=224, vision_layers=(3, 4, 23, 3), vision_width=64, vision_patch_size=None, vision_heads=32),
    "RN50x4": CLIPConfig(embed_dim=640, image_size=288, vision_layers=(4, 6, 10, 6), vision_width=80, vision_patch_size=None, vision_heads=40, text_width=640, text_heads=10),
    "ViT-B/32": CLIPConfig(embed_dim=512, image_size=224, vision_layers=12, vision_width=768, vision_patch_size=32, vision_heads=12),
    "ViT-B/16": CLIPConfig(embed_dim=512, image_size=224, vision_layers=12, vision_width=768, vision_patch_size=16, vision_heads=12),
    "ViT-L/14": CLIPConfig(embed_dim=768, image_size=224, vision_layers=24, vision_width=1024, vision_patch_size=14, vision_heads=16, text_width=768, text_heads=12),
    # Tiny presets: same architecture, small enough to learn something on a CPU in minutes.
    "tiny-vit": CLIPConfig(embed_dim=128, image_size=64, vision_layers=4, vision_width=128, vision_patch_size=8, vision_heads=4, context_length=32, vocab_size=4096, text_width=128, text_heads=4, text_layers=4, eot_token_id=4095),
    "tiny-rn": CLIPConfig(embed_dim=128, image_size=64, vision_layers=(1, 1, 1, 1), vision_width=16, vision_patch_size=None, vision_heads=8, context_length=32, vocab_size=4096, text_width=128, text_heads=4, text_layers=4, eot_token_id=4095),
}


def preset_config(name: str) -> CLIPConfig:
    try:
        return PRESETS[name]
    except KeyError:
        from wit.core.errors import WitError

        raise WitError(f"unknown model preset {name!r}; choose one of: {', '.join(PRESETS)}") from None


def build_model(config: CLIPConfig | str, device: torch.device | str | None = None) -> CLIP:
    """A freshly initialised CLIP; device="meta" allocates nothing (for counting parameters)."""
    config = preset_config(config) if isinstance(config, str) else config
    with torch.device(device or "cpu"):
        return CLIP(config)


def count_parameters(model: nn.Module) -> dict[str, int]:
    """Parameter counts, total and per tower (works on meta-device models)."""
    visual = sum(p.numel() for p in model.visual.parameters())
    text = sum(p.numel() for p in model.text.parameters())
    total = sum(p.numel() for p in model.parameters())
    return {"total": total, "visual": visual, "text": text, "other": total - visual - text}


if __name__ == "__main__":  # python -m wit.trainer.model: the parameter count of every preset
    print(f"{'preset':<10} {'image px':>8} {'total':>13} {'image tower':>13} {'text tower':>13}")
    for preset_name, preset in PRESETS.items():
        counts = count_parameters(build_model(preset, device="meta"))
        print(f"{preset_name:<10} {preset.image_size:>8} {counts['total']:>13,} {counts['visual']:>13,} {counts['text']:>13,}")
