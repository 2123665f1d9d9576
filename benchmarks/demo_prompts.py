"""Why the demo's zero-shot transfer figure is what it is: prompts against a demo run's held-out digits.

    .venv/bin/python benchmarks/demo_prompts.py DEMO_OUT [--checkpoint PATH]

DEMO_OUT is a `wit demo --out DEMO_OUT` folder (sample/, dataset/, run/). Prints zero-shot top-1
on the held-out digits with the built-in ensemble (transfer), the training caption templates
(in-distribution) and the bare class name, then every single template's top-1, and which words
of the built-in templates never occur in the training captions (a text encoder trained on those
captions alone has never seen them). Diagnostic only: choosing templates by these figures would
tune the prompts to the evaluation set.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path

import torch

from wit.app.demo import training_caption_templates
from wit.shards.reader import iter_samples
from wit.trainer.checkpoint import load_model
from wit.trainer.evaluate import class_embeddings, encode_image_files, topk_accuracy
from wit.trainer.labelled import from_imagefolder
from wit.trainer.prompts import BUILTIN_TEMPLATES


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("demo_out", type=Path)
    parser.add_argument("--checkpoint", help="default: DEMO_OUT/run/checkpoints/latest.pt")
    args = parser.parse_args()
    out = args.demo_out
    checkpoint = args.checkpoint or str(out / "run" / "checkpoints" / "latest.pt")
    data = from_imagefolder(str(out / "sample" / "heldout"), str(out / "sample" / "classnames.txt"))
    model, tokenizer, state = load_model(checkpoint)
    features = encode_image_files(model, data.sources, model.config.image_size, "cpu")
    labels = torch.tensor(data.labels)

    def top1(templates: list[str]) -> float:
        classifier = class_embeddings(model, tokenizer, data.class_names, templates, "cpu")
        return topk_accuracy(features @ classifier.t(), labels, ks=(1,))["top1"]

    step = state.get("position", {}).get("step")
    print(f"{checkpoint} (step {step}): {len(data)} held-out digits, chance {1 / len(data.class_names):.1%}")
    figures = {
        "transfer_builtin": top1(list(BUILTIN_TEMPLATES)),
        "in_distribution": top1(training_caption_templates()),
        "bare_name": top1(["{}"]),
    }
    print(f"  built-in ensemble ({len(BUILTIN_TEMPLATES)} templates, transfer)   {figures['transfer_builtin']:.1%}")
    print(f"  training caption templates ({len(training_caption_templates())}, in-distribution)  {figures['in_distribution']:.1%}")
    print(f"  the bare class name                                 {figures['bare_name']:.1%}")
    print("single templates:")
    singles = {}
    for template in [*BUILTIN_TEMPLATES, *training_caption_templates()]:
        singles[template] = top1([template])
        kind = "built-in" if template in BUILTIN_TEMPLATES else "training"
        print(f"  {singles[template]:6.1%}  {kind:8}  {template}")
    captions = [sample["txt"] for sample in iter_samples(str(out / "dataset" / "shards"))]
    seen = Counter(word for caption in captions for word in words(caption))
    template_words = sorted(set().union(*(words(t) for t in BUILTIN_TEMPLATES)))
    unseen = [w for w in template_words if not seen[w]]
    print(f"{len(unseen)} of the built-in templates' {len(template_words)} words never occur in the {len(captions):,} "
          f"training captions: {', '.join(unseen)}")
    print(json.dumps({**figures, "single": singles, "unseen_words": unseen, "template_words": len(template_words)}))


if __name__ == "__main__":
    main()
