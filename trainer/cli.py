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

    evaluate = subparsers.add_parser("eval", help="zero-shot, linear probe, fine-tuning and image-text retrieval",
                                     description="Zero-shot top-1/top-5 on an ImageFolder directory, a linear probe and/or fine-tuning "
                                     "on labelled images (an ImageFolder, or shards labelled by a json field), and/or retrieval "
                                     "R@1/5/10 on held-out shards. The last output line is a JSON object of every figure.")
    evaluate.add_argument("--checkpoint", required=True, help="a checkpoint written by `wit train`")
    evaluate.add_argument("--imagefolder", help="ImageFolder root: one folder of images per class (zero-shot)")
    evaluate.add_argument("--class-names", help="file of class names: one per line in sorted folder order, or folder<TAB>name")
    evaluate.add_argument("--templates", help="prompt templates file, one per line with {} for the class name "
                          "(default: the built-in ensemble of 24, trainer/prompts.py)")
    evaluate.add_argument("--retrieval-data", help="held-out shards (folder, brace pattern or glob) for retrieval R@K")
    evaluate.add_argument("--linear-probe", metavar="DATA", help="labelled training images for a linear probe on frozen "
                          "features: an ImageFolder, or shards with --label-field")
    evaluate.add_argument("--finetune", metavar="DATA", help="labelled training images for fine-tuning the image encoder "
                          "and a linear head (as --linear-probe)")
    evaluate.add_argument("--test-data", metavar="DATA", help="labelled test images for --linear-probe and --finetune "
                          "(default: a stratified --test-fraction of their DATA)")
    evaluate.add_argument("--label-field", metavar="KEY", help="read DATA and --test-data as shards, labelled by this field "
                          "of each sample's json (e.g. selected_by); a sample without one value is dropped and counted")
    evaluate.add_argument("--test-fraction", type=float, default=0.2, help="test share of DATA when there is no --test-data (0.2)")
    evaluate.add_argument("--val-fraction", type=float, default=0.2, help="validation share of the probe's training images for choosing C (0.2)")
    evaluate.add_argument("--finetune-epochs", type=int, default=3)
    evaluate.add_argument("--finetune-lr", type=float, default=1e-5)
    evaluate.add_argument("--seed", type=int, default=0, help="seed of the splits and of fine-tuning (0)")
    evaluate.add_argument("--batch-size", type=int, default=64)
    evaluate.add_argument("--workers", type=int, default=0)
    evaluate.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda if available)")
    evaluate.set_defaults(handler=run_eval)

    predict = subparsers.add_parser("predict", help="each label's probability for one image, under one or more models and label sets",
                                    description="Print each label's probability for one image. Repeat --checkpoint to compare models "
                                    "(a column each) and --labels to compare class sets (a block of rows each).")
    predict.add_argument("--checkpoint", required=True, action="append", help="a checkpoint; repeat for several models")
    predict.add_argument("--image", required=True)
    predict.add_argument("--labels", required=True, action="append",
                         help='comma-separated, e.g. "wonton,shanghai dumpling,steamed bun"; repeat for several label sets')
    predict.add_argument("--templates", help="prompt templates file (default: the built-in ensemble, trainer/prompts.py)")
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
    from wit.trainer.prompts import load_templates
    from wit.core.errors import WitError

    if not (args.imagefolder or args.retrieval_data or args.linear_probe or args.finetune):
        raise WitError("give --imagefolder (zero-shot), --linear-probe, --finetune and/or --retrieval-data (retrieval)")
    if args.test_data and not (args.linear_probe or args.finetune):
        raise WitError("--test-data is the test set of --linear-probe or --finetune: give one of them")
    templates = load_templates(args.templates)  # read first: a bad file fails before any model work
    device = _device(args.device)
    model, tokenizer, _ = load_model(args.checkpoint, device)
    results = {}
    if args.imagefolder:
        results["zero_shot"] = z = zero_shot(model, tokenizer, args.imagefolder, args.class_names, args.templates, device, args.batch_size)
        print(f"zero-shot: {z['images']} images, {z['classes']} classes, {z['templates']} templates ({z['template_source']}): "
              f"top-1 {z['top1']:.2%}  top-5 {z['top5']:.2%}")
    if args.retrieval_data:
        results["retrieval"] = r = retrieval_metrics(model, tokenizer, args.retrieval_data, device, args.batch_size, args.workers)
        print(f"retrieval: {r['pairs']} pairs ({r['skipped']} skipped)")
        for direction in ("image_to_text", "text_to_image"):
            print(f"  {direction.replace('_', ' ')}: " + "  ".join(f"R@{k} {r[f'{direction}_R@{k}']:.2%}" for k in (1, 5, 10)))
    if args.linear_probe:
        from wit.trainer.probe import run_linear_probe

        train, test = _labelled_sets(args, args.linear_probe)
        results["linear_probe"] = p = run_linear_probe(model, train, test, device, args.batch_size, args.val_fraction, args.seed)
        print(f"linear probe: {p['train']} train + {p['val']} val images, {p['classes']} classes, C {p['C']:.3g} "
              f"(val top-1 {p['val_top1']:.2%}): test top-1 {p['top1']:.2%} on {p['test']} images")
    if args.finetune:  # last: it changes the model's image encoder in place
        from wit.trainer.finetune import finetune

        train, test = _labelled_sets(args, args.finetune)
        results["finetune"] = f = finetune(model, tokenizer, train, test, templates, epochs=args.finetune_epochs, lr=args.finetune_lr,
                                           batch_size=args.batch_size, device=device, seed=args.seed)
        print(f"fine-tune: {f['train']} train images, {f['classes']} classes, {f['epochs']} epochs: "
              f"test top-1 {f['top1_before']:.2%} (zero-shot head) -> {f['top1']:.2%} on {f['test']} images")
    print(json.dumps(results))
    return 0


def _labelled_sets(args: argparse.Namespace, data: str):
    """(train, test) LabelledImages for the probe or fine-tuning; drops from shards are logged."""
    from wit.trainer.labelled import load_labelled, train_test

    labelled = load_labelled(data, args.label_field, args.class_names)
    test = load_labelled(args.test_data, args.label_field, args.class_names) if args.test_data else None
    for name, part in (("training", labelled), ("test", test)):
        if part is not None and part.drops:
            log.warning("%s images: %d kept, dropped %s", name, len(part), part.drops)
    return train_test(labelled, test, args.test_fraction, args.seed)


def run_predict(args: argparse.Namespace) -> int:
    from wit.trainer.predict import format_table, parse_labels, prediction_table
    from wit.trainer.prompts import load_templates

    label_sets = [parse_labels(labels) for labels in args.labels]
    templates = load_templates(args.templates)
    table = prediction_table(args.image, args.checkpoint, label_sets, templates, _device(args.device))
    print(format_table(table))
    return 0


def run_tokenizer_train(args: argparse.Namespace) -> int:
    from wit.trainer.tokenizer import train_tokenizer
    from wit.trainer.train import caption_sample

    log.info("training a %d-token BPE on up to %d captions of %s", args.vocab_size, args.samples, args.data)
    tokenizer = train_tokenizer(caption_sample(args.data, args.samples), args.vocab_size, args.context_length)
    tokenizer.save(args.out)
    print(f"wrote {args.out}: {tokenizer.vocab_size} tokens, context {tokenizer.context_length}")
    return 0
