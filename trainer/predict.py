"""One image, labels' probabilities (softmax over scaled similarities), for several models and label sets.

    wit predict --checkpoint runs/b32/checkpoints/latest.pt --image dumpling.jpg \
        --labels "wonton,shanghai dumpling,steamed bun"

`--checkpoint` and `--labels` repeat: the output is one table with a column per checkpoint (one
image, several models) and a block of rows per label set (one model, several class sets). Each
set's probabilities sum to 1 in every column.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import torch

from wit.trainer.evaluate import class_embeddings, encode_image_files
from wit.core.errors import WitError
from wit.core.storage import is_url


def parse_labels(labels: str) -> list[str]:
    parsed = [label.strip() for label in labels.split(",") if label.strip()]
    if len(parsed) < 2:
        raise WitError(f"--labels needs at least two comma-separated labels (got {labels!r})")
    if len(set(parsed)) != len(parsed):
        raise WitError(f"--labels has a duplicate label: {labels!r}")
    return parsed


@torch.no_grad()
def label_probabilities(model, tokenizer, image: str | Path, labels: list[str], templates: list[str], device="cpu") -> list[tuple[str, float]]:
    """[(label, probability)] in the given label order; probabilities sum to 1."""
    return list(zip(labels, set_probabilities(model, tokenizer, _image_features(model, image, device), [labels], templates, device)[0]))


def _image_features(model, image: str | Path, device) -> torch.Tensor:
    return encode_image_files(model, [image if is_url(image) else Path(image)], model.config.image_size, device)


@torch.no_grad()
def set_probabilities(model, tokenizer, image_features: torch.Tensor, label_sets: list[list[str]], templates: list[str], device) -> list[list[float]]:
    """For each label set, each label's probability for the (one) image, in the given order."""
    scale = model.temperature_scale().float()
    out = []
    for labels in label_sets:
        logits = scale * image_features @ class_embeddings(model, tokenizer, labels, templates, device).t()
        out.append(logits.softmax(dim=-1)[0].tolist())
    return out


def column_names(checkpoints: list[str]) -> list[str]:
    """The shortest trailing path parts that tell the checkpoints apart (runs/a/latest.pt, runs/b/latest.pt -> a/latest.pt, b/latest.pt)."""
    if len(set(checkpoints)) != len(checkpoints):
        raise WitError("--checkpoint lists the same checkpoint twice")
    parts = [PurePosixPath(str(c).replace("\\", "/")).parts for c in checkpoints]
    for depth in range(1, max(len(p) for p in parts) + 1):
        names = ["/".join(p[-depth:]) for p in parts]
        if len(set(names)) == len(names):
            return names
    return [str(c) for c in checkpoints]


@dataclass
class PredictionTable:
    """probabilities[set][label][checkpoint], labels in the order given."""

    columns: list[str]
    label_sets: list[list[str]]
    probabilities: list[list[list[float]]]

    def to_dict(self) -> dict:
        return {"checkpoints": self.columns, "sets": [
            {"labels": labels, "probabilities": {c: [row[i] for row in rows] for i, c in enumerate(self.columns)}}
            for labels, rows in zip(self.label_sets, self.probabilities)]}


def prediction_table(image: str, checkpoints: list[str], label_sets: list[list[str]], templates: list[str], device="cpu",
                     load=None) -> PredictionTable:
    """Load each checkpoint once, encode the image once per model, score every label set."""
    if load is None:
        from wit.trainer.checkpoint import load_model as load
    columns = column_names(checkpoints)
    per_checkpoint = []  # [checkpoint][set][label]
    for checkpoint in checkpoints:
        model, tokenizer, _ = load(checkpoint, device)
        per_checkpoint.append(set_probabilities(model, tokenizer, _image_features(model, image, device), label_sets, templates, device))
    probabilities = [[[per_checkpoint[c][s][l] for c in range(len(checkpoints))] for l in range(len(labels))]
                     for s, labels in enumerate(label_sets)]
    return PredictionTable(columns, label_sets, probabilities)


def format_table(table: PredictionTable) -> str:
    """Rows sorted by the first column's probability within each label set; with one checkpoint and
    one set, just `label  probability` lines (no header)."""
    width = max(len(label) for labels in table.label_sets for label in labels)
    single = len(table.columns) == 1 and len(table.label_sets) == 1
    cell = max(8, *(len(c) for c in table.columns))
    lines = [] if single else [f"{'label':<{width}}  " + "  ".join(f"{c:>{cell}}" for c in table.columns)]
    for number, (labels, rows) in enumerate(zip(table.label_sets, table.probabilities), start=1):
        if not single:
            lines.append(f"-- label set {number} of {len(table.label_sets)}")
        for label, row in sorted(zip(labels, rows), key=lambda pair: -pair[1][0]):
            if single:
                lines.append(f"{label:<{width}}  {row[0]:7.2%}")
            else:
                lines.append(f"{label:<{width}}  " + "  ".join(f"{p:>{cell}.2%}" for p in row))
    return "\n".join(lines)


def format_probabilities(results: list[tuple[str, float]]) -> str:
    """One model, one label set: `label  probability` lines, most probable first."""
    labels = [label for label, _ in results]
    return format_table(PredictionTable(["model"], [labels], [[[p] for _, p in results]]))
