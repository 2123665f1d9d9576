"""WordNet lemma names, read straight from the WordNet 3.0 database files.

The database is plain text (wndb(5WN)): data.noun, data.verb, data.adj and data.adv hold one
synset per line,

    00001740 03 n 01 entity 0 003 ~ 00001930 n 0000 ... | gloss

i.e. synset offset, lexicographer file number, synset type, a two-digit HEX word count, then
that many (word, lex_id) pairs, then pointers and the gloss. Lines starting with two spaces are
the licence header. Words use '_' for spaces, and adjectives may carry a syntactic marker such as
'(a)', '(p)' or '(ip)'. Every lemma name of every synset becomes a query.

Where the files come from: --wordnet-dir, else Debian's wordnet-base (/usr/share/wordnet), else
nltk's data folder when nltk and its wordnet corpus are installed (corpora/wordnet holds the same
files). Nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from pathlib import Path

from wit.queries.entry import QueryEntry
from wit.core.errors import WitError

log = logging.getLogger(__name__)

DATA_FILES = ("data.noun", "data.verb", "data.adj", "data.adv")
SYSTEM_DIRS = ("/usr/share/wordnet", "/usr/local/share/wordnet", "/usr/share/wordnet-3.0")
_ADJECTIVE_MARKER = re.compile(r"\((?:a|p|ip)\)$")


def _has_data_files(directory: Path) -> bool:
    return any((directory / name).is_file() for name in DATA_FILES)


def _nltk_wordnet_dir() -> Path | None:
    try:
        import nltk.data  # optional; only its installed data is used
    except ImportError:
        return None
    try:
        found = Path(str(nltk.data.find("corpora/wordnet")))
    except LookupError:
        return None
    return found if found.is_dir() and _has_data_files(found) else None


def find_wordnet_dir(wordnet_dir: str | os.PathLike | None = None) -> Path | None:
    """The folder holding the data.* files; an explicit folder must exist and hold them."""
    if wordnet_dir is not None:
        directory = Path(wordnet_dir)
        if not directory.is_dir() or not _has_data_files(directory):
            raise WitError(f"--wordnet-dir {directory}: no WordNet data.noun/data.verb/data.adj/data.adv files there")
        return directory
    for candidate in SYSTEM_DIRS:
        if _has_data_files(Path(candidate)):
            return Path(candidate)
    return _nltk_wordnet_dir()


def fingerprint(wordnet_dir: Path | None) -> str:
    """Identifies the database's contents cheaply (names, sizes, mtimes) for cache keys."""
    if wordnet_dir is None:
        return "none"
    digest = hashlib.sha256()
    for name in DATA_FILES:
        path = wordnet_dir / name
        if path.is_file():
            stat = path.stat()
            digest.update(f"{name}:{stat.st_size}:{int(stat.st_mtime)}".encode())
    return digest.hexdigest()[:16]


def parse_data_line(line: str) -> list[str]:
    """Lemma names (spaces, no markers) of one data.* line; [] for licence header lines."""
    if line.startswith("  ") or not line.strip():
        return []
    fields = line.split(" ")
    if len(fields) < 6 or not fields[0].isdigit():
        raise ValueError("not a synset line")
    word_count = int(fields[3], 16)
    if word_count < 1 or len(fields) < 4 + 2 * word_count:
        raise ValueError(f"word count {fields[3]} does not fit the line")
    lemmas = []
    for i in range(word_count):
        word = _ADJECTIVE_MARKER.sub("", fields[4 + 2 * i])
        lemmas.append(word.replace("_", " "))
    return lemmas


def read_wordnet_entries(wordnet_dir: str | os.PathLike) -> list[QueryEntry]:
    """Every lemma name of every synset, in file order (nouns, verbs, adjectives, adverbs)."""
    directory = Path(wordnet_dir)
    entries: list[QueryEntry] = []
    seen: set[str] = set()
    for name in DATA_FILES:
        path = directory / name
        if not path.is_file():
            log.warning("WordNet: %s is missing; skipping that part of speech", path)
            continue
        with open(path, encoding="utf-8", errors="strict") as handle:
            try:
                for line_number, line in enumerate(handle, start=1):
                    try:
                        lemmas = parse_data_line(line)
                    except (ValueError, IndexError) as exc:
                        raise WitError(f"WordNet file {path}, line {line_number}: malformed synset line ({exc})") from None
                    for lemma in lemmas:
                        if lemma not in seen:
                            seen.add(lemma)
                            entries.append(QueryEntry(lemma, "wordnet"))
            except UnicodeDecodeError as exc:
                raise WitError(f"WordNet file {path}: not UTF-8 text ({exc.reason})") from None
    log.info("WordNet (%s): %d distinct lemma names", directory, len(entries))
    return entries
