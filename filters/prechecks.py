"""Proven-keep pre-checks: which caption rules cannot fire, found in one C pass.

Most web captions are printable ASCII that no rule touches, and on them the rules spend most of
their time proving exactly that: a dozen regex and substring tests per caption. The C scanner
(filters/_rulescan.c) tests the necessary conditions those rules start with (no digit, no dot,
a first word that is content ...) in one pass and returns a bit per rule it has proven cannot
fire; the chain then runs only the other rules. The rules stay the definition: a bit is set
only where the Python rule is certain to keep, so verdicts are the same with or without the
scanner (tests/test_rulescan.py checks every bit against its rule on real and random captions).

Where the extension was not built (no C compiler at install), `build_scanner()` returns None and
the chain runs every rule, with the same verdicts.
"""

from __future__ import annotations

import re

from wit.filters import boilerplate, camera, filename, urls

try:  # built by the install where a C compiler exists (setup.py)
    from wit.filters import _rulescan
except ImportError:  # pragma: no cover - depends on the install
    _rulescan = None

# The bits of Scanner.text_mask(text, max_chars); each says the named step leaves the caption be.
NORMALISED = 1  # normalise_text(text, max_chars) returns (text, False)
SUFFIX_KEPT = 2  # camera.strip_camera_suffix(text) returns text
NOT_FILENAME = 4  # filename.is_file_name(text) is False
NOT_BOILERPLATE = 8  # boilerplate.is_boilerplate(text) is False
NOT_CAMERA = 16  # camera.is_camera_metadata(text) is False

# Rule name (wit.filters.chain.TEXT_RULES) -> the bit that proves it keeps.
RULE_BITS = {"filename": NOT_FILENAME, "boilerplate": NOT_BOILERPLATE, "camera": NOT_CAMERA}


def build_scanner():
    """A _rulescan.Scanner fed with the rules' own word lists, or None without the extension."""
    if _rulescan is None:
        return None
    return _rulescan.Scanner(
        boilerplate_words=boilerplate.GENERIC_WORDS | boilerplate.STOP_WORDS,
        camera_words=camera.CAMERA_BRANDS | camera.DEVICE_BRANDS | camera.GEAR_WORDS | camera.STOP_WORDS | camera.CONTEXT_WORDS
        | camera.SHORT_CODES | camera.EXIF_PHRASE_WORDS | camera.GEAR_LIST_KEYS | camera.COMPANY_WORDS
        | camera.LENS_ACCESSORY_WORDS | camera.EVERYDAY_PHONE_LINES | camera.GLUED_MAKER_PHRASES
        | camera.WORD_SERIES | camera.LOCALISED_KEY_WORDS | camera.SERIES_TAG_WORDS | camera.SENSOR_FORMAT_WORDS
        | camera.PRINTER_CAMERA_LINES | camera.SHOT_ON_WORDS | camera.FILM_SIMULATION_WORDS
        | camera.LENS_LINE_WORDS,
        non_photo_extensions=urls.NON_PHOTO_EXTENSIONS,
        counter_prefixes=frozenset(filename.COUNTER_PREFIXES),
        gear_hints=camera.GEAR_HINTS,
        exposure_words=camera.EXPOSURE_WORDS,
        tool_word_starts=filename.TOOL_WORD_STARTS,
        tool_name_starts=tuple(_ascii_start(pattern) for pattern in filename.TOOL_NAME_PATTERNS if pattern.isascii()),
        sequence_words=filename.SEQUENCE_WORDS,
        forum_words=filename.FORUM_WORDS,
        result_prefixes=boilerplate.RESULT_PREFIX_WORDS,
        extension_ends=tuple("." + extension for extension in filename.IMAGE_EXTENSIONS),
        line_anchors=camera.CAMERA_BRANDS | camera.SHORT_CODES | camera.AMBIGUOUS_MAKERS | camera.GEAR_EDITION_WORDS
        | camera.EVERYDAY_CAMERA_LINES | camera.GLUED_MAKER_PHRASES | camera.WORD_SERIES,
    )


def _ascii_start(pattern: str) -> str:
    """The letters a regex alternative starts with: 'screen' of r'screen\\s*shot'.

    Non-ASCII alternatives are left out by the caller: ASCII text cannot start with them.
    """
    match = re.match(r"[a-z]+", pattern)
    if match is None:
        raise ValueError(f"{pattern!r} does not start with a letter")
    return match.group()
