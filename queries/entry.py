"""One query as a source proposes it: what every query source yields and the list builder takes.

Its own module so that the sources (wordnet.py, pageviews.py, ...) and the list builder
(querylist.py) all import it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class QueryEntry:
    """One query as a source proposes it, with that source's evidence."""

    text: str
    source: str
    count: int | None = None
    pmi: float | None = None
    pageviews: int | None = None
