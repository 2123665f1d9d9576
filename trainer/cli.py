"""`wit train`, `wit eval`, `wit predict`, `wit tokenizer train`.

Only argparse at module scope: torch is imported inside the handlers so `wit --help` stays fast.
"""

from __future__ import annotations

import argparse
import json
import logging

from wit.trainer.config import TrainConfig, add_train_arguments

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    train = subparsers.add_parser("train", help="train CLIP on webdataset shards (wit's or img2dataset's)",
                                  description="Train CLIP on webdataset shards. Multi-GPU: torchrun --nproc_per_node N -m wit.trainer.train ...")
    add_train_arguments(train)
    train.set_defaults(handler=run_train)

    evaluate = subparsers.add_parser("eval", help="zero-shot classification and image-text retrieval",
                                     description="Zero-shot top-1/top-5 on an ImageFolder directory and/or retrieval R@1/5/10 on held-out shards.")
    evaluate.add_argument("--checkpoint", required=True, help="a checkpoint written by `wit train`")
    evaluate.add_argument("--imagefolder", help="ImageFolder root: one folder of images per class")
    evaluate.add_argument("--class-names", help="file of class names: one per line in sorted folder order, or folder<TAB>name")
    evaluate.add_argument("--templates", help="prompt templates file, one per line with {} for the class name")
    evaluate.add_argument("--retrieval-data", help="held-out shards (folder, brace pattern or glob) for retrieval R@K")
    evaluate.add_argument("--batch-size", type=int, default=64)
    evaluate.add_argument("--workers", type=int, default=0)
    evaluate.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda if available)")
    evaluate.set_defaults(handler=run_eval)

    predict = subparsers.add_parser("predict", help="print each label's probability for one image")
    predict.add_argument("--checkpoint", required=True)
    predict.add_argument("--image", required=True)
    predict.add_argument("--labels", required=True, help='comma-separated, e.g. "wonton,shanghai dumpling,steamed bun"')
    predict.add_argument("--templates", help="prompt templates file (default: the one template 'a photo of a {}.')")
    predict.add_argument("--device", default=None)
    predict.set_defaults(handler=run_predict)

    tokenizer = subparsers.add_parser("tokenizer", help="tokenizer tools")
    tokenizer_sub = tokenizer.add_subparsers(dest="tokenizer_command", metavar="COMMAND")
    tokenizer_train = tokenizer_sub.add_parser("train", help="train a byte-level BPE on shard captions")
    tokenizer_train.add_argument("--data", required=True, help="shards: folder, brace pattern or glob")
    tokenizer_train.add_argument("--out", required=True, help="output tokenizer .json")
    tokenizer_train.add_argument("--vocab-size", type=int, default=49408)
    tokenizer_train.add_argument("--context-length", type=int, default=77)
    tokenizer_train.add_argument("--samples", type=int, default=500_000, help="captions to train on (the first N)")
    tokenizer_train.set_defaults(handler=run_tokenizer_train)
    tokenizer.set_defaults(handler=lambda args: tokenizer.print_help() or 2)


def run_train(args: argparse.Namespace) -> int:
    from wit.trainer.train import run_training

    return run_training(TrainConfig.from_args(args))


def _device(name: str | None) -> str:
    import torch

    return name or ("cuda" if torch.cuda.is_available() else "cpu")


def run_eval(args: argparse.Namespace) -> int:
    from wit.trainer.checkpoint import load_model
    from wit.trainer.evaluate import retrieval_metrics, zero_shot
    from wit.core.errors import WitError

    if not args.imagefolder and not args.retrieval_data:
        raise WitError("give --imagefolder (zero-shot) and/or --retrieval-data (retrieval)")
    device = _device(args.device)
    model, tokenizer, _ = load_model(args.checkpoint, device)
    results = {}
    if args.imagefolder:
        results["zero_shot"] = zero_shot(model, tokenizer, args.imagefolder, args.class_names, args.templates, device, args.batch_size)
        z = results["zero_shot"]
        print(f"zero-shot: {z['images']} images, {z['classes']} classes, {z['templates']} templates: "
              f"top-1 {z['top1']:.2%}  top-5 {z['top5']:.2%}")
    if args.retrieval_data:
        results["retrieval"] = r = retrieval_metrics(model, tokenizer, args.retrieval_data, device, args.batch_size, args.workers)
        print(f"retrieval: {r['pairs']} pairs ({r['skipped']} skipped)")
        for direction in ("image_to_text", "text_to_image"):
            print(f"  {direction.replace('_', ' ')}: " + "  ".join(f"R@{k} {r[f'{direction}_R@{k}']:.2%}" for k in (1, 5, 10)))
    print(json.dumps(results))
    return 0


def run_predict(args: argparse.Namespace) -> int:
    from wit.trainer.checkpoint import load_model
    from wit.trainer.evaluate import load_templates
    from wit.trainer.predict import format_probabilities, label_probabilities, parse_labels

    labels = parse_labels(args.labels)
    templates = load_templates(args.templates) if args.templates else ["a photo of a {}."]
    device = _device(args.device)
    model, tokenizer, _ = load_model(args.checkpoint, device)
    print(format_probabilities(label_probabilities(model, tokenizer, args.image, labels, templates, device)))
    return 0


def run_tokenizer_train(args: argparse.Namespace) -> int:
    from wit.trainer.tokenizer import train_tokenizer
    from wit.trainer.train import caption_sample

    log.info("training a %d-token BPE on up to %d captions of %s", args.vocab_size, args.samples, args.data)
    tokenizer = train_tokenizer(caption_sample(args.data, args.samples), args.vocab_size, args.context_length)
    tokenizer.save(args.out)
    print(f"wrote {args.out}: {tokenizer.vocab_size} tokens, context {tokenizer.context_length}")
    return 0
