"""Zero-shot classification on an ImageFolder directory, and image-text retrieval on held-out shards.

Zero-shot (the paper's section 3.1): each class name is put into every prompt template ("a photo
of a {}."; the built-in ensemble is in trainer/prompts.py), the normalised text embeddings of one
class are averaged and re-normalised (prompt ensembling),
and an image is assigned the class whose embedding is most similar. Retrieval: on N held-out
(image, caption) pairs, the fraction of images whose own caption is among the K most similar
captions (image->text R@K), and the same the other way round.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
import torch.nn.functional as F

from wit.trainer.data import ShardStream, load_image, make_loader, normalize_images
from wit.trainer.labelled import from_imagefolder, image_bytes, image_folder  # noqa: F401 (image_folder re-exported)
from wit.trainer.prompts import BUILTIN_TEMPLATES, load_templates  # noqa: F401 (re-exported for eval's users)
from wit.core.errors import WitError

log = logging.getLogger(__name__)


@torch.no_grad()
def class_embeddings(model, tokenizer, class_names: list[str], templates: list[str], device) -> torch.Tensor:
    """(classes, dim): per class, the normalised mean of its templates' normalised text embeddings.

    Each template's embedding is normalised before the mean, so no template outweighs the others
    by the length of its feature vector (the CLIP paper's ensembling in embedding space).
    """
    rows = []
    for name in class_names:
        tokens = tokenizer([template.format(name) for template in templates]).to(device)
        embeddings = F.normalize(model.encode_text(tokens, normalize=False).float(), dim=-1)
        rows.append(F.normalize(embeddings.mean(dim=0), dim=0))
    return torch.stack(rows)


def decode_for_eval(source: Path | str | bytes, image_size: int) -> torch.Tensor:
    """uint8 (3, size, size) with CLIP's evaluation preprocessing (short side, centre crop)."""
    data = image_bytes(source)
    try:
        return load_image(data, image_size, rng=None)
    except Exception as exc:  # PIL raises many types on corrupt or truncated images
        shown = "an image in the shards" if isinstance(source, bytes) else source
        raise WitError(f"cannot read image {shown}: {exc}") from exc


@torch.no_grad()
def encode_image_files(model, sources: list[Path | str | bytes], image_size: int, device, batch_size: int = 64,
                       normalize: bool = True) -> torch.Tensor:
    """(N, dim) float image features of files, URLs or encoded bytes, in order, `batch_size` at a time."""
    chunks = []
    for start in range(0, len(sources), batch_size):
        images = torch.stack([decode_for_eval(source, image_size) for source in sources[start : start + batch_size]])
        chunks.append(model.encode_image(normalize_images(images.to(device)), normalize=normalize).float())
    return torch.cat(chunks)


def topk_accuracy(logits: torch.Tensor, labels: torch.Tensor, ks: tuple[int, ...] = (1, 5)) -> dict[str, float]:
    top = logits.topk(min(max(ks), logits.shape[1]), dim=1).indices
    hits = top == labels.unsqueeze(1)
    return {f"top{k}": hits[:, :k].any(dim=1).float().mean().item() for k in ks}


def zero_shot_accuracy(model, tokenizer, data, templates: list[str], device="cpu", batch_size: int = 64) -> dict:
    """Top-1/top-5 of the zero-shot classifier built from `templates` on a LabelledImages set."""
    classifier = class_embeddings(model, tokenizer, data.class_names, templates, device)
    features = encode_image_files(model, data.sources, model.config.image_size, device, batch_size)
    labels = torch.tensor(data.labels, device=features.device)
    result = topk_accuracy(features @ classifier.t(), labels)
    return {"images": len(data), "classes": len(data.class_names), "templates": len(templates), **result}


def zero_shot(model, tokenizer, root: str, class_names_file: str | None = None, templates_file: str | None = None,
              device="cpu", batch_size: int = 64) -> dict:
    """Zero-shot on an ImageFolder with the templates of a file, or the built-in ensemble."""
    templates = load_templates(templates_file)
    result = zero_shot_accuracy(model, tokenizer, from_imagefolder(root, class_names_file), templates, device, batch_size)
    return {**result, "template_source": templates_file or "built-in"}


def recall_at_k(similarity: torch.Tensor, ks: tuple[int, ...] = (1, 5, 10)) -> dict[str, float]:
    """similarity[i, j] = image i vs text j, with pair i's text at column i."""
    truth = similarity.diagonal().unsqueeze(1)
    rank_of_truth = (similarity > truth).sum(dim=1)  # how many captions beat the true one
    return {f"R@{k}": (rank_of_truth < k).float().mean().item() for k in ks}


@torch.no_grad()
def retrieval_metrics(model, tokenizer, shards: str, device="cpu", batch_size: int = 64, workers: int = 0,
                      rank: int = 0, world_size: int = 1) -> dict:
    """Image->text and text->image R@1/5/10 over every pair of the held-out shards.

    Under torch.distributed (world_size > 1) every rank must call this: each encodes its share of
    the pairs and the features are all-gathered, so no rank sits in a collective while another
    evaluates alone (a long evaluation would trip the process group's timeout).
    """
    from wit.shards.reader import expand_urls
    from wit.trainer.distributed import all_gather_rows, sum_over_ranks

    was_training = model.training
    model.eval()
    stream = ShardStream(expand_urls(shards), tokenizer.with_context_length(model.config.context_length),
                         model.config.image_size, batch_size, training=False, rank=rank, world_size=world_size)
    image_chunks, text_chunks, skipped = [], [], 0
    for batch in make_loader(stream, workers):
        skipped += sum(batch["skipped"].values())
        if not batch["texts"]:
            continue
        image_chunks.append(model.encode_image(normalize_images(batch["images"].to(device))).float())
        text_chunks.append(model.encode_text(batch["tokens"].to(device)).float())
    model.train(was_training)
    empty = torch.empty(0, model.config.embed_dim, device=device)  # a rank may get no pairs; it still gathers
    images = torch.cat(image_chunks) if image_chunks else empty
    texts = torch.cat(text_chunks) if text_chunks else empty
    if world_size > 1:
        images, texts = all_gather_rows(images), all_gather_rows(texts)
        skipped = sum_over_ranks(skipped, images.device)
    if images.shape[0] == 0:
        raise WitError(f"no usable samples in {shards}")
    similarity = images @ texts.t()
    image_to_text = recall_at_k(similarity)
    text_to_image = recall_at_k(similarity.t())
    return {"pairs": images.shape[0], "skipped": skipped,
            **{f"image_to_text_{k}": v for k, v in image_to_text.items()},
            **{f"text_to_image_{k}": v for k, v in text_to_image.items()}}
