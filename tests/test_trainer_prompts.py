"""Prompt ensembles: the built-in templates, --templates files, and averaging over normalised embeddings."""

import re

import pytest
import torch

from trainer_checkpoints import micro_model
from wit.app import sample_web
from wit.app.demo import training_caption_templates
from wit.core.errors import WitError
from wit.trainer.evaluate import class_embeddings
from wit.trainer.prompts import BUILTIN_TEMPLATES, load_templates, parse_templates


def test_builtin_ensemble_is_many_distinct_templates_each_with_one_slot():
    assert len(BUILTIN_TEMPLATES) >= 20
    assert len(set(BUILTIN_TEMPLATES)) == len(BUILTIN_TEMPLATES)
    assert all(t.count("{}") == 1 for t in BUILTIN_TEMPLATES)
    assert load_templates(None) == list(BUILTIN_TEMPLATES)
    assert parse_templates("\n".join(BUILTIN_TEMPLATES)) == list(BUILTIN_TEMPLATES)


def words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


def test_builtin_ensemble_shares_no_phrase_with_the_demos_training_captions():
    """The demo's transfer figure is only transfer if no prompt repeats how the captions were written."""
    captions = [t.format(name="seven", Name="Seven", numeral=7) for t in sample_web.DIGIT_TEMPLATES + sample_web.DIGIT_UNNAMED_TEMPLATES]
    prompts = [t.format("seven") for t in BUILTIN_TEMPLATES]
    caption_words = {tuple(words(c)) for c in captions}
    assert not caption_words & {tuple(words(p)) for p in prompts}
    # no domain word of the captions: the ensemble is generic, written for any class list
    assert not {"handwritten", "hand", "written", "digit", "number", "handwriting"} & {w for p in prompts for w in words(p)}
    # and the in-distribution templates the demo compares against are the captions' own
    assert {tuple(words(t.format("seven"))) for t in training_caption_templates()} <= caption_words


def test_template_file_skips_blank_lines_and_comments(tmp_path):
    path = tmp_path / "templates.txt"
    path.write_text("# digits\n\na drawing of a {}.\n  a {} in ink.  \n")
    assert load_templates(str(path)) == ["a drawing of a {}.", "a {} in ink."]


@pytest.mark.parametrize("text, message", [
    ("a photo of a {}.\na photo of a cat.\n", r"line 2: 'a photo of a cat\.' has no \{\} for the class name"),
    ("a {} and a {}.\n", r"line 1: .* has 2 \{\} slots"),
    ("a {name} here {}.\n", r"line 1: .* is not a template"),
    ("# only a comment\n\n", "has no templates"),
    ("a {}.\nb {}.\na {}.\n", r"repeats template\(s\) \['a \{\}\.'\]"),
])
def test_bad_template_files_are_clear_errors(tmp_path, text, message):
    path = tmp_path / "templates.txt"
    path.write_text(text)
    with pytest.raises(WitError, match=message):
        load_templates(str(path))


def test_a_missing_template_file_is_a_clear_error(tmp_path):
    with pytest.raises(WitError, match="templates file not found"):
        load_templates(str(tmp_path / "nope.txt"))


def test_class_embedding_is_the_mean_of_normalised_template_embeddings():
    model, tokenizer = micro_model(seed=3)
    templates = ["a photo of a {}.", "{}", "this is an image of a {} thing"]
    names = ["red circle", "blue square"]
    got = class_embeddings(model, tokenizer, names, templates, "cpu")
    with torch.no_grad():
        for row, name in zip(got, names):
            raw = [model.encode_text(tokenizer([t.format(name)]), normalize=False)[0] for t in templates]
            norms = [v.norm() for v in raw]
            assert max(norms) / min(norms) > 1.05, "templates of different lengths make the check meaningful"
            mean_of_unit = sum(v / v.norm() for v in raw) / len(raw)
            expected = mean_of_unit / mean_of_unit.norm()
            assert torch.allclose(row, expected, atol=1e-5)
            assert row.norm().item() == pytest.approx(1.0, abs=1e-5)
            naive = sum(raw) / len(raw)
            assert not torch.allclose(row, naive / naive.norm(), atol=1e-4), "averaging raw embeddings would give another vector"
