"""The camera catalogue (filters/camera_catalogue.json, an extract of lensfun's database built by
scripts/build_camera_catalogue.py; CC BY-SA 3.0) and what both the camera and the file-name rule
read from it: a maker's EXIF model series ('DMC-FZ1000', 'ILCE-7M3') names a camera, so the
camera rule takes it and the file-name rule leaves it. wit.filters.camera holds the rest."""

from __future__ import annotations

import json
import re
from pathlib import Path

CATALOGUE_PATH = Path(__file__).with_name("camera_catalogue.json")


def load_catalogue() -> dict:
    with open(CATALOGUE_PATH, encoding="utf-8") as handle:
        return json.load(handle)


CATALOGUE = load_catalogue()
# Prefixes of makers' EXIF model names ('DMC-FZ1000', 'ILCE-7M3', 'DSC-RX100M7'): a camera alone.
MODEL_SERIES = frozenset(CATALOGUE["model_series"])


def is_series_code(token: str) -> bool:
    """A model name in a maker's EXIF series: a series prefix, '-', a code with a digit (and a
    letter after a two-letter prefix: 'TG-7' is too short to tell from 'DC-10')."""
    prefix, dash, code = token.partition("-")
    if not dash or prefix.lower() not in MODEL_SERIES or not any(ch.isdigit() for ch in code):
        return False
    return len(prefix) >= 3 or any(ch.isalpha() for ch in code)


# A model code with its version glued on ('E-M5MarkIII', 'EOS5DMkIV'; 'A7RM4' is not one: 'M4' is
# no version word): makers' EXIF model names, never file counters.
_GLUED_MARK = re.compile(r"\d[a-z]{0,2}(?:mark|mk)(?:i{1,3}|iv|vi{0,3}|\d)$", re.IGNORECASE)


# One-word camera and phone makers (lensfun's and the supplement's): 'Zenit-E', 'Kiev-88' join
# the maker's name to the model with a hyphen.
MAKER_WORDS = frozenset(
    [key for key in CATALOGUE["makers"] if " " not in key]
    + CATALOGUE["supplement"]["camera_makers"]
    + CATALOGUE["supplement"]["device_makers"]
)


def is_camera_model_name(token: str) -> bool:
    """A token that names a camera on its own: a maker's EXIF series code (is_series_code), a
    model code with 'Mark'/'Mk' and a version glued to its digits, or a maker's name, a hyphen
    and a code with a digit or of at most three capitals ('Zenit-E', 'Kiev-88')."""
    if is_series_code(token) or _GLUED_MARK.search(token) is not None:
        return True
    maker, dash, code = token.partition("-")
    if not dash or not code or maker.lower() not in MAKER_WORDS:
        return False
    return any(ch.isdigit() for ch in code) or (code.isupper() and code.isalpha() and len(code) <= 3)
