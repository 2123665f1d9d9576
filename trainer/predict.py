"""One image, several labels: the probability the model gives each label (softmax over scaled similarities).

    wit predict --checkpoint runs/b32/checkpoints/latest.pt --image dumpling.jpg \
        --labels "wonton,shanghai dumpling,steamed bun"
"""

from __future__ import annotations

from pathlib import Path

import torch

from wit.trainer.evaluate import class_embeddings, encode_image_files
from wit.core.errors import WitError
from wit.core.storage import is_url


def parse_labels(labels: str) -> list[str]:
    parsed = [label.strip() for label in labels.split(",") if label.strip()]
    if len(parsed) < 2:
        raise WitError("--labels needs at least two comma-separated labels")
    if len(set(parsed)) != len(parsed):
        raise WitError("--labels has a duplicate label")
    return parsed


@torch.no_grad()
def label_probabilities(model, tokenizer, image: str | Path, labels: list[str], templates: list[str], device="cpu") -> list[tuple[str, float]]:
    """[(label, probability)] in the given label order; probabilities sum to 1."""
    classifier = class_embeddings(model, tokenizer, labels, templates, device)
    image_features = encode_image_files(model, [image if is_url(image) else Path(image)], model.config.image_size, device)
    logits = model.temperature_scale().float() * image_features @ classifier.t()
    probabilities = logits.softmax(dim=-1)[0].tolist()
    return list(zip(labels, probabilities))


def format_probabilities(results: list[tuple[str, float]]) -> str:
    width = max(len(label) for label, _ in results)
    ordered = sorted(results, key=lambda pair: -pair[1])
    return "\n".join(f"{label:<{width}}  {probability:7.2%}" for label, probability in ordered)
