"""Every body and lens in lensfun's database (the camera catalogue's source) is camera metadata.

tests/fixtures/lensfun_models.tsv is written by scripts/build_camera_catalogue.py --models-out
from the same lensfun release as filters/camera_catalogue.json (CC BY-SA 3.0): 1,156 bodies as a
caption names them (maker first, 'Pentax K-x') and 1,098 lenses as lensfun writes them. The rules
are built from the catalogue's words, not from these names, so the check is whether the rules read
the shapes real model names take: a hyphenated code with an edition letter ('K-x'), two makers
joined by '/' ('Minolta/Sony AF ...'), mounts, series and specs. docs/filters.md, "Lensfun's own
bodies and lenses", has the figures before and after and what is left.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from wit.filters import camera
from wit.filters.chain import FilterChain, FilterConfig
from wit.filters.evaluation import label_captions

MODELS = Path(__file__).parent / "fixtures" / "lensfun_models.tsv"


@pytest.fixture(scope="module")
def chain():
    return FilterChain(FilterConfig())


def read_models() -> dict[str, list[str]]:
    kinds: dict[str, list[str]] = {"camera": [], "lens": []}
    with open(MODELS, encoding="utf-8") as handle:
        lines = [line.rstrip("\n") for line in handle if not line.startswith("#")]
    assert lines[0] == "kind\tname"
    for line in lines[1:]:
        kind, name = line.split("\t")
        kinds[kind].append(name)
    return kinds


@pytest.mark.parametrize(("kind", "floor"), [("camera", 0.996), ("lens", 0.985)])
def test_lensfun_bodies_and_lenses_are_camera_metadata(chain, kind, floor):
    names = read_models()[kind]
    assert len(names) > 1000
    verdicts = label_captions(chain, names)
    share = sum(verdict == "drop_camera" for verdict in verdicts) / len(names)
    missed = [name for name, verdict in zip(names, verdicts) if verdict != "drop_camera"]
    assert share >= floor, missed


@pytest.mark.parametrize(
    "text",
    [
        "Pentax K-x",  # a capital code, a hyphen and an edition letter after the maker
        "PENTAX Corporation PENTAX K-r",  # the EXIF Make field's company name first
        "Leica M-A",
        "Minolta/Sony AF 50mm F1.4",  # a lens for two makers' mounts, named by both
        "Sigma/Nikon 70-300mm f/4-5.6",
    ],
)
def test_edition_letter_codes_and_makers_pairs_are_camera(chain, text):
    assert label_captions(chain, [text]) == ["drop_camera"], text


@pytest.mark.parametrize(
    "text",
    [
        "Pentax K-x kit with 18-55mm lens for sale",  # a shop title
        "Canon/Nikon shooters meetup in the park",
        "Sony/Philips CD player",  # two device makers, no camera maker
        "Nikon D-Day",  # a word, not an edition letter, after the hyphen
        "T-shirt with a Pentax logo",
    ],
)
def test_look_alikes_stay(chain, text):
    assert label_captions(chain, [text]) == ["keep"], text


# Shop titles and reviews that name a lens (label rule 2: keep) in English, and the same listings
# in other languages (drop_nonenglish): lensfun's 1,098 lens names inside each phrase.
ENGLISH_AROUND_A_LENS = {"{} lens for sale, like new": 0.98, "Review: the {} on a rainy day": 0.995}
FOREIGN_AROUND_A_LENS = ("{} Objektiv zu verkaufen, wie neu", "Vendo objetivo {} en perfecto estado")


@pytest.mark.parametrize(("phrase", "floor"), ENGLISH_AROUND_A_LENS.items())
def test_english_listings_naming_a_lens_keep(chain, phrase, floor):
    """Lens names are names: fastText reads many of them as German or Italian, and before the
    chain read such a caption again without its gear names 94 of these listings (8.6%) were
    dropped as not English (docs/filters.md, "Lens names are no language evidence")."""
    texts = [phrase.format(name) for name in read_models()["lens"]]
    verdicts = label_captions(chain, texts)
    assert sum(verdict == "keep" for verdict in verdicts) / len(texts) >= floor


@pytest.mark.parametrize("phrase", FOREIGN_AROUND_A_LENS)
def test_foreign_listings_naming_a_lens_stay_non_english(chain, phrase):
    texts = [phrase.format(name) for name in read_models()["lens"]]
    assert set(label_captions(chain, texts)) == {"drop_nonenglish"}


def test_gear_names_leave_the_text_language_identification_reads():
    """Codes, specs and gear names English does not know go; words English knows stay."""
    assert camera.without_gear_names("Tamrox 35mm f/1.4 Sonnar lens hood, like new") == "Tamrox lens hood, like new"
    # the words of a listing in another language stay, so it is still read as that language
    assert camera.without_gear_names("Sigma 18-35mm F1.8 DC HSM Art Objektiv zu verkaufen") == "Sigma DC Art Objektiv zu verkaufen"
    assert camera.without_gear_names("Laowa 9mm f/2.8") == "Laowa 9mm f/2.8"  # nothing would be left: as it was
    assert camera.names_gear_with_a_code("Fujifilm XF 23mm f/2 lens for sale")
    assert not camera.names_gear_with_a_code("Vintage lens for sale")  # no code
    assert not camera.names_gear_with_a_code("Room 101 for sale")  # a code, no gear
