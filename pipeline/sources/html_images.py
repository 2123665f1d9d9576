"""Images and their captions in an HTML page: `<img src alt title>` plus lazy-loading and srcset.

Plain functions, no Beam. A page yields one `ImageRef` per `<img>` that has a usable URL; the
reader turns each non-empty alt and title into a candidate. Relative URLs are resolved against
`<base href>` (itself resolved against the page URL) and then the page URL, because about 40% of
image URLs on the web are relative and dropping them loses data.

Parser by measurement (docs/pipeline.md): selectolax's Lexbor engine, about 10x html.parser on
the real WARC pages, and tolerant of the same broken markup browsers tolerate.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser

# Lazy-loading attributes real pages put the true image URL in, most specific first. When one is
# present `src` is usually a placeholder (a 1x1 gif or a data: URI), so they win over `src`.
LAZY_SRC_ATTRIBUTES = ("data-src", "data-lazy-src", "data-original", "data-lazy", "data-url")
SRCSET_ATTRIBUTES = ("srcset", "data-srcset", "data-lazy-srcset")

_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{1,40})""", re.IGNORECASE)
_HTTP_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{1,40})""", re.IGNORECASE)
# Browsers read the meta charset from the first 1024 bytes; real pages put it later now and then.
_META_SNIFF_BYTES = 4096


@dataclass(frozen=True, slots=True)
class ImageRef:
    """One `<img>` on a page: its absolute URL and its (possibly empty) alt and title."""

    url: str
    alt: str
    title: str


def charset_from_content_type(content_type: str | None) -> str | None:
    """The charset parameter of an HTTP Content-Type header, if it names a codec Python knows."""
    if not content_type:
        return None
    match = _HTTP_CHARSET.search(content_type)
    return _known_codec(match.group(1)) if match else None


def charset_from_meta(body: bytes) -> str | None:
    """The charset a `<meta charset>` or `<meta http-equiv content-type>` tag declares."""
    match = _META_CHARSET.search(body, 0, _META_SNIFF_BYTES)
    return _known_codec(match.group(1).decode("ascii")) if match else None


def decode_html(body: bytes, http_content_type: str | None = None) -> str:
    """Decode a page the way a browser would: HTTP charset, then `<meta>` charset, then UTF-8.

    A declared charset that fails to decode strictly (pages lie about their encoding) falls
    through to the next guess; the last resort decodes with replacement characters rather than
    losing the page.
    """
    guesses = [charset_from_content_type(http_content_type), charset_from_meta(body), "utf-8"]
    for codec in dict.fromkeys(guess for guess in guesses if guess):
        try:
            return body.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
    # windows-1252 is what browsers assume for undeclared non-UTF-8 pages.
    fallback = next((guess for guess in guesses if guess and guess != "utf-8"), "windows-1252")
    return body.decode(fallback, errors="replace")


def _known_codec(name: str) -> str | None:
    name = name.strip().lower()
    # WHATWG maps these labels to supersets; Python's narrower codecs reject real pages.
    name = {"gb2312": "gb18030", "gbk": "gb18030", "iso-8859-1": "windows-1252", "latin1": "windows-1252",
            "latin-1": "windows-1252", "us-ascii": "windows-1252", "ascii": "windows-1252",
            "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932", "x-sjis": "cp932",
            "euc-kr": "cp949", "tis-620": "cp874", "x-user-defined": "windows-1252"}.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def resolve_url(raw: str, base_url: str) -> str:
    """An absolute http(s) URL for `raw` relative to `base_url`, or "" when there is none.

    data: URIs, javascript:, fragments-only and unparseable values give "" (not an image we can
    fetch); protocol-relative `//host/x.jpg` takes the base's scheme.
    """
    return UrlResolver(base_url).resolve(raw)


class UrlResolver:
    """Resolves many image URLs against one base URL.

    urllib's urljoin costs more than the rest of WAT extraction together, so the forms that
    need no dot-segment handling (absolute, protocol-relative, root-relative, and plain
    relative paths such as `img/a.jpg`: nearly all image URLs) are resolved by string
    operations on the base's precomputed scheme, origin and directory, and only the rest go
    through urljoin. Results are identical to urljoin's for the forms taken here.
    """

    __slots__ = ("base_url", "scheme", "origin", "directory")

    def __init__(self, base_url: str):
        self.base_url = base_url
        scheme, sep, rest = base_url.partition("://")
        self.directory = ""
        if sep and scheme in ("http", "https"):
            host = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
            self.scheme, self.origin = scheme, f"{scheme}://{host}"
            path = rest[len(host):].split("#", 1)[0].split("?", 1)[0]
            if "/." not in path and "\\" not in path:
                # Where a relative path lands: the base path up to its last "/".
                self.directory = self.origin + (path[: path.rfind("/") + 1] if "/" in path else "/")
        else:
            self.scheme, self.origin = "", ""

    def resolve(self, raw: str) -> str:
        raw = raw.strip()
        if not raw or raw.startswith(("data:", "javascript:", "#", "about:", "blob:")):
            return ""
        # Whitespace inside URLs (line-wrapped attributes) is never meaningful; browsers strip it.
        if "\n" in raw or "\t" in raw or "\r" in raw:
            raw = re.sub(r"[\t\r\n]+", "", raw)
        if "/." not in raw and "\\" not in raw:
            if raw.startswith(("https://", "http://")):
                return raw
            if raw.startswith("//") and self.scheme:
                return f"{self.scheme}:{raw}"
            if raw.startswith("/") and self.origin and not raw.startswith("//"):
                return self.origin + raw
            if self.directory and ":" not in raw and not raw.startswith((".", "/", "?")):
                return self.directory + raw
        try:
            url = urljoin(self.base_url, raw) if self.base_url else raw
        except ValueError:  # e.g. an invalid IPv6 literal in the host
            return ""
        return url if url.startswith(("http://", "https://")) else ""


def largest_from_srcset(srcset: str) -> str:
    """The URL with the largest width (`640w`) or density (`2x`) descriptor in a srcset."""
    best_url, best_size = "", -1.0
    for entry in srcset.split(","):
        parts = entry.split()
        if not parts:
            continue
        size = 1.0
        if len(parts) > 1 and parts[1][:-1]:
            try:
                size = float(parts[1][:-1])
            except ValueError:
                size = 1.0
        if size > best_size:
            best_url, best_size = parts[0], size
    return best_url


def image_source(attributes: dict) -> str:
    """The raw (unresolved) URL of an `<img>` from its attributes, lazy-loading aware."""
    for name in LAZY_SRC_ATTRIBUTES:
        value = attributes.get(name)
        if value and not value.startswith("data:"):
            return value
    src = attributes.get("src") or ""
    if src and not src.startswith("data:"):
        return src
    for name in SRCSET_ATTRIBUTES:
        value = attributes.get(name)
        if value:
            best = largest_from_srcset(value)
            if best and not best.startswith("data:"):
                return best
    return ""


def clean_attribute(value: str | None) -> str:
    """Attribute text with runs of whitespace collapsed, as a browser shows it."""
    return " ".join(value.split()) if value else ""


def extract_images(html: str, page_url: str) -> list[ImageRef]:
    """Every `<img>` on the page with a usable absolute URL, in document order."""
    tree = LexborHTMLParser(html)
    base_url = page_url
    base = tree.css_first("base[href]")
    if base is not None:
        base_href = (base.attributes.get("href") or "").strip()
        if base_href:
            base_url = resolve_url(base_href, page_url) or page_url
    resolver = UrlResolver(base_url)
    images = []
    for node in tree.css("img"):
        attributes = node.attributes
        url = resolver.resolve(image_source(attributes))
        if url:
            images.append(ImageRef(url, clean_attribute(attributes.get("alt")), clean_attribute(attributes.get("title"))))
    return images
