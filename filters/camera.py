"""Camera-parameter captions (drop_camera): the caption is, or is essentially only, camera, lens,
EXIF or exposure metadata.

Every token is classed as gear (camera makers and lines, model codes, lens specs, exposure
values, EXIF keys, 'digital camera', 'shot on') or as a content word. The caption is dropped when
it carries a camera signal and not a single content word. That follows the label rules in
shared/data/README.md:
- a natural caption that also names a camera has content words, so it stays
  ('Mountain lake at sunrise, Nikon Z7, 1/125s f/11');
- a shop title for a camera or lens stays: it names a product noun (camera, lens, kit ...) and
  links it to something ('with', 'for', 'w/', '+', a colour in brackets);
- a bare model string, an EXIF default ('KONICA MINOLTA DIGITAL CAMERA'), an exposure line and
  a tag list made only of gear are dropped.
Consumer brands that also make cameras (Apple, Samsung, Google, Sony) count as gear but do not
trigger the rule on their own: 'Apple', 'Sony headphones' are not camera metadata; a brand with
a model code ('Apple iPhone XR', 'samsung SM-A515F') is.
"""

from __future__ import annotations

import re

# Makers and product lines that, with a model code or alone, mean "camera".
CAMERA_BRANDS = frozenset(
    """
    canon nikon fujifilm fuji olympus panasonic lumix pentax leica hasselblad sigma tamron tokina
    samyang rokinon zeiss ricoh konica minolta casio gopro dji kodak ilford fujicolor ektar portra
    velvia provia cinestill lomography mamiya rollei rolleiflex yashica contax voigtlander
    voigtländer polaroid instax nikkor eos powershot coolpix cybershot cyber-shot ixus elph
    rebel lumix om-d xf xc ef ef-s rf-s viltrox laowa meike yongnuo
    """.split()
)
# Consumer brands and phone lines: gear tokens, but not a camera signal without a model code.
DEVICE_BRANDS = frozenset(
    """
    apple iphone ipad samsung galaxy google pixel sony alpha huawei xiaomi redmi oneplus oppo vivo
    motorola moto nokia lg htc honor realme asus zenfone blackberry
    """.split()
)
# Words that occur in EXIF dumps, lens names and gear tag lists.
GEAR_WORDS = frozenset(
    """
    camera cameras digital dslr slr mirrorless rangefinder compact lens lenses zoom prime macro
    tele telephoto wide wide-angle mark ii iii iv v mk mkii corporation corp company co ltd inc
    imaging optical optics exif exposure aperture shutter speed focal length iso sensitivity
    flash metering mode program manual auto priority white balance wb bias ev comp compensation
    software firmware make model date time taken original dimensions resolution orientation
    sec secs seconds s mm f fstop f-stop stop stops nd body film stock dsc tags tag camera:
    lens: shot shooting on with via using taken by usm stm is ism vr vc oss gm za dg dc hsm os
    asph wr lm ois af af-s afs mf dx fx di ds pro plus ultra max mini se
    """.split()
)
# Product nouns and link words that make a camera string a shop title.
PRODUCT_NOUNS = frozenset("camera cameras lens lenses body kit bundle".split())
LISTING_LINKS = re.compile(
    r"\b(?:with|w/|for|includes?|including|bundle|kit|and)\b|\+|\((?:black|silver|white|red|blue|grey|gray)\)",
    re.IGNORECASE,
)
STOP_WORDS = frozenset("a an the of for to in on at by with and or from".split())

_EXPOSURE = re.compile(
    r"^(?:\d+/\d+(?:s|sec)?|\d+(?:\.\d+)?(?:s|sec|\")|f/?\d+(?:\.\d+)?l?|\d+(?:\.\d+)?mm|"
    r"\d+(?:-\d+)?mm(?:f\d+(?:\.\d+)?)?|[+-]?\d+(?:\.\d+)?ev|iso\d+|\d+x)$",
    re.IGNORECASE,
)
_EXPOSURE_ANYWHERE = re.compile(
    r"\b\d+/\d{2,5}\s*(?:s|sec)?\b|\bf/\d+(?:\.\d+)?|\biso[\s:]*\d{2,5}\b|\b\d{2,3}(?:-\d{2,3})?\s?mm\b"
    # Lens names glue focal length and aperture: 'XF56mmF1.2', 'fe1635mmf4'.
    r"|\d{2,4}mm\s?f/?\d"
    r"|\bexposure\b|\baperture\b|\bfocal length\b",
    re.IGNORECASE,
)
_SHOT_ON = re.compile(r"^\s*shot\s+(?:on|with)\b", re.IGNORECASE)
_EXIF_DEFAULT = re.compile(r"\bdigital\s+(?:still\s+)?camera\b|^\s*sony\s+dsc\s*$", re.IGNORECASE)
_TOKEN = re.compile(r"[^\s,;·|•:()\[\]{}@=]+")
_ALPHA = re.compile(r"[^\W\d_]+")


def _is_model_code(token: str) -> bool:
    """'D850', 'X-E3', 'SX620', 'DMC-TZ70', 'A7RII', 'XF56mmF1.2', 'XR', 'HS'."""
    has_digit = any(ch.isdigit() for ch in token)
    has_alpha = any(ch.isalpha() for ch in token)
    if has_digit and has_alpha:
        return True
    return token.isupper() and token.isalpha() and len(token) <= 3


_TOKEN_EDGE = ".'\"!?-–—/"


def _scan_tokens(text: str, stop_at: int) -> tuple[int, bool, bool, bool]:
    """(content words, up to `stop_at`; a maker or exposure token seen; a device brand seen;
    a model code seen)."""
    content = 0
    signal = device_brand = model_code = False
    for raw in _TOKEN.findall(text):
        stripped = raw.strip(_TOKEN_EDGE)
        token = stripped.lower()
        if not token:
            continue
        if token in CAMERA_BRANDS:
            signal = True
            continue
        if token in DEVICE_BRANDS:
            device_brand = True
            continue
        if token in GEAR_WORDS or token in STOP_WORDS:
            continue
        if stripped.isalpha():
            # The common case, decided without regexes: exposure values need digits, and a word
            # of letters only is a model code just when it is a short acronym ('XR', 'HS').
            if stripped.isupper() and len(stripped) <= 3:
                model_code = True
                continue
        else:
            if _EXPOSURE.match(token):
                signal = True
                continue
            if _is_model_code(stripped):
                model_code = True
                continue
            if token.isdigit():
                model_code = True  # 'Pixel 7', 'iPhone 13': a device line and a number
                continue
            if not _ALPHA.search(token):
                continue
        content += 1
        if content >= stop_at:
            break
    return content, signal, device_brand, model_code


def _signal_pattern(text: str) -> bool:
    """'Shot on ...', an EXIF default description or an exposure value anywhere in the text."""
    return bool(_SHOT_ON.match(text) or _EXIF_DEFAULT.search(text) or _has_exposure_value(text))


def classify(text: str, stop_at: int = 1_000_000) -> tuple[int, bool, bool]:
    """Return (content words, camera signal seen, device brand seen with a model code).

    Counting stops at `stop_at` content words: the drop rule only needs to know "any?".
    """
    content, signal, device_brand, model_code = _scan_tokens(text, stop_at)
    return content, signal or _signal_pattern(text), device_brand and model_code


def is_product_listing(text: str) -> bool:
    """'Canon EOS 60D DSLR Camera with 18-135mm Lens', '... Lens for Canon (Black)'."""
    words = {w.lower() for w in _ALPHA.findall(text)}
    return bool(words & PRODUCT_NOUNS) and bool(LISTING_LINKS.search(text))


# Cheap pre-screen: a camera signal needs a digit (model codes, exposure values) or a maker or
# EXIF word, so most captions skip the per-token classification.
_HINT_WORDS = CAMERA_BRANDS | DEVICE_BRANDS | {"shot", "dsc", "digital", "exposure", "aperture", "iso"}
_LOWER_WORD = re.compile(r"[a-z]+")
_DIGIT = re.compile(r"\d")


def _has_camera_hint(text: str) -> bool:
    if _DIGIT.search(text):
        return True
    return not _HINT_WORDS.isdisjoint(_LOWER_WORD.findall(text.lower()))


def is_camera_metadata(text: str) -> bool:
    """True when the caption is only camera, lens, EXIF or exposure metadata."""
    # Most captions hold a content word early on, which settles it before any regex runs.
    content, signal, device_brand, model_code = _scan_tokens(text, stop_at=1)
    if content > 0 or not _has_camera_hint(text):
        return False
    if not (signal or _signal_pattern(text) or (device_brand and model_code)):
        return False
    return not is_product_listing(text)


# Separators before a trailing metadata segment: 'Lake at dawn, Nikon Z7, 1/125s f/11',
# 'Massey Ferguson 35X tractor - IMG 0639', 'Old mill | Canon EOS 5D'.
_SUFFIX_SEPARATOR = re.compile(r"\s+[-–—|·•]\s+|,\s+|\s+@\s+")
_EXPOSURE_ONLY = re.compile(r"^(?:\s*(?:\d+/\d+\s*s?|f/\d+(?:\.\d+)?|iso\s*\d+|\d+\s?mm|[+-]?\d+(?:\.\d+)?\s?ev)\s*)+$", re.IGNORECASE)


def strip_camera_suffix(text: str) -> str:
    """Remove trailing segments that are only camera/EXIF metadata or a file name.

    The rest must keep at least two content words, so a caption is never reduced to a stub;
    a caption that is only metadata is left whole for the drop rules to count.
    """
    if not _may_have_separator(text) or not _SUFFIX_SEPARATOR.search(text):
        return text
    if not (_has_gear_hint(text) or _has_exposure_value(text)):
        return text
    from wit.filters.filename import is_file_name

    parts = _SUFFIX_SEPARATOR.split(text)
    seps = _SUFFIX_SEPARATOR.findall(text)
    keep = len(parts)
    while keep > 1:
        tail = parts[keep - 1].strip()
        if tail and (is_camera_metadata(tail) or is_file_name(tail) or _EXPOSURE_ONLY.match(tail)):
            keep -= 1
            continue
        break
    if keep == len(parts):
        return text
    head = parts[0] + "".join(sep + part for sep, part in zip(seps[: keep - 1], parts[1:keep]))
    if classify(head)[0] < 2:
        return text
    return head.strip()


def _may_have_separator(text: str) -> bool:
    # A one-character-class scan costs a tenth of the separator regex, whose leading \s+ is
    # tried at every position; three captions in four have none of these characters.
    return _SEPARATOR_CHAR.search(text) is not None


_SEPARATOR_CHAR = re.compile("[,|@\u00b7\u2022\u2013\u2014-]")
# Without a digit, only these words make _EXPOSURE_ANYWHERE match.
EXPOSURE_WORDS = ("exposure", "aperture", "focal")
# The usual makers and file-name markers: a separated caption without one (and without an
# exposure value) has no metadata suffix worth splitting for.
GEAR_HINTS = ("img", "dsc", "canon", "nikon", "sony", "fuji", "olympus", "iphone", "pixel", ".jpg", ".png")


def _has_exposure_value(text: str) -> bool:
    """_EXPOSURE_ANYWHERE.search, after the cheap necessary conditions: a digit or a keyword."""
    if not _DIGIT.search(text):
        lower = text.lower()
        if not any(map(lower.__contains__, EXPOSURE_WORDS)):
            return False
    return bool(_EXPOSURE_ANYWHERE.search(text))


def _has_gear_hint(text: str) -> bool:
    """A cheap test before splitting: the usual makers and file-name markers."""
    lower = text.lower()
    return any(map(lower.__contains__, GEAR_HINTS))
