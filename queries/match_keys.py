"""The one text normalisation that query lists and the matcher share.

Policy (docs/queries.md says the same):

* Unicode: text is NFKC-normalised (so full-width letters, ligatures and composed/decomposed
  accents compare equal) and then case-folded (`str.casefold`, so 'Straße' == 'STRASSE').
* Tokens: a token is a maximal run of letters and digits (`[^\\W_]+` in Python's Unicode regex
  sense). Everything else -- spaces, punctuation, underscores, control characters, symbols,
  lone surrogates -- separates tokens. 'cat' therefore matches 'cat.', '(cat)' and "cat's" but
  never 'category'; 'ice cream' matches 'Ice-Cream' and 'ice\\n  cream'.
* Match key: the tokens joined by single spaces. Two queries with the same match key cannot be
  told apart by the matcher, so the query list deduplicates on it.
* Display form: what a query list stores as `text` -- NFKC + casefold, '_' read as a space (as
  in WordNet lemmas and Wikipedia titles), whitespace collapsed, punctuation kept so that
  "o'clock" and 'ac/dc' stay readable.
"""

from __future__ import annotations

import re
import unicodedata

# Letters and digits of any script; '_' is excluded so 'golden_retriever.jpg' has two words.
TOKEN_RE = re.compile(r"[^\W_]+")
_WHITESPACE_RE = re.compile(r"\s+")


def fold(text: str) -> str:
    """NFKC + casefold; the ASCII fast path skips NFKC, which cannot change ASCII text."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return text.casefold()


def tokens(text: str) -> list[str]:
    """The folded tokens of `text` (see the module docstring for what a token is)."""
    return TOKEN_RE.findall(fold(text))


def match_key(text: str) -> str:
    """The form the matcher compares: folded tokens joined by single spaces ('' if none)."""
    return " ".join(tokens(text))


def display_form(text: str) -> str:
    """The form a query list stores: folded, '_' as a space, whitespace collapsed, punctuation kept.

    Lone surrogates (text decoded with surrogateescape) become '?', so the form is valid UTF-8.
    """
    folded = fold(text)
    if not folded.isascii():
        folded = folded.encode("utf-8", "replace").decode("utf-8")
    return _WHITESPACE_RE.sub(" ", folded.replace("_", " ")).strip()
