"""Camera-parameter captions (drop_camera): the caption is, or is essentially only, camera, lens,
EXIF or exposure metadata.

The vocabulary comes from lensfun's camera and lens database (filters/camera_catalogue.json,
built by scripts/build_camera_catalogue.py; CC BY-SA 3.0, see camera_catalogue_LICENSE.txt):
its makers, the words of its body names (model lines such as 'PowerShot') and of its lens names
(series such as 'Nikkor', 'USM'), the EXIF standard's tag names, and a small hand-written
supplement for phones, action cameras and film stocks. Model numbers are never listed: any
letters-and-digits code next to a maker or line counts, so models newer than the catalogue are
caught too.

Every token is classed as gear (makers, lines, lens words, model codes, lens specs, exposure
values, EXIF keys, 'digital camera', 'shot on') or as a content word. The caption is dropped when
it carries a camera signal and not a single content word. That follows the label rules in
shared/data/README.md:
- a natural caption that also names a camera has content words, so it stays;
- a shop title for a camera or lens stays: it names a product noun (camera, lens, kit ...) and
  links it to something ('with', 'for', 'w/', '+', a colour in brackets), or carries a price;
- a bare model string, an EXIF default description, an exposure line, a 'Key: value' EXIF dump
  and a tag list made only of gear are dropped.
Everyday words that also name camera lines or lens series ('black', 'one', 'art', 'tough') are
gear only beside a real signal (a maker or line with a model code, a lens spec or an exposure
value); alone they are content, so 'black and white photo' is no camera caption. Consumer
brands that also make cameras (phone makers, Sony) count as gear but do not trigger the rule on
their own: a brand alone or with a product word is not camera metadata; a brand with a model
code is.
"""

from __future__ import annotations

import re

from wit.filters.catalogue import CATALOGUE as _CATALOGUE
from wit.filters.catalogue import CATALOGUE_PATH, MODEL_SERIES, is_series_code  # noqa: F401  (re-exported)
from wit.filters.catalogue import is_camera_model_name, is_exif_default_description, is_lone_model_code

_SUPPLEMENT = _CATALOGUE["supplement"]
# Everyday English words among the catalogue's words (wordfreq Zipf >= 3.0): gear only beside a signal.
_COMMON = frozenset(_CATALOGUE["common"])
# Everyday-word makers ('Parrot', 'RED') may be followed by a line name: filters/prechecks.py passes
# them to the C scanner as anchors a line word may follow.
AMBIGUOUS_MAKERS = frozenset(_SUPPLEMENT["ambiguous_maker_words"])
# Rare words (wordfreq Zipf < 2.5, or glued such as 'af-s'): a line or lens word names a camera alone.
_DISTINCTIVE = frozenset(_CATALOGUE["distinctive"])
# Short line and lens codes ('fc', 'sd', 'smc', 'df'): model codes in any case ('Nikon Z fc').
SHORT_CODES = frozenset(_CATALOGUE["short_codes"])

# Consumer brands, phone lines and kinds of camera named with a code ('Webcam C270'): gear
# tokens, but a camera signal only with a model code.
DEVICE_BRANDS = (
    frozenset(_SUPPLEMENT["device_makers"]) | frozenset(_SUPPLEMENT["phone_lines"]) | frozenset(_SUPPLEMENT["camera_kinds"])
)
# Makers and product lines that, with a model code or alone, mean "camera".
_MAKER_WORDS = {word for key in _CATALOGUE["makers"] for word in key.split()} | set(_SUPPLEMENT["camera_makers"])
CAMERA_BRANDS = (
    frozenset(_SUPPLEMENT["camera_lines"])
    | frozenset(
        word
        for word in _MAKER_WORDS
        | set(_SUPPLEMENT["film_stocks"])
        # Two- and three-letter line and lens words ('GR', 'DG') are model codes, not names.
        | {w for w in _CATALOGUE["family_words"] + _CATALOGUE["lens_words"] if len(w) > 3 and w in _DISTINCTIVE}
        if word in _MAKER_WORDS or word not in _COMMON
    )
) - DEVICE_BRANDS - AMBIGUOUS_MAKERS
# Film and twin-lens lines named by a camera maker's name glued to 'flex', 'cord' or 'mat(ic)'
# ('Canonflex', 'Mamiyaflex', 'Yashicamat'): lines like the catalogue's, whatever the maker.
GLUED_LINE_SUFFIXES = ("flex", "cord", "mat", "matic")
CAMERA_BRANDS = CAMERA_BRANDS | frozenset(
    maker + suffix
    for maker in CAMERA_BRANDS & _MAKER_WORDS
    if len(maker) >= 4 and maker.isalpha()
    for suffix in GLUED_LINE_SUFFIXES
)
# Two-word maker names ('Phase One'): a signal as a phrase, while each word alone is everyday.
MAKER_PHRASES = tuple(_SUPPLEMENT["maker_phrases"])
_MAKER_PHRASE = re.compile(
    r"\b(?:" + "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in MAKER_PHRASES) + r")\b", re.IGNORECASE
)
# EXIF keys as dumps write them ('exposure time', 'fnumber'); the one-word forms are gear tokens.
EXIF_KEYS = frozenset(_CATALOGUE["exif_keys"])
# Sensor and film formats as gear tag lists write them, one word ('fullframe', 'apsc'): gear in a
# hashtag or tag list (_gear_tag); elsewhere a shop title's words ('... Full-Frame Zoom Lens').
# filters/prechecks.py passes them to the C scanner as not content.
SENSOR_FORMAT_WORDS = frozenset(
    "fullframe apsc halfframe mediumformat largeformat xtrans x-trans".split()
)
# Words that occur in EXIF dumps, lens names and gear tag lists.
GEAR_WORDS = frozenset(
    """
    camera cameras digital dslr slr mirrorless rangefinder compact lens lenses zoom prime macro
    tele telephoto wide wide-angle mark ii iii iv v vi vii mk mkii corporation corp company co ltd inc
    imaging optical optics exif exposure aperture shutter speed focal length iso sensitivity
    flash metering mode program manual auto priority white balance wb bias ev comp compensation
    software firmware make model date time taken original dimensions resolution orientation
    sec secs seconds seg sek с сек s mm f fstop f-stop f-number fnumber stop stops nd body film stock dsc tags tag
    shot shooting on with via using taken by captured photographed scanned digitized digitised exp usm stm is ism vr vc oss gm za dg dc hsm os
    asph wr lm ois af af-s afs mf dx fx di ds pro plus ultra max mini se
    anamorphic fisheye fish-eye tilt-shift apochromatic megapixel megapixels mp ratings maker manufacturer number
    ap equiv equivalent
    """.split()
) | frozenset(
    # A version glued to 'Mark' / 'Mk' in any case ('markiii', 'MkIV', 'mark2'), as tag lists write it.
    mark + version
    for mark in ("mark", "mk")
    for version in ("i", "ii", "iii", "iv", "v", "vi", "vii", "2", "3", "4", "5", "6", "7")
) | frozenset(
    word
    for word in _CATALOGUE["lens_words"] + _CATALOGUE["family_words"] + [k for k in EXIF_KEYS if " " not in k]
    # Short words ('ED', 'VC') stay model codes: a device brand needs one to count.
    if word not in _COMMON and len(word) > 3
)
# Everyday words of the catalogue: gear beside a real camera signal, content otherwise.
CONTEXT_WORDS = (
    (
        frozenset(_CATALOGUE["family_words"] + _CATALOGUE["lens_words"])
        | frozenset(_SUPPLEMENT["camera_lines"] + _SUPPLEMENT["everyday_line_words"] + _SUPPLEMENT["everyday_lens_words"])
        | frozenset(_SUPPLEMENT["film_stocks"])
    )
    & _COMMON
    | AMBIGUOUS_MAKERS
    # One letter of a phrase (Z of Z CAM) stays a model code: Nikon writes its Z bodies so.
    | {word for phrase in MAKER_PHRASES for word in phrase.split() if len(word) > 1}
    # Film photographers' notes ('expired', 'sheet', 'dil.', a developer's name), common or not.
    | frozenset(_SUPPLEMENT["film_notes"])
    # Trail-camera makers that are everyday words: a maker only before their lines.
    | frozenset(_SUPPLEMENT["line_phrase_makers"])
) - CAMERA_BRANDS - DEVICE_BRANDS - GEAR_WORDS
# Phone lines that are everyday words ('Curve', 'Desire', 'Blade'): gear right after a phone
# maker, beside a model code ('BlackBerry Curve 9300'), content anywhere else ('Nikon D850 storm').
# filters/prechecks.py passes them to the C scanner as not content.
# 360 cameras' lines among them ('Gear 360', 'Theta S'): also right after a camera maker.
EVERYDAY_360_LINES = frozenset(_SUPPLEMENT["everyday_360_lines"])
EVERYDAY_PHONE_LINES = frozenset(_SUPPLEMENT["everyday_phone_lines"]) | EVERYDAY_360_LINES
# Words of company names in EXIF Make fields ('EASTMAN KODAK COMPANY', 'CASIO COMPUTER CO.,LTD.',
# 'SAMSUNG TECHWIN'): gear in a run of such words next to a maker's name, content elsewhere.
# filters/prechecks.py passes them to the C scanner as not content.
COMPANY_WORDS = frozenset(_CATALOGUE["company_words"]) - GEAR_WORDS
_MAKER_NAMES = CAMERA_BRANDS | DEVICE_BRANDS | _MAKER_WORDS


def _in_company_name(tokens: list[str], index: int) -> bool:
    """Whether tokens[index], a company word, is in a run of company words that touches a maker's
    name ('EASTMAN KODAK', 'CASIO COMPUTER CO.,LTD.')."""
    for step in (-1, 1):
        position = index + step
        while 0 <= position < len(tokens):
            word = tokens[position].strip(_TOKEN_EDGE).lower()
            if word in _MAKER_NAMES:
                return True
            if word not in COMPANY_WORDS and word not in _COMPANY_GEAR:
                break
            position += step
    return False


# Company words that are gear anyway ('Co', 'Ltd', 'Corporation'): a run may pass over them.
_COMPANY_GEAR = frozenset(_CATALOGUE["company_words"]) & GEAR_WORDS
# Product nouns and link words that make a camera string a shop title.
PRODUCT_NOUNS = frozenset("camera cameras lens lenses body kit bundle".split()) | frozenset(_SUPPLEMENT["camera_kinds"])
# Lens adapters and focal reducers ('<lens> + <maker> EF-E adapter'): gear only beside a camera
# maker or line or a lens spec, content otherwise ('USB-C adapter for <phone>').
LENS_ACCESSORY_WORDS = frozenset(_SUPPLEMENT["lens_accessory_words"])
_LISTING_COLOURS = "black|silver|white|red|blue|grey|gray|green|pink|gold|brown|beige|orange|yellow|purple|graphite"
LISTING_LINKS = re.compile(
    r"\b(?:with|w/|for|includes?|including|bundle|kit|and)\b|\+|\((?:" + _LISTING_COLOURS + r")\)"
    # A colour variant after a dash or comma at the end: '... Digital Camera - Black', '... Body, Silver'.
    r"|(?:\s[-–—]|,)\s*(?:" + _LISTING_COLOURS + r")\s*$",
    re.IGNORECASE,
)
# A camera's kind before 'camera', 'camera body' or 'body only' names a product the way shops
# do ('... Mirrorless Camera', '... Digital Camera Body'); 'digital camera' alone is an EXIF
# default description.
_SHOP_CATEGORY = re.compile(
    r"\b(?:mirrorless|dslr|slr|compact|action|instant|bridge|rangefinder|point[- ]and[- ]shoot|full[- ]frame|"
    r"medium[- ]format|360(?:°| degree)?)\s+(?:digital\s+)?cameras?\b|\bbody\s+only\b|\bcamera\s+body\b",
    re.IGNORECASE,
)
# A price makes any camera string a shop listing: '$1,499', '1.299 €', 'USD 899'.
# Rupees only as 'Rs' or 'Rs.': 'RS 1' is a model's suffix ('ONE RS 1-Inch').
_PRICE = re.compile(r"[$£€¥₹]\s?\d|\d\s?(?:€|eur|usd|gbp)\b|\b(?:usd|eur|gbp|(?-i:Rs)\.?)\s?\d", re.IGNORECASE)
# A phone's memory and storage as a pair ('8/256GB', '6GB/128GB') makes a shop listing: an EXIF
# model name never carries the pair (one capacity alone can be part of a model's name).
_MEMORY_PAIR = re.compile(r"\b\d+\s?(?:GB)?\s?/\s?\d+\s?[GT]B\b", re.IGNORECASE)
STOP_WORDS = frozenset("a an the of for to in on at by with and or from my".split())

_EXPOSURE = re.compile(
    r"^(?:\d+/\d+(?:s|sec)?|\d+(?:\.\d+)?(?:s|sec|\")|f/?\d+(?:\.\d+)?l?|\d+(?:\.\d+)?mm|"
    r"\d+(?:-\d+)?mm(?:f\d+(?:\.\d+)?)?|[+-]?\d+(?:\.\d+)?ev|iso\d+|\d+(?:\.\d+)?x)$",
    re.IGNORECASE,
)
_EXPOSURE_ANYWHERE = re.compile(
    r"\b\d+/\d{2,5}\s*(?:s|sec)?\b|\bf/\d+(?:\.\d+)?|\biso[\s:]*\d{2,5}\b|\b\d{1,4}(?:-\d{1,4})?\s?mm\b"
    # Lens names glue focal length and aperture ('23mmF1.4', '8mmF3.5'), or write the aperture as 'F2.8'
    # (with its decimals: a bare 'F1' is more often a race series than an aperture).
    r"|\d{1,4}mm\s?f/?\d|\bf\d+\.\d+(?:-\d+(?:\.\d+)?)?\b"
    r"|\bexposure\b|\baperture\b|\bfocal length\b",
    re.IGNORECASE,
)
# A film scan's credit names its scanner the same way ('Scanned with <maker> <line> <code>').
_SHOT_ON = re.compile(r"^\s*(?:shot|taken|captured|photographed|scanned|digiti[sz]ed)\s+(?:on|with)\b", re.IGNORECASE)
_EXIF_DEFAULT = re.compile(r"\bdigital\s+(?:still\s+)?camera\b|^\s*sony\s+dsc\s*$", re.IGNORECASE)
# A value ends its token: nothing but a sentence's last marks may follow it before a break, so a
# phrase never glues what follows into the key's token ('flash:on.<word>' stays two tokens to the
# rule, as to the C scanner).
_VALUE_END = r"(?![^\s,;\u00b7|\u2022:()\[\]{}@=.!?])(?![.!?]+[^\s.!?])"
# EXIF values written out in words: the Flash tag's ('Flash did not fire', 'no flash') and makers'
# default descriptions other than 'DIGITAL CAMERA' ('SAMSUNG CAMERA PICTURES'). The rule reads
# them as the gear words they stand for.
_EXIF_VALUE_PHRASES = re.compile(
    r"\b(?:(?:flash\s+)?(?:did\s+not|didn't|not)\s+fired?|flash\s+fired|no\s+flash"
    # the flash's mode as a key's value ('Flash: Off', 'Flash=Auto')
    r"|flash\s*[:=]\s*(?:off|on|auto)" + _VALUE_END +
    # the camera's firmware ('Firmware Version 1.0.2'), white balance and metering mode with their
    # values ('WB Daylight', 'Metering Mode Pattern')
    r"|firmware(?:\s+(?:version|ver\.?))?\s*v?\d+(?:\.\d+)+" + _VALUE_END +
    r"|(?:wb|white\s+balance)\s*[:=]?\s*(?:daylight|cloudy|shade|tungsten|fluorescent|incandescent)" + _VALUE_END +
    r"|metering(?:\s+mode)?\s*[:=]?\s*(?:pattern|matrix|spot|evaluative|partial|average|multi-?segment"
    r"|(?:center|centre)[- ]weighted(?:\s+average)?)" + _VALUE_END +
    # a trail camera's infrared flash kind ('<body> No Glow', '... Low Glow')
    r"|(?:no|low)\s+glow)\b"
    r"|\b(camera\s+pictures?|digital\s+still\s+camera)\b",
    re.IGNORECASE,
)
# Words of those phrases (and of exiftool's 'Model Name' key and Canon's 'Tv'/'Av' below),
# otherwise content: filters/prechecks.py passes them to the C scanner as not content, so it never
# proves a caption holding one clean before the rule has read the phrase.
EXIF_PHRASE_WORDS = frozenset(
    "did didn't not no fire fired pictures picture still low glow off auto firmware version ver wb white balance "
    "daylight cloudy shade tungsten fluorescent incandescent metering mode pattern matrix spot evaluative partial "
    "average multi-segment multisegment segment center centre weighted center-weighted centre-weighted name tv av".split()
)
# Keys photo sites put before a gear list ('Device: ...', 'Gear: ...'): a key, not content, when a
# ':' follows. Also passed to the C scanner as not content, for the same reason as the phrases.
GEAR_LIST_KEYS = frozenset("device gear equipment setup".split())
# ... and exiftool's name for the Model tag ('Camera Model Name : <body>'), whose 'name' is passed
# to the C scanner with the EXIF phrase words.
_GEAR_LIST_KEY = re.compile(
    r"(?:^|(?<=[,;|/]))\s*(?:" + "|".join(GEAR_LIST_KEYS) + r"|(?:camera\s+)?model\s+name)\s*:", re.IGNORECASE
)
# Canon's exposure modes written before their values ('Tv 1/50 Av 4.5'): read as 'exposure'.
_EXPOSURE_MODE_KEY = re.compile(r"\b(?:Tv|Av)(?=\s*[:=]?\s*(?:\d|f/))")


# EXIF keys of several words as EXIF tools and photo sites localise them ('distance focale',
# 'tiempo de exposición'): read as the gear word they stand for. Their words are passed to the C
# scanner as not content, as the EXIF value phrases' words are.
_LOCALISED_KEY_PHRASES = sorted((key for key in _SUPPLEMENT["localised_exif_keys"] if " " in key), key=len, reverse=True)
_LOCALISED_KEY_PHRASE = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, _LOCALISED_KEY_PHRASES)) + r")(?!\w)", re.IGNORECASE)
_LOCALISED_KEY_HEADS = tuple(sorted({phrase.split()[0] for phrase in _LOCALISED_KEY_PHRASES}))
LOCALISED_KEY_WORDS = frozenset(word for phrase in _LOCALISED_KEY_PHRASES for word in phrase.split())


# The 'Shot on' watermark as phones write it in German, French, Spanish, Italian, Dutch,
# Portuguese, Scandinavian, Slavic, Romanian and Indonesian ('Aufgenommen mit <phone>', 'Снято на
# <phone>', 'Snimljeno mobitelom <phone>'), maybe with an article or 'my' before the phone: read as
# 'Shot on'. Its words are passed to the C scanner as not content, as the EXIF value phrases' words
# are.
# Articles and 'my' the openings put before the phone ('Aufgenommen mit dem <phone>').
_SHOT_ON_ARTICLES = "dem einem meinem mon le un une mi el il mio uno una mijn het een o um uma meu min mitt моём моем".split()
_LOCALISED_SHOT_ON = re.compile(
    r"^\s*(?:(?:photo|foto)\s+)?(?:(?:aufgenommen|fotografiert)\s+mit|(?:pris|prise|photographiée?)\s+avec"
    r"|(?:tomad[ao]|capturad[ao]|fotografiad[ao])\s+con|(?:scattat[ao]|fotografat[ao])\s+con"
    r"|(?:gemaakt|geschoten|vastgelegd)\s+met|(?:tirad[ao]|fotografad[ao])\s+com"
    r"|(?:taget|tagen|tatt|fotograferad|fotograferet)\s+med|fotografiat\s+cu|(?:diambil|dipotret)\s+(?:dengan|pakai)"
    r"|(?:снято|сфотографировано|знято)\s+на|(?:snimljeno|uslikano|posneto)\s+(?:mobitelom|telefonom|sa|s|na|z)"
    r"|(?:zrobione|zrobiono)\s+(?:telefonem|na)|(?:vyfoceno|vyfotené|odfotené)\s+(?:na|mobilem|telefonem))"
    r"(?:\s+(?:" + "|".join(_SHOT_ON_ARTICLES) + r"))?\b",
    re.IGNORECASE,
)
SHOT_ON_WORDS = frozenset(
    "aufgenommen fotografiert mit pris prise photographié photographiée avec tomada tomado capturada capturado "
    "fotografiada fotografiado con scattata scattato fotografata fotografato gemaakt geschoten vastgelegd met "
    "tirada tirado fotografada fotografado com "
    "taget tagen tatt fotograferad fotograferet med fotografiat cu diambil dipotret dengan pakai "
    "snimljeno uslikano posneto mobitelom telefonom sa s na z zrobione zrobiono telefonem vyfoceno vyfotené "
    "odfotené mobilem photo foto".split()
) | frozenset(word for word in _SHOT_ON_ARTICLES if word.isascii())
# Film simulations cameras write beside the body ('<body>, Classic Neg'): read as 'film'. Their
# words are passed to the C scanner as not content.
_FILM_SIMULATIONS = sorted(_SUPPLEMENT["film_simulations"], key=len, reverse=True)
_FILM_SIMULATION = re.compile(
    r"(?<!\w)(?:" + "|".join(re.escape(p).replace(r"\ ", r"\s*") for p in _FILM_SIMULATIONS) + r")(?!\w)", re.IGNORECASE
)
# Their words, and the names glued as tag lists write them ('classicchrome').
FILM_SIMULATION_WORDS = frozenset(word for phrase in _FILM_SIMULATIONS for word in phrase.split()) | frozenset(
    phrase.replace(" ", "") for phrase in _FILM_SIMULATIONS
)
_FILM_SIMULATION_HINTS = ("chrome", "neg", "bypass", "ace", "acros")
_EXIF_VALUE_HINTS = ("fire", "flash", "picture", "still", "glow", "firmware", "wb", "balance", "metering")


# EXIF keys in Japanese, Chinese and Korean, glued to their values or units as EXIF viewers write
# them ('ISO感度 200'), and seconds after a shutter time ('1/250秒'): read as 'exposure' and 's'.
# Non-ASCII text never reaches the C scanner's proofs, so it needs no word list there.
_CJK_EXIF_KEYS = sorted(_SUPPLEMENT["cjk_exif_keys"], key=len, reverse=True)
_CJK_EXIF_KEY = re.compile("|".join(re.escape(key).replace(r"\ ", r"\s*") for key in _CJK_EXIF_KEYS))
_CJK_EXIF_HINT = re.compile("[\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7af]")
_CJK_SECONDS = re.compile(r"(?<=\d)\s*[秒초]")
# The 'Shot on' watermark in Chinese (before the phone: '拍摄于 <phone>') and Japanese and Korean
# (after it: '<phone>で撮影', '<phone>로 촬영'): read as 'Shot on <phone>', where the phone's name is
# all the caption holds besides (in Latin letters: a sentence that ends so is prose).
_CJK_SHOT_ON_BEFORE = re.compile(r"^\s*(?:拍摄于|拍攝於|摄于|攝於)\s*")
_CJK_SHOT_ON_AFTER = re.compile(r"^\s*([!-~][ -~]*?)\s*(?:で撮影|で撮った|(?:으)?로\s*촬영)\s*$")
# Camera makers' names in those scripts ('ニコン'), read as their Latin names.
_CJK_MAKER_NAMES = _SUPPLEMENT["cjk_maker_names"]
_CJK_MAKER = re.compile("|".join(map(re.escape, sorted(_CJK_MAKER_NAMES, key=len, reverse=True))))


def _exif_values_as_gear(text: str) -> str:
    """'..., Flash did not fire' -> '..., flash'; 'SAMSUNG CAMERA PICTURES' and 'KODAK DIGITAL STILL
    CAMERA' -> '... digital camera'; 'Gear: ...' -> ' ...'; 'distance focale' -> 'exposure';
    'Aufgenommen mit ...', '拍摄于 ...' and '...で撮影' -> 'Shot on ...'; '..., Classic Chrome' -> '..., film';
    'Tv 1/50 Av 4.5' -> 'exposure 1/50 exposure 4.5'; 'Firmware Version 1.0.2', 'WB Daylight' -> 'flash'."""
    if ":" in text:
        text = _GEAR_LIST_KEY.sub(" ", text)
    if "Tv" in text or "Av" in text:
        text = _EXPOSURE_MODE_KEY.sub("exposure", text)
    lower = text.lower()
    if any(map(lower.__contains__, _FILM_SIMULATION_HINTS)):
        text = _FILM_SIMULATION.sub("film", text)
        lower = text.lower()
    if " " in lower and lower.lstrip()[:1] in "afptcsgvduzoсз":
        replaced = _LOCALISED_SHOT_ON.sub("Shot on", text, count=1)
        if replaced != text:
            text, lower = replaced, replaced.lower()
    if any(head in lower for head in _LOCALISED_KEY_HEADS):
        text = _LOCALISED_KEY_PHRASE.sub("exposure", text)
        lower = text.lower()
    if not text.isascii() and _CJK_EXIF_HINT.search(text):
        text = _CJK_SHOT_ON_AFTER.sub(r"Shot on \1", _CJK_SHOT_ON_BEFORE.sub("Shot on ", text, count=1), count=1)
        text = _CJK_SECONDS.sub("s", _CJK_EXIF_KEY.sub(" exposure ", text))
        text = _CJK_MAKER.sub(lambda match: " " + _CJK_MAKER_NAMES[match.group(0)] + " ", text)
        lower = text.lower()
    if not any(map(lower.__contains__, _EXIF_VALUE_HINTS)):
        return text
    return _EXIF_VALUE_PHRASES.sub(lambda m: "digital camera" if m.group(1) else "flash", text)


_TOKEN = re.compile(r"[^\s,;·|•:()\[\]{}@=]+")
_ALPHA = re.compile(r"[^\W\d_]+")


def _is_model_code(token: str) -> bool:
    """'D7200', 'X-T9', 'SX740', 'DC-FZ82', 'A6700', 'XF33mmF1.4', 'GX', 'HS', 'SQ-A'."""
    has_digit = any(ch.isdigit() for ch in token)
    has_alpha = any(ch.isalpha() for ch in token)
    if has_digit and has_alpha:
        return True
    return token.isupper() and _is_hyphenated_acronym(token)


def _is_hyphenated_acronym(token: str) -> bool:
    """Capital runs of 1-3 letters joined by hyphens or slashes: 'GX', 'SQ-A', 'LC-A', and lens
    mounts 'L/Z', 'M/F'."""
    parts = token.replace("/", "-").split("-")
    return len(token) <= 7 and all(0 < len(part) <= 3 and part.isalpha() for part in parts)


# Stripped from both ends of a token; '+' for phone names such as 'Pro+', '*' for Zeiss's 'T*',
# '#' for hashtags ('#nikond850 #nikkor').
_TOKEN_EDGE = ".'\"!?-–—/+*#★☆"  # a star lens line's mark ('FA★') too


class _Tokens:
    """What one pass over the tokens found (see _scan_tokens)."""

    __slots__ = (
        "content", "context", "signal", "strong", "device_brand", "model_code", "exposure", "line_words", "accessory",
        "numbered_names",
    )

    def __init__(self) -> None:
        self.content = self.context = self.strong = self.line_words = self.accessory = self.numbered_names = 0
        self.signal = self.device_brand = self.model_code = self.exposure = False


def _known_english() -> frozenset[str]:
    from wit.filters.language import known_english_words

    return known_english_words()


def _may_be_line_word(stripped: str) -> bool:
    """A capitalised name English does not know ('Monochrom', 'EasyShare'): after a maker, a
    model code or a lens spec it reads as a model line the catalogue does not list."""
    # Letters with inner hyphens too ('Hi-matic'): a line name whole, unknown to English as one word.
    return (
        "A" <= stripped[0] <= "Z"
        and (stripped.isalpha() or ("-" in stripped and stripped.replace("-", "").isalpha()))
        and stripped.lower() not in _known_english()
    )


def _scan_tokens(text: str, stop_at: int) -> _Tokens:
    """Class each token; counting content words stops at `stop_at` (the drop rule only needs "any?")."""
    found = _Tokens()
    # Whether the previous token was a camera maker or line, a short code, a line word, or (once
    # a maker, line or short code has been seen: 'Ferrari F40 Berlinetta' has none) a model code, an
    # acronym or an exposure value: a capitalised unknown name right after one may be a line word
    # (_may_be_line_word). filters/_rulescan.c passes over such names to the same rule.
    after_gear = anchored = after_brand = after_device = False
    tokens = _TOKEN.findall(text)
    # A tag list joined by commas without spaces (as photo sites store tags, each tag with its
    # spaces removed: 'canon,eos,digitalrebel'): its tags are read as hashtags are.
    tag_list = "," in text and " " not in text
    # A tag list in lower case with spaces ('<maker> <code> <maker>alpha'): its tags English does
    # not know are read as hashtags too.
    lower_tags = not tag_list and _is_lower_case_tag_list(text)
    stock_words = 0  # capitalised words left of a stock's name ('<film maker> <Name> <Name> 400')
    for index, raw in enumerate(tokens):
        stripped = raw.strip(_TOKEN_EDGE)
        token = stripped.lower()
        if not token:
            continue
        if stock_words:
            stock_words -= 1
            after_gear = False
            continue
        previous, previous_brand, previous_device = after_gear, after_brand, after_device
        after_gear = after_brand = after_device = False
        if token in CAMERA_BRANDS:
            found.signal = after_gear = anchored = after_brand = True
            found.strong += 1
            if token in FILM_MAKERS:
                stock_words = _stock_name_words(tokens, index)
            continue
        as_tag = raw[:1] == "#" or tag_list or (lower_tags and token not in _known_english())
        if as_tag and stripped.isalpha() and _glued_hashtag(token):
            # '#nikonlens', '#lumixsseries': a camera maker or line glued to gear words.
            found.signal = after_gear = anchored = True
            found.strong += 1
            continue
        if as_tag:
            gear_tag = _gear_tag(token)
            if gear_tag == _MAKER_TAG:
                # '#team<maker>', '#<maker>_world': a maker's community tag names the gear alone.
                found.signal = after_gear = anchored = True
                found.strong += 1
                continue
            if gear_tag == _GEAR_TAG:
                continue  # '#primelens', 'xseries': gear words glued, no maker
            if stripped.isalpha() and len(token) >= 5 and token[1:] in LENS_LINE_WORDS:
                continue  # '#<letter>master': a lens line's series letter glued to its word
        if ("/" in token or "." in token) and _is_joined_gear(token):
            # 'ASPH./POWER', 'O.I.S.': gear words joined by '/', or a gear acronym written with dots.
            continue
        if "/" in token and _is_makers_pair(token):
            # 'Minolta/Sony AF 100mm F2.8': a lens made for two makers' mounts, named by both.
            found.signal = after_gear = anchored = after_brand = True
            found.strong += 1
            continue
        if "-" in token and _is_hyphenated_maker(tokens, index, token):
            # 'Insta-360', 'Toyo-View 45X': a maker's name or a maker and its line, with a hyphen.
            found.signal = after_gear = anchored = after_brand = True
            found.strong += 1
            continue
        if token in PRINTER_CAMERA_LINES and _compact_code_follows(tokens, index):
            # '<line> R123': a line shared with printers, before a compact's code.
            found.signal = after_gear = anchored = after_brand = True
            found.strong += 1
            continue
        if "." in token and _is_dotted_line(token):
            # 'M.Zuiko'-like names of other lines: a series letter, a dot, a lens line ('<x>.<line>-<x>').
            found.signal = after_gear = anchored = after_brand = True
            found.strong += 1
            continue
        if token in DEVICE_BRANDS:
            found.device_brand = after_device = True
            continue
        if token in COMPANY_WORDS and _in_company_name(tokens, index):
            # 'EASTMAN KODAK COMPANY', 'CASIO COMPUTER CO.,LTD. EX-Z75': the maker's name as the
            # EXIF Make field writes it; a code after it follows the maker.
            after_gear, after_brand, after_device = previous, previous_brand, previous_device
            continue
        if (
            token in GEAR_WORDS
            or token in STOP_WORDS
            or (token == "w" and raw.endswith("/"))
            or (token.endswith("mount") and _is_lens_mount(token))
        ):
            # 'w/' is 'with', as gear lists join a body and its lens ('<body> w/ <lens>').
            if token in SHORT_CODES and stripped.isupper():
                found.model_code = True  # 'AF', 'DG' in capitals: a code in a model's name ('Hexar AF')
            elif (
                previous_device
                and len(stripped) == 1
                and stripped.isupper()
                and tokens[index - 1].strip(_TOKEN_EDGE).lower() in EVERYDAY_PHONE_LINES
            ):
                found.model_code = True  # one capital after a phone or 360 line ('<line> S'), not seconds
            # An edition word inside a model's name leaves the name open: a line name may follow
            # ('<maker> <line> Mini <name>').
            after_gear = previous and token in GEAR_EDITION_WORDS
            continue
        if token in EVERYDAY_PHONE_LINES and (previous_device or (previous_brand and token in EVERYDAY_360_LINES)):
            # 'BlackBerry Curve 9300', 'HTC Desire Z': a phone line right after its maker; a 360
            # camera's line right after a camera maker too ('<maker> Theta SC2').
            found.context += 1
            after_device = True
            if raw.endswith("+"):
                found.model_code = True  # a '+' edition mark glued to the line ('<maker> one <line>+')
            continue
        if token in CONTEXT_WORDS:
            if token in AMBIGUOUS_MAKERS and stripped[0].isupper() and _maker_names_a_camera(tokens, index):
                # 'Sinar P2', 'RED Scarlet-W 5K', 'Parrot Anafi FPV': a maker word that is also an everyday
                # word names a camera with a letters-and-digits code right after it, or with a
                # line name English does not know and a code after that; it is then a maker.
                found.signal = after_gear = anchored = after_brand = True
                found.strong += 1
                continue
            if token in LINE_PHRASE_MAKERS and stripped[0].isupper() and _two_line_words_follow(tokens, index):
                # '<maker> Strike Force ...': a trail-camera maker that is an everyday word or a
                # surname, right before two of its line's words.
                found.signal = after_gear = anchored = after_brand = True
                found.strong += 1
                continue
            if token in EVERYDAY_CAMERA_LINES and index and tokens[index - 1].strip(_TOKEN_EDGE).lower() in _LINE_MAKERS:
                # 'ARRI Amira': a cinema line that is also a name, right after a camera-only maker
                # (or a drone line that is also a place, after an everyday-word maker).
                found.signal = after_gear = anchored = after_brand = True
                found.strong += 1
                continue
            found.context += 1
            continue
        if token in SHORT_CODES:
            found.model_code = after_gear = anchored = True
            continue
        if token in LENS_ACCESSORY_WORDS:
            found.accessory += 1
            continue
        if stripped.isalpha():
            # The common case, decided without regexes: exposure values need digits, and a word
            # of letters only is a model code just when it is a short acronym ('GX', 'HS').
            if stripped.isupper() and len(stripped) <= 3:
                found.model_code = True
                after_gear = anchored
                continue
            if previous_brand and _is_unknown_short_code(stripped) and token not in _known_english():
                # Capitals, a short word or capitals with a lower-case suffix right after a
                # camera maker, that English does not know ('Bronica ETRS', 'Bronica ETRSi',
                # 'Olympus mju', 'Rolleicord Vb').
                found.model_code = True
                after_gear = anchored
                continue
            if token in WORD_SERIES and (previous or previous_brand or previous_device or found.model_code):
                # A maker's EXIF model series alone beside gear, as tag lists split the model name
                # ('<maker>, <code>, ilce'): a model code.
                found.model_code = True
                after_gear = anchored
                continue
            if _ROMAN_WITH_LETTER.fullmatch(stripped):
                # A version numeral with a letter ('Retina IIa', 'Leica IIIf'): a model code.
                found.model_code = True
                after_gear = anchored
                continue
            if len(stripped) == 1 and (previous_brand or previous_device):
                # One letter right after a maker or a phone line ('moto g(7)'): a model's code.
                found.model_code = True
                continue
            if previous_brand and stripped[0].isupper() and _names_a_model(tokens, index):
                # A word English knows between a camera maker and an edition word or a model
                # code ('Insta360 Ace Pro', 'DJI Air 2S'), or a word in capitals before a bare
                # number, as EXIF Model fields write names ('YASHICA ELECTRO 35'): the model's name.
                found.line_words += 1
                found.model_code = after_gear = True
                continue
            if found.strong and stripped[0].isupper() and _names_a_prime(tokens, index):
                # '<body>, <Line> Prime 75mm': a cine prime's line after a camera maker or line (the C
                # scanner passes over a capitalised word once it has seen one)
                continue
            if previous_brand and stripped[0].isupper() and _bare_number_follows(tokens, index) and token in _known_english():
                # A word English knows between a camera maker and a bare number ('<maker> <Word> 35'):
                # a film body's name when the caption names more gear (a film stock), content alone.
                found.numbered_names += 1
                found.model_code = True
                continue
            if previous and found.strong and stripped[0].isupper() and _names_a_model(tokens, index, after_code=True):
                # A word English knows between a maker's model code and another code or one
                # capital ('Mamiya RB67 Professional S', 'Contax RTS Quartz III'): an edition name.
                found.line_words += 1
                found.model_code = after_gear = True
                continue
        else:
            if previous_brand and _is_short_hyphenated_code(stripped):
                # Short capital codes with a lower-case edition letter joined by a hyphen right
                # after a camera maker ('Bronica SQ-Am', 'Konica FT-Ax'): a model code.
                found.model_code = True
                after_gear = anchored
                continue
            if previous_brand and _LOWER_HYPHEN_CODE.fullmatch(stripped):
                # A lens or body series in lower case, a hyphen and an edition letter right after a
                # camera maker ('<maker> abc-d 35mm F1.4'): a model code.
                found.model_code = True
                after_gear = anchored
                continue
            if "-" in stripped and is_camera_model_name(stripped) and not any(ch.isdigit() for ch in stripped):
                # A maker, a hyphen and a capital code ('Zenit-E'); with digits it is a model code below.
                found.signal = found.model_code = anchored = after_gear = True
                found.strong += 1
                continue
            if _EXPOSURE.match(token):
                found.signal = found.exposure = True
                after_gear = anchored
                continue
            if _is_model_code(stripped):
                found.model_code = True
                after_gear = anchored
                if is_camera_model_name(stripped):
                    found.signal = True
                    found.strong += 1
                continue
            if token.isdigit() or _DECIMAL.fullmatch(token):
                # 'Pixel 7', 'iPhone 13', 'Nokia 7.2': a device line and a number. A name after a
                # bare number ('2019 Ford') is no line word, unless the number follows a camera
                # maker (a film or cine body's number: '<maker> 435 <Edition>').
                found.model_code = True
                after_gear = previous_brand
                continue
            if not _ALPHA.search(token):
                continue
        if token in _NUMBER_MARKS and raw.endswith(".") and (found.strong or found.device_brand) and _numbered_model_follows(tokens, index):
            # '<maker> <line> No. 3A': a box or folding camera numbered as its maker did.
            found.model_code = True
            after_gear = anchored
            continue
        if (
            stripped[:1].isupper()
            and (found.strong or found.device_brand)
            and _token_after(tokens, index).lower() in _EDITION_NOUNS
        ):
            # '<phone> <Word> Edition': a phone's or camera's edition named by a word English knows.
            found.line_words += not found.device_brand
            after_gear = previous
            continue
        if previous and _may_be_line_word(stripped):  # after_gear_line_word, inlined
            found.line_words += 1
            after_gear = True
            continue
        found.content += 1
        if found.content >= stop_at:
            break
    return found


_DECIMAL = re.compile(r"\d+\.\d+")
# 'No.' and 'Nr.' before a number, as box and folding cameras were numbered ('No. 2', 'No. 1A').
_NUMBER_MARKS = frozenset(("no", "nr"))
_NUMBERED_MODEL = re.compile(r"\d{1,2}[A-Za-z]?")
# Nouns that close an edition's name ('<Word> Edition').
_EDITION_NOUNS = frozenset(("edition",))
# Trail-camera makers whose names are everyday words or surnames ('<maker> Strike Force').
LINE_PHRASE_MAKERS = frozenset(_SUPPLEMENT["line_phrase_makers"])


def _token_after(tokens: list[str], index: int, step: int = 1) -> str:
    """The token `step` places after tokens[index], its edges stripped; '' past the end."""
    return tokens[index + step].strip(_TOKEN_EDGE) if index + step < len(tokens) else ""


def _numbered_model_follows(tokens: list[str], index: int) -> bool:
    return _NUMBERED_MODEL.fullmatch(_token_after(tokens, index)) is not None


def _two_line_words_follow(tokens: list[str], index: int) -> bool:
    """Whether the two tokens after tokens[index] are capitalised line or edition words ('Dark Ops',
    'Strike Force', 'Pro Cam')."""
    words = [_token_after(tokens, index, step) for step in (1, 2)]
    return all(
        word[:1].isupper() and word.lower() in _TRAIL_LINE_WORDS
        for word in words
    )


# Film makers (a stock's name follows them) and box speeds: '<maker> <Name> <Name> 400' names a stock.
FILM_MAKERS = frozenset(_SUPPLEMENT["film_makers"]) & CAMERA_BRANDS
_BOX_SPEED = re.compile(r"(?:6|12|25|32|50|64|80|100|125|160|200|250|320|400|500|640|800|1600|3200|6400)[A-Z]?")
# Lens lines English knows ('<letter> Master'): after a series letter in a hashtag, gear.
# filters/prechecks.py passes them to the C scanner as not content.
LENS_LINE_WORDS = frozenset(_SUPPLEMENT["everyday_lens_words"]) & CONTEXT_WORDS | {"master"}
# Cine primes by their line: a capitalised word English knows before 'Prime' and a focal length
# ('<Line> Prime 75mm T1.3').
_PRIME_WORDS = ("prime", "primes")


def _names_a_prime(tokens: list[str], index: int) -> bool:
    return (
        _token_after(tokens, index).lower() in _PRIME_WORDS
        and _FOCAL_LENGTH.fullmatch(_token_after(tokens, index, 2)) is not None
    )


_FOCAL_LENGTH = re.compile(r"\d+(?:\.\d+)?(?:-\d+(?:\.\d+)?)?mm", re.IGNORECASE)


def _stock_name_words(tokens: list[str], index: int) -> int:
    """How many capitalised words after the film maker at tokens[index] name a stock: one or two
    capitalised words of letters, then a box speed ('<maker> <Name> <Name> 400', '<maker> <Name>
    800T'); 0 when no box speed follows them."""
    for count in (1, 2):
        if index + count + 1 >= len(tokens):
            return 0
        word = tokens[index + count].strip(_TOKEN_EDGE)
        if not (word[:1].isupper() and word.isalpha()):
            return 0
        if _BOX_SPEED.fullmatch(tokens[index + count + 1].strip(_TOKEN_EDGE)):
            return count
    return 0


def _is_joined_gear(token: str) -> bool:
    """Gear words joined by '/' ('asph./power', a lens's marks) with a lens or body word among
    them, or a gear acronym written with dots ('o.i.s.')."""
    if "/" in token:
        parts = [part.strip(_TOKEN_EDGE) for part in token.split("/")]
        if len(parts) == 2 and (parts[0] in CAMERA_BRANDS or parts[0] in GEAR_WORDS) and len(parts[1]) == 1 and parts[1].isalpha():
            return True  # a lens line with its maker's one-letter mark ('<line>/i': the lens data contacts)
        return (
            len(parts) <= 3
            and all(part.isalpha() and (part in GEAR_WORDS or part in CONTEXT_WORDS or part in EVERYDAY_PHONE_LINES) for part in parts)
            and any(part in GEAR_WORDS for part in parts)
        )
    letters = token.strip(".").split(".")
    return len(letters) >= 2 and all(len(letter) == 1 and letter.isalpha() for letter in letters) and "".join(letters) in GEAR_WORDS
# Makers' EXIF model series of three letters or more ('dmc', 'ilce'; lensfun's and the
# supplement's), read as a model code beside gear; filters/prechecks.py passes them to the C
# scanner as not content.
WORD_SERIES = frozenset(series for series in _CATALOGUE["model_series"] if len(series) >= 3 and series.isalpha())
# Two or three lower-case letters, a hyphen and one letter: a lens series after a maker ('abc-d').
_LOWER_HYPHEN_CODE = re.compile(r"[a-z]{2,3}-[a-z]")
# A version numeral with a lower-case letter, as makers named editions of film bodies ('IIa', 'IIIf').
_ROMAN_WITH_LETTER = re.compile(r"(?:II|III|IV|VI|VII)[a-z]")
# A capital code with a lower-case suffix ('ETRSi', 'SQAi'), as makers name editions.
_CAPITALS_WITH_SUFFIX = re.compile(r"[A-Z]{2,5}[a-z]")


def _is_unknown_short_code(stripped: str) -> bool:
    """Capitals of up to five letters, a word of up to three letters, or capitals with a
    lower-case suffix (the caller checks that English does not know it)."""
    if len(stripped) <= 3:
        return True
    return (stripped.isupper() and len(stripped) <= 5) or _CAPITALS_WITH_SUFFIX.fullmatch(stripped) is not None


# A part of 1-3 capitals, maybe with one lower-case letter, or after the first part one
# lower-case letter alone (lensfun's bodies 'K-x', 'K-r', 'K-m' name editions that way).
_SHORT_CODE_PART = re.compile(r"[A-Z]{1,3}[a-z]?")
_EDITION_LETTER = re.compile(r"[a-z]")


def _is_short_hyphenated_code(stripped: str) -> bool:
    """Two or three parts of 1-3 capitals, each maybe with one lower-case letter, or a later part
    of one lower-case letter, joined by hyphens, with a lower-case letter somewhere ('SQ-Am',
    'K-x'; all capitals are _is_model_code's)."""
    parts = stripped.split("-")
    return (
        1 < len(parts) <= 3
        and len(stripped) <= 8
        and not stripped.isupper()
        and _SHORT_CODE_PART.fullmatch(parts[0]) is not None
        and all(_SHORT_CODE_PART.fullmatch(part) or _EDITION_LETTER.fullmatch(part) for part in parts[1:])
    )


def _maker_names_a_camera(tokens: list[str], index: int) -> bool:
    """After an everyday-word maker: a code of letters and digits that is no format code ('Sinar
    P2'; not 'Parrot 3D model', 'Red 4K TV', 'Red 5G phone'), or a capitalised name English does
    not know followed by a code or an edition word ('Leaf Aptus 75S', 'Parrot Anafi Pro'). A name
    alone ('Arsenal Odegaard'), a bare number after it ('Arsenal Saka 7') or capitals after it
    ('Arsenal Saka UCL': a club, a player and a competition) are not enough."""
    if _code_follows(tokens, index) and not _FORMAT_CODE.fullmatch(tokens[index + 1].strip(_TOKEN_EDGE)):
        return True
    if _is_line_with_edition_letter(_token_after(tokens, index)):
        return True
    if index + 2 >= len(tokens):
        return False
    name = tokens[index + 1].strip(_TOKEN_EDGE)
    if not name or not _may_be_line_word(name):
        return False
    following = tokens[index + 2].strip(_TOKEN_EDGE)
    # An edition word, a code, or one capital as makers mark a body's variant ('Leaf Aptus S').
    one_capital = len(following) == 1 and "A" <= following <= "Z"
    return following.lower() in EDITION_WORDS or one_capital or _code_follows(tokens, index + 1)


# What a gear hashtag glues after a maker's or line's name besides codes: series and systems
# ('#lumixsseries'), as makers' own hashtags name their lines.
HASHTAG_LINE_SUFFIXES = ("series", "system")


def _hashtag_parts() -> frozenset[str]:
    """Words a gear hashtag may glue after a maker's name: makers, lines and short codes (without
    their hyphens: 'omd' for 'om-d'), gear and catalogue line words of three letters or more."""
    names = CAMERA_BRANDS | DEVICE_BRANDS | SHORT_CODES
    words = {word for word in GEAR_WORDS | CONTEXT_WORDS if len(word) >= 3}
    return frozenset({name.replace("-", "") for name in names} | words | set(HASHTAG_LINE_SUFFIXES))


_HASHTAG_PARTS = _hashtag_parts()
# Two-word maker names glued, as hashtags write them ('#omsystem'); filters/prechecks.py passes
# them to the C scanner as not content.
GLUED_MAKER_PHRASES = frozenset(phrase.replace(" ", "") for phrase in MAKER_PHRASES)
# 'Shot on' and its kin glued before a maker or line in a hashtag ('#shotoniphone').
SHOT_ON_HASHTAGS = ("shoton", "shotwith", "takenwith", "capturedon")
# Body lines and short codes of lensfun's bodies ('alpha', 'fe'): after a consumer brand that
# lensfun lists as a camera maker, in a hashtag, a camera's line.
_BODY_LINE_PARTS = frozenset(_CATALOGUE["family_words"]) | SHORT_CODES


def _glued_hashtag(token: str) -> bool:
    """A hashtag of letters that glues a camera maker or line to gear: a lens or body word,
    another maker or line, a catalogue line word, maybe with a letter or two after it, or a code
    of a letter or two English does not know, maybe before 'series' ('#nikonlens', '#pentaxcamera', '#canoneosr',
    '#pentaxq', '#lumixsseries'); or a phone maker glued to a camera line ('#sonycybershot'), or,
    where lensfun lists the phone maker's cameras, to a body line or a short code ('#sonyalpha').
    Other hashtags naming a maker ('#<maker>love', '#pixelart') are content, as
    tag soup with content words is keep."""
    if token in GLUED_MAKER_PHRASES:
        return True  # '#omsystem', '#phaseone'
    for start in SHOT_ON_HASHTAGS:
        if token.startswith(start) and len(token) > len(start):
            rest = token[len(start) :]
            # '#shotoniphone', '#shotonnikon': the 'Shot on <device>' watermark as a hashtag.
            return rest in CAMERA_BRANDS or rest in DEVICE_BRANDS or rest in GLUED_MAKER_PHRASES or _glued_hashtag(rest)
    if token.startswith("digital") and len(token) > len("digital") + 2:
        # 'Digital' before a line, as makers named their first digital bodies' lines ('#digitalixus').
        rest = token[len("digital") :]
        return rest in CAMERA_BRANDS or _glued_hashtag(rest)
    for cut in range(len(token) - 1, 2, -1):
        head = token[:cut]
        camera_head = head in CAMERA_BRANDS
        if not camera_head and head not in DEVICE_BRANDS:
            continue
        rest = token[cut:]
        if not camera_head:
            if rest in CAMERA_BRANDS or (head in _MAKER_WORDS and rest in _BODY_LINE_PARTS):
                return True
            continue
        for suffix in HASHTAG_LINE_SUFFIXES:
            if rest.endswith(suffix) and len(rest) <= len(suffix) + 2:
                rest = rest[: -len(suffix)] or suffix
        if rest in _HASHTAG_PARTS or len(rest) == 1 or (len(rest) <= 3 and rest not in _known_english()):
            return True  # '#nikonlens', '#ricohgr', '#pentaxq', '#rebelxsi', not '#noctis'
        if any(len(rest) - tail >= 3 and rest[:-tail] in _HASHTAG_PARTS for tail in (1, 2)):
            return True  # '#canoneosr'
    # A series letter before a maker's or lens line's name, as makers write 'M.Zuiko' ('#xnikkor').
    return len(token) >= 5 and token[1:] in CAMERA_BRANDS


# A tag list in lower case, maybe after a key ('Tags: ...'): photo sites' tags as users type
# them, each tag's spaces removed ('<maker>alpha', 'primelens'), read as hashtags are.
_LEADING_KEY = re.compile(r"\s*[^\W\d_]+\s*:")


def _is_lower_case_tag_list(text: str) -> bool:
    """Whether `text`, less a leading 'Key:', is three or more tokens with no capital letter (a
    single word is no list: 'across' is no film stock glued to an 's'). filters/_rulescan.c reads
    tags so where the text has no capital after its first ':' (or none at all): a superset."""
    key = _LEADING_KEY.match(text)
    rest = text[key.end() :] if key else text
    return rest.islower() and len(_TOKEN.findall(rest)) >= 3


# Words of a maker's community hashtag ('#team<maker>', '#<maker>_world', '#<maker>club'): with a
# camera maker, the tag names the gear and nothing else. Words of liking ('love', 'fan') are no
# such words: '#<maker>love' stays content, as tag soup with content words is keep. A maker's
# photography tag ('#<maker>photography', '#<maker>photographer') names its users' community too.
COMMUNITY_TAG_WORDS = frozenset(
    "world club community team family nation society official global users owners photography photographer "
    "photographers shooters".split()
)
# Gear words glued in a tag ('primelens', 'kitlens', 'filmcamera'): one of them names the kind.
_GLUED_GEAR_KINDS = frozenset(("camera", "cameras", "lens", "lenses"))
_GLUED_GEAR_PARTS = _GLUED_GEAR_KINDS | frozenset(
    "prime zoom macro tele telephoto wide fisheye film digital analog analogue instant mirrorless dslr slr "
    "rangefinder compact kit".split()
) | frozenset(word.replace("-", "") for word in SENSOR_FORMAT_WORDS)
# A line's letter or short code glued to 'series' or 'system' ('xseries', 'zsystem') or to 'lens'.
# filters/prechecks.py passes them to the C scanner as not content.
SERIES_TAG_WORDS = frozenset(("series", "system"))
# A mount's or line's letters glued before these ('rflens', 'xseries'): gear.
_CODE_TAG_TAILS = tuple(SERIES_TAG_WORDS) + ("lens", "lenses")
_MAKER_TAG, _GEAR_TAG = 2, 1
# Makers a community tag names: camera makers and lines, and consumer brands lensfun lists as camera
# makers ('#<brand>photography').
# ... and a line whose users' tags name it as makers' do ('#alphashooters').
_TAG_MAKERS = CAMERA_BRANDS | (_MAKER_WORDS & DEVICE_BRANDS) | {"alpha"}


def _gear_tag(token: str) -> int:
    """In a hashtag or a tag list: _MAKER_TAG for a camera maker's community tag ('team<maker>',
    '<maker>_world', '<maker>club'), _GEAR_TAG for gear words glued without a maker ('primelens',
    'fullframe', 'xseries'), 0 otherwise."""
    if "_" in token:
        parts = [part for part in token.split("_") if part]
        makers = [part for part in parts if part in CAMERA_BRANDS or (part.isalpha() and _glued_hashtag(part))]
        if makers and len(parts) <= 3 and all(
            part in makers or part in COMMUNITY_TAG_WORDS or part in GEAR_WORDS or _gear_tag(part) == _GEAR_TAG
            for part in parts
        ):
            return _MAKER_TAG
        return 0
    if token in SENSOR_FORMAT_WORDS:
        return _GEAR_TAG
    if not token.isalpha() or len(token) < 5:
        return 0
    for word in COMMUNITY_TAG_WORDS:
        if token.startswith(word) and token[len(word) :] in CAMERA_BRANDS:
            return _MAKER_TAG  # 'team<maker>'
        if token.endswith(word) and token[: -len(word)] in _TAG_MAKERS:
            return _MAKER_TAG  # '<maker>club', '<maker>photography'
    for word in _CODE_TAG_TAILS:
        if token.endswith(word):
            head = token[: -len(word)]
            if len(head) == 1 or (len(head) == 2 and head not in _known_english()) or head in SHORT_CODES:
                return _GEAR_TAG
    for cut in range(3, len(token) - 2):
        head, tail = token[:cut], token[cut:]
        if (head in _GLUED_GEAR_KINDS or tail in _GLUED_GEAR_KINDS) and head in _GLUED_GEAR_PARTS and tail in _GLUED_GEAR_PARTS:
            return _GEAR_TAG
    return 0


def _is_makers_pair(token: str) -> bool:
    """Two or three makers' names joined by '/', a camera maker among them ('minolta/sony')."""
    parts = token.split("/")
    return (
        1 < len(parts) <= 3
        and all(part in CAMERA_BRANDS or part in DEVICE_BRANDS for part in parts)
        and any(part in CAMERA_BRANDS for part in parts)
    )


def _is_hyphenated_maker(tokens: list[str], index: int, token: str) -> bool:
    """A camera maker's name written with a hyphen ('Insta-360' for 'Insta360'), or a camera maker
    (or an everyday-word maker) joined to a line name by a hyphen before a model code ('Toyo-View
    45X', 'Yashica-Mat 124')."""
    if token.replace("-", "") in CAMERA_BRANDS:
        return True
    head, _, tail = token.partition("-")
    if not (tail.isalpha() and (head in CAMERA_BRANDS or head in AMBIGUOUS_MAKERS) and _code_follows(tokens, index)):
        return False
    return not _FORMAT_CODE.fullmatch(tokens[index + 1].strip(_TOKEN_EDGE))  # 'Toyo-Tires 4K' is no camera


# Lens mounts written as one word: a mount's letters (and maybe its thread) and 'mount'
# ('E-mount', 'rfmount', 'M42-mount'); 'amount' and 'remount' are English.
_LENS_MOUNT = re.compile(r"[a-z]{1,3}(?:\d{2})?-?mount")


def _is_lens_mount(token: str) -> bool:
    return _LENS_MOUNT.fullmatch(token) is not None and token not in _known_english()


# Codes that name a format, not a model: resolution, dimensions, network generation, video lines
# ('4K', '3D', '5G', '1080p'). After a word that is also an everyday word they describe a product.
_FORMAT_CODE = re.compile(r"\d+[kdgp]", re.IGNORECASE)


def _code_follows(tokens: list[str], index: int) -> bool:
    """Whether the token after tokens[index] is a code of letters and digits ('P2', '4K')."""
    if index + 1 >= len(tokens):
        return False
    following = tokens[index + 1].strip(_TOKEN_EDGE)
    return any(ch.isdigit() for ch in following) and any(ch.isalpha() for ch in following)


# Film formats of large- and medium-format cameras ('4x5', '8x10', '6x4.5'; not binoculars' '8x42'
# or a vehicle's '4x4'): after a camera maker and its line name, a camera's name.
_FILM_FORMAT = re.compile(r"(?:4x5|5x4|5x7|8x10|10x8|11x14|6x4\.5|6x6|6x7|6x8|6x9|6x12|6x17)", re.IGNORECASE)
# Words makers put after a model's name ('Insta360 Ace Pro', 'Mavic 3 Classic').
EDITION_WORDS = frozenset("pro plus ultra max mini lite se neo classic mark mk ii iii iv v vi".split())
# Words of a trail camera's line after its everyday-word maker: line and edition words ('Dark Ops Pro').
_TRAIL_LINE_WORDS = frozenset(_SUPPLEMENT["everyday_line_words"]) | EDITION_WORDS
# Those that are gear words: a line name may follow them inside a model's name. filters/prechecks.py
# passes them to the C scanner as words a line word may follow.
GEAR_EDITION_WORDS = EDITION_WORDS & GEAR_WORDS
# A generation and its number end a model's name the same way ('Polaroid Go Generation 2'); without
# the number it is a slogan ('Canon Next Generation').
GENERATION_WORDS = frozenset(("generation", "gen"))


def _names_a_model(tokens: list[str], index: int, after_code: bool = False) -> bool:
    """Whether the token after tokens[index] is an edition word, one capital ('Typhoon H') or a
    code of letters and digits. Right after a maker (not `after_code`), a bare number also counts
    when tokens[index] is a word in capitals ('ELECTRO 35'), and so does a capitalised word then a
    film format code ('Speed Graphic 4x5'), or a line name English does not know then a number
    or code ('Super Kompakt 45': the second word is read as a line word)."""
    if index + 1 >= len(tokens):
        return False
    following = tokens[index + 1].strip(_TOKEN_EDGE)
    if not after_code and index + 2 < len(tokens) and following[:1].isupper() and following.isalpha():
        after = tokens[index + 2].strip(_TOKEN_EDGE)
        if _FILM_FORMAT.fullmatch(after) or (_may_be_line_word(following) and any(ch.isdigit() for ch in after)):
            return True
    if following.lower() in EDITION_WORDS or (following.isupper() and following.isalpha() and len(following) == 1):
        return True
    if following.lower() in GENERATION_WORDS:
        return index + 2 < len(tokens) and tokens[index + 2].strip(_TOKEN_EDGE).isdigit()
    if _ROMAN_WITH_LETTER.fullmatch(following):
        return True
    if following.isdigit() and not after_code:
        word = tokens[index].strip(_TOKEN_EDGE)
        return len(word) >= 2 and word.isupper()
    # A code of letters and digits ('2S'); a bare number is not enough ('Canon Tower 3').
    return any(ch.isdigit() for ch in following) and any(ch.isalpha() for ch in following)


# Camera makers whose line names alone name a camera: the catalogue's makers less those that also
# sell printers, binoculars, TVs or office products under line names ('Canon Pixma').
CAMERA_ONLY_MAKERS = frozenset(_MAKER_WORDS & CAMERA_BRANDS) - frozenset(_SUPPLEMENT["multi_product_makers"])
# Cinema lines that are also names or places ('Amira', 'Venice'): a line right after such a maker
# or an everyday-word maker.
EVERYDAY_CAMERA_LINES = frozenset(_SUPPLEMENT["everyday_camera_lines"])
_LINE_MAKERS = CAMERA_ONLY_MAKERS | AMBIGUOUS_MAKERS


def _camera_maker_and_line(text: str) -> bool:
    """A camera-only maker and one capitalised name English does not know, and nothing else but
    an edition word ('Yashica Electro'-like film bodies, a line the catalogue lacks)."""
    tokens = [token.strip(_TOKEN_EDGE) for token in _TOKEN.findall(text)]
    if not 2 <= len(tokens) <= 3 or tokens[0].lower() not in CAMERA_ONLY_MAKERS or not tokens[0][:1].isupper():
        return False
    if len(tokens) == 3 and tokens[2].lower() not in EDITION_WORDS:
        return False
    return bool(tokens[1]) and _may_be_line_word(tokens[1])


# Phone lines a model name joins ('Galaxy Nexus', 'Redmi Note'): 'phone' itself is no line name.
_PHONE_LINES = frozenset(_SUPPLEMENT["phone_lines"]) - {"phone"}


def _two_phone_lines(text: str) -> bool:
    """Two capitalised phone lines and nothing else: a phone's model name as its EXIF Model field
    writes it."""
    tokens = [token.strip(_TOKEN_EDGE) for token in _TOKEN.findall(text)]
    return (
        len(tokens) == 2
        and tokens[0].lower() != tokens[1].lower()
        and all(token[:1].isupper() and token.lower() in _PHONE_LINES for token in tokens)
    )


def after_gear_line_word(after_gear: bool, stripped: str) -> bool:
    """A candidate line word: a capitalised unknown name right after a maker, a model code, an
    exposure value or another line word. It counts as gear only where the whole caption has a
    camera maker and a model code or lens spec (is_camera_metadata), else as content."""
    return after_gear and _may_be_line_word(stripped)


def _signal_pattern(text: str) -> bool:
    """'Shot on ...', an EXIF default description, an exposure value or a two-word maker name."""
    return bool(
        _SHOT_ON.match(text) or _EXIF_DEFAULT.search(text) or _has_exposure_value(text) or _MAKER_PHRASE.search(text)
    )


def classify(text: str, stop_at: int = 1_000_000) -> tuple[int, bool, bool]:
    """Return (content words, camera signal seen, device brand seen with a model code).

    Counting stops at `stop_at` content words. Everyday catalogue words ('black') count as
    content here: this is what strip_camera_suffix asks of the text it would keep.
    """
    found = _scan_tokens(text, stop_at)
    content = found.content + found.context + found.line_words + found.accessory + found.numbered_names
    return content, found.signal or _signal_pattern(text), found.device_brand and found.model_code


def is_product_listing(text: str) -> bool:
    """A shop title: a product noun linked to something ('... Camera with 18-55mm Lens',
    '... Lens for Nikon (Black)'), a camera's kind ('... Mirrorless Camera Body'), a price or a
    phone's memory and storage."""
    if _PRICE.search(text) or _SHOP_CATEGORY.search(text) or _MEMORY_PAIR.search(text):
        return True
    words = {w.lower() for w in _ALPHA.findall(text)}
    return bool(words & PRODUCT_NOUNS) and bool(LISTING_LINKS.search(text))


# 'Key: value' dumps. Keys are the last one to three words before each ':' or '='.
_KEY_VALUE_SEPARATOR = re.compile(r"[:=]")
_KEY_WORD = re.compile(r"[^\W\d_][\w./-]*")
KEY_VALUE_SEPARATORS = ":="


def is_exif_dump(text: str) -> bool:
    """Two or more 'Key: value' pairs whose keys are EXIF tags ('Make: ... Model: ...',
    'ExposureTime=... FNumber=...'), and at most one other key per three of them.

    The values may hold any words ('Software: ...', 'Flash: Off, Did not fire'): the keys say
    what the caption is. Text tags (description, artist, copyright) are not in EXIF_KEYS.
    """
    parts = _KEY_VALUE_SEPARATOR.split(text)
    if len(parts) < 3:
        return False
    exif = other = 0
    for part in parts[:-1]:
        words = _KEY_WORD.findall(part.lower())
        if not words:
            continue  # a clock time ('10:11:12') or a bare number, not a key
        if any(
            " ".join(words[-n:]) in EXIF_KEYS or "".join(words[-n:]) in EXIF_KEYS for n in (3, 2, 1) if n <= len(words)
        ):
            exif += 1
        else:
            other += 1
    return exif >= 2 and other * 3 <= exif


# Cheap pre-screen: a camera signal needs a digit (model codes, exposure values) or a maker or
# EXIF word, so most captions skip the per-token classification.
_HINT_WORDS = (
    CAMERA_BRANDS
    | DEVICE_BRANDS
    | {"shot", "taken", "captured", "photographed", "dsc", "digital", "exposure", "aperture", "iso"}
    | {phrase.split()[0] for phrase in MAKER_PHRASES}
)
_LOWER_WORD = re.compile(r"[a-z]+(?:-[a-z]+)*")
_DIGIT = re.compile(r"\d")


def _has_camera_hint(text: str) -> bool:
    if _DIGIT.search(text):
        return True
    return not _HINT_WORDS.isdisjoint(_LOWER_WORD.findall(text.lower()))


def _joined_name_words(text: str) -> str | None:
    """A caption of one token (_TOKEN) whose words are joined by '_', or by '-' where three or more parts
    hold two words of three letters or more (a slug), as words: its extension dropped, the
    joins read as spaces ('<maker>_<line>_<code>' -> '<maker> <line> <code>'). None for any
    other caption. Hyphens inside a model code ('E-M10', 'X-T5') are no word joins."""
    if len(text) > 160 or not ("_" in text or text.count("-") >= 2) or _TOKEN.fullmatch(text) is None:
        return None  # spaces or token breaks (',', ':' ...): more than one token
    from wit.filters.filename import without_extension

    name = without_extension(text)
    if "_" in name:
        words = name.replace("_", " ").strip()
    else:
        parts = name.split("-")
        if len(parts) < 3 or sum(len(part) >= 3 and part.isalpha() for part in parts) < 2:
            return None
        words = " ".join(parts).strip()
    return words if " " in words else None


def is_joined_model_name(text: str) -> bool:
    """A camera's name with its words joined by '_', as EXIF identifiers and exports write them
    ('<maker>_<line>_<code>', '<MAKER>_<body code>_<lens spec>', '<maker>_<series>-<code>'): one
    token without extension that starts with a maker's name, holds a digit and no camera counter
    ('IMG', 'DSC') or bare counter number, and reads as camera metadata with its joins as spaces.
    Camera metadata, not a file name (filters/chain.py's file-name check asks this too)."""
    if "_" not in text or not _DIGIT.search(text):
        return False
    words = _joined_name_words(text)
    return words is not None and _joined_by_maker(text, words) and is_camera_metadata(words)


def _joined_by_maker(text: str, words: str) -> bool:
    """is_joined_model_name's test of shape: joined by '_' with no extension dropped, a digit, a
    maker's name first, no camera counter."""
    if "_" not in text or words != text.replace("_", " ").strip() or not _DIGIT.search(text):
        return False
    from wit.filters.filename import COUNTER_PREFIXES

    parts = words.split()
    if parts[0].lower() not in _MAKER_NAMES:
        return False
    # '<maker>_IMG_0042', '<maker>_0042': a camera's file name.
    return not any(part.lower() in COUNTER_PREFIXES or (part.isdigit() and len(part) >= 3) for part in parts)


def is_camera_metadata(text: str) -> bool:
    """True when the caption is only camera, lens, EXIF or exposure metadata."""
    if len(text) <= 14 and is_lone_model_code(text.strip()):
        return True  # a phone's or drone's EXIF model name as the whole caption ('XT712')
    if "_" in text and is_exif_default_description(text.strip()):
        return True  # a maker's default description with underscores for spaces
    if "_" in text or "-" in text:
        words = _joined_name_words(text)
        if words is not None:
            # One token of joined words is read by its words: a slug with content words is none
            # ('<place>-at-night-long-exposure-2.webp'), a camera's name joined by '_' is one.
            if not is_camera_metadata(words):
                return False
            if _joined_by_maker(text, words):
                return True
    if sum(map(text.count, KEY_VALUE_SEPARATORS)) >= 2 and is_exif_dump(text):
        return True
    text = _watermark_phrases_as_gear(_exif_values_as_gear(text))
    # Most captions hold a content word early on, which settles it before any regex runs.
    found = _scan_tokens(text, stop_at=1)
    if found.content > 0:
        return _is_lens_name_with_series_word(text)
    if not (found.strong or _has_camera_hint(text)):
        return False
    if found.numbered_names and found.strong < 2:
        return False  # '<maker> <Word> 3' alone: a product or a place, not a camera
    if (
        found.line_words
        and not (found.strong and (found.model_code or found.exposure) or found.strong >= 2)
        and not _camera_maker_and_line(text)
    ):
        return False  # capitalised names without a camera maker and a model code are content
    if not (found.signal or (found.device_brand and (found.model_code or _two_phone_lines(text))) or _signal_pattern(text)):
        return False
    if found.context and not (found.model_code or found.exposure or found.strong >= 2 or _has_exposure_value(text)):
        return False  # 'Canon black': everyday words without a model code or lens spec are content
    if found.accessory and not (found.strong or found.exposure or _has_exposure_value(text)):
        return False  # 'USB-C adapter for <phone>': an adapter without a camera maker or lens spec
    return not is_product_listing(_SHOT_ON.sub("", text, count=1))


# A token mixing letters and digits ('50mm', 'XF23mm', 'A7III') or an aperture ('f/1.8'): a
# camera or lens code, which says nothing of the caption's language.
_GEAR_CODE = re.compile(r"[^\W\d_]\d|\d[^\W\d_]|\bf/\d", re.IGNORECASE)
# Makers, lines, lens words and short codes: names, in any language, where English does not know them.
# Localised camera, lens and time keys ('Objektiv') are words of their language's prose: kept.
_GEAR_NAMES = (CAMERA_BRANDS | DEVICE_BRANDS | GEAR_WORDS | SHORT_CODES) - frozenset(_SUPPLEMENT["localised_prose_keys"])


def names_gear_with_a_code(text: str) -> bool:
    """Whether the caption names camera gear with a code or a lens spec ('Tamron 28-75mm ...',
    'Sony A7 IV ...'): a camera signal and a letters-and-digits token or an aperture."""
    if _GEAR_CODE.search(text) is None:
        return False
    _, signal, device_with_code = classify(text)
    return signal or device_with_code


def without_gear_names(text: str) -> str:
    """The caption without its gear tokens that English does not know: makers, lines, lens words
    and codes ('Tamron', 'XF', '28-75mm', 'f/2.8'); words English knows stay ('lens', 'camera',
    'hood', 'Canon'). What a language detector should read of a shop title or review naming gear:
    such names are names in any language. The text as it is when nothing would be left."""
    from wit.filters.language import words_of

    known = _known_english()
    kept = []
    for raw in text.split():
        token = raw.strip(_TOKEN_EDGE + ",;:()[]{}").lower()
        if token and (
            _GEAR_CODE.search(token) is not None
            or _EXPOSURE.match(token) is not None
            or (token in _GEAR_NAMES and token not in known)
        ):
            continue
        kept.append(raw)
    rest = " ".join(kept)
    return rest if words_of(rest) else text

# Separators before a trailing metadata segment: 'Old pier at dusk, Nikon Z5, 1/60s f/8',
# 'Massey Ferguson 35X tractor - IMG 0639', 'Old mill | Canon EOS 250D'.
_SUFFIX_SEPARATOR = re.compile(r"\s+[-–—|·•]\s+|,\s+|\s+@\s+")
_EXPOSURE_ONLY = re.compile(r"^(?:\s*(?:\d+/\d+\s*s?|f/\d+(?:\.\d+)?|iso\s*\d+|\d+\s?mm|[+-]?\d+(?:\.\d+)?\s?ev)\s*)+$", re.IGNORECASE)


def strip_camera_suffix(text: str) -> str:
    """Remove trailing segments that are only camera/EXIF metadata or a file name.

    The rest must keep at least two content words, so a caption is never reduced to a stub;
    a caption that is only metadata, or only a file name with a comma in it, is left whole for
    the drop rules to count.
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
    if keep == len(parts) or is_file_name(text):
        return text  # nothing to strip, or the whole caption is one file name ('Photo May 3, 9 41 12 AM.jpg')
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


# Ninth round: lens names with a series word, dotted lens lines, watermarks.

# A lens name: a camera maker, up to three names or codes, a focal length and an aperture or
# T-stop ('<maker> 15mm f/2.4 <Series>', '<maker> <line> 32mm T1.9'), then what follows it.
_LENS_NAME_HEAD = re.compile(
    r"^\s*(?P<maker>[^\s,;|()]+)(?:\s+[^\s,;|()]+){0,3}?\s+\d+(?:\.\d+)?(?:-\d+(?:\.\d+)?)?\s?mm\s*"
    r"[ft]/?\d+(?:\.\d+)?(?:-\d+(?:\.\d+)?)?(?P<rest>(?:\s.*)?)$",
    re.IGNORECASE,
)
# Words after a lens name that make it a title of something about the lens, not its name.
LENS_TITLE_WORDS = frozenset(
    "review reviews test tests tested sample samples comparison compared vs versus unboxing giveaway sale sold "
    "teardown repair repaired broken photo photos image images video footage shot shots portrait portraits "
    "renewed refurbished used new mint boxed".split()
)


_LISTING_COLOUR_WORDS = frozenset(_LISTING_COLOURS.split("|"))


def _is_lens_name_with_series_word(text: str) -> bool:
    """A camera maker's lens name and one series or edition word after its lens spec, capitalised
    or in brackets ('<maker> 15mm f/2.4 <Series>', '<maker> 7.5mm f/2 MFT (<edition>)', '<maker>
    24mm f/14 2x Macro <Series>'): lens makers name series with English words. Anything else after
    the spec (two words, a lower-case word, 'Review') is content."""
    if "mm" not in text.lower():
        return False
    match = _LENS_NAME_HEAD.match(text)
    if match is None or match.group("maker").strip(_TOKEN_EDGE).lower() not in CAMERA_BRANDS:
        return False
    head = text[: match.start("rest")]
    if _scan_tokens(head, stop_at=1).content:
        return False
    # Between the spec and the series word only capitalised words and codes, as the C scanner
    # (filters/_rulescan.c) passes over a capitalised word only after gear it has passed over so.
    series = 0
    unbroken = True
    for raw in match.group("rest").split():
        word = raw.strip(_TOKEN_EDGE)
        bracketed = raw.startswith("(") and raw.endswith(")")
        word = word.strip("()")
        if not word:
            continue
        if word.lower() in STOP_WORDS:
            return False  # '... for <mount>': a shop's link, not a lens name
        if not _scan_tokens(word, stop_at=1).content:
            # a code, a gear word, a magnification ('2x')
            unbroken = unbroken and (word[:1].isupper() or any(ch.isdigit() for ch in word))
            continue
        if word.lower() in LENS_TITLE_WORDS or word.lower() in _LISTING_COLOUR_WORDS or not (bracketed or word[:1].isupper()) or not word.isalpha() or not unbroken:
            return False
        series += 1
    return series == 1 and not is_product_listing(text)


# A lens line with a series letter and a dot before it and maybe an edition letter after it, as
# makers write their lines ('M.Zuiko'; '<x>.<line>-<xy>').
_DOTTED_LINE = re.compile(r"[a-z]{1,2}\.([a-z]{4,})(?:-[a-z]{1,2})?")


def _is_dotted_line(token: str) -> bool:
    match = _DOTTED_LINE.fullmatch(token)
    return match is not None and match.group(1) in CAMERA_BRANDS


def _bare_number_follows(tokens: list[str], index: int) -> bool:
    return _token_after(tokens, index).isdigit()


def _is_line_with_edition_letter(token: str) -> bool:
    """A cinema line English knows, a hyphen and one capital letter ('<LINE>-W'), as cinema
    makers mark a body's sensor or variant."""
    head, _, tail = token.partition("-")
    return len(tail) == 1 and tail.isupper() and head.lower() in CONTEXT_WORDS and head.isalpha()


# Watermarks phones print ('Shot on <phone> | <maker> Camera for Mobile') and a kit lens named by
# its focal range ('18-55 kit lens'): read as the gear words they stand for, not as a shop's
# 'for' and 'kit'.
_WATERMARK_PHRASES = re.compile(r"\bcamera\s+for\s+mobile\b|(?:(?<=\d)|(?<=mm))\s+kit\s+(?=lens\b)", re.IGNORECASE)
# A watermark's second part naming the phone's camera by its megapixels and a marketing name
# ('Shot on <phone> | 64MP <Name> Camera', '... | 108MP AI Quad Camera'): read as the megapixel
# count alone, after a 'Shot on' opening only.
_MEGAPIXEL_CAMERA = re.compile(r"\b(\d{1,3}\s?MP)(?:\s+[A-Z][\w+-]*){1,3}\s+Cameras?\b", re.IGNORECASE)
# ... or by how many cameras it has ('Shot on <phone> | AI Quad Camera', '... | Dual Camera'):
# read as nothing, after a 'Shot on' opening and a '|' only.
_MULTI_CAMERA = re.compile(r"\|\s*(?:AI\s+)?(?:dual|triple|quad|penta)\s+cameras?\s*$", re.IGNORECASE)


def _watermark_phrases_as_gear(text: str) -> str:
    lower = text.lower()
    if "camera" in lower and _SHOT_ON.match(text):
        if "mp" in lower:
            text = _MEGAPIXEL_CAMERA.sub(r"\1", text)
        if "|" in text:
            text = _MULTI_CAMERA.sub("", text)
        lower = text.lower()
    if "mobile" not in lower and "kit" not in lower:
        return text
    return _WATERMARK_PHRASES.sub(lambda m: "camera" if m.group(0)[:1].isalpha() else " ", text)


# Lines shared by a maker's printers and its digital compacts ('<line> R123' a camera, '<line> C1234'
# a printer): filters/prechecks.py passes them to the C scanner as not content.
PRINTER_CAMERA_LINES = frozenset(_SUPPLEMENT["printer_camera_lines"])
_COMPACT_CODE = re.compile(r"[A-Z]?\d{3}[a-z]?")


def _compact_code_follows(tokens: list[str], index: int) -> bool:
    return _COMPACT_CODE.fullmatch(_token_after(tokens, index)) is not None
