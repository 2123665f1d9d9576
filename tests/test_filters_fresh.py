"""The caption rules on two fresh hand-written sets (tests/fixtures/filters_fresh_tune.tsv and
filters_fresh_holdout.tsv: camera bodies, phones, lenses, EXIF lines, file names and keep
look-alikes written from product knowledge, none from shared/data), and the rule classes added
while tuning on the first of them, one by one with strings that are in neither file.

The holdout file was scored only before and after the first round's rule changes (docs/filters.md,
"Fresh hand-written sets"), then tuned on in the second round; the second round's blind set
(filters_blind2.tsv) was scored only before and after that round, then tuned on in the third; the
third round's blind set (filters_blind3.tsv) was scored only before and after the third round.
filters_blind4.tsv to filters_blind6.tsv (keep-heavy: product titles, foreign names, camera shop
listings) were written blind after the third round and scored once each with the rules unchanged,
then tuned on in the fourth round; the camera-heavy filters_blind7.tsv was scored before and after
the fourth round, then tuned on in the fifth, and filters_blind8.tsv before and after the fifth,
then tuned on in the sixth camera round. The floors below are the figures reached, rounded down."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from wit.filters import camera, filename
from wit.filters.catalogue import is_camera_model_name, is_exif_default_description
from wit.filters.chain import FilterChain, FilterConfig
from wit.core.records import new_candidate
from wit.filters.evaluation import label_captions, read_labelled_captions, score_predictions

FIXTURES = Path(__file__).parent / "fixtures"
FRESH = {name: FIXTURES / f"filters_fresh_{name}.tsv" for name in ("tune", "holdout")}
BLIND2 = FIXTURES / "filters_blind2.tsv"
BLIND3 = FIXTURES / "filters_blind3.tsv"
BLIND4 = FIXTURES / "filters_blind4.tsv"
BLIND5 = FIXTURES / "filters_blind5.tsv"
BLIND6 = FIXTURES / "filters_blind6.tsv"
BLIND7 = FIXTURES / "filters_blind7.tsv"
BLIND8 = FIXTURES / "filters_blind8.tsv"
BLIND9 = FIXTURES / "filters_blind9.tsv"
BLIND10 = FIXTURES / "filters_blind10.tsv"
BLIND11 = FIXTURES / "filters_blind11.tsv"
BLIND12 = FIXTURES / "filters_blind12.tsv"
BLIND13 = FIXTURES / "filters_blind13.tsv"
BLIND14 = FIXTURES / "filters_blind14.tsv"
BLIND15 = FIXTURES / "filters_blind15.tsv"
BLIND16 = FIXTURES / "filters_blind16.tsv"
BLIND17 = FIXTURES / "filters_blind17.tsv"
BLIND18 = FIXTURES / "filters_blind18.tsv"
BLIND19 = FIXTURES / "filters_blind19.tsv"
BLIND21 = FIXTURES / "filters_blind21.tsv"
BLIND22 = FIXTURES / "filters_blind22.tsv"
BLIND23 = FIXTURES / "filters_blind23.tsv"
BLIND24 = FIXTURES / "filters_blind24.tsv"
BLIND25 = FIXTURES / "filters_blind25.tsv"
BLIND26 = FIXTURES / "filters_blind26.tsv"
BLIND27 = FIXTURES / "filters_blind27.tsv"
BLIND28 = FIXTURES / "filters_blind28.tsv"
BLIND29 = FIXTURES / "filters_blind29.tsv"
BLIND30 = FIXTURES / "filters_blind30.tsv"
BLIND31 = FIXTURES / "filters_blind31.tsv"
BLIND32 = FIXTURES / "filters_blind32.tsv"
BLIND33 = FIXTURES / "filters_blind33.tsv"
BLIND34 = FIXTURES / "filters_blind34.tsv"
BLIND35 = FIXTURES / "filters_blind35.tsv"
BLIND36 = FIXTURES / "filters_blind36.tsv"
BLIND37 = FIXTURES / "filters_blind37.tsv"
BLIND38 = FIXTURES / "filters_blind38.tsv"
BLIND39 = FIXTURES / "filters_blind39.tsv"
BLIND40 = FIXTURES / "filters_blind40.tsv"
BLIND41 = FIXTURES / "filters_blind41.tsv"
BLIND42 = FIXTURES / "filters_blind42.tsv"
BLIND20_CLEAN = FIXTURES / "filters_blind20clean.tsv"


@pytest.fixture(scope="module")
def chain():
    return FilterChain(FilterConfig())


def read_fresh(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def test_the_fresh_sets_are_balanced_disjoint_and_not_dev_strings(shared_data):
    tune, holdout = (read_fresh(FRESH[name]) for name in ("tune", "holdout"))
    for rows in (tune, holdout):
        assert Counter(row["label"] for row in rows) == {"drop_camera": 75, "keep": 61, "drop_filename": 30}
        assert {row["source"] for row in rows} == {"composed"}
    assert not {row["text"] for row in tune} & {row["text"] for row in holdout}
    dev = {row.text.lower() for row in read_labelled_captions(shared_data / "captions_dev.tsv")}
    assert not dev & {row["text"].lower() for row in tune + holdout}


@pytest.mark.parametrize(
    ("path", "counts"),
    [
        (BLIND2, {"drop_camera": 75, "keep": 65, "drop_filename": 30}),
        (BLIND3, {"drop_camera": 70, "keep": 55, "drop_filename": 25}),
        (BLIND4, {"drop_camera": 55, "keep": 80, "drop_filename": 25}),
        (BLIND5, {"drop_camera": 55, "keep": 120, "drop_filename": 25}),
        (BLIND6, {"drop_camera": 45, "keep": 130, "drop_filename": 25}),
        (BLIND7, {"drop_camera": 90, "keep": 75, "drop_filename": 35}),
        (BLIND8, {"drop_camera": 90, "keep": 75, "drop_filename": 35}),
        (BLIND9, {"keep": 80, "drop_nonenglish": 40}),
        (BLIND10, {"drop_camera": 85, "keep": 85, "drop_filename": 30}),
        (BLIND11, {"keep": 110, "drop_nonenglish": 60, "drop_camera": 15, "drop_filename": 15}),
        (BLIND12, {"keep": 120, "drop_nonenglish": 60, "drop_camera": 10, "drop_filename": 10}),
        (BLIND13, {"drop_camera": 80, "keep": 60, "drop_filename": 40, "drop_nonenglish": 20}),
        (BLIND14, {"drop_camera": 70, "keep": 70, "drop_filename": 30, "drop_nonenglish": 30}),
        (BLIND15, {"drop_camera": 60, "keep": 80, "drop_filename": 30, "drop_nonenglish": 30}),
        (BLIND16, {"drop_camera": 50, "keep": 90, "drop_filename": 35, "drop_nonenglish": 25}),
        (BLIND17, {"drop_camera": 85, "keep": 75, "drop_filename": 25, "drop_nonenglish": 15}),
        (BLIND18, {"drop_camera": 49, "keep": 90, "drop_filename": 35, "drop_nonenglish": 25}),
        (BLIND19, {"drop_camera": 57, "keep": 82, "drop_filename": 30, "drop_nonenglish": 25}),
        (BLIND20_CLEAN, {"keep": 300}),
        (BLIND21, {"drop_camera": 55, "keep": 85, "drop_filename": 35, "drop_nonenglish": 25}),
        (BLIND22, {"drop_camera": 79, "keep": 80, "drop_filename": 25, "drop_nonenglish": 14}),
        (BLIND23, {"drop_camera": 50, "keep": 90, "drop_filename": 35, "drop_nonenglish": 25}),
        (BLIND24, {"drop_camera": 85, "keep": 75, "drop_filename": 25, "drop_nonenglish": 15}),
        (BLIND25, {"keep": 110, "drop_nonenglish": 70, "drop_camera": 10, "drop_filename": 10}),
        (BLIND26, {"keep": 110, "drop_nonenglish": 70, "drop_camera": 10, "drop_filename": 10}),
        (BLIND27, {"drop_camera": 85, "keep": 75, "drop_filename": 25, "drop_nonenglish": 15}),
        (BLIND28, {"drop_camera": 50, "keep": 90, "drop_filename": 35, "drop_nonenglish": 25}),
        (BLIND29, {"keep": 110, "drop_nonenglish": 70, "drop_camera": 10, "drop_filename": 10}),
        (BLIND30, {"drop_camera": 50, "keep": 90, "drop_filename": 35, "drop_nonenglish": 25}),
        (BLIND31, {"drop_camera": 50, "keep": 88, "drop_filename": 35, "drop_nonenglish": 25}),
        (BLIND32, {"drop_camera": 50, "keep": 90, "drop_filename": 35, "drop_nonenglish": 25}),
        (BLIND33, {"drop_camera": 49, "keep": 90, "drop_filename": 35, "drop_nonenglish": 25}),
        (BLIND34, {"drop_camera": 85, "keep": 75, "drop_filename": 25, "drop_nonenglish": 15}),
        (BLIND35, {"keep": 110, "drop_nonenglish": 70, "drop_camera": 10, "drop_filename": 10}),
        (BLIND36, {"drop_camera": 50, "keep": 90, "drop_filename": 35, "drop_nonenglish": 25}),
        (BLIND37, {"drop_camera": 49, "keep": 90, "drop_filename": 35, "drop_nonenglish": 24}),
        (BLIND38, {"drop_camera": 84, "keep": 75, "drop_filename": 25, "drop_nonenglish": 15}),
        (BLIND39, {"drop_camera": 85, "keep": 75, "drop_filename": 25, "drop_nonenglish": 15}),
        (BLIND40, {"drop_camera": 49, "keep": 90, "drop_filename": 35, "drop_nonenglish": 25}),
        (BLIND41, {"drop_camera": 85, "keep": 75, "drop_filename": 25, "drop_nonenglish": 15}),
        (BLIND42, {"drop_camera": 50, "keep": 90, "drop_filename": 35, "drop_nonenglish": 25}),
    ],
)
def test_the_blind_sets_are_balanced_and_repeat_no_other_set(shared_data, path, counts):
    """Each blind set (blind2 written before the second round's rule changes, blind3 before the
    third's, blind4 and blind5 after the third round, blind6 and the camera-heavy blind7 and
    blind8 before the next rule change, blind9 before the gear-name reading) shares no row with
    shared/data, the fresh sets, the composed fixtures or each other."""
    blind = read_fresh(path)
    assert Counter(row["label"] for row in blind) == counts
    assert {row["source"] for row in blind} == {"composed"}
    texts = {row["text"].lower() for row in blind}
    assert len(texts) == len(blind)
    dev = {row.text.lower() for row in read_labelled_captions(shared_data / "captions_dev.tsv")}
    assert not dev & texts
    for other in sorted(FIXTURES.glob("filters_*.tsv")):
        if other != path:
            assert not texts & {row["text"].lower() for row in read_fresh(other)}, other.name


# (camera recall, file-name precision, file-name recall, keep recall) reached, rounded down. The
# first holdout became a tuning set in the second round, blind2 in the third; blind3 was scored
# only before and after the third round. blind3's keep misses are language identification.
# blind4 was scored once, written after the third round with no rule change since: its keep
# misses are two short product titles of prices and units (language identification), its
# file-name miss a phone camera's digits-only date-time name, a file name since the naming
# schemes' stamps are (docs/filters.md, "Blind sets 10 to 13"). blind5 and blind6 too were
# scored once with no rule changed since they were written; blind6's camera misses are large-format bodies, drone EXIF model codes (read
# as file names), an EXIF line with a 'Settings:' key and a body + lens line joined by 'w/'.
# blind4, blind5 and blind6 became tuning sets in the fourth round (docs/filters.md, "Fourth
# round"); blind4's and blind5's keep misses and blind4's file-name miss are the ones above.
# blind7 (camera-heavy) was scored before and after the fourth round's rules, written without it,
# and became a tuning set in the fifth round (docs/filters.md, "Fifth round"). blind8
# (camera-heavy) was scored before and after the fifth round's rules, written without it, and
# became a tuning set in the sixth round (docs/filters.md, "Sixth camera round"). blind10
# (camera-heavy) was scored before and after the sixth round, written without it; blind11 and
# blind12 (language identification) and blind13 (YFCC and LAION-like) were scored once, with
# the rules written without them, then blind11's screenshot and phone-listing misses and
# blind13's digits-only and generic-word file names were tuned on (docs/filters.md, "Blind sets
# 10 to 13"). In the seventh camera round blind10, blind11 and blind13 were tuned on for their
# camera misses (docs/filters.md, "Seventh camera round"); blind12 is untuned. blind14 was scored
# before and after the seventh round, written without it, and tuned on for its camera misses in
# the eighth (docs/filters.md, "Eighth camera round"), as was its file-name miss ('Copy of' in
# another language). blind15 and blind16 (the last in the private hold-out's mix of sources),
# written after the eighth round, were scored once with the rules unchanged since, and are
# untuned. blind17 (camera-heavy, long tail), blind18 (the private hold-out's mix) and blind19 (a
# crawl's mix) were written after the eighth round too and scored once with its rules (first,
# blind scores: camera recall 0.765, 0.898 and 0.912). They were written at the same time, so
# blind18 lost one row that blind17 holds too and blind19 six that blind17 or blind18 hold.
# In the ninth round blind15 to blind19 were tuned on for classes of their misses by two
# helpers (docs/filters.md, the two "Ninth camera round" sections); the floors rose with them.
# blind21 (the private hold-out's mix) and blind22 (camera-heavy) were written while the ninth
# round was under way, by writers who read no rule, and are never tuned on (blind22 lost two rows
# blind21 holds too); their floors are their scores after the ninth round (first scores, with the
# eighth round's rules: camera recall 0.927 and 0.835). blind23 (the hold-out's mix), blind24
# (camera-heavy), blind25 and blind26 (hard for language identification) were written blind after
# the ninth round; blind25 became a tuning set of the names reading (docs/filters.md, "Names and
# slugs read again"), blind24 of the eleventh camera round; blind26's rows were read after its
# first score (a bilingual reading was tried on them and left out). blind27 (camera-heavy),
# blind28 (the hold-out's mix) and blind29 (hard for language identification), written blind
# after the tenth round, are untuned: their first scores (at 56fa0ad) were camera recall 0.906,
# 0.960 and 0.700, keep recall 0.987, 0.967 and 0.900; their floors are their scores after the
# eleventh round, which never read them. blind25, blind26 and blind29's keep floors rose with the
# names reading's particles and two-word readings (docs/filters.md, "Names and slugs read again").
# blind30 and blind31 (the hold-out's mix), written blind after that, were scored once (camera
# recall 0.94 and 0.94, keep recall 0.989 and 0.955) and became tuning sets of the twelfth camera
# round; their floors are their scores after it. blind32 and blind33 (the hold-out's mix) are
# untuned: first scores (396d23c) camera recall 0.920 and 0.939, keep recall 0.989 and 0.989.
# blind34 (camera-heavy) and blind35 (hard for language identification) were scored once (camera
# recall 0.859; keep recall 0.845) and tuned on in the thirteenth camera round and the language
# rounds after it. blind36 and blind37 (the hold-out's mix) are untuned: first scores (f992ed2)
# camera recall 0.900 and 0.980, keep recall 1.000 and 0.989. blind38 (camera-heavy) was scored
# once (camera recall 0.857) and tuned on in the fourteenth camera round. blind39 (camera-heavy)
# and blind40 (the hold-out's mix, untuned) were scored once at ef49792 (camera recall 0.871 and
# 0.939, keep recall 1.000 and 0.989); blind39 was tuned on in the fifteenth camera round. blind41
# (camera-heavy) and blind42 (the hold-out's mix, untuned) were scored once at 2d452dd (camera
# recall 0.871 and 1.000, keep recall 0.973 and 0.989); blind41 was tuned on in the sixteenth.
FLOORS = {
    "tune": (0.98, 1.00, 1.00, 0.98),
    "holdout": (0.98, 1.00, 1.00, 1.00),
    "blind2": (0.98, 1.00, 1.00, 1.00),
    "blind3": (0.98, 1.00, 1.00, 1.00),
    "blind4": (1.00, 1.00, 1.00, 0.97),
    "blind5": (1.00, 1.00, 1.00, 0.99),
    "blind6": (1.00, 1.00, 1.00, 1.00),
    "blind7": (0.97, 1.00, 1.00, 0.98),
    "blind8": (0.97, 1.00, 1.00, 0.98),
    "blind10": (0.98, 1.00, 1.00, 0.96),
    "blind11": (1.00, 1.00, 1.00, 0.93),
    "blind12": (1.00, 1.00, 1.00, 0.99),
    "blind13": (0.98, 1.00, 0.97, 0.98),
    "blind14": (1.00, 1.00, 1.00, 1.00),
    "blind15": (1.00, 1.00, 1.00, 0.98),
    "blind16": (1.00, 1.00, 1.00, 1.00),
    "blind17": (1.00, 1.00, 1.00, 1.00),
    "blind18": (1.00, 1.00, 1.00, 1.00),
    "blind19": (1.00, 1.00, 1.00, 1.00),
    "blind21": (1.00, 1.00, 1.00, 0.97),
    "blind22": (1.00, 1.00, 1.00, 1.00),
    "blind23": (0.96, 1.00, 1.00, 0.96),
    "blind24": (1.00, 1.00, 1.00, 0.98),
    "blind25": (1.00, 1.00, 1.00, 0.93),
    "blind26": (1.00, 1.00, 1.00, 0.90),
    "blind27": (0.94, 1.00, 1.00, 0.98),
    "blind28": (0.96, 1.00, 1.00, 0.96),
    "blind29": (0.90, 1.00, 1.00, 0.94),
    "blind30": (0.98, 1.00, 1.00, 0.98),
    "blind31": (1.00, 1.00, 1.00, 0.95),
    "blind34": (0.95, 1.00, 1.00, 1.00),
    "blind35": (1.00, 1.00, 1.00, 0.86),
    "blind38": (0.97, 1.00, 1.00, 1.00),
    "blind39": (0.98, 1.00, 1.00, 1.00),
    "blind41": (0.96, 1.00, 1.00, 0.97),
}
SET_PATHS = {**FRESH, "blind2": BLIND2, "blind3": BLIND3, "blind4": BLIND4, "blind5": BLIND5, "blind6": BLIND6,
             "blind7": BLIND7, "blind8": BLIND8, "blind10": BLIND10, "blind11": BLIND11, "blind12": BLIND12,
             "blind13": BLIND13, "blind14": BLIND14, "blind15": BLIND15,
             "blind16": BLIND16, "blind17": BLIND17, "blind18": BLIND18, "blind19": BLIND19,
             "blind21": BLIND21, "blind22": BLIND22,
             "blind23": BLIND23, "blind24": BLIND24, "blind25": BLIND25, "blind26": BLIND26,
             "blind27": BLIND27, "blind28": BLIND28, "blind29": BLIND29,
             "blind30": BLIND30, "blind31": BLIND31, "blind34": BLIND34, "blind35": BLIND35,
             "blind38": BLIND38, "blind39": BLIND39, "blind41": BLIND41}


@pytest.mark.parametrize("name", list(FLOORS))
def test_the_chain_on_the_fresh_sets(chain, name):
    rows = read_fresh(SET_PATHS[name])
    scores = score_predictions([row["label"] for row in rows], label_captions(chain, [row["text"] for row in rows]))
    reached = (
        scores["drop_camera"].recall,
        scores["drop_filename"].precision,
        scores["drop_filename"].recall,
        scores["keep"].recall,
    )
    assert all(value >= floor for value, floor in zip(reached, FLOORS[name])), (name, reached)
    assert scores["drop_camera"].precision >= 0.95, scores["drop_camera"]


@pytest.mark.parametrize(
    "text",
    [
        "Yuneec Typhoon H Pro",  # a drone maker; a name between the maker and one capital
        "Skydio 2+",
        "Kinefinity MAVO Edge 6K",  # cinema cameras
        "Blackmagic URSA Mini Pro 4.6K G2",
        "Konica Hexar AF",  # a line lensfun lacks, then a capital lens code
        "Bronica ETRS",  # capitals English does not know after a film-camera maker
        "Zenit-E",  # a maker, a hyphen and a code
        "Kiev-88",
        "E-M5MarkIII",  # a version glued to the model code
        "Xiaomi Mi 9T Pro",
        "HUAWEI P20 lite",
        "Nokia 5.4",  # a phone's version with a decimal
        "Samsung SM-S918B 6.3mm f/1.7",
        "GT-I9300",  # a phone maker's EXIF model series
        "Carl Zeiss Jena Tessar 50mm 1:2.8",  # older lens series
        "Hasselblad Zeiss Planar 80mm f/2.8 CF T*",
        "Insta360 ONE RS 1-Inch 360 Edition",
        "Device: Samsung Galaxy S10",  # a gear list after a key
        "Gear: Sony A6000 + Sigma 16mm f/1.4",
        "MINOLTA DIGITAL STILL CAMERA",  # EXIF default descriptions
        "SANYO CAMERA PICTURES",
        "1/60 sec, f/5.6, ISO 1600, 35 mm, Flash fired",  # the Flash tag's values in words
        "Exposure 1/30 s, f/2, ISO 800, no flash",
    ],
)
def test_new_camera_classes_are_camera(chain, text):
    assert label_captions(chain, [text]) == ["drop_camera"], text


@pytest.mark.parametrize(
    "text",
    [
        "Canon Tower 3",  # a name and a bare number after a maker is no model
        "Fujifilm Holdings HQ",
        "Canon Expo 2010",
        "Sigma Chi fraternity house at dusk",
        "Nikon Z50 Camera, Silver",  # a colour variant after a shop title
        "Sony Alpha 7 IV Full-Frame Mirrorless Camera - Black",
        "Olympus PEN E-P7 Mirrorless Camera - Silver",
        "No flash allowed in the gallery",
        "The cannon did not fire during the ceremony",
        "Still life with lemons and a jug",
        "Camera pictures from the trail",
        "Zenit-E camera repair guide for beginners",
        "Samsung Galaxy S10 screen repair kit",
        "Model: Kate Moss, Photographer: Mario Testino",
    ],
)
def test_look_alikes_stay(chain, text):
    assert label_captions(chain, [text]) == ["keep"], text


@pytest.mark.parametrize(
    "token, named",
    [
        ("Zenit-E", True),
        ("Kiev-88", True),
        ("LG-V30", True),
        ("E-M10MarkII", True),
        ("EOS5DMk4", True),
        ("Zenit-Era", False),  # a word after the hyphen, not a code
        ("e-mail", False),
        ("Canon-ish", False),
        ("TG-7", False),  # too short a series to tell from a counter
    ],
)
def test_camera_model_names(token, named):
    assert is_camera_model_name(token) is named


@pytest.mark.parametrize(
    "text",
    [
        "Snímek obrazovky 2023-04-01 v 10.22.31.png",  # screenshot tools in other languages
        "Schermafbeelding 2022-11-03 om 14.02.55.png",
        "Zrzut ekranu 2021-07-19 151515.png",
        "スクリーンショット 2023-05-01 12.00.00.png",
        "Снимок экрана 2021-01-05 в 18.00.00.png",
        "Captura de pantalla 2021-05-03 a las 10.22.11.png",  # the words between the tool and its time
        "Captura de ecrã 2020-09-30 às 08.15.02.jpeg",
        "Picture 112",  # a generic file word and a number, the whole caption
        "scan_07",
        "20131224_180512",  # digits-only names cameras, phones and upload tools write
        "2015-06-30 18.04.11",
        "2012-01-02_0192",
        "101_0488",
        "Kopie van DSC_0042.JPG",  # 'Copy of' in other languages before a counter
        "Cópia de IMG_0100.jpg",
        "ezgif.com-crop (2).gif",  # a web tool's domain in the name
        "Screenshot_2021-02-03-10-11-12-456_com.example.shop.jpg",  # an app's package id
        "telegram-cloud-document-size-4-123456789012345678-x.jpg",
        "Photo Mar 4, 9 41 12 AM.jpg",  # a whole caption that is a file name is not cut at its comma
    ],
)
def test_new_file_name_classes(chain, text):
    assert label_captions(chain, [text]) == ["drop_filename"], text


@pytest.mark.parametrize(
    "text",
    [
        "canva.com-wedding-invitation-gold-floral.png",  # the rest of the name still describes
        "https://example.com/gallery/photo-123",  # a URL is the boilerplate rule's, not a file name
    ],
)
def test_tool_domains_leave_descriptions_and_urls_alone(text):
    assert not filename.is_file_name(text)


def test_a_caption_that_is_one_file_name_is_not_stripped():
    assert camera.strip_camera_suffix("Photo Mar 4, 9 41 12 AM.jpg") == "Photo Mar 4, 9 41 12 AM.jpg"
    assert camera.strip_camera_suffix("Red barn in the snow, IMG_0042.JPG") == "Red barn in the snow"


# Second round (docs/filters.md, "Second round"): classes the fresh holdout missed, tuned on it
# and on the tune file; each with strings that are in no fixture.
@pytest.mark.parametrize(
    "text",
    [
        # Company names as the EXIF Make field writes them, before or after the maker's name.
        "FUJI PHOTO FILM CO., LTD. FinePix S5000",
        "SANYO Electric Co.,Ltd. VPC-E1",
        "OLYMPUS OPTICAL CO.,LTD C-5050Z",
        "Seiko Epson R-D1s",
        "LG Electronics LG-H870",
        # Makers' names the supplement gained, as phrases ('OM Digital Solutions', 'Z CAM').
        "OM Digital Solutions E-M10MarkIV",
        "Z CAM E2-F6",
        "HMD Global Nokia 6.1",
        # An everyday-word maker with a letters-and-digits code right after it.
        "Sinar P3",
        # Versions glued to 'Mark'/'Mk' in lower case, and makers glued to codes as hashtags.
        "Canon 5D markii",
        "Sony a7 mkiii",
        "canon6dmarkii",
        "#nikonz6ii #nikkor",
        # Short, mixed-case and one-letter codes right after a maker or a phone line.
        "Zenza Bronica SQAi",
        "Olympus mju Zoom 140",
        "motorola moto x4",
        # A hyphenated line name the catalogue lacks, with film stock.
        "Minolta Hi-matic E, Kodak Gold 200",
        "Zeiss Ikon Contessa IIa",  # a version numeral with a letter after a line name
    ],
)
def test_second_round_camera_classes(chain, text):
    assert label_captions(chain, [text]) == ["drop_camera"], text


@pytest.mark.parametrize(
    "text",
    [
        "Seiko watch with a leather strap",  # company words away from a maker's name are content
        "Samsung Electronics quarterly earnings report",
        "Casio computer keyboard for kids",
        "Fuji photo of the mountain at sunrise",
        "Olympus mountain trail in the fog",
        "X-Men comic cover art",  # no digits: no body code
        "Moto G Power phone case",  # a product noun stays content
        "Canon Inc press conference",
        "Mark II of the tank at the museum",
        "Sunset at the beach with friends #nikond750 #travel",  # hashtags beside content words
    ],
)
def test_second_round_look_alikes_stay(chain, text):
    assert label_captions(chain, [text]) == ["keep"], text


@pytest.mark.parametrize(
    "token, named",
    [
        ("X-T20", True),  # a lensfun body's short hyphenated code shape ('x-t' of X-T30) with other digits
        ("X-Pro3", True),
        ("E-PL9", True),
        ("K-S2", True),
        ("nikond850", True),  # a camera maker glued to a code
        ("fujixe4", True),
        ("X-Men", False),  # no digits
        ("F-16", False),  # no letter after the hyphen
        ("Q-7B", False),  # no lensfun body has this shape
        ("leica2019", False),  # a maker and a bare number
        ("Canonet", False),
    ],
)
def test_second_round_model_names(token, named):
    assert is_camera_model_name(token) is named


def test_a_body_code_alone_is_no_file_name():
    assert not filename.is_file_name("X-E3")
    assert label_captions(FilterChain(FilterConfig()), ["X-E3"]) == ["drop_camera"]


# Third round (docs/filters.md, "Third round"): classes blind2 missed, now tuned on as classes;
# each with strings that are in no fixture.
THIRD_ROUND_CAMERAS = [
    # An everyday-word maker, a line name English does not know, then an edition word or a code.
    "Parrot Anafi Pro",
    "Leaf Aptus 75S",
    "RED Scarlet-W 5K",  # the cinema maker RED is an everyday-word maker
    # A word English knows between a model code and another code or one capital: an edition name.
    "Mamiya RB67 Professional S",
    "Contax RTS Quartz III",
    # A word in capitals right after a maker, before a bare number, as EXIF Model fields write it.
    "YASHICA ELECTRO 35",
    # Lens mounts as capitals joined by '/', after a lens line joined to its number by a hyphen.
    "Tair-3 300mm f/4.5 S/M",
    # Short capital codes with an edition letter, joined by a hyphen, right after a maker.
    "Bronica SQ-Am",
    "Konica FT-Ax",
    # Phones' EXIF model names: the maker, '_' and a code of capitals and digits.
    "ASUS_Z01KD",
    "Infinix_X657C",
]


@pytest.mark.parametrize("text", THIRD_ROUND_CAMERAS)
def test_third_round_camera_classes(chain, text):
    assert label_captions(chain, [text]) == ["drop_camera"], text


@pytest.mark.parametrize(
    "text",
    [
        "Red fox crossing a frozen river",  # the maker word as a colour, before content
        "Red Bull Racing RB19 at Silverstone",
        "Parrot Zik wireless headphones",
        "Arsenal Odegaard",  # a name English does not know alone, without a code, is not enough
        "Arsenal Martinelli UCL",  # nor with capitals after it: a club, a player, a competition
        "Parrot 3D model",  # a format code after the maker word describes a product
        "Red 4K TV",
        "Magic Johnson 32",  # a bare number after a name is not enough either
        "Canon EOS R5 Review Part 2",  # a known word after a code, before no code, is content
        "Nikon D850 Wedding 2019",
        "AC/DC 1979",  # capitals joined by '/' are a code, but no camera signal
    ],
)
def test_third_round_look_alikes_stay(chain, text):
    assert label_captions(chain, [text]) == ["keep"], text


@pytest.mark.parametrize(
    "token, named",
    [
        ("ASUS_Z01KD", True),  # a maker, '_', capitals and digits
        ("HUAWEI_P30", True),
        ("Tair-3", False),  # 'tair' is no catalogue line
        ("Helios-40", True),  # a lens line joined to its number
        ("ASUS_1234", False),  # a counter: no letter in the code
        ("canon_0001", False),
        ("photo_A1234", False),  # no maker before the '_'
        ("ASUS_Z01KD.jpg", False),  # an extension: a file name
    ],
)
def test_third_round_model_names(token, named):
    assert is_camera_model_name(token) is named


@pytest.mark.parametrize("text", ["ASUS_Z01KD", "Infinix_X657C"])
def test_a_phone_model_with_an_underscore_is_no_file_name(text):
    assert not filename.is_file_name(text)


@pytest.mark.parametrize("text", ["ASUS_1234", "canon_0001", "SONY_20190101"])
def test_a_maker_with_a_counter_stays_a_file_name(chain, text):
    assert label_captions(chain, [text]) == ["drop_filename"], text


# Fourth round (docs/filters.md, "Fourth round"): classes blind4, blind5 and blind6 missed, tuned
# on as classes; each with strings that are in no fixture.
FOURTH_ROUND_CAMERAS = [
    # 'w/' joins a body and its lens as 'with' does; an aperture without a slash ('f1.4').
    "Pentax K1000 w/ Takumar 50mm f1.4",
    "Sony A9 w/ FE 85mm f1.8",
    # 'Key: value' lines with keys photo sites use besides the EXIF tags ('Settings:', 'Body:').
    "Body: Fujifilm X-E4, Lens: XF 27mm f/2.8, Settings: 1/500s, f/5.6, ISO 320",
    "Camera: Canon R6 Lens: RF 35mm Settings: 1/60 f/11 ISO 800",
    # Drone cameras' EXIF model names: DJI's 'FC' glued to digits, Hasselblad's 'L1D-' series.
    "FC330",
    "FC6510",
    "L1D-20c",
    # Field and view cameras: makers the supplement lacked (some also a place, a tyre brand or a
    # word: they need a code), a film format after a maker and its line name.
    "Toyo 810M",
    "Chamonix 8x10",
    "Tachihara 4x5",
    "Shen Hao 4x5",
    "Graflex Century Graphic 6x9",
    "Kodak Master View 8x10",
    "Gandolfi Royal Traditional 5x7",
    # A word English knows, then a line name it does not know and a number.
    "Wista Field Kompakt 45",
    # Cinema lines that are also names or places, after a maker and before a code.
    "Sony BURANO 8K",
    "Panasonic VariCam LT",
    # A feature word after an action camera's code.
    "Campark X30 WiFi",
    # A camera-only maker and a line name English does not know.
    "Minolta Autopak",
    "Rolleiflex Automat",
    "Yashica Electroflex II",
]


FOURTH_ROUND_LOOK_ALIKES = [
    # Makers that also sell printers, TVs, food or beer, and a club: a line name alone is no camera.
    "Canon Pixma",
    "Canon Selphy",
    "Sony Bravia",
    "Asahi Kasei",
    "Samyang Buldak",
    "Zenit Kazan",
    "Canon Tower 3",  # a word English knows and a bare number stay content
    "Mamiya Gallery",  # a word English knows alone after a maker is content (Universal is a Mamiya line)
    # The new makers and line words as places, tyres, words and names.
    "Toyo Proxes tires",
    "Toyo 4K TV",  # a format code after an everyday-word maker names no camera
    "Chamonix in winter",
    "Hotel Chamonix 2",
    "Ebony and ivory",
    "Intrepid Sea, Air and Space Museum",
    "Shen Hao",  # the maker's name alone is a person's name too
    "Venice at dusk from the Rialto bridge",
    "Ursa Major",
    "Echo Dot with Alexa",
    "Sony WALKMAN 2",  # a line English knows before a bare number, after a device brand
    "Free WiFi",
    # 'w/' in a caption with content, and a shop title with 'w/'.
    "Burger w/ fries",
    "Sony A7 IV w/ 28-70mm Lens Kit",
    "Graflex Speed Graphic 4x5 Camera with 135mm Lens",
    # Film formats are not every 'NxM': a vehicle, a print size with content.
    "Toyota Land Cruiser 4x4",
    "8x10 print of a sunset",
    "Settings: dark mode on, notifications off",
    "FC Porto 2019",
]


@pytest.mark.parametrize(
    "token, named",
    [
        ("FC330", True),  # DJI's series in capitals, glued to three or four digits
        ("FC6510", True),
        ("FC12", False),  # too few digits
        ("fc330", False),  # lower case: a tag or a name, not the EXIF Model field
        ("FC330.jpg", False),  # an extension: a file name
        ("L1D-20c", True),  # Hasselblad's series in DJI drones
    ],
)
def test_fourth_round_model_names(token, named):
    assert is_camera_model_name(token) is named


@pytest.mark.parametrize("text", ["FC330", "L1D-20c"])
def test_a_drone_model_code_is_no_file_name(text):
    assert not filename.is_file_name(text)


# Fifth round (docs/filters.md, "Fifth round"): classes blind7 missed, tuned on as classes; each
# with strings that are in no fixture.
FIFTH_ROUND_CAMERAS = [
    # Makers' EXIF model series newer than lensfun 0.3.3: Sony's vlogging, cinema and action
    # bodies and Xperia phones.
    "ZV-X9",
    "ILME-FX9",
    "FDR-X5100",
    "XQ-AB12",
    # Phones' EXIF model names glued to digits (OPPO/OnePlus, Realme), anywhere.
    "CPH1234",
    "RMX3377",
    "Shot on CPH1234",
    # Xiaomi's dated EXIF model names and 'XT' with digits (Autel's drone cameras, Motorola's
    # phones), as a caption of their own.
    "M2203J9G",
    "2209117RG",
    "XT712",
    # Film and twin-lens lines: a camera maker's name glued to 'flex', 'cord' or 'mat(ic)'.
    "Canonflex RM",
    "Mamiyaflex C2",
    "Yashicamat 124",
    # A maker's name written with a hyphen; a maker and a line name joined by one before a code.
    "Insta-360 X3",
    "Toyo-View 45X",
    "Yashica-Mat 124G",
    # A cinema line that is also a name, right after a camera-only maker; an edition word English
    # knows at the end of a body's name.
    "Kinefinity Raptor",
    "ARRI Alexa Live",
    "Mamiya RZ67 Professional",
    # A generation and its number after a model's name.
    "Polaroid Go Generation 2",
    # An everyday-word maker, a line name and one capital.
    "Leaf Aptus S",
    # Lens mounts written as one word.
    "canon r6 sigma 35mm f1.4 rfmount",
    "Sigma 18-50mm f/2.8 DC DN for Fujifilm X-mount",
    # Cinema makers the supplement lacked.
    "Panavision Genesis HD2",
]


FIFTH_ROUND_LOOK_ALIKES = [
    # 'XT' and digits beside other words is as often a motorcycle; dates and part numbers of
    # another shape stay file names or keep.
    "Yamaha XT600",
    "XT600 Tenere rebuild",
    "Motorcycle parts for the XT500",
    # 'mount' in English and beside a maker's name.
    "Mount Fuji at dawn",
    "the amount of light in the room",
    "Sony FE-mount",  # a device brand and a mount: no model code
    # Cinema lines without a camera-only maker before them.
    "Leica Venice",
    "Venice at dusk",
    # Edition and generation words without a model code or number.
    "Canon Professional",
    "Professional photographer at work",
    "Canon Next Generation",
    "Polaroid sunglasses Generation 2",
    "Toyota Prius Generation 2",
    "Live music at the park",
    # A hyphen after an everyday-word maker before a format code; a product with a mount.
    "Toyo-Tires 4K",
    "Lens adapter for Nikon Z-mount",
    "Red Sox X",
]


# Sixth round (docs/filters.md, "Sixth camera round"): classes blind8 missed, tuned on as classes,
# and older phone makers as EXIF writes them; each with strings that are in no fixture.
SIXTH_ROUND_CAMERAS = [
    # Gear-only hashtag lists: a maker or line glued to a gear word, a line, a short code or
    # 'series', beside makers glued to codes; a consumer brand lensfun lists as a camera maker
    # glued to a body line or short code.
    "#sonyalpha #sonyfe #sonyzv1",
    # 'Shot on' glued before a maker or phone line; a two-word maker glued.
    "#shotonpixel #pixel8pro",
    "#omsystem #om5",
    "#canoneosr #canonlens #rf85mm",
    "#olympusomd #zuiko45mm",
    "#panasoniclumix #lumixg9",
    "#ricohgr #ricohgr3",
    "#sigmaart #sigma35mm",
    # A lens joined by '+' to an adapter or focal reducer (adapter makers the supplement lacked).
    "Minolta MD 50mm f/1.7 + Fotodiox MD-NEX adapter",
    "Nikkor 28mm f/2.8 AI + Kipon NF-GFX adapter",
    "Sigma 18-35mm f/1.8 + Viltrox EF-M2 focal reducer",
    # Kinds of camera named with a code (webcams' device names), dashcam and security-camera
    # makers and editions, a webcam line.
    "Webcam C270",
    "Reolink RLC-810A",
    "Microsoft LifeCam HD-3000",
    "Nextbase 522GW",
    "Vantrue N2 Pro",
    "BlackVue DR750X Plus",
    # Press and twin-lens makers whose names are everyday words, with a code; a Chinese maker; a
    # drone maker and its line.
    "Busch Pressman 4x5",
    "Seagull 4B-1",
    "Phenix DC303",
    "Ryze Tello",
    # Older phone makers and lines as EXIF writes them.
    "Sony Ericsson W995",
    "SonyEricsson K750i",
    "BlackBerry Curve 9300",
    "ZTE Axon 7",
    "ZTE Blade A7",
    "Palm Treo 680",
    "HTC Desire Z",
    "Galaxy Nexus",
    # A line name after an edition word inside a model's name.
    "Fujifilm Instax Mini LiPlay",
]


SIXTH_ROUND_LOOK_ALIKES = [
    # Adapters without a camera maker or lens spec; a lens accessory named in a shop title.
    "USB-C adapter for iPhone 15",
    "Travel adapter + USB charger",
    "HDMI adapter + cable for Sony TV",
    "Speed booster for Canon EF lenses",
    "Metabones adapter review",
    # The everyday-word makers, kinds and lines in natural text or without a code.
    "Seagull on a fence post",
    "A seagull steals chips on the pier",
    "Busch Light 12 pack",
    "Busch Gardens Tampa",
    "Webcam view of the harbour",
    "Dash cam footage of the crash",
    "Webcam for Zoom calls",
    "Wyze smart lock review",
    "Palm trees at sunset",
    "BlackBerry Bold",
    "Sony Ericsson logo",
    "Ericsson 5G network",
    "Blade Runner 2049",
    "Storm Ciara 2020",
    "Pentax K-3 storm",  # a phone line that is an everyday word, not after a phone maker
    "Galaxy phone",
    "Polaroid picture of my grandmother",
    "A parrot in its cage at the pet shop",
    "Anafi island harbour",
]


SIXTH_ROUND_NOT_CAMERA = [
    # A maker's hashtag glued to a content word is content: tag soup with content words is
    # keep (whatever language identification then makes of the hashtags).
    "#canonphotography #streetphotography",
    "#nikonlove #sunset",
    "#pentaxcamera #portrait #blackandwhite",
    # A maker glued to a word English knows or to other letters; a phone line glued to a word.
    "#fujisan #noctis",
    "#fujifeed",
    "#pixelart #8bit",
    "#sonyalpha #landscape",
    "#shotoniphone #sunset #beach",
    "#shotonmyphone",
    # Glued without a '#', a word is read as written.
    "nikonlens",
]


@pytest.mark.parametrize(
    "text, reason",
    [
        ("XT712", "drop_camera"),
        ("M2203J9G", "drop_camera"),
        ("CPH1234", "drop_camera"),
        ("20230115A", "drop_filename"),  # month 23: no dated phone code
        ("2101ABC", "drop_filename"),  # no digit after the date
        ("XT712.jpg", "drop_filename"),
        ("ZV-2", "drop_filename"),  # a two-letter series needs a letter in the code, like 'TG-7'
    ],
)
def test_lone_phone_and_drone_codes_are_no_file_names(chain, text, reason):
    assert label_captions(chain, [text]) == [reason], text


def test_the_chain_on_camera_listings_in_english_and_other_languages(chain):
    """blind9: shop titles, reviews and captions naming camera gear, in English (keep) and in
    eleven other languages (drop_nonenglish), written blind and scored before and after the
    chain read gear-naming captions again without their gear names (docs/filters.md, "Lens names
    are no language evidence"): keep recall 0.975 -> 0.988, every listing in another language
    still dropped."""
    rows = read_fresh(BLIND9)
    scores = score_predictions([row["label"] for row in rows], label_captions(chain, [row["text"] for row in rows]))
    assert scores["keep"].recall >= 0.98, scores["keep"]
    assert scores["drop_nonenglish"].recall == 1.0 and scores["drop_nonenglish"].precision >= 0.97, scores["drop_nonenglish"]


@pytest.mark.parametrize(("name", "recall", "precision"), [("blind11", 0.96, 0.89), ("blind12", 0.98, 0.98), ("blind13", 1.0, 0.86), ("blind15", 1.0, 0.96), ("blind16", 1.0, 0.89), ("blind17", 1.0, 1.0), ("blind18", 1.0, 1.0), ("blind19", 0.96, 1.0), ("blind21", 1.0, 0.86), ("blind22", 1.0, 1.0), ("blind23", 1.0, 0.86), ("blind24", 1.0, 0.75), ("blind25", 0.94, 0.83), ("blind26", 0.97, 0.83), ("blind27", 1.0, 0.88), ("blind28", 0.96, 0.88), ("blind29", 1.0, 0.85)])
def test_the_chain_on_text_in_other_languages(chain, name, recall, precision):
    """Non-English recall and precision on the blind sets that hold other languages (blind11 and
    blind12 written for language identification, blind13 YFCC-like, blind15 and blind16 mixed), reached,
    rounded down."""
    rows = read_fresh(SET_PATHS[name])
    scores = score_predictions([row["label"] for row in rows], label_captions(chain, [row["text"] for row in rows]))
    assert scores["drop_nonenglish"].recall >= recall and scores["drop_nonenglish"].precision >= precision, scores["drop_nonenglish"]


def test_clean_captions_are_kept(chain):
    """blind20clean: 300 clean English captions in the styles of COCO (one plain sentence about a
    scene) and Conceptual Captions (hypernymised alt text: 'actor attends ...'), written blind and
    scored once before any rule read them. The issue's clean keep-rate target is 0.99; any caption
    the chain drops is named in the failure."""
    rows = read_fresh(BLIND20_CLEAN)
    verdicts = label_captions(chain, [row["text"] for row in rows])
    dropped = [(row["text"], verdict) for row, verdict in zip(rows, verdicts) if verdict != "keep"]
    assert len(dropped) <= 0.01 * len(rows), dropped


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("30091999417", "drop_other"),  # digits in no naming scheme: pure numbers (label_captions names the boilerplate drop so)
        ("2015-06-30", "drop_other"),
        ("555-0199", "drop_other"),
        ("Photo 12 shows the old harbour", None),
        ("Apollo 11", None),
        ("Kopie von Oma und Opa am Strand.jpg", "drop_nonenglish"),  # a copy's name that describes: its language decides
    ],
)
def test_numbers_outside_naming_schemes_are_no_file_names(chain, text, verdict):
    assert label_captions(chain, [text]) == [verdict or "keep"], text


def test_a_phones_memory_and_storage_pair_makes_a_shop_listing(chain):
    assert label_captions(chain, ["Samsung Galaxy A25 5G"]) == ["drop_camera"]
    assert label_captions(chain, ["Samsung Galaxy A25 5G 8/128GB", "Sony Xperia 10 V 6GB/128GB"]) == ["keep", "keep"]


# Seventh round (docs/filters.md, "Seventh camera round"): classes blind10, blind11 and blind13
# missed, tuned on as classes; each with strings that are in no fixture.
SEVENTH_ROUND_CAMERAS = [
    # Edition and line words English knows, beside a maker and a code.
    "Ricoh KR-5 Automatic",
    "Minolta Electro 35 FX",
    "GoPro HERO4 Session",
    "Polaroid 250 Land Camera",
    # Digital compact lines of the 2000s that lensfun 0.3.3 lacks.
    "Samsung Digimax A503",
    "Sony Mavica FD-91",
    "Olympus Camedia C-2100",
    "Kyocera Finecam S5",
    "Epson PhotoPC 850Z",
    "Agfa ePhoto CL30",
    # BlackBerry's maker as older EXIF Make fields write it.
    "Research In Motion BlackBerry 9105",
    # A body and a film stock: makers and a stock's kind the list lacked.
    "Nikon FE10 + Kentmere 400",
    "Pentax ME Super, Foma 200",
    "Minolta X-570 + Kodak Color Negative 200",
    # The Four Thirds mounts written as one word.
    "#lumix #g85 #microfourthirds",
    "Olympus E-3 FourThirds",
    # A camera line in capitals glued to its number, without the maker.
    "HERO6 Silver",
    # Huawei's and Honor's EXIF model names as the whole caption.
    "MAR-LX1A",
    "JNY-LX1",
    "TAS-AN00",
    # A series letter glued before a lens line in a hashtag.
    "#fujifilm #xfujinon",
    "#nikon #znikkor",
    # A lens series in lower case with an edition letter after a maker.
    "Samyang af-e 35mm F1.4",
    # A maker's EXIF model series alone in a tag list, beside gear.
    "panasonic,dmc,gx85,lumix",
    "Sony nex 5n",
    # A tag list joined by commas without spaces: its tags are read as hashtags, 'digital'
    # before a line, a line glued to a code of up to three letters English does not know.
    "nikon,digitalcoolpix,p900",
    "canon,rebelxsi,18-55mm",
]

SEVENTH_ROUND_LOOK_ALIKES = [
    # The new everyday line and film words in natural text, or beside a code without a maker.
    "Automatic car wash on Main Street",
    "Land Rover Defender 110",
    "Land for sale 5 acres",
    "Session IPA 6 pack",
    "Electro swing night at the club",
    "Color 4K TV",
    "Negative 5 degrees tonight",
    "Color negative film scanning tips",
    "Research In Motion headquarters in Waterloo",
    "Motion blur of a cyclist",
    "Kentmere valley in the Lake District",
    # Shop titles and products of camera makers with the new words.
    "Samsung Digimax battery charger",
    "Polaroid Land Camera with flash bar",
    "Sony Mavica FD-91 with floppy disk for sale $40",
    "Canon Color imageCLASS MF644Cdw",
    "HERO7 action camera with 3 batteries",
    # Code shapes and series words beside content.
    "Route ABC-L12 closed for repairs",
    "Canon e-mail support",
    "Nikon co-op store",
    "SLT crew at the airport",
]


SEVENTH_ROUND_NOT_CAMERA = [
    "EOS5 firmware update guide",
    "#xfujinon #sunset #beach",
    "#anikon #holiday",
    # tag lists with content words; a maker glued to a word English knows
    "sunset,beach,canon,holiday",
    "canon,canonphotography,sunset",
    "nikon,nikonfan",
    "digitalnomad,canon,travel",
    "#nikonfan #canonart",
]


def test_a_huawei_code_with_an_extension_stays_a_file_name(chain):
    assert label_captions(chain, ["MAR-LX1A.jpg", "ABC-123"]) == ["drop_filename", "drop_filename"]


# Eighth round (docs/filters.md, "Eighth camera round"): classes blind14 missed, fixed as classes;
# each with strings that are in no fixture (other makers, models and stocks).
EIGHTH_ROUND_CAMERAS = [
    # 360 cameras: a line that is an everyday word or a maker word after a camera or device maker.
    "RICOH THETA V",
    "Ricoh Theta SC2",
    "Samsung Gear 360 (2017)",
    "GoPro Fusion 5.2K",
    "Nikon KeyMission 360",
    # Rugged and budget phones as EXIF writes them: makers, and lines that are everyday words.
    "Unihertz Jelly 2",
    "Ulefone Power 3",
    "Sonim XP8",
    "Crosscall Core-X4",
    # Film scanners and minilabs as scans' EXIF Make and Model fields write them.
    "Plustek OpticFilm 8200i",
    "Nikon SUPER COOLSCAN 5000 ED",
    "Hasselblad Flextight X5",
    "Pakon F135",
    "Epson Perfection V850 Pro",
    "Fuji Frontier SP-3000",
    "Imacon Flextight 848",
    # Exposure keys in German, French, Spanish, Italian and Dutch, one word or a phrase.
    "Brennweite 35 mm, Blende 5.6",
    "Ouverture f/4, vitesse 1/500, ISO 200",
    "Tiempo de exposición 1/60, apertura f/2.8",
    "Sluitertijd 1/200, diafragma 11, ISO 400",
    "Tempo di esposizione 1/30 - diaframma f/5.6",
    "Belichtungszeit 1/125 s · Blende f/11 · ISO 64",
    "Distance focale 24 mm, ouverture f/8",
    "Belichtungszeit: 1/60 Brennweite: 50 mm Empfindlichkeit: 800",
    # A body and a film stock joined by ' | ', with stocks the list lacked.
    "Canon AV-1 | Ilford HP5 400",
    "Canon AE-1 | Fuji Superia 200",
    "Olympus OM-2n | Fuji Reala 100",
    "Minolta XG-M | Fuji Neopan 400",
    # East German lens lines after a body.
    "Praktica MTL3, Pancolar 50mm f/1.8",
    "Carl Zeiss Jena Flektogon 35mm f/2.4",
    "Exakta Varex, Trioplan 100mm f/2.8",
    "Kiev 60, Biometar 120mm f/2.8",
    "Praktica B200, Prakticar 50mm f/1.8",
]

EIGHTH_ROUND_LOOK_ALIKES = [
    # The new line, stock and maker words in natural text, shop titles or beside a number alone.
    "Samsung Gear S3 watch band replacement",
    "Gear 360 review and sample footage",
    "Theta waves and deep sleep",
    "Fusion cuisine in Lima",
    "Armor All car wash",
    "Power 5 conference football",
    "Tank 2 at the aquarium",
    "Titan 2 rocket launch",
    "Jelly beans 2 for 1",
    "Spark plug 4 pack",
    "Windows Vista 64-bit",
    "Vista Point 200 metres ahead",
    "Six Flags Magic Mountain",
    "The Six Nations 2024 final table",
    "Perfection is a journey",
    "Frontier Airlines flight 1234 to Denver",
    "Epson Perfection V600 photo scanner for sale $120",
    "Atom Heart Mother 1970 vinyl",
    "Koki the dog at 3 months",
    # ' | ' between a body and content.
    "Nikon D750 | Weddings and portraits in Austin",
    "Canon 5D | Sunset over the bay",
    "Samsung Galaxy S23 | Unboxing",
]


EIGHTH_ROUND_NOT_CAMERA = [
    # The localised keys' words in running text of their languages, without exposure values.
    "La distance entre Paris et Lyon 465 km",
    "Tempo di cottura 20 minuti",
    "Temps de pose long au bord du lac",
    "Velocidad de obturación lenta en el río",
    "Ouverture du magasin le 12 mai 2024",
    # A maker and a 360 or rugged line without a code.
    "Unihertz Titan",
]


# Ninth round (docs/filters.md, "Ninth camera round: tag lists, hashtags, joined names"): classes
# blind15 to blind19 missed, fixed as classes; each with strings that are in no fixture.
NINTH_ROUND_B_CAMERAS = [
    # Gear-only tag lists in lower case, spaces or commas, maybe after 'Tags:': makers glued to
    # lines or lens words, sensor formats, gear words glued, a code glued before 'series' or 'lens'.
    "pentax k3 pentaxlens da35mm f24 apsc",
    "Tags: nikon z7 zlens 85mm f18 primelens mirrorless",
    "fuji xt30 fujixseries xf35mm f14 apsc",
    "olympus em1 olympusomd 25mm f12 microfourthirds",
    "panasonic gh5 lumixgseries 12-35 f28 kitlens",
    "canon,r5,rfseries,rflens,fullframe",
    # Hashtags of gear only, a maker's community tags among them.
    "#pentax #pentaxk1 #teampentax #pentaxlens",
    "#nikon_club #nikonz6 #nikkor",
    "#hasselblad_world #hasselbladx1d #hasselbladlens",
    "#fujifilm_xseries #fujixt3 #fujinon",
    "#olympus #olympusem10 #mzuiko #olympuscamera #teamolympus",
    # A camera's name with its words joined by '_', as EXIF identifiers write it.
    "Samsung_Galaxy_S21_Ultra",
    "SAMSUNG_SM-G998B",
    "Motorola_Moto_G52",
    "NIKON_D7500_18-140mm_F3.5-5.6",
    "PENTAX_K-3III_DA16-85mm",
    "Canon_EOS_R7",
    "fujifilm_x-h2s",
    "panasonic_dc-gh6",
]

NINTH_ROUND_B_LOOK_ALIKES = [
    # Tag lists and hashtags with two content words or more; community words in running text.
    "sunset beach canon 6d 50mm holiday",
    "#teamcanon #sunset #beach",
    "#nikon_world #travel #iceland",
    "full frame camera review",
    "team canon football",
    # Joined names and slugs with content words: descriptive file names, whatever gear they name.
    "sony_a7iv_review_sunset",
    "nikon_d850_beach_holiday.jpg",
    "lake-view-sunset-long-exposure-4.jpg",
    "misty-forest-at-dawn-iso-100-3.jpg",
    "sunrise-over-the-harbour-canon-r6-2.jpg",
    "Sin City 2005 poster.jpg",
]

NINTH_ROUND_B_NOT_CAMERA = [
    # Words of liking glued to a maker stay content; gear words glued beside content; a car's body
    # kit is no lens kit.
    "#canonlove #portrait",
    "#bodykit #bmw #m3",
    "primelens sale",
    "xseries tv remote manual",
]

# Ninth round (docs/filters.md, "Ninth camera round: body and lens, cine and trail cameras, phones,
# lens series, exposure strings, film pushes, watermarks"): classes blind15, blind17, blind18 and
# blind19 missed, fixed as classes; each with strings that are in no fixture (other makers, models,
# lenses and stocks).
NINTH_ROUND_A_CAMERAS = [
    # Body and lens joined by a separator, the lens of a maker or line the rules did not list, and cine lenses with T-stops.
    'Pentax MX, SMC Takumar 55mm f/1.8',
    'Minolta SR-7, MC W.Rokkor-SG 28mm f3.5',
    'Bolex H8 Reflex, Kern Yvar 36mm f/2.8',
    'Beaulieu 4008, Angenieux 8-64mm f/1.9',
    'ARRIFLEX 416 Plus, Cooke S4 50mm T2',
    # Cine bodies with sensor and resolution tokens, camcorders with their lines, a cinema line's abbreviation with a focal reducer.
    'RED SCARLET-W DRAGON 5K',
    'RED EPIC-X MONSTRO 8K VV',
    'Canon LEGRIA HF R806',
    'JVC Everio GZ-R470',
    'Panasonic Palmcorder PV-GS320',
    'BMPCC 6K Pro + Metabones Speedbooster 0.71x',
    # Trail and game cameras: makers and their lines.
    'Reconyx UltraFire XR6',
    'Bushnell Core DS 4K',
    'Spypoint Force-Dark',
    'Moultrie M-50',
    'Stealth Cam G45NG',
    'Cuddeback C2',
    # Phones as EXIF writes them from smaller makers, EXIF maker abbreviations, 2000s compacts.
    'LGE LG-H815',
    'LGE LM-V405',
    'Infinix ZERO 8',
    'TECNO POVA 5',
    'itel A70',
    'motorola one action+',
    'Nokia N8 PureView',
    'HP Photosmart M425',
    'Sanyo Xacti VPC-HD2000',
    # A maker's lens spec and one series or edition word after it, capitalised or in brackets.
    'Samyang 12mm f/2.0 NCS CS',
    'Irix 11mm f/4 Firefly',
    'Laowa 100mm f/2.8 2x Ultra Macro APO',
    'Laowa 10mm f/2 Zero-D MFT (silver)',
    # Exposure strings with abbreviated keys, em dashes, semicolons and a 35mm equivalent.
    'Exp. 1/60 — Ap. 8 — ISO 200 — FL 35mm',
    '1/250 sec; f/8; ISO 100; focal length 50 mm (75mm equiv)',
    # A body and a film stock, pushed or pulled, and instant film.
    'Ricoh KR-5, Kodak Portra 160 pushed to 320',
    'Nikon F3 / Ilford Delta 3200 pulled to 1600',
    'Yashica Minister D - CineStill 400D',
    'Polaroid OneStep 2 + Polaroid i-Type 600',
    'Rollei 35 / Fomapan 200',
    'Olympus Pen 3 / Kentmere 400',
    # A watermark followed only by gear and exposure, and a phone's co-brand watermark.
    'Taken with Nikon D3300, 18-55mm kit lens, f/8, 1/250',
    'Shot on vivo X60 Pro | ZEISS Camera for Mobile',
    # A maker's default EXIF description with underscores for spaces.
    'OLYMPUS_DIGITAL_CAMERA',
]

NINTH_ROUND_A_LOOK_ALIKES = [
    # The new line, maker, sensor and push words in natural text, shop titles, or beside a number.
    'Red Dragon 2002 film poster',
    'Epic Games logo',
    'Helium balloons for a birthday party',
    'Trophy cabinet at the club',
    'Browning Hi-Power 9mm pistol',
    'Strike Force Five',
    'Dark Ops season 2',
    'One Fusion restaurant menu',
    'Hot 97 radio',
    'Zero 7 album cover',
    'Impossible Burger 2.0',
    'Trip 35 miles north',
    'Canon Tower 3',
    'Pushed to 1600 metres',
    'Pull 2 levers',
    'Kern Street 12',
    'Laowa 15mm f/4.5 Zero-D Shift lens for Nikon Z with hood',
    'Sigma 35mm f/1.4 Art Review',
    'Irix 15mm f/2.4 sample images from Iceland',
    'Tamron 17-28mm f/2.8 Di III for Sony E - Refurbished',
    'HP Photosmart C6280 all-in-one printer',
    'HP Photosmart 7520',
    'Canon 250D with 18-55 kit lens and bag',
    'Taken with love in Paris',
    'Speedbooster vs focal reducer explained',
    'Mobile camera tips for beginners',
    'Exif data explained',
]

NINTH_ROUND_A_NOT_CAMERA = [
    # The new makers and lines alone or beside content, and underscored words with content.
    "Reconyx trail camera review",
    "Trophy Cam",
    "motorola one",
    "LGE",
    "Photosmart",
    "Exif_data_explained",
    "Laowa 9mm f/5.6 sample image",
    "Irix 15mm f/2.4 great lens",
]


# Tenth round: classes of blind21's, blind22's and blind25's camera misses, each with strings that
# are in no fixture (other makers, models, lenses and stocks).
TENTH_ROUND_CAMERAS = [
    # A body and a glued lens joined by '+', and a film simulation's name after them.
    'FUJIFILM X-S20 + XF33mmF1.4 R LM WR, Classic Neg',
    'FUJIFILM X-Pro2, Nostalgic Neg',
    # A maker's lens line with '/' apertures and its stabiliser and aspherical marks.
    'LUMIX G X VARIO 35-100/F2.8 II POWER O.I.S.',
    'LEICA DG SUMMILUX 25/F1.4 II ASPH./POWER O.I.S.',
    # An action camera with its field-of-view mode and exposure values.
    'GoPro HERO8 Black, SuperView, 1/480 s, ISO 200',
    'GoPro HERO7 Black, Linear, 1/60 s',
    # Toy and box cameras with Lomography's and vintage stocks, instant film as '<camera> Color Film'.
    'Holga 120N with Lomography Earl Grey 100',
    'Diana Mini + Kodak Gold 200',
    'Kodak Brownie 127 + Kodacolor 200',
    'Polaroid SLR 680, Polaroid 600 Color Film',
    # A large-format body with a lens and a sheet-film format.
    'Linhof Technika V, Schneider Symmar 150mm f/5.6, 4x5 HP5',
    # A compact line in capitals after the model.
    'CASIO EX-ZR100 HIGH SPEED EXILIM',
    # Cine primes by their line.
    'ARRI ALEXA SXT, Master Prime 75mm T1.3',
    'Cooke S7/i, Ultra Prime 32mm T1.9',
    'ZEISS Supreme Prime 50mm T1.5',
    # A 360-camera company as the EXIF Make field writes it.
    'Arashi Vision Insta360 X3',
    # A phone watermark whose second part is the camera's megapixels and marketing name.
    'Shot on POCO F5 | 64MP AI Triple Camera',
    # A gear-only hashtag list with a lens line glued to its letter and a focal length.
    '#sonya7iv #sony #gmaster #24mm',
    # The 'Shot on' watermark and an exposure line in other languages.
    'Fotografiert mit Google Pixel 8',
    'Tomada con iPhone 14 Pro',
    'Belichtungszeit 1/250 Sek. · Blende f/5.6 · ISO 200',
]

TENTH_ROUND_LOOK_ALIKES = [
    # The new words in natural text, shop titles and other products.
    'Classic Chrome bumper for a 1967 pickup',
    'Linear algebra lecture notes 3',
    'Brownie recipe with 200g chocolate',
    'Princess Diana at the 1995 gala',
    'High Speed Rail 2 route map',
    'Signature cocktail menu 2024',
    'Master bedroom with a walk-in closet',
    'Fuji Rock Festival 2019 line-up',
    'Shot on location in Lisbon with a 50MP camera phone',
    'Graphic design poster 4x5 inches',
    'Sonar image of a shipwreck',
]

TENTH_ROUND_NOT_CAMERA = [
    "Aufgenommen mit Liebe",
    "Classic Chrome",
    "Signature Prime",
    "Kodak Brownie",
    "Graflex Graphic",
    "#gmaster",
    "Pris avec plaisir",
]


# Eleventh round: classes of blind24's camera misses, each with strings that are in no fixture
# (other makers, models, lenses, stocks, scanners and languages).
ELEVENTH_ROUND_CAMERAS = [
    # A phone's camera module as the phone's photo viewer names it, with the florin sign as 'f'.
    "Pixel 8 Pro · Ultra Wide Camera — 13 mm ƒ2.2 ISO 40 1/250s",
    "Galaxy S23 · Telephoto Camera — 70 mm ƒ2.4 ISO 64 1/500s",
    "iPhone 15 · Main Camera — 24 mm ƒ1.6 ISO 80 1/60s",
    "iPhone 13 · Front TrueDepth Camera — 23 mm ƒ2.2",
    # Gear-only hashtags with a maker's photography tag.
    "#nikon #z6ii #nikkorz #nikonphotography",
    "#fujifilm #xt4 #fujifilmphotographer",
    "#sony #a7iii #sonyphotography",
    # Body, lens and stock with a film photographer's notes: expired stock, half frame, sheet film,
    # a developer and its dilution.
    "Minolta SRT 102, MC Rokkor 58mm 1.4, Kodak Gold 200 (expired 1999)",
    "Pentax MX, Agfa Vista 200 expired",
    "Praktica MTL3, Pentacon 50mm 1.8, ORWO NP20 expired 1990",
    "Kiev-88, Vega-12B 90mm, Foma 200 (expired 2005)",
    "Canon Demi EE17 half-frame, Fomapan 400",
    "Ricoh Auto Half E, Kodak Portra 400",
    "Pentax 67, SMC Takumar 105mm, HP5 400 @ 800, Rodinal 1+50",
    "Nikon FM2, Tri-X 400, D-76 dil. 1:1",
    "Pentax Spotmatic, Takumar 55mm f/1.8, Ilford FP4 125, ID-11 stock, 9 min at 20C",
    "Leica M6, Summicron 35mm, Kentmere 400 in Xtol stock",
    "Shen Hao HZX45-IIA, Nikkor-W 210mm, Kodak Portra 160 sheet film",
    # Exposure lines in other languages, with a decimal comma.
    "Temps de pose : 1/250 s, ouverture f/5,6, ISO 200",
    "Exposition : 1/30 s, ouverture f/4, ISO 1600",
    "Exposição: 1/125 s, abertura f/4, ISO 400",
    "Przysłona f/8, czas naświetlania 1/200 s, ISO 100",
    # Japanese, Chinese and Korean EXIF keys glued to their values and units.
    "シャッタースピード 1/250秒 絞り値 5.6 ISO感度 400 焦点距離 35mm",
    "曝光时间 1/100秒 光圈 f/2.8 感光度 200 焦距 50mm",
    "셔터 속도 1/60초 조리개 f/4 감도 800 초점 거리 85mm",
    "Выдержка 1/60 с, диафрагма f/2.8, ISO 800",
    "Exponeringstid 1/250 s, bländare f/8, ISO 100",
    "Vitesse d'obturation 1/250 s, ouverture f/11, focale 24 mm",
    "Distanza focale 50 mm, esposizione 1/60 s, f/2",
    "快门 1/60 秒 光圈 f/2.0 ISO 400",
    # Camera, lens and time keys in other languages and scripts, and makers' names in CJK script.
    "Tiempo: 1/125 seg | Apertura: f/8 | ISO: 100",
    "Appareil : Nikon D750, Objectif : AF-S 50mm f/1.8G",
    "Kamera: Sony A7 III, Objektiv: FE 24-70 mm F2.8 GM",
    "Aparat: Canon EOS 6D, Obiektyw: Sigma 35mm f/1.4 Art",
    "カメラ: Pentax K-3 Mark III レンズ: HD DA 16-85mm F3.5-5.6 WR",
    "相机: 尼康 Z6 镜头: 24-70mm f/4",
    "ニコン Z 7II, NIKKOR Z 85mm f/1.8 S",
    # A trail-camera maker that is a surname or a gun maker, before two of its line's words.
    "Browning Dark Ops Pro X 1080",
    "Browning Strike Force Pro XD",
    "Muddy Pro Cam 20",
    "Bushnell Trophy Cam HD Low Glow",
    # Film scanners after 'Scanned' or 'Digitized'.
    "Scanned with Plustek OpticFilm 8200i",
    "Scanned on Nikon Coolscan 5000 ED",
    "Digitized with Epson Perfection V850 Pro",
    "Scanned on Noritsu HS-1800",
    "Scanned on Epson V850 at 3200 dpi",
    # Phones of regional makers, and an edition named by a word English knows.
    "Taken with OPPO Find X5 Pro",
    "Shot on vivo X90 Pro",
    "Taken with Xiaomi Mi 8 Explorer Edition",
    "Shot on OnePlus 6T McLaren Edition",
    "Shot on Micromax IN Note 2",
    "Taken with Lava Blaze 5G",
    "Shot on realme Narzo 50A",
    "Taken with Xiaomi Civi 3",
    "Taken with BQ Aquaris X2 Pro",
    # Box cameras numbered 'No.', panoramic cameras with a stock.
    "Kodak Brownie No. 2A, Ilford FP4 Plus 125 120",
    "Kodak No. 3A Folding Pocket, Verichrome Pan",
    "Lomography Spinner 360, Kodak Portra 400",
    "Noblex 135 U, Fuji Velvia 50",
    "Hasselblad XPan, Kodak Portra 160",
    "Lomography Horizon Kompakt, Fuji Pro 400H",
    "Roundshot 28/220, Fuji Pro 400H",
]

ELEVENTH_ROUND_LOOK_ALIKES = [
    # The new words in natural text, shop titles and other products.
    "Front camera repair for Galaxy S10",
    "Main stage at the festival 2019",
    "#nikonphotography #sunset #beach #landscape",
    "Expired passport renewal form 2019",
    "Exposition Park Rose Garden 2015",
    "Browning Hi-Power 9mm pistol",
    "Browning A5 shotgun 12 gauge",
    "Muddy Waters live 1977",
    "Covert Affairs season 2",
    "Scanned document, page 3",
    "Collector's Master Edition box set",
    "Samsung Bespoke Edition fridge",
    "Chanel No. 5 perfume 100ml",
    "Beethoven Symphony No. 9",
    "Sheet music for piano No. 3",
    "Horizon Zero Dawn 2",
    "Elite Dangerous Horizons 2",
    "Game of Thrones Master Edition 2",
    "Stand mixer with dough hook",
    "Scanned with Epson printer at the library",
    "World Exposition 2010 Shanghai",
    "#sonyphotography #portrait #model",
    "Lava flow at night 2018",
    "Canvas 3 piece wall art",
    "Low glow night light 5W",
    "Folding chair No. 2",
    "Spinner 360 toy for kids",
    "Bus stand 3 min walk",
    "Scan of an old letter 1920",
    "Tempo 120 bpm drum loop",
]

ELEVENTH_ROUND_NOT_CAMERA = [
    "Milk expired 3 days ago",
    "Elizabeth Barrett Browning poems",
    "Scanned with care",
    "No. 2 pencil",
    "Half frame of the window",
    "Developed film negatives on a light table",
    "Taken with love",
    "Browning Recon",
    "Rodinal",
    "焦点距離について",
    "カメラを買いました 2020",
]


# Twelfth round: classes of blind30's and blind31's camera misses (first scored blind), each with
# strings that are in no fixture (other phones, lenses, keys and values).
TWELFTH_ROUND_CAMERAS = [
    # A phone watermark's second part naming how many cameras it has.
    "Shot on POCO X5 Pro | AI Triple Camera",
    "Shot on Infinix NOTE 30 | AI Dual Camera",
    "Shot on vivo Y36 | Quad Camera",
    # The flash's mode as a value in a key/value dump.
    "Aperture: f/8 | Shutter: 1/500 | ISO: 100 | Flash: On",
    "f/2.0 1/60s ISO 800, Flash: Auto",
    # A lens name glueing a one-digit focal length to its aperture.
    "XF7mmF2.8 R",
    "Laowa 4mmF2.8 Fisheye",
    # The Italian and Portuguese time key.
    "Tempo: 1/250 s · ISO 200 · f/5.6",
    "Câmera: Nikon D5600 · Tempo 1/30 s",
]

TWELFTH_ROUND_LOOK_ALIKES = [
    "Shot on location in Lisbon | Dual camera setup tutorial",
    "Triple camera phone case for iPhone 15 Pro",
    "Quad camera module repair guide",
    "Flash sale: on now, 30% off",
    "Flash: the fastest man alive, season 2",
    "Tempo: a running club in the park",
    "8mm film reel of a family picnic, 1962",
]

TWELFTH_ROUND_NOT_CAMERA = [
    "Flash: Off the charts",
    "Tempo, Fiat's old van",
    "AI Quad Camera",
]


# Thirteenth round: classes of blind34's camera misses (camera-heavy, first scored blind), each with
# strings that are in no fixture.
THIRTEENTH_ROUND_CAMERAS = [
    # 'Shot on' in more languages, with an article or 'my' before the phone.
    "Снято на Xiaomi 13T",
    "Snimljeno telefonom Samsung Galaxy A54",
    "Aufgenommen mit meinem Pixel 8",
    "Taget med min iPhone 15 Pro",
    "Zrobione telefonem Motorola Edge 30",
    "Diambil dengan Vivo V27",
    "Fotografiat cu Oppo Reno 10",
    # Lines that are words right after a camera-only maker, instant and digital-back lines.
    "Mamiya Universal",
    "Polaroid Spectra",
    "Leaf Aptus-II 6",
    # A company's name as the EXIF Make field writes it, a studio body.
    "SHARP TECHNOLOGIES LIMITED SH-M24",
    "Blackmagic Studio Camera 4K Plus",
]

THIRTEENTH_ROUND_LOOK_ALIKES = [
    "Studio portrait of a young woman, 2019",
    "Universal Studios Hollywood 2018",
    "Press conference at the town hall 2020",
    "Spectra of distant galaxies, 2021",
    "Leaf blower 40V cordless",
    "Huawei Technologies headquarters in Shenzhen",
    "Polaroid Spectra film, expired 1998, found at a flea market",
    "Universal Press Syndicate cartoon 1985",
    "Mamiya Universal Press for sale, with 127mm lens and film back",
]

THIRTEENTH_ROUND_NOT_CAMERA = [
    "Снято на рассвете в горах",
    "Taget med min mormor i parken",
    "Aufgenommen mit dem Fahrrad durch Berlin",
    "Zrobione na wakacjach w Gdańsku",
]


# Fourteenth round: classes of blind38's camera misses (camera-heavy, first scored blind), each with
# strings that are in no fixture.
FOURTEENTH_ROUND_CAMERAS = [
    # The camera's firmware, white balance and metering mode with their values.
    "Canon EOS 77D Firmware Version 1.1.1",
    "Sigma fp L firmware ver 2.1",
    "ISO 100 | 1/250 | f/8 | WB Cloudy",
    "Exposure 1/60 s, f/4, Metering Mode Center-weighted average",
    # Manual-focus lens makers, a star lens line's mark, a film simulation glued in a tag list.
    "Pergear 35mm F1.4 II",
    "smc PENTAX-DA★ 16-50mm F2.8 ED AL SDM",
    "#fujifilm #xs20 #classicneg",
    # 'Photo taken with' in other languages, with an indefinite article; a drone maker's company.
    "Foto tomada con un Xiaomi 12",
    "YUNEEC ROBOTICS TYPHOON H",
]

FOURTEENTH_ROUND_LOOK_ALIKES = [
    "Firmware update for the router, version 2.1.4",
    "White balance tips for cloudy days",
    "Spot the difference puzzle for kids",
    "Pattern matching in Python 3.10",
    "Daylight saving time 2023",
    "Shade garden with hostas and ferns",
    "Pacific Ocean image from the beach",
    "Metering the water flow, 2 litres per minute",
    "classic chrome bathroom taps",
]

FOURTEENTH_ROUND_NOT_CAMERA = [
    "Photo prise avec amour",
    "Average daylight hours in June",
    "Robotics club, spring 2019",
]


# Fifteenth round: classes of blind39's camera misses (camera-heavy, first scored blind), each with
# strings that are in no fixture.
FIFTEENTH_ROUND_CAMERAS = [
    # A 360-camera maker and line, a medium-format press maker's hyphenated name, a digital back.
    "Humaneyes Vuze 4K 3D",
    "Koni-Omega Rapid 100",
    "Leaf Credo 40",
    # A cine lens line with its maker's one-letter mark.
    "Cooke Panchro/i 40mm T2.2",
    # The Portuguese speed key, exiftool's 'Model Name' key, Canon's exposure modes before values.
    "Câmera: Canon EOS M200; Velocidade: 1/125; ISO 400",
    "Model Name: Nikon Z 6II",
    "Tv 1/250 Av 8.0 ISO 200",
    # A phone maker's company as the EXIF Make field writes it, a Japanese phone maker, a line's
    # users' community tag.
    "ZTE MOBILITY LIMITED Blade A52",
    "FUJITSU F-41B",
    "#sonyalpha #a7iv #alphashooters",
]

FIFTEENTH_ROUND_LOOK_ALIKES = [
    "Tv 4K stand for living room",
    "Fujitsu LIFEBOOK laptop repair guide",
    "Credo of the knights, 1420 manuscript",
    "Rapid transit map 2020",
    "#alphafamily #gym #workout",
    "Model name: Anna Smith, agency portfolio",
]


# Sixteenth round: classes of blind41's camera misses (camera-heavy, first scored blind), each with
# strings that are in no fixture.
SIXTEENTH_ROUND_CAMERAS = [
    # Leica's 'Typ' before a type number, an East German lens maker's hyphenated name with its town,
    # an anamorphic lens maker and series, a cine lens with its maker's '/i' mark after a lens word.
    "LEICA M (Typ 240)",
    "Meyer-Optik Görlitz Primoplan 58 f/1.9",
    "Atlas Orion 65mm T2",
    # 'Shot on' in Japanese, Chinese and Korean, before or after the phone.
    "Xiaomi 12T Proで撮影",
    "拍摄于 OPPO Reno 10",
    "Galaxy S23로 촬영",
    # A sensor's name glued in a tag list.
    "#fujifilm #xt4 #xtrans",
]

SIXTEENTH_ROUND_LOOK_ALIKES = [
    "Bebop jazz night at the club 1958",
    "Orion constellation over the desert",
    "Meyer lemon tart recipe",
    "Atlas of the world 1920 edition",
]

SIXTEENTH_ROUND_NOT_CAMERA = [
    "京都で撮影した紅葉",
    "拍摄于北京的故宫",
    "京都の紅葉、友達のカメラで撮影",
]


# A sweep of makers no blind set had shown yet (film and cine makers, action, 360, FPV and drone
# makers, phone makers), from their public product names.
SWEEP_CAMERAS = [
    "EKEN H9R",
    "THIEYE T5 Edge",
    "CROSSTOUR CT9000",
    "Victure AC700",
    "Eumig C16",
    "Ihagee Exakta VX1000",
    "Welta Weltax",
    "Pantech IM-A850K",
    "Syma X5C",
    "Walkera Vitus 320",
]

SWEEP_LOOK_ALIKES = [
    "Doro family reunion 2019",
    "Syma and her dog",
    "Archos tablet review",
    "RunCam race day at the club",
    "Balda family photo album 1958",
]


ROUND_CAMERAS = (
    FOURTH_ROUND_CAMERAS
    + FIFTH_ROUND_CAMERAS
    + SIXTH_ROUND_CAMERAS
    + SEVENTH_ROUND_CAMERAS
    + EIGHTH_ROUND_CAMERAS
    + NINTH_ROUND_A_CAMERAS
    + NINTH_ROUND_B_CAMERAS
    + TENTH_ROUND_CAMERAS
    + ELEVENTH_ROUND_CAMERAS
    + TWELFTH_ROUND_CAMERAS
    + THIRTEENTH_ROUND_CAMERAS
    + FOURTEENTH_ROUND_CAMERAS
    + FIFTEENTH_ROUND_CAMERAS
    + SIXTEENTH_ROUND_CAMERAS
    + SWEEP_CAMERAS
)
ROUND_LOOK_ALIKES = (
    FOURTH_ROUND_LOOK_ALIKES
    + FIFTH_ROUND_LOOK_ALIKES
    + SIXTH_ROUND_LOOK_ALIKES
    + SEVENTH_ROUND_LOOK_ALIKES
    + EIGHTH_ROUND_LOOK_ALIKES
    + NINTH_ROUND_A_LOOK_ALIKES
    + NINTH_ROUND_B_LOOK_ALIKES
    + TENTH_ROUND_LOOK_ALIKES
    + ELEVENTH_ROUND_LOOK_ALIKES
    + TWELFTH_ROUND_LOOK_ALIKES
    + THIRTEENTH_ROUND_LOOK_ALIKES
    + FOURTEENTH_ROUND_LOOK_ALIKES
    + FIFTEENTH_ROUND_LOOK_ALIKES
    + SIXTEENTH_ROUND_LOOK_ALIKES
    + SWEEP_LOOK_ALIKES
)


@pytest.mark.parametrize("text", ROUND_CAMERAS)
def test_fourth_to_ninth_round_camera_classes(chain, text):
    assert label_captions(chain, [text]) == ["drop_camera"], text


@pytest.mark.parametrize("text", ROUND_LOOK_ALIKES)
def test_fourth_to_ninth_round_look_alikes_stay(chain, text):
    assert label_captions(chain, [text]) == ["keep"], text


@pytest.mark.parametrize(
    "text",
    SIXTH_ROUND_NOT_CAMERA + SEVENTH_ROUND_NOT_CAMERA + EIGHTH_ROUND_NOT_CAMERA + NINTH_ROUND_A_NOT_CAMERA
    + NINTH_ROUND_B_NOT_CAMERA + TENTH_ROUND_NOT_CAMERA + ELEVENTH_ROUND_NOT_CAMERA + TWELFTH_ROUND_NOT_CAMERA
    + THIRTEENTH_ROUND_NOT_CAMERA + FOURTEENTH_ROUND_NOT_CAMERA + SIXTEENTH_ROUND_NOT_CAMERA,
)
def test_gear_words_beside_content_are_no_camera_metadata(text):
    """Sixth to ninth rounds: the new gear words and shapes (glued hashtags, tag lists, model
    series, localised EXIF keys, 360 and rugged lines, community tags, trail-camera and phone
    lines) beside content or alone are no camera metadata."""
    assert not camera.is_camera_metadata(text), text


@pytest.mark.parametrize(
    ("text", "label"),
    [
        # 'Untitled' in other languages before an editor's counter: a file name.
        ("Sans titre-3.png", "drop_filename"),
        ("Senza titolo-2.jpg", "drop_filename"),
        ("Unbenannt-1.jpg", "drop_filename"),
        ("Naamloos-4.png", "drop_filename"),
        ("Bez názvu-1.jpg", "drop_filename"),
        # A camera's name joined by '_' with a camera counter stays a file name.
        ("Nikon_IMG_0042", "drop_filename"),
        # Japanese naming a camera, written without spaces: a sentence, not a one-token file name;
        # an app's export with a time stamp stays a file name.
        ("浅草寺の雷門、ソニーα7で撮影", "drop_nonenglish"),
        ("大阪城の桜、キヤノンEOSR5で撮影しました", "drop_nonenglish"),
        ("微信图片_20200101120000", "drop_filename"),
    ],
)
def test_ninth_round_file_names(chain, text, label):
    assert label_captions(chain, [text]) == [label], text


@pytest.mark.parametrize("text", ["Canon_EOS_R7", "SAMSUNG_SM-G998B", "NIKON_D7500_18-140mm_F3.5-5.6"])
def test_a_camera_name_joined_by_underscores_is_no_file_name(chain, text):
    assert camera.is_joined_model_name(text) and camera.is_camera_metadata(text)
    assert chain.verdicts(new_candidate("https://example.com/a.jpg", text))["filename"] == "keep"
    assert label_captions(chain, [text]) == ["drop_camera"]


@pytest.mark.parametrize(
    ("text", "default"),
    [("OLYMPUS_DIGITAL_CAMERA", True), ("Exif_Jpeg_Image", True), ("SONY_DSC", True),
     ("jpeg_picture", False), ("camera_roll_beach", False), ("Exif_data_2020", False)],
)
def test_a_default_exif_description_with_underscores_is_camera_not_a_file_name(text, default):
    """Ninth round: a maker's default EXIF description with '_' for spaces is camera metadata by
    its structure (shared/data/README.md rule 6), so the file-name rule leaves it."""
    assert is_exif_default_description(text) is default
    assert camera.is_camera_metadata(text) is default
    if default:
        assert not filename.is_file_name(text)
