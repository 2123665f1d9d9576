"""Fine-tuning: the image encoder plus a zero-shot-initialised linear head, on a tiny colour set."""

import json

import pytest
import torch

from trainer_checkpoints import micro_model, write_colour_folder, write_micro_checkpoint
from wit.app.cli import main as wit
from wit.core.errors import WitError
from wit.trainer.evaluate import zero_shot_accuracy
from wit.trainer.finetune import finetune, zero_shot_head, ImageClassifier, classifier_top1
from wit.trainer.labelled import from_imagefolder

TEMPLATES = ["a photo of a {}."]


@pytest.fixture(scope="module")
def colours(tmp_path_factory):
    root = tmp_path_factory.mktemp("ft")
    return from_imagefolder(str(write_colour_folder(root / "train", 24, seed=0))), from_imagefolder(str(write_colour_folder(root / "test", 10, seed=1)))


def test_the_head_starts_as_the_zero_shot_classifier(colours):
    _, test = colours
    model, tokenizer = micro_model(seed=0)
    classifier = ImageClassifier(model.visual, zero_shot_head(model, tokenizer, test.class_names, TEMPLATES, "cpu"))
    zero_shot = zero_shot_accuracy(model, tokenizer, test, TEMPLATES)["top1"]
    assert classifier_top1(classifier, test, model.config.image_size, "cpu", 16) == pytest.approx(zero_shot)


def test_finetuning_improves_top1_over_the_frozen_start_and_over_a_head_alone(colours):
    train, test = colours
    model, tokenizer = micro_model(seed=0)
    encoder_before = {k: v.clone() for k, v in model.visual.state_dict().items()}
    text_before = {k: v.clone() for k, v in model.text.state_dict().items()}
    tuned = finetune(model, tokenizer, train, test, TEMPLATES, epochs=4, lr=2e-3, batch_size=16, seed=0)
    print(tuned)
    assert tuned["top1"] >= tuned["top1_before"] + 0.25
    assert tuned["top1"] >= 0.7
    assert [h["epoch"] for h in tuned["history"]] == [1, 2, 3, 4] and tuned["history"][-1]["top1"] == tuned["top1"]
    assert any(not torch.equal(v, encoder_before[k]) for k, v in model.visual.state_dict().items())
    assert all(torch.equal(v, text_before[k]) for k, v in model.text.state_dict().items())

    frozen_model, _ = micro_model(seed=0)
    head_only = finetune(frozen_model, tokenizer, train, test, TEMPLATES, epochs=4, lr=2e-3, batch_size=16, seed=0, train_encoder=False)
    print(head_only)
    assert head_only["top1_before"] == tuned["top1_before"]
    assert all(torch.equal(v, encoder_before[k]) for k, v in frozen_model.visual.state_dict().items())
    assert tuned["top1"] > head_only["top1"]


def test_finetune_needs_an_epoch(colours):
    train, test = colours
    model, tokenizer = micro_model()
    with pytest.raises(WitError, match="at least one epoch"):
        finetune(model, tokenizer, train, test, TEMPLATES, epochs=0)


def test_wit_eval_finetune_reports_before_and_after(tmp_path, capsys):
    checkpoint = write_micro_checkpoint(tmp_path / "model.pt", seed=0)
    folder = write_colour_folder(tmp_path / "colours", per_class=12, seed=3)
    capsys.readouterr()
    assert wit(["eval", "--checkpoint", str(checkpoint), "--finetune", str(folder), "--finetune-epochs", "2",
                "--finetune-lr", "1e-3", "--batch-size", "16", "--test-fraction", "0.25"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    tuned = json.loads(lines[-1])["finetune"]
    assert tuned["train"] == 36 and tuned["test"] == 12 and tuned["epochs"] == 2 and len(tuned["history"]) == 2
    assert lines[0] == (f"fine-tune: 36 train images, 4 classes, 2 epochs: test top-1 {tuned['top1_before']:.2%} "
                        f"(zero-shot head) -> {tuned['top1']:.2%} on 12 images")
