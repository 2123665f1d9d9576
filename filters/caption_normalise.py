"""Caption normalisation: one canonical form of the text before any rule looks at it.

Order matters: surrogates first (nothing downstream can encode them), a hard cut before the
expensive steps (a 1 MB alt text must cost no more than a 4 kB one), HTML entities and tags,
ftfy for mojibake ('Ã—' -> '×') only when the text is not pure ASCII (ASCII cannot hold
mojibake, and skipping ftfy there is what keeps the chain fast on LAION-style captions), then
control characters and whitespace.

Long captions are truncated, not dropped (docs/filters.md): a long alt text is usually a real
description followed by SEO keywords, CLIP's text encoder reads only its first 76 tokens, and
dropping would throw the image away with the keywords.
"""

from __future__ import annotations

import html
import re
import unicodedata

import ftfy
from ftfy.badness import is_bad

# Cut the raw text to this many times max_chars before normalising: entities and runs of
# whitespace shrink, so a little slack keeps the final cut at a word boundary.
RAW_SLACK = 4

_FTFY_CONFIG = ftfy.TextFixerConfig(unescape_html=False, explain=False)
_TAG = re.compile(r"</?[A-Za-z][^<>]{0,200}>")
_ENTITY = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")

# A form-encoded field ('Canon+EOS+5D', 'Sunset+over+the+bay%21'): one token whose words are
# joined by '+', a letter on one side of at least one '+' (so '1+1' and 'C++' stay as they are).
_FORM_ENCODED_JOIN = re.compile(r"[^\W\d_]\+[^\W_]|[^\W_]\+[^\W\d_]")
_PERCENT_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")

_C1_CONTROL = re.compile("[\x80-\x9f]")  # left by text decoded with the wrong codec
# ASCII control characters become spaces; the whitespace collapse then removes them.
_ASCII_CONTROLS = {c: " " for c in list(range(0, 32)) + [127]}


def fix_surrogates(text: str) -> str:
    """Join valid surrogate pairs, replace lone surrogates with nothing."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        joined = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        return joined.replace("\ufffd", "")


def _strip_non_ascii_controls(text: str) -> str:
    # Cc: controls (incl. C1 like U+0097 left over from bad decoding); Cf: zero-width and
    # direction marks, except ZWJ/ZWNJ which join emoji and Indic letters.
    out = []
    for ch in text:
        if ch < "\x80":
            out.append(" " if ch < " " or ch == "\x7f" else ch)
            continue
        category = unicodedata.category(ch)
        if category == "Cc" or category in ("Zl", "Zp"):
            out.append(" ")
        elif category == "Cf" and ch not in "\u200c\u200d":
            continue
        else:
            out.append(ch)
    return "".join(out)


def decode_form_field(text: str) -> str:
    """'Canon+EOS+DIGITAL+REBEL+XT' -> 'Canon EOS DIGITAL REBEL XT': metadata exported URL-encoded
    (Flickr/YFCC fields), '+' for a space and %XX escapes, as one token the rules would read as
    a file name. Escapes are decoded only when there is one ('%' alone stays)."""
    if "%" in text and _PERCENT_ESCAPE.search(text):
        from urllib.parse import unquote_plus

        text = unquote_plus(text)
        text = text.translate(_ASCII_CONTROLS) if text.isascii() else _strip_non_ascii_controls(text)
    else:
        text = text.replace("+", " ")
    return " ".join(text.split())


def normalise_text(text: str, max_chars: int = 1000) -> tuple[str, bool]:
    """Return (normalised text, was_truncated).

    max_chars <= 0 means no limit.
    """
    # isascii() and isprintable() are C-speed scans; most web captions are printable ASCII and
    # take none of the slower branches below.
    if not text.isascii():
        text = fix_surrogates(text)
    truncated = False
    if max_chars > 0 and len(text) > max_chars * RAW_SLACK:
        text = text[: max_chars * RAW_SLACK]
        truncated = True
    if "&" in text and _ENTITY.search(text):
        text = html.unescape(text)
        if "&" in text and _ENTITY.search(text):  # double-escaped: '&amp;quot;'
            text = html.unescape(text)
    if "<" in text:
        text = _TAG.sub(" ", text)
    if text.isascii():
        if not text.isprintable():
            text = text.translate(_ASCII_CONTROLS)
    else:
        # ftfy's own "does this look like mojibake?" test is ~20x cheaper than fix_text; clean
        # non-ASCII text only needs canonical composition.
        if _C1_CONTROL.search(text) or is_bad(text):
            text = ftfy.fix_text(text, _FTFY_CONFIG)
        else:
            text = unicodedata.normalize("NFC", text)
        # Printable text holds no control, format or line-separator characters to remove.
        if not text.isprintable():
            text = _strip_non_ascii_controls(text)
    text = " ".join(text.split())
    if "+" in text and " " not in text and _FORM_ENCODED_JOIN.search(text):
        text = decode_form_field(text)
    if max_chars > 0 and len(text) > max_chars:
        cut = text.rfind(" ", 0, max_chars + 1)
        # Cut at the last word boundary unless that loses more than a fifth of the budget
        # (one very long 'word', e.g. a CJK sentence without spaces).
        text = text[: cut if cut > max_chars * 4 // 5 else max_chars].rstrip()
        truncated = True
    return text, truncated
