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
# Camera and lens lines of the supplement join a number the same way ('Helios-40', 'Industar-50').
_HYPHEN_NAMES = MAKER_WORDS | frozenset(line for line in CATALOGUE["supplement"]["camera_lines"] if "-" not in line)
# A maker, '_' and a code of capitals and digits: phones' EXIF model names ('ASUS_Z01KD').
_MAKER_UNDERSCORE_CODE = re.compile(r"([A-Za-z]{2,12})_(?=[A-Z0-9]*[A-Z])(?=[A-Z0-9]*\d)[A-Z0-9]{3,8}")


# The letters of lensfun bodies' short hyphenated codes ('x-t' of X-T30, 'e-m' of E-M5): such a
# code with other digits ('X-T4', 'E-M1MarkIII', 'X-Pro3') is the same maker's camera.
BODY_CODE_SHAPES = frozenset(CATALOGUE["body_code_shapes"])
_BODY_CODE = re.compile(r"([a-z]{1,2}-[a-z]{1,3})\d+[a-z]*")
# Camera makers' names of four letters or more glued to a code in lower case, as hashtags write
# them ('nikond850', 'canon5dmarkiv', 'fujixt3'): the code needs a letter and a digit.
_MAKER_GLUED_CODE = re.compile(
    r"(?:"
    + "|".join(
        sorted(
            {re.escape(key) for key in CATALOGUE["makers"] if " " not in key and len(key) >= 4 and key.isalpha()}
            | {re.escape(key) for key in CATALOGUE["supplement"]["camera_makers"] if len(key) >= 4 and key.isalpha()},
            key=len,
            reverse=True,
        )
    )
    + r")(?=[a-z]*\d)(?=\d*[a-z])[a-z0-9]{2,12}",
    re.IGNORECASE,
)


# Drone makers' EXIF model names without a hyphen: a series prefix in capitals glued to three or
# four digits and maybe one capital ('FC330', 'FC6510'), as DJI's cameras write their Model field.
_GLUED_SERIES_CODE = re.compile(
    r"(?:" + "|".join(map(re.escape, CATALOGUE["supplement"]["glued_model_series"])) + r")\d{3,4}[A-Z]?"
)


# Series that name a camera only as a whole caption, the way the EXIF Model field holds them
# (is_lone_model_code): 'XT' and 3-4 digits is Autel's drone cameras and Motorola's phones, but
# beside other words as often a motorcycle ('XT600').
_LONE_GLUED_SERIES_CODE = re.compile(
    r"(?:" + "|".join(map(re.escape, CATALOGUE["supplement"]["lone_glued_model_series"])) + r")\d{3,4}[A-Z]?"
)
# Xiaomi's, Redmi's and POCO's EXIF model names: maybe 'M', the launch year and month, then
# capitals and digits with at least one digit, ending in a region capital ('M2203J9G',
# '2209117RG', '24018RPN7G').
_DATED_PHONE_CODE = re.compile(r"M?(?:19|2\d)(?:0[1-9]|1[0-2])(?=[0-9A-Z]{0,5}\d)[0-9A-Z]{2,6}[A-Z]")


# Huawei's and Honor's EXIF model names: a three-capital device code, '-', the network variant
# (L, AL, TL, CL, DL, AN, LX, NX or N) and one or two digits, maybe a region capital ('ABC-L09',
# 'XYZ-AL00', 'QRS-LX1A'). As a whole caption it is the Model field, not an opaque file name.
_HUAWEI_CODE = re.compile(r"[A-Z]{3}-(?:[ATCD]?L|AN|LX|NX|N)\d{1,2}[A-Z]?")
# A camera line in capitals glued to a model number, as action cameras write their EXIF Model
# ('HERO9', 'EOS5'): the line names the camera without its maker.
_LINE_GLUED_NUMBER = re.compile(r"([A-Z]{3,})\d{1,2}[A-Z]?")
_LINE_WORDS = frozenset(
    CATALOGUE["family_words"]
    + CATALOGUE["supplement"]["camera_lines"]
    + CATALOGUE["supplement"]["everyday_line_words"]
)


def is_lone_model_code(token: str) -> bool:
    """A phone's or drone's EXIF model name without its maker that names a camera when it is the
    whole caption ('XT712', 'M2203J9G'): a file name's single token it is not, and the camera
    rule takes it alone (elsewhere it is a model code like any other)."""
    return len(token) <= 12 and (
        _LONE_GLUED_SERIES_CODE.fullmatch(token) is not None
        or _DATED_PHONE_CODE.fullmatch(token) is not None
        or _HUAWEI_CODE.fullmatch(token) is not None
    )


def is_camera_model_name(token: str) -> bool:
    """A token that names a camera on its own: a maker's EXIF series code (is_series_code), a
    model code with 'Mark'/'Mk' and a version glued to its digits, a short hyphenated code of a
    lensfun body's shape ('X-T4', 'E-M1'), a drone maker's series glued to digits ('FC6510'), a
    camera maker's name glued to a code ('nikond850'),
    a maker's name or a camera or lens line, a hyphen and a code with a digit or of at most three
    capitals ('Zenit-E', 'Kiev-88', 'Helios-40'), or a maker's name, '_' and a code of capitals
    and digits ('ASUS_Z01KD', as phones write their EXIF model)."""
    if is_series_code(token) or _GLUED_MARK.search(token) is not None:
        return True
    if _GLUED_SERIES_CODE.fullmatch(token) is not None:
        return True
    glued_line = _LINE_GLUED_NUMBER.fullmatch(token)
    if glued_line is not None and glued_line.group(1).lower() in _LINE_WORDS:
        return True
    if "-" in token:
        shape = _BODY_CODE.fullmatch(token.lower())
        if shape is not None and shape.group(1) in BODY_CODE_SHAPES:
            return True
    elif _MAKER_GLUED_CODE.fullmatch(token) is not None:
        return True
    if "_" in token:
        glued = _MAKER_UNDERSCORE_CODE.fullmatch(token)
        return glued is not None and glued.group(1).lower() in MAKER_WORDS
    maker, dash, code = token.partition("-")
    if not dash or not code or maker.lower() not in _HYPHEN_NAMES:
        return False
    return any(ch.isdigit() for ch in code) or (code.isupper() and code.isalpha() and len(code) <= 3)


# Words of makers' default EXIF descriptions (a maker's name before 'digital' and 'camera' or 'dsc', or
# the file format's name and 'picture'), which some cameras write with '_' for the spaces.
_EXIF_DEFAULT_WORDS = frozenset("exif jpeg jpg picture image digital still camera dsc".split())
_EXIF_DEFAULT_STARTS = frozenset("exif camera digital dsc".split())


def is_exif_default_description(token: str) -> bool:
    """A maker's default EXIF description with '_' for its spaces: words of such descriptions and
    makers' names only, with 'exif', 'camera' or 'dsc' among them, starting with a maker or one of
    those or 'digital' ('<MAKER>_DIGITAL_CAMERA'; filters/_rulescan.c passes over a token so begun).
    A camera's caption by its structure, whatever its words (shared/data/README.md rule 6)."""
    parts = token.lower().split("_")
    if len(parts) < 2 or not all(part in _EXIF_DEFAULT_WORDS or part in MAKER_WORDS for part in parts):
        return False
    if parts[0] not in _EXIF_DEFAULT_STARTS and parts[0] not in MAKER_WORDS:
        return False
    return bool({"exif", "camera", "dsc"} & set(parts))
