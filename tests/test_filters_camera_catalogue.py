"""The camera rule's vocabulary from lensfun's catalogue, judged on strings composed for these
tests (tests/fixtures/filters_composed.tsv; none comes from shared/data), and the promise that
the rules generalise: no dev caption is written into the filters' code or comments."""

from __future__ import annotations

import csv
import json
import random
import re
from pathlib import Path

import pytest

from wit.filters import camera
from wit.filters.chain import FilterChain, FilterConfig
from wit.filters.evaluation import dev_split, label_captions, read_labelled_captions

REPO = Path(__file__).resolve().parents[1]
COMPOSED = REPO / "tests" / "fixtures" / "filters_composed.tsv"


def composed_rows(label: str | None = None, classes: tuple[str, ...] = ()) -> list[dict]:
    with open(COMPOSED, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [r for r in rows if (label is None or r["label"] == label) and (not classes or r["class"] in classes)]


def test_the_catalogue_records_its_source_and_licence():
    catalogue = json.loads(camera.CATALOGUE_PATH.read_text(encoding="utf-8"))
    assert catalogue["source"]["version"] == "0.3.3-1"
    assert "CC BY-SA 3.0" in catalogue["source"]["licence"]
    licence = (REPO / "filters" / "camera_catalogue_LICENSE.txt").read_text(encoding="utf-8")
    assert "CC BY-SA 3.0" in licence and "lensfun" in licence
    # lensfun's makers and lines, not a hand list: dozens of makers, the usual lines among them
    assert len(catalogue["makers"]) > 50
    assert {"canon", "nikon", "hasselblad", "gopro", "dji"} <= set(catalogue["makers"])
    assert {"powershot", "coolpix", "finepix"} <= set(catalogue["family_words"])
    assert {"exposure time", "fnumber", "iso speed ratings"} <= set(catalogue["exif_keys"])


CAMERA_CLASSES = ("action", "compact", "medium", "unseen", "phone", "exif", "lens", "body_lens", "body_lens_exposure", "film")


def test_composed_camera_strings_are_mostly_caught():
    rows = composed_rows("drop_camera", CAMERA_CLASSES)
    caught = [r["text"] for r in rows if camera.is_camera_metadata(r["text"])]
    assert len(rows) >= 70
    # Two known misses (a lowercase 'fp' line name, a roman numeral glued to a suffix letter).
    assert len(caught) >= len(rows) - 3, sorted({r["text"] for r in rows} - set(caught))
    for klass in CAMERA_CLASSES:
        in_class = [r for r in rows if r["class"] == klass]
        assert sum(r["text"] in caught for r in in_class) >= len(in_class) - 1, klass


@pytest.mark.parametrize("row", composed_rows("keep", ("shop", "mixed", "lookalike")), ids=lambda r: r["text"][:40])
def test_shop_listings_mixed_captions_and_lookalikes_are_kept(row):
    assert not camera.is_camera_metadata(row["text"])


def test_unseen_model_numbers_of_known_makers_are_caught():
    """Model codes no catalogue lists: a maker or line with any letters-and-digits code."""
    rng = random.Random(5)
    shapes = {
        "Canon EOS {d}D": 20, "Canon PowerShot SX{d}": 20, "Nikon D{d}": 20, "Nikon Z{d} II": 20, "Nikon COOLPIX P{d}": 20,
        "Fujifilm X-T{d}": 20, "Fujifilm X{d}V": 20, "Panasonic Lumix DC-GH{d}": 20, "Sony ILCE-{d}M5": 20,
        "Pentax K-{d}": 20, "Leica M{d}": 20, "Hasselblad X{d}D": 20, "GoPro HERO{d} Black": 20, "Olympus E-M{d}": 20,
        "Shot on iPhone {d} Pro": 20, "Samsung Galaxy S{d} Ultra": 20, "Taken with Pixel {d}a": 20,
    }
    for shape, count in shapes.items():
        for _ in range(count):
            text = shape.format(d=rng.randint(11, 9999))
            assert camera.is_camera_metadata(text), text


@pytest.mark.parametrize(
    "text",
    [
        "Make: Fujifilm Model: X-S30 Software: Capture One Pro",
        "ExposureTime=1/80; FNumber=4; ISOSpeedRatings=640; FocalLength=35",
        "Exposure time 1/40 s F-number f/2 ISO speed 3200",
        "Shutter speed: 1/4000 | Aperture: F1.8 | ISO: 50 | White balance: Daylight",
    ],
)
def test_exif_dumps_in_other_spellings_are_dropped(text):
    assert camera.is_camera_metadata(text)


@pytest.mark.parametrize(
    "text",
    [
        "Location: Lisbon harbour. Camera: a borrowed Nikon",  # one EXIF key among others, with content
        "Title: Autumn fog over the valley; Artist: Ana Ruiz",  # text tags are not gear
        "Ingredients: flour, sugar, butter; Time: 40 minutes",
    ],
)
def test_key_value_captions_that_are_not_exif_dumps_are_kept(text):
    assert not camera.is_camera_metadata(text)


def test_everyday_line_words_need_a_real_signal():
    assert camera.is_camera_metadata("GoPro HERO7 Black")  # a maker and a model code
    assert not camera.is_camera_metadata("Canon black")  # no model code: 'black' is content
    assert not camera.is_camera_metadata("Tough one")
    assert not camera.is_camera_metadata("Phase One")  # a maker name alone is a brand caption


def test_composed_set_scores_on_the_chain():
    """The whole chain on the composed set: every camera class and every look-alike."""
    rows = composed_rows()
    chain = FilterChain(FilterConfig())
    predicted = label_captions(chain, [r["text"] for r in rows])
    camera_rows = [p for r, p in zip(rows, predicted) if r["label"] == "drop_camera"]
    keep_rows = [p for r, p in zip(rows, predicted) if r["class"] in ("shop", "mixed", "lookalike")]
    assert camera_rows.count("drop_camera") / len(camera_rows) >= 0.95
    assert keep_rows.count("keep") == len(keep_rows)
    assert sum(p == "drop_camera" for r, p in zip(rows, predicted) if r["label"] != "drop_camera") == 0


def test_the_dev_split_is_fixed_and_covers_every_label(shared_data):
    rows = read_labelled_captions(shared_data / "captions_dev.tsv")
    parts = [dev_split(r.text) for r in rows]
    assert dev_split("golden retriever puppy") == dev_split("golden retriever puppy")
    assert 0.5 < parts.count("tune") / len(parts) < 0.7
    for label in {r.label for r in rows}:
        assert {p for r, p in zip(rows, parts) if r.label == label} == {"tune", "holdout"}, label


def test_no_dev_caption_is_written_into_the_filters(shared_data):
    """Rules and comments hold no caption of captions_dev.tsv: what they match must come from
    the label rules, catalogues and word lists, never from the strings they are scored on.
    The label rules' own examples (shared/data/README.md) may be quoted."""
    rows = read_labelled_captions(shared_data / "captions_dev.tsv")
    readme = (shared_data / "README.md").read_text(encoding="utf-8").lower()
    sources = sorted((REPO / "filters").glob("*.py")) + sorted((REPO / "filters").glob("*.c")) + [REPO / "docs" / "filters.md"]
    found = []
    for path in sources:
        text = path.read_text(encoding="utf-8").lower()
        for row in rows:
            caption = row.text.strip().lower()
            # A caption of one plain word ('Close') is a word list's entry, not a memorised string.
            if len(caption) < 8 or re.fullmatch(r"[a-z]+", caption) or caption in readme:
                continue
            if caption in text:
                found.append(f"{path.name}: {row.text!r}")
    assert not found, found


def test_a_second_composed_set_written_after_the_rules():
    """tests/fixtures/filters_composed_fresh.tsv was written after the rules and scored once,
    untuned (two misses: a mixed-case 'Zf' model name, a 'Fold' phone line): a check of how
    the rules generalise, not a set to tune on."""
    with open(REPO / "tests" / "fixtures" / "filters_composed_fresh.tsv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    predicted = label_captions(FilterChain(FilterConfig()), [r["text"] for r in rows])
    camera_hits = [p == "drop_camera" for r, p in zip(rows, predicted) if r["label"] == "drop_camera"]
    false_drops = [r["text"] for r, p in zip(rows, predicted) if r["label"] == "keep" and p != "keep"]
    assert sum(camera_hits) / len(camera_hits) >= 0.92
    assert not false_drops, false_drops


def test_no_english_lid_dev_line_is_camera_metadata(shared_data):
    """The larger vocabulary must not eat plain English: 1,500 English sentences, word pairs and
    single words from lid-dev, none of them camera metadata."""
    from wit.filters.evaluation import read_lid_dev

    for kind in ("sentences", "word-pairs", "single-words"):
        english = [text for text, lang in read_lid_dev(shared_data / "lid-dev", kind) if lang == "en"]
        assert len(english) >= 400
        assert [text for text in english if camera.is_camera_metadata(text)] == [], kind
