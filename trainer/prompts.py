"""Prompt templates for zero-shot classification: the built-in ensemble and `--templates FILE`.

The CLIP paper's observation (section 3.1.4): a class name alone is ambiguous and unlike the
captions a model trained on, so each name is put into many sentence templates and the class's
embedding is the mean of their normalised embeddings. The ensemble below was written for this
project: generic phrasings of "a photo of a {}." that vary the medium, quality, framing and
wording. It deliberately names no domain (no "handwritten", "digit", "number"), so on the demo's
digits it measures transfer, not the phrasing of the training captions.
"""

from __future__ import annotations

from wit.core.errors import WitError
from wit.core.storage import read_text

BUILTIN_TEMPLATES = (
    "a photo of a {}.",
    "a picture of a {}.",
    "an image of a {}.",
    "an image showing a {}.",
    "a snapshot of a {}.",
    "a photograph of the {}.",
    "a blurred picture of a {}.",
    "a sharp, well-lit picture of a {}.",
    "a dim, underexposed picture of a {}.",
    "a grainy, low-quality image of a {}.",
    "a greyscale picture of a {}.",
    "a faded old photograph of a {}.",
    "a small {} in the middle of the frame.",
    "a {} filling the whole frame.",
    "a zoomed-in picture of a {}.",
    "a pencil sketch of a {}.",
    "an illustration of a {}.",
    "a {} on a plain background.",
    "a single {}.",
    "an example of a {}.",
    "this is a {}.",
    "there is a {} in this picture.",
    "a scanned picture of a {}.",
    "a thumbnail-sized picture of a {}.",
)


def parse_templates(text: str, source: str = "templates") -> list[str]:
    """Templates from a file's text: one per line, exactly one `{}` each; blank lines and # comments skipped.

    Errors name the file and the line, so a typo in a long list is easy to find.
    """
    templates = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        slots = line.count("{}")
        if slots != 1:
            problem = "has no {} for the class name" if slots == 0 else f"has {slots} {{}} slots (one is needed)"
            raise WitError(f"{source}, line {number}: {line!r} {problem}")
        try:
            line.format("x")
        except (IndexError, KeyError, ValueError) as exc:
            raise WitError(f"{source}, line {number}: {line!r} is not a template ({exc}); write literal braces as {{{{ }}}}") from None
        templates.append(line)
    if not templates:
        raise WitError(f"{source} has no templates (one per line, with {{}} where the class name goes)")
    if len(set(templates)) != len(templates):
        duplicates = sorted({t for t in templates if templates.count(t) > 1})
        raise WitError(f"{source} repeats template(s) {duplicates[:3]}: each would count twice in the average")
    return templates


def load_templates(path: str | None) -> list[str]:
    """Templates from a file or URL (see parse_templates); the built-in ensemble when no path is given."""
    if not path:
        return list(BUILTIN_TEMPLATES)
    try:
        text = read_text(path)
    except FileNotFoundError:
        raise WitError(f"templates file not found: {path}") from None
    return parse_templates(text, source=str(path))
