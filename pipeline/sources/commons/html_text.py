"""Plain text out of extmetadata values, which the API gives as HTML, some per language."""

from __future__ import annotations

import re
from html.parser import HTMLParser


class _TextExtractor(HTMLParser):
    """Collects the visible text of an HTML fragment: tags dropped, entities decoded."""

    _SKIP = {"script", "style"}
    _BREAKS = {"br", "p", "div", "li", "tr", "td", "th", "dd", "dt", "ul", "ol", "table"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag, attrs):
        if tag in self._SKIP:
            self._skip_depth += 1
        elif tag in self._BREAKS:
            self.parts.append(" ")

    def handle_endtag(self, tag):
        if tag in self._SKIP and self._skip_depth:
            self._skip_depth -= 1
        elif tag in self._BREAKS:
            self.parts.append(" ")

    def handle_data(self, data):
        if not self._skip_depth:
            self.parts.append(data)


def html_to_text(value: object) -> str:
    """Plain text of an extmetadata value (HTML in the API): tags stripped, whitespace collapsed."""
    if not isinstance(value, str):
        return "" if value is None or isinstance(value, (dict, list)) else str(value)
    if "<" not in value and "&" not in value:
        return " ".join(value.split())
    extractor = _TextExtractor()
    try:
        extractor.feed(value)
        extractor.close()
    except Exception:  # HTMLParser is lenient; this only guards against the unforeseen
        return " ".join(re.sub(r"<[^>]*>", " ", value).split())
    return " ".join("".join(extractor.parts).split())


def pick_language(value: object, preferred: str = "en") -> tuple[str, str]:
    """(text, lang) from an extmetadata value: English first, then an English variant, then any.

    With iiextmetadatamultilang=1 translated fields come as {"en": ..., "de": ..., "_type":
    "lang"}; untranslated ones as a plain string, whose language is unknown ("").
    """
    if isinstance(value, dict):
        langs = {k: v for k, v in value.items() if not k.startswith("_") and isinstance(v, str) and v.strip()}
        if not langs:
            return "", ""
        if preferred in langs:
            return langs[preferred], preferred
        for lang, text in langs.items():
            if lang.startswith(preferred + "-"):
                return text, lang
        lang, text = next(iter(langs.items()))
        return text, lang
    if isinstance(value, str):
        return value, ""
    return "", ""


def metadata_text(extmetadata: dict, name: str) -> str:
    entry = extmetadata.get(name)
    value = entry.get("value") if isinstance(entry, dict) else None
    text, _ = pick_language(value)
    return html_to_text(text)
