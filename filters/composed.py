"""Seeded generators of labelled captions composed from the camera catalogue and the EXIF
standard's tag names, for scoring the camera rule on strings no rule was written from.

None of these strings comes from shared/data. Bodies get model codes drawn at random in the
shapes makers use (the maker's own code prefixes from lensfun, then digits and a suffix), so
almost every model is one the catalogue does not list; lenses get random focal lengths,
apertures and series words; EXIF dumps are spelled the ways photo sites and viewers write
them. Keep look-alikes are built from the same parts: shop titles (rule 2 of
shared/data/README.md), natural captions that mention a camera (rule 1), and English captions
that name foreign places and businesses. `benchmarks/bench_filters.py` scores the chain on
them; tests/test_filters_composed.py holds the rule to them.

    from wit.filters.composed import compose_captions
    rows = compose_captions(seed=1, per_class=200)   # [LabelledCaption(text, label, source=class)]
"""

from __future__ import annotations

import json
import random

from wit.filters.catalogue import CATALOGUE_PATH
from wit.filters.evaluation import LabelledCaption

# How makers print their names in EXIF and shop titles.
_MAKER_SPELLINGS = ("title", "upper")
# Series words and suffixes makers put after a lens spec.
_APERTURE_FORMS = ("f/{a}", "F{a}", "f{a}", "F/{a}", "1:{a}")
_EXPOSURE_SEPARATORS = (" ", ", ", " | ", " · ", "; ", " - ")
# EXIF viewers' key spellings, by tag (the EXIF standard's names, spaced, run together or short).
_EXIF_TAGS = {
    "make": ("Make", "Camera Make", "Camera maker", "Manufacturer"),
    "model": ("Model", "Camera Model", "Camera"),
    "lens": ("Lens", "Lens Model", "LensModel"),
    "exposure": ("Exposure", "Exposure time", "ExposureTime", "Shutter speed", "Shutter Speed", "Exposure Time"),
    "aperture": ("Aperture", "F-number", "FNumber", "F-Number", "F number", "F-stop"),
    "iso": ("ISO", "ISO speed", "ISOSpeedRatings", "ISO Speed Ratings", "ISO Speed"),
    "focal": ("Focal length", "FocalLength", "Focal Length"),
}
_KEY_VALUE_SEPARATORS = (": ", "=", " ", ":")
_PAIR_SEPARATORS = (" ", ", ", "; ", " | ", " / ", "  ")
# Parts of keep captions.
_SCENES = (
    "Sunset over the harbour", "Morning fog in the valley", "Our dog playing in the snow", "Old lighthouse on the cliff",
    "Street market in the rain", "Kids on the beach at low tide", "Autumn leaves in the park", "A heron by the river",
    "Wedding guests dancing in the barn", "City skyline at night", "Wild flowers in the meadow", "Climbers on the ridge",
)
_SHOP_NOUNS = ("Mirrorless Camera", "Digital Camera", "DSLR Camera", "Compact Camera", "Action Camera")
_SHOP_TAILS = (
    " Body Only", " with {lens} Lens", " Kit with {lens} Lens", " + {lens} Lens Bundle", " (Black)", " Body, Silver",
)
_PLACES = ("Hotel", "Café", "Trattoria", "Brasserie", "Bar", "Bodega", "Gasthaus", "Boulangerie", "Restaurante", "Pension")
_ENGLISH_FRAMES = (
    "Dinner at {place} {name} with friends", "The entrance of {place} {name} at night",
    "Breakfast on the terrace of {place} {name}", "We stayed at {place} {name} for a week",
    "A table by the window at {place} {name}", "The garden behind {place} {name} in spring",
)
_FOREIGN_LANGUAGES = ("de", "fr", "es", "it", "pt", "nl")
_CLASSES = (
    "body", "phone", "shot_on", "exif", "lens", "body_lens", "body_lens_exposure",
    "shop", "mixed", "names",
)


def _catalogue() -> dict:
    with open(CATALOGUE_PATH, encoding="utf-8") as handle:
        return json.load(handle)


def _spell(rng: random.Random, word: str) -> str:
    form = rng.choice(_MAKER_SPELLINGS)
    if form == "upper":
        return word.upper()
    return word.title() if form == "title" else word


def _model_code(rng: random.Random, prefixes: list[str]) -> str:
    """A model code in a maker's own shape: 'GH7', 'SX-980', 'K-9', 'A7R VI', 'X100W'."""
    prefix = rng.choice(prefixes) if prefixes and rng.random() < 0.8 else rng.choice("ADGKRSXZ")
    digits = str(rng.choice((rng.randint(1, 9), rng.randint(10, 99), rng.randint(100, 999), rng.randint(1000, 9999))))
    code = prefix.upper() + rng.choice(("", "", "-")) + digits
    code += rng.choice(("", "", "", "s", "R", "HS", "X", "W", " II", " III", " Mark IV", " Pro"))
    return code


def _body(rng: random.Random, makers: dict, lines: list[str]) -> str:
    maker = rng.choice(makers["with_codes"])
    parts = [_spell(rng, maker)]
    if rng.random() < 0.4:
        parts.append(rng.choice(lines).title())
    parts.append(_model_code(rng, makers["prefixes"][maker]))
    return " ".join(parts)


def _lens(rng: random.Random, makers: dict, lens_words: list[str]) -> str:
    short = rng.choice((8, 10, 12, 14, 16, 18, 20, 24, 28, 35, 40, 50, 56, 70, 85, 100, 105, 135, 150))
    focal = f"{short}-{short * rng.choice((2, 3, 4))}mm" if rng.random() < 0.4 else f"{short}mm"
    aperture = rng.choice(("1.2", "1.4", "1.8", "2", "2.8", "3.5-5.6", "4", "4.5-6.3", "5.6"))
    parts = []
    if rng.random() < 0.85:
        parts.append(_spell(rng, rng.choice(makers["lens_makers"])))
    if rng.random() < 0.5:
        parts.append(rng.choice(lens_words).upper())
    parts += [focal, rng.choice(_APERTURE_FORMS).format(a=aperture)]
    parts += [w.upper() if len(w) <= 3 else w.title() for w in rng.sample(lens_words, rng.randint(0, 2))]
    return " ".join(parts)


def _exposure(rng: random.Random) -> str:
    values = [
        f"1/{rng.choice((15, 30, 60, 125, 250, 500, 1000, 4000))}{rng.choice(('', 's', ' sec'))}",
        f"f/{rng.choice(('1.8', '2.8', '4', '5.6', '8', '11'))}",
        f"ISO {rng.choice((100, 200, 400, 800, 1600, 3200))}",
    ]
    if rng.random() < 0.5:
        values.append(f"{rng.choice((14, 24, 35, 50, 85, 200))}mm")
    rng.shuffle(values)
    return rng.choice(_EXPOSURE_SEPARATORS).join(values)


def _exif_dump(rng: random.Random, makers: dict, lens_words: list[str]) -> str:
    maker = rng.choice(makers["with_codes"])
    values = {
        "make": maker.upper() if rng.random() < 0.5 else maker.title(),
        "model": _model_code(rng, makers["prefixes"][maker]),
        "lens": _lens(rng, makers, lens_words),
        "exposure": f"1/{rng.choice((30, 60, 125, 250, 1000))}{rng.choice(('', ' s', ' sec'))}",
        "aperture": rng.choice(("f/2.8", "2.8", "f/5.6", "8.0", "F4")),
        "iso": str(rng.choice((100, 200, 400, 1600))),
        "focal": f"{rng.choice((24, 35, 50, 85))}{rng.choice(('mm', ' mm', '.0 mm'))}",
    }
    tags = rng.sample(list(_EXIF_TAGS), rng.randint(3, 6))
    key_value = rng.choice(_KEY_VALUE_SEPARATORS)
    pairs = [f"{rng.choice(_EXIF_TAGS[tag])}{key_value}{values[tag]}" for tag in tags]
    return rng.choice(_PAIR_SEPARATORS).join(pairs)


def _phone(rng: random.Random, supplement: dict) -> str:
    line = rng.choice(supplement["phone_lines"][:9])  # the lines that name a phone alone
    tail = rng.choice(("", "", " Pro", " Pro Max", " Ultra", " Plus", " Lite", "a", " 5G"))
    name = f"{line.title() if line != 'iphone' else 'iPhone'} {rng.randint(2, 17)}{tail}"
    if rng.random() < 0.5:
        name = f"{_spell(rng, rng.choice(supplement['device_makers'][:10]))} {name}"
    return name


def _foreign_names(rng: random.Random) -> list[str]:
    """Capitalised words common in a language other than English and unknown to English."""
    from wordfreq import top_n_list

    from wit.filters.language import known_english_words

    known = known_english_words()
    names = []
    for lang in _FOREIGN_LANGUAGES:
        names += [w.title() for w in top_n_list(lang, 4000)[1000:] if w.isalpha() and len(w) > 3 and w not in known]
    return names


def compose_captions(seed: int = 1, per_class: int = 100) -> list[LabelledCaption]:
    """per_class captions of each class (LabelledCaption.source is the class), shuffled by seed."""
    rng = random.Random(seed)
    catalogue = _catalogue()
    supplement = catalogue["supplement"]
    makers = {
        "with_codes": sorted(m for m, entry in catalogue["makers"].items() if entry["code_prefixes"] and " " not in m),
        "lens_makers": sorted(m for m, entry in catalogue["makers"].items() if entry["lenses"] and " " not in m),
        "prefixes": {m: entry["code_prefixes"] for m, entry in catalogue["makers"].items()},
    }
    # Line and lens words written as words ('PowerShot', 'Nikkor'), not short codes.
    lines = sorted(w for w in catalogue["family_words"] if len(w) > 3 and w.isalpha() and w not in catalogue["common"])
    lens_words = sorted(w for w in catalogue["lens_words"] if w.isalpha() and w not in catalogue["common"] and w != "mm")
    names = _foreign_names(rng)
    rows = []
    for klass in _CLASSES:
        for _ in range(per_class):
            if klass == "body":
                text, label = _body(rng, makers, lines), "drop_camera"
            elif klass == "phone":
                text, label = _phone(rng, supplement), "drop_camera"
            elif klass == "shot_on":
                text = f"{rng.choice(('Shot on', 'Taken with', 'Shot with', 'Captured on'))} {rng.choice(('', 'my ', 'an ', 'a '))}{_phone(rng, supplement)}"
                label = "drop_camera"
            elif klass == "exif":
                text, label = _exif_dump(rng, makers, lens_words), "drop_camera"
            elif klass == "lens":
                text, label = _lens(rng, makers, lens_words), "drop_camera"
            elif klass == "body_lens":
                text = f"{_body(rng, makers, lines)}{rng.choice((' + ', ' with ', ', ', ' | ', ' & ', ' / '))}{_lens(rng, makers, lens_words)}"
                label = "drop_camera"
            elif klass == "body_lens_exposure":
                body_lens = f"{_body(rng, makers, lines)}{rng.choice((' + ', ', ', ' | '))}{_lens(rng, makers, lens_words)}"
                text, label = f"{body_lens}{rng.choice((', ', ' | ', ' - ', ' '))}{_exposure(rng)}", "drop_camera"
            elif klass == "shop":
                tail = rng.choice(_SHOP_TAILS).format(lens=_lens(rng, makers, lens_words))
                text, label = f"{_body(rng, makers, lines)} {rng.choice(_SHOP_NOUNS)}{tail}", "keep"
            elif klass == "mixed":
                scene = rng.choice(_SCENES)
                text = rng.choice(
                    (f"{scene}, shot with a {_body(rng, makers, lines)}", f"{scene} | {_body(rng, makers, lines)} | {_exposure(rng)}")
                )
                label = "keep"
            else:
                frame = rng.choice(_ENGLISH_FRAMES)
                name = " ".join(rng.sample(names, rng.randint(1, 2)))
                text, label = frame.format(place=rng.choice(_PLACES), name=name), "keep"
            rows.append(LabelledCaption(text, label, klass))
    rng.shuffle(rows)
    return rows
