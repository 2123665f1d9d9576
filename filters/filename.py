"""File-name captions (drop_filename): the caption is, or is essentially only, a file name or an
automatically generated identifier.

Two steps, following the label rules in shared/data/README.md:
1. Shape: does the caption look like a file name at all? An image or document extension
   (optionally followed by '(781×451)' or '(1)'), a camera/phone/app naming scheme (IMG_, DSC,
   PXL_, GOPR, 'WhatsApp Image', 'Screenshot', 'Bildschirmfoto' ...), a single token made of
   codes, a hash or UUID, 'photo 3 of 12', 'Copy of ...', a forum attachment line.
2. Content: a file-name-shaped caption is dropped only when its name part carries fewer than
   two real content words. Counters, dates, hashes, codes glued to letters ('Miller2019ICML'),
   generic words (image, photo, untitled, screenshot ...) and short acronyms do not count;
   person names do. So 'red-brick-lighthouse-at-dusk.jpg' and 'maria_chen_headshot.jpg'
   stay, 'garden3.PNG' and 'team_pic.png' go.
"""

from __future__ import annotations

import re

from wit.filters.catalogue import is_camera_model_name, is_exif_default_description, is_lone_model_code

IMAGE_EXTENSIONS = (
    "jpg jpeg jpe jfif png gif webp bmp tif tiff svg ico heic heif avif raw cr2 nef arw dng orf rw2 "
    "psd ai eps pdf mp4 mov avi"
).split()
_EXTENSION = re.compile(
    r"\.(?:" + "|".join(IMAGE_EXTENSIONS) + r")(?:\s*\(\s*[\d\s]+(?:[x×X]\s*\d+\s*)?\))?\s*$",
    re.IGNORECASE,
)


def without_extension(text: str) -> str:
    """`text` without a trailing image or document extension ('.jpg', '.png (1)'): what a
    language detector should read of a descriptive file name the file-name rule keeps
    ('lighthouse-at-dusk.jpg'). The extension is no word of any language, and fastText reads
    'jpg' beside a few words as evidence against English. A caption that is only an extension
    stays as it is."""
    dot = text.rfind(".")
    if dot <= 0 or not _EXTENSION.match(text, dot) or text[:dot].isspace():
        return text
    return text[:dot]


# Slide or sequence exports: 'Budget Review.007', the number glued to a word by the dot; a
# version or a price after a number ('Ubuntu 20.04', 'only $12.95') is none.
# (The look-behind sits after the dot, so the search tests it only where a dot is.)
_NUMERIC_SUFFIX = re.compile(r"\.(?<=[^\W\d_]\.)\d{2,4}$")
# Trailing '(1)' or '(781×451)' after a name, with or without extension.
_DIMENSIONS = re.compile(r"\s*\(\s*\d+\s*(?:[x×X]\s*\d+\s*)?\)\s*$")

# 'Untitled' in Spanish, Portuguese, French, Italian, Dutch, German, Czech, Slovak, Polish, Swedish,
# Danish, Finnish, Hungarian and Turkish: a generic file word, with and without its accents.
UNTITLED_PATTERNS = (
    r"sin\s+titulo", r"sem\s+titulo", r"sans\s+titre", r"senza\s+titolo", "naamloos", "unbenannt", r"bez\s+nazvu",
    r"bez\s+nazwy", r"bez\s+tytulu", "namnlos", "unavngivet", "nimeton", "nevtelen", "adsiz",
    # The accented spellings apart, so the C scanner learns each ASCII start (filters/prechecks.py).
    r"sin\s+título", r"sem\s+título", r"bez\s+názvu", r"bez\s+tytułu", "namnlös", "nimetön", "névtelen", "adsız",
)
_UNTITLED = re.compile(r"(?<!\w)(?:" + "|".join(UNTITLED_PATTERNS) + r")(?!\w)", re.IGNORECASE)
# Tools that name files with a word, then a date or a number.
TOOL_NAME_PATTERNS = (
    "screenshot", r"screen\s*shot", "capture", "captura", "bildschirmfoto", "schermata", "skärmbild",
    "whatsapp", "signal", "telegram", "snapchat", "untitled", r"copy\s+of",
    # Screenshot tools in other languages (Dutch, Polish, Norwegian, Danish, Swedish, Finnish,
    # Czech, Hungarian, Turkish, Russian, Greek, Japanese, Chinese): a file name whatever the language.
    "schermafbeelding", r"zrzut\s+ekranu", "skjermbilde", "skærmbillede", "skärmavbild", "kuvakaappaus",
    r"snímek\s+obrazovky", "képernyőkép", r"ekran\s+görüntüsü", r"снимок\s+экрана", r"στιγμιότυπο\s+οθόνης",
    "スクリーンショット", "屏幕截图", "截屏",
    # 'Untitled' as editors name new files in other languages ('Sin título-1', 'Unbenannt-2').
    *UNTITLED_PATTERNS,
)
# Words in front of a sequence number: 'photo 3 of 12'.
SEQUENCE_WORDS = ("photo", "image", "picture", "pic", "slide", "img")

# Camera and phone counters, stock-site ids: the prefix is followed by digits ('IMG_0976',
# 'P7140045', 'istockphoto-1234').
COUNTER_PREFIXES = (
    "img dsc dscn dscf dcim pxl gopr gp mvi vid pano sam wp pic pict picture imag photo image scan dji _mg mg p fb_img "
    "received istockphoto shutterstock gettyimages adobestock depositphotos dreamstime stock"
).split()

# Naming schemes of cameras, phones, screenshot tools and stock sites.
_AUTO_PREFIX = re.compile(
    # After a space the counter has 3+ digits ('IMG 0639'): 'DJI 35mm' or 'P 51' are not counters.
    r"^(?:" + "|".join(COUNTER_PREFIXES) + r")(?:[_-]?\d|\s\d\d\d)"
    # Tools that name files with a word then a date: 'Screenshot 2019-03-02 094512'.
    r"|^(?:" + "|".join(TOOL_NAME_PATTERNS) + r")\b.*\d",
    re.IGNORECASE,
)
# A whole caption that is a generic file word and a number ('Picture 112', 'scan_12', 'photo 3'):
# an operating system's or a scanner's default name, whatever the number's length.
_GENERIC_COUNTER = re.compile(r"(?:photo|image|picture|pic|pict|img|scan)[ _-]?\d{1,6}", re.IGNORECASE)
# Digits-only names that cameras, phones and upload tools write: 'YYYYMMDD_HHMMSS' (phone
# cameras), 'YYYY-MM-DD HH.MM.SS' (camera-upload folders), 'YYYY-MM-DD_NNNN', a DCF folder and
# counter ('NNN_NNNN'). Other digits-only text stays boilerplate (label rules: pure numbers).
_DATE = r"(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:[0-2]\d|3[01])"
_DASHED_DATE = r"(?:19|20)\d\d-(?:0[1-9]|1[0-2])-(?:[0-2]\d|3[01])"
_MACHINE_STAMP = re.compile(
    rf"{_DATE}[_-]\d{{4,9}}|{_DASHED_DATE}(?: \d\d\.\d\d\.\d\d|_\d{{3,6}})|[1-9]\d\d_\d{{4}}"
)
_PHOTO_N_OF_M = re.compile(r"^(?:" + "|".join(SEQUENCE_WORDS) + r")\s*\d+\s*(?:of|/)\s*\d+\b", re.IGNORECASE)
_FORUM_ATTACHMENT = re.compile(
    r"click (?:image|this bar) (?:for|to view) (?:a )?larger|attachment\.php|attachmentid=|"
    r"\bname:\s*\S+\.(?:jpe?g|png|gif)\b.*\b(?:views|size):",
    re.IGNORECASE,
)
# A UUID or a run of 12+ hex digits, in one scan.
_UUID_OR_HEX_RUN = re.compile(
    r"\b(?:[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}|[0-9a-f]{12,})\b", re.IGNORECASE
)

# Words that name the file's kind or origin, not what the image shows.
GENERIC_FILE_WORDS = frozenset(
    """
    img image images imagen imagem bild photo photos foto fotos pic pics picture pict pix
    untitled unnamed screenshot screenshots screen shot capture captura bildschirmfoto schermata
    skärmbild whatsapp telegram signal snapchat fb received thumbnail thumb thumbs small large
    medium big full hd scaled resized resize crop cropped edit edited final new old copy version
    draft scan scanned file files logo header banner bg background hero featured upload uploads
    wp content default main cover profile prof avatar headshot slide slider sample test temp
    tmp web online size document documents dsc dscn dscf pxl gopr mvi vid pano dcim istockphoto shutterstock
    gettyimages adobestock depositphotos dreamstime stock jpg jpeg png gif webp mp
    schermafbeelding zrzut ekranu skjermbilde skærmbillede skärmavbild kuvakaappaus snímek obrazovky
    képernyőkép ekran görüntüsü снимок экрана στιγμιότυπο οθόνης スクリーンショット 屏幕截图 截屏
    pantalla tela ecrã écran
    """.split()
)
# Link words, and the words between a screenshot tool's name and its time stamp in other languages
# ('Captura de pantalla 2021-05-03 a las 10.22.11', 'Captura de Tela ... às ...').
STOP_WORDS = frozenset("a an the of for to in on at by with and or um de di du la le el at am pm kl klo в las às alle".split())

_SEPARATORS = re.compile(r"[\s_\-.+,;:()\[\]{}/\\|#~=&]+")
_VOWELS = set("aeiouyäöüåéèêáàíóúâîôûæø")


def is_content_word(token: str) -> bool:
    """A real word: letters only, not generic, not a short acronym, pronounceable."""
    if not token.isalpha():
        return False  # counters, dates, codes glued to digits: 'day007', 'zpszvubq49w'
    lower = token.lower()
    if lower in GENERIC_FILE_WORDS or lower in STOP_WORDS:
        return False
    if token.isascii():
        if len(token) < 2:
            return False
        if token.isupper() and len(token) <= 3:
            return False  # acronyms and codes: 'WG', 'CHI', 'MP'
        if not _VOWELS.intersection(lower):
            return False
        if _is_glued_code(token):
            return False
    return True


_HUMP = re.compile(r"[A-Z][a-z]*|[a-z]+")
# 'Copy of' as file managers write it in English, German, Dutch, Spanish, Portuguese, Italian and French.
_COPY_OF = re.compile(r"^(?:copy\s+of|kopie\s+v[oa]n|c[oó]pia\s+d[ei]|copie\s+de)\s+", re.IGNORECASE)


def _is_glued_code(token: str) -> bool:
    """Camel-case runs glued without separators ('AllT', 'PaperPM') read as codes."""
    humps = _HUMP.findall(token)
    if len(humps) < 2:
        return False
    return any(len(h) == 1 for h in humps) or (token[0].islower() and any(h[0].isupper() for h in humps[1:]))


# A web tool's domain or an app's package id in an export's name ('ezgif.com-resize',
# 'Screenshot_..._com.example.app'): where the file came from, not what it shows.
# Only where the name goes on after it ('-', '_'): a caption that is a URL is the boilerplate rule's.
_DOMAIN_OR_PACKAGE = re.compile(
    r"(?<=[_-])(?:com|org|net)(?:\.[a-z]\w*)+|\b[a-z][\w-]*\.(?:com|org|net|io)(?=[-_])", re.IGNORECASE
)


# Letters every _UNTITLED pattern holds one of: most names skip its regex.
_UNTITLED_HINT = re.compile(r"t[ií]t|naam|unben|n[aá]zv|nazw|tytu|naml|unavn|nimet|n[eé]vt|ads", re.IGNORECASE)


def name_part(text: str) -> str:
    """The caption without its extension, dimension suffix, 'Copy of' prefix and tool domains."""
    name = _EXTENSION.sub("", text)
    if ".com" in name or ".org" in name or ".net" in name or ".io" in name or "com." in name:
        name = _DOMAIN_OR_PACKAGE.sub(" ", name)
    name = _DIMENSIONS.sub("", name)
    name = _NUMERIC_SUFFIX.sub("", name)
    name = _COPY_OF.sub("", name)
    if _UNTITLED_HINT.search(name):
        name = _UNTITLED.sub(" ", name)
    return name.strip()


def content_words(name: str) -> list[str]:
    tokens = [t for t in _SEPARATORS.split(name) if t]
    words = []
    for token in tokens:
        # A token that mixes letters and digits is one opaque code, even if it holds a word:
        # 'march2018notes', 'Miller2019ICML', 'garden3'.
        if is_content_word(token):
            words.append(token)
    return words


# Every shape below needs a dot, an underscore, a digit or one of these leading words; most
# captions have none of them and skip the other patterns.
TOOL_WORD_STARTS = ("untitled", "copy of", "screenshot", "screen shot")
_SHAPE_HINT = re.compile(r"[._\d]|^(?:" + "|".join(TOOL_WORD_STARTS) + ")", re.IGNORECASE)
_TOOL_WORD_START = re.compile(r"^(?:" + "|".join(TOOL_WORD_STARTS) + r")\b", re.IGNORECASE)
# Every forum-attachment pattern holds one of these words.
FORUM_WORDS = ("click", "attachment", "name:")


# Letters of scripts written without spaces between words: Japanese kana, CJK ideographs, Thai,
# Lao, Khmer, Myanmar.
_UNSPACED_SCRIPT_LETTER = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff]")
# A long number or a date: a time stamp, as tools write them after their name ('<tool>2021-03-02').
_STAMP = re.compile(r"\d{5}|\d{4}[-./年]\d")


_UNSPACED_FILE_WORDS = tuple(word for word in GENERIC_FILE_WORDS if _UNSPACED_SCRIPT_LETTER.search(word))


def _is_unspaced_sentence(token: str) -> bool:
    """Text in a script written without spaces ('<place>の<sight>、<camera>で撮影'): four letters of
    such a script or more, no '_', no time stamp (five digits or a date) and no generic file word
    (an app's '<words>_<date>' export, a screenshot tool's name and date stay file-name shapes)."""
    return (
        "_" not in token
        and len(_UNSPACED_SCRIPT_LETTER.findall(token)) >= 4
        and _STAMP.search(token) is None
        and not any(word in token for word in _UNSPACED_FILE_WORDS)
    )


def looks_like_file_name(text: str) -> bool:
    if not _SHAPE_HINT.search(text):
        return False
    if _EXTENSION.search(text):
        return True
    if _UUID_OR_HEX_RUN.search(text):
        return True
    if _PHOTO_N_OF_M.match(text) or _GENERIC_COUNTER.fullmatch(text):
        return True
    if _AUTO_PREFIX.match(text):
        return True
    if _TOOL_WORD_START.match(text):
        return True
    if _NUMERIC_SUFFIX.search(text) and len(text.split()) <= 4:
        return True
    if " " not in text.strip():
        # One token: a file name without extension when it holds digits or separators
        # ('GOPR0415', 'P6120093', 'image0001', 'lake-view-31337_640'), unless it is a camera's
        # EXIF model name ('DMC-FZ1000', 'ILCE-7M3', 'E-M5MarkIII', a phone's 'M2203J9G' alone),
        # which the camera rule takes.
        token = text.strip()
        if is_camera_model_name(token) or is_lone_model_code(token) or is_exif_default_description(token):
            return False
        if _is_unspaced_sentence(token):
            return False  # Japanese, Chinese or Thai text: written without spaces, not one token
        return any(ch.isdigit() for ch in text) or "_" in text
    return False


def is_file_name(text: str) -> bool:
    """True when the caption is essentially only a file name or automatic identifier."""
    lower = text.lower()
    # Checking the forum words first skips the regex scan.
    if any(map(lower.__contains__, FORUM_WORDS)) and _FORUM_ATTACHMENT.search(text):
        return True  # a whole line of metadata around the name
    if not any(map(str.isalpha, text)):
        # Digits and punctuation only: boilerplate, unless a camera's or a tool's naming scheme.
        return _MACHINE_STAMP.fullmatch(text) is not None
    if not looks_like_file_name(text):
        return False
    return len(content_words(name_part(text))) < 2
