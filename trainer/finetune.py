"""Fine-tuning: the image encoder plus a linear head, trained end to end with cross-entropy.

The head reads the L2-normalised image embedding and starts as the zero-shot classifier
(class embeddings of the prompt templates times the model's logit scale; the usual start for
fine-tuning CLIP, as in WiSE-FT), so `top1_before` is the zero-shot top-1 on the test set and
training moves on from there. The text tower is not used after that. AdamW on the encoder and
head, cosine decay over the run, the training crop (trainer/data.py's random square crop) as the
only augmentation, fp32. The fine-tuned weights are not written anywhere: this is an evaluation.
"""

from __future__ import annotations

import logging
import math
import random

import torch
import torch.nn.functional as F
from torch import nn

from wit.trainer.data import load_image, normalize_images
from wit.trainer.evaluate import class_embeddings, decode_for_eval
from wit.trainer.labelled import LabelledImages, image_bytes
from wit.core.errors import WitError

log = logging.getLogger(__name__)


class ImageClassifier(nn.Module):
    """A CLIP image encoder and a linear head over its normalised embedding."""

    def __init__(self, visual: nn.Module, head: nn.Linear):
        super().__init__()
        self.visual = visual
        self.head = head

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(F.normalize(self.visual(images), dim=-1))


def zero_shot_head(model, tokenizer, class_names: list[str], templates: list[str], device) -> nn.Linear:
    """A linear layer equal to the zero-shot classifier: logits = scale * cosine(image, class)."""
    weights = class_embeddings(model, tokenizer, class_names, templates, device) * model.temperature_scale().detach().float()
    head = nn.Linear(weights.shape[1], weights.shape[0]).to(device)
    with torch.no_grad():
        head.weight.copy_(weights)
        head.bias.zero_()
    return head


@torch.no_grad()
def classifier_top1(classifier: ImageClassifier, data: LabelledImages, image_size: int, device, batch_size: int) -> float:
    was_training = classifier.training
    classifier.eval()
    correct = 0
    for start in range(0, len(data), batch_size):
        images = torch.stack([decode_for_eval(s, image_size) for s in data.sources[start : start + batch_size]])
        predicted = classifier(normalize_images(images.to(device))).argmax(dim=1).cpu()
        correct += int((predicted == torch.tensor(data.labels[start : start + batch_size])).sum())
    classifier.train(was_training)
    return correct / len(data)


def finetune(model, tokenizer, train: LabelledImages, test: LabelledImages, templates: list[str], *, epochs: int = 3,
             lr: float = 1e-5, weight_decay: float = 0.1, batch_size: int = 64, device="cpu", seed: int = 0,
             train_encoder: bool = True) -> dict:
    """Fine-tune `model`'s image encoder (in place) and a zero-shot-initialised head; top-1 on `test` before and after.

    `train_encoder=False` trains the head alone on the frozen encoder (a baseline to compare with).
    """
    if epochs < 1:
        raise WitError("fine-tuning needs at least one epoch")
    if len(train) < 1 or len(test) < 1:
        raise WitError("fine-tuning needs training and test images")
    torch.manual_seed(seed)
    size = model.config.image_size
    classifier = ImageClassifier(model.visual, zero_shot_head(model, tokenizer, train.class_names, templates, device))
    for parameter in classifier.visual.parameters():
        parameter.requires_grad_(train_encoder)
    parameters = [p for p in classifier.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=lr, weight_decay=weight_decay)
    steps_per_epoch = math.ceil(len(train) / batch_size)
    total = epochs * steps_per_epoch
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * min(step, total) / total)))
    before = classifier_top1(classifier, test, size, device, batch_size)
    log.info("fine-tuning on %d images, %d classes, %d epochs: test top-1 %.2f%% before", len(train), len(train.class_names), epochs, 100 * before)
    # The encoder trains in train mode (BatchNorm statistics of the ResNets update); a frozen one stays in eval mode.
    classifier.train()
    classifier.visual.train(train_encoder)
    history = []
    order = list(range(len(train)))
    for epoch in range(epochs):
        rng = random.Random(f"{seed}/{epoch}")
        rng.shuffle(order)
        losses = []
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            images = torch.stack([load_image(image_bytes(train.sources[i]), size, rng) for i in batch]).to(device)
            labels = torch.tensor([train.labels[i] for i in batch], device=device)
            loss = F.cross_entropy(classifier(normalize_images(images)), labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            losses.append(loss.item())
        accuracy = classifier_top1(classifier, test, size, device, batch_size)
        history.append({"epoch": epoch + 1, "loss": sum(losses) / len(losses), "top1": accuracy})
        log.info("fine-tune epoch %d/%d: loss %.4f, test top-1 %.2f%%", epoch + 1, epochs, history[-1]["loss"], 100 * accuracy)
    classifier.eval()
    return {"train": len(train), "test": len(test), "classes": len(train.class_names), "epochs": epochs, "lr": lr,
            "encoder_trained": train_encoder, "top1_before": before, "top1": history[-1]["top1"], "history": history}
