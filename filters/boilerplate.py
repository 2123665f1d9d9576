"""Boilerplate alt text (drop_boilerplate): text with no content to learn from.

Dropped: no letters at all (digits, punctuation, symbols), a bare URL or domain, and captions
made only of generic image words and UI labels ('image', 'logo', 'Header image', 'Phone icon',
'Icon - Search', 'click to zoom'). A named brand or organisation with 'logo'/'icon' is
content ('Mozilla icon', 'Riverside Dental logo') and stays. Non-English boilerplate ('Bild vergrößern')
is left to language identification, which drops it as drop_nonenglish.
"""

from __future__ import annotations

import re

# Words that say only "this is a picture" or name a UI element: a caption made only of these
# (and stop words) describes nothing.
# ('pixel' is not among them: with a number it names a phone, 'Pixel 8'.)
GENERIC_WORDS = frozenset(
    """
    image images img imgs pic pics picture pictures photo photos photograph foto graphic graphics
    icon icons logo logos banner banners spacer blank placeholder thumbnail thumb thumbs
    avatar avatars headshot headshots portrait profile alt alttext alt-text default loading
    button btn arrow arrows bullet divider separator line bg background header footer hero
    slide slider gallery media file attachment untitled none null undefined nan empty
    advertisement advert ad ads sponsored sponsor promo
    click here tap enlarge zoom view larger bigger full size fullsize open close closed
    next previous prev back forward up down left right top bottom more less show hide
    home menu search login logout log sign signin account user users cart basket checkout
    email e-mail mail envelope phone call contact link links website web site external rss feed
    share print download upload play pause stop settings info help star rating rated
    check checkmark tick plus minus cross toggle hamburger dropdown expand collapse
    """.split()
)
STOP_WORDS = frozenset("a an the of for to in on at by with and or this that is here your my our".split())
# Google Images and similar result pages put these in front of whatever was searched.
RESULT_PREFIX_WORDS = ("image", "picture", "photo")
_RESULT_PREFIX = re.compile(r"^(?:" + "|".join(RESULT_PREFIX_WORDS) + r")\s+(?:result|results)\s+for\b", re.IGNORECASE)
_BARE_URL = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|www\.)\S+$", re.IGNORECASE)
# A domain: labels joined by dots ending in an alphabetic TLD, optionally a path; no spaces.
_DOMAIN = re.compile(r"^(?:[a-z0-9-]+\.)+[a-z]{2,24}(?:/\S*)?$", re.IGNORECASE)
# File extensions look like TLDs ('team_pic.png'); those belong to the file-name rule.
_FILE_TLDS = frozenset(
    "jpg jpeg png gif webp bmp tif tiff svg ico heic heif jfif avif raw psd pdf mp4 mov avi php html htm asp aspx".split()
)
_WORD = re.compile(r"[^\W\d_]+(?:[-'][^\W\d_]+)*")


def has_letters(text: str) -> bool:
    return any(map(str.isalpha, text))


def is_bare_url_or_domain(text: str) -> bool:
    if " " in text:
        return False
    if _BARE_URL.match(text):
        return True
    match = _DOMAIN.match(text)
    if not match:
        return False
    host = text.split("/", 1)[0]
    return host.rsplit(".", 1)[-1].lower() not in _FILE_TLDS


def is_boilerplate(text: str) -> bool:
    """True when the (normalised) caption carries no content."""
    if not text or not has_letters(text):
        return True
    if is_bare_url_or_domain(text):
        return True
    if _RESULT_PREFIX.match(text):
        return True
    # Only generic words, and at most six of them. Stop at the first word that is not generic:
    # for almost every real caption that is the first word.
    count = 0
    for match in _WORD.finditer(text.lower()):
        word = match.group()
        if word not in GENERIC_WORDS and word not in STOP_WORDS:
            return False
        count += 1
    return count <= 6
