"""Find every query of a query list that occurs in a caption.

    matcher = QueryMatcher.from_query_list(load_query_list("default"))
    matcher.match("A Cat's toy (new-york style).")  # -> sorted unique query ids

Semantics (see queries/match_keys.py for the folding and token rules):

* Case and Unicode: caption and queries are NFKC-normalised and case-folded, so 'CAT', 'Cat'
  and full-width 'ｃａｔ' all match 'cat'. Invalid text never raises: lone surrogates, control
  characters and other non-letters are simply token separators.
* Token boundaries: a query matches when its tokens occur as consecutive tokens of the caption.
  'cat' matches 'cat.', '(cat)', "cat's" and 'CAT' but not 'category' or 'bobcat'; 'new york'
  matches 'New  York', 'new-york' and 'new\\nyork'.
* Length cap: only the first `max_chars` characters (default 4096) of a caption are scanned; a
  word cut by the cap is ignored. Real alt texts are far shorter; the cap bounds the cost of a
  1 MB caption to that of a 4 KB one.

Two scanners implement exactly this: `wit.queries._fastmatch` (C, built at install where a compiler
exists) and `PythonScanner` below (always available, about 15-20x slower). Measured on real
captions (benchmarks/bench_matcher.py), a token n-gram table beats an Aho-Corasick automaton
here: the automaton visits every character and reports every in-word substring, while the
table costs one probe per token.

The matcher is built once per worker process and shared by its threads (it is read-only after
construction); it is weak-referenceable so apache_beam.utils.shared.Shared can hold it.
"""

from __future__ import annotations

import logging
import time
from typing import Iterable

from wit.queries.match_keys import TOKEN_RE, fold, match_key

log = logging.getLogger(__name__)

DEFAULT_MAX_CHARS = 4096

try:  # the C scanner is optional: without a compiler at install time the Python one is used
    from wit.queries._fastmatch import Scanner as _CScanner
except ImportError:  # pragma: no cover - depends on the install
    _CScanner = None


class PythonScanner:
    """Token n-gram lookup in dicts; the reference implementation of the C scanner."""

    def __init__(self, keys: list[str], fold_text, max_chars: int) -> None:
        if max_chars < 1:
            raise ValueError("max_chars must be >= 1")
        self._fold = fold_text
        self.max_chars = max_chars
        self._ids: dict[str, int] = {}
        self._prefixes: set[str] = set()
        self.max_tokens = 1
        for query_id, key in enumerate(keys):
            key_tokens = TOKEN_RE.findall(key)
            if not key_tokens:
                raise ValueError(f"query {query_id} has no tokens: {key!r}")
            canonical = " ".join(key_tokens)
            if canonical in self._ids:
                raise ValueError(f"duplicate query key {key!r} (id {query_id})")
            self._ids[canonical] = query_id
            self.max_tokens = max(self.max_tokens, len(key_tokens))
            for end in range(1, len(key_tokens)):
                self._prefixes.add(" ".join(key_tokens[:end]))

    def match(self, text: str) -> list[int]:
        if not isinstance(text, str):
            raise TypeError(f"match() needs str, not {type(text).__name__}")
        cut_word = len(text) > self.max_chars and text[self.max_chars].isalnum()
        folded = self._fold(text[: self.max_chars])
        caption_tokens = TOKEN_RE.findall(folded)
        if cut_word and caption_tokens and folded[-1:].isalnum():
            caption_tokens.pop()
        ids = self._ids
        prefixes = self._prefixes
        found = []
        count = len(caption_tokens)
        for start, token in enumerate(caption_tokens):
            ngram = token
            end = start
            while True:
                query_id = ids.get(ngram)
                if query_id is not None:
                    found.append(query_id)
                end += 1
                if end >= count or ngram not in prefixes:
                    break
                ngram = ngram + " " + caption_tokens[end]
        return sorted(set(found))


class QueryMatcher:
    """Returns the ids (positions in the query list) of the queries found in a caption."""

    def __init__(self, texts: list[str], max_chars: int = DEFAULT_MAX_CHARS, implementation: str = "auto") -> None:
        started = time.perf_counter()
        self.texts = list(texts)
        keys = []
        for query_id, text in enumerate(self.texts):
            key = match_key(text)
            if not key:
                raise ValueError(f"query {query_id} ({text!r}) has no letters or digits to match")
            keys.append(key)
        if implementation == "auto":
            implementation = "c" if _CScanner is not None else "python"
        if implementation == "c":
            if _CScanner is None:
                raise ValueError("the C scanner wit.queries._fastmatch is not built in this install")
            self._scanner = _CScanner(keys, fold, max_chars)
        elif implementation == "python":
            self._scanner = PythonScanner(keys, fold, max_chars)
        else:
            raise ValueError(f"unknown matcher implementation {implementation!r} (auto, c, python)")
        self.implementation = implementation
        self.max_chars = max_chars
        # match() is the hot path, called once per caption: the instance attribute shadows the
        # documented method below with the scanner's own (C) function, saving a Python frame.
        self.match = self._scanner.match
        self.build_seconds = time.perf_counter() - started
        log.debug("query matcher (%s) over %d queries built in %.1f s", implementation, len(keys), self.build_seconds)

    @classmethod
    def from_texts(cls, texts: Iterable[str], **kwargs) -> "QueryMatcher":
        return cls(list(texts), **kwargs)

    @classmethod
    def from_query_list(cls, query_list, **kwargs) -> "QueryMatcher":
        return cls(query_list.texts, **kwargs)

    def __len__(self) -> int:
        return len(self.texts)

    def match(self, text: str) -> list[int]:
        """Sorted unique ids of the queries that occur in `text` (see the module docstring)."""
        return self._scanner.match(text)

    def match_texts(self, text: str) -> list[str]:
        """The matched queries themselves, in id order."""
        return [self.texts[query_id] for query_id in self._scanner.match(text)]


def load_matcher(queries_spec: str, query_list_hash: str = "") -> QueryMatcher:
    """The matcher over the list `queries_spec` (a file, "default" ...); with `query_list_hash`
    (the launcher's sha256 of the list) a list with other content fails here, on the worker,
    naming both hashes."""
    from wit.queries.querylist import load_query_list  # it imports nothing of this module's

    return QueryMatcher.from_query_list(load_query_list(queries_spec, expected_hash=query_list_hash or None))


def match_candidate(candidate: dict, matcher: QueryMatcher) -> bool:
    """Sets candidate["matches"] (unless a source, e.g. a search, set it already); True if any
    query matched."""
    if candidate.get("matches"):
        return True
    candidate["matches"] = matcher.match(candidate["text"])
    return bool(candidate["matches"])
