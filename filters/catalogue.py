"""The camera catalogue (filters/camera_catalogue.json, an extract of lensfun's database built by
scripts/build_camera_catalogue.py; CC BY-SA 3.0) and what both the camera and the file-name rule
read from it: a maker's EXIF model series ('DMC-FZ1000', 'ILCE-7M3') names a camera, so the
camera rule takes it and the file-name rule leaves it. wit.filters.camera holds the rest."""

from __future__ import annotations

import json
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
