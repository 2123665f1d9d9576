"""What the offline default query list (`default`) is made of, and the name of its cache file.

wordfreq's English list stands in for the Wikipedia words, and every WordNet lemma is added when
the database files are installed; nothing is downloaded. querylist.py unions these sources like
any others and caches the result (`load_default_query_list`). This module imports nothing from
querylist.py, so `load_query_list("default")` can use it.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

from wit.queries import wordnet
from wit.queries.entry import QueryEntry

log = logging.getLogger(__name__)


def cache_dir() -> Path:
    """$WIT_CACHE, else $XDG_CACHE_HOME/wit, else ~/.cache/wit."""
    if os.environ.get("WIT_CACHE"):
        return Path(os.environ["WIT_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "wit"


def cache_path(size: int, wordnet_dir: Path | None) -> Path:
    """Where the default list of `size` queries built from these inputs is cached."""
    # The name changes whenever an input changes, so a stale cache is never read.
    inputs = f"v1|{size}|wordfreq {_dist_version('wordfreq')}|{wordnet.fingerprint(wordnet_dir)}"
    fingerprint = hashlib.sha256(inputs.encode()).hexdigest()[:16]
    return cache_dir() / f"default-queries-{fingerprint}.parquet"


def _dist_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


def wordfreq_entries() -> list[QueryEntry]:
    """wordfreq's English 'large' list (its data ships in the package), most frequent first.

    count = occurrences per billion words, wordfreq's own scale. It merges Wikipedia with
    subtitles, news, books, web text and social media, so it is a stand-in for, not a copy of,
    the Wikipedia unigram counts of the paper.
    """
    import wordfreq

    words = wordfreq.get_frequency_dict("en", wordlist="large")
    return [QueryEntry(word, "wordfreq", count=max(1, round(freq * 1e9))) for word, freq in words.items()]


def default_entries(wordnet_dir: str | os.PathLike | None = None) -> dict[str, list[QueryEntry]]:
    """The default's entries by source: wordfreq, plus WordNet when its files are found."""
    entries: dict[str, list[QueryEntry]] = {"wordfreq": wordfreq_entries()}
    found = wordnet.find_wordnet_dir(wordnet_dir)
    if found is None:
        log.warning("WordNet database files not found; the default list is built from wordfreq alone")
    else:
        entries["wordnet"] = wordnet.read_wordnet_entries(found)
    return entries
