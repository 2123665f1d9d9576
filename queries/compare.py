"""Hold two query lists against each other: sizes, overlap, and overlap by source.

Queries are compared by match key (queries/match_keys.py), the form the matcher compares, so
'New-York' in one list and 'new york' in the other are the same query, as they would be for a
caption. `wit queries compare A B` prints `format_comparison(compare_query_lists(...))`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from wit.queries.match_keys import match_key
from wit.queries.querylist import QueryList


@dataclass
class SourceOverlap:
    source: str
    queries: int  # rows of this source in its list
    shared: int  # of those, how many the other list has


@dataclass
class ListSide:
    name: str
    queries: int
    strings: int  # entries in the file (a .json list may hold several spellings of one query)
    only_here: int
    by_source: list[SourceOverlap] | None  # None when the file has no source column
    examples_only_here: list[str] = field(default_factory=list)


@dataclass
class Comparison:
    a: ListSide
    b: ListSide
    shared: int


def _keys(query_list: QueryList) -> list[str]:
    return [match_key(text) for text in query_list.texts]


def _side(name: str, query_list: QueryList, keys: list[str], other: set[str], strings: int, examples: int) -> ListSide:
    only = [text for text, key in zip(query_list.texts, keys) if key not in other]
    by_source = None
    if query_list.has_source_column:
        tally: dict[str, SourceOverlap] = {}
        for source, key in zip(query_list.sources, keys):
            row = tally.setdefault(source, SourceOverlap(source, 0, 0))
            row.queries += 1
            row.shared += key in other
        by_source = list(tally.values())
    return ListSide(name, len(query_list), strings, len(only), by_source, only[:examples])


def compare_query_lists(
    a: QueryList, b: QueryList, a_name: str = "A", b_name: str = "B",
    a_strings: int | None = None, b_strings: int | None = None, examples: int = 10,
) -> Comparison:
    """Sizes and overlap of two lists; the first `examples` queries each has alone, in list order."""
    a_keys, b_keys = _keys(a), _keys(b)
    a_set, b_set = set(a_keys), set(b_keys)
    return Comparison(
        a=_side(a_name, a, a_keys, b_set, len(a) if a_strings is None else a_strings, examples),
        b=_side(b_name, b, b_keys, a_set, len(b) if b_strings is None else b_strings, examples),
        shared=len(a_set & b_set),
    )


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def format_comparison(comparison: Comparison) -> str:
    a, b, shared = comparison.a, comparison.b, comparison.shared
    lines = []
    for label, side in (("A", a), ("B", b)):
        size = f"{side.queries:,} queries"
        if side.strings != side.queries:
            size += f" ({side.strings:,} strings in the file)"
        lines.append(f"{label}  {side.name}: {size}")
    lines.append(f"in both      {shared:,} queries ({_percent(shared, a.queries)} of A, {_percent(shared, b.queries)} of B)")
    lines.append(f"only in A    {a.only_here:,}")
    lines.append(f"only in B    {b.only_here:,}")
    for label, side, other in (("A", a, "B"), ("B", b, "A")):
        if side.by_source is None:
            lines.append(f"{label} by source: no source column in {side.name}")
            continue
        lines.append(f"{label} by source   queries   in {other}")
        for row in side.by_source:
            lines.append(f"  {row.source:<14}{row.queries:>9,}  {row.shared:>9,} ({_percent(row.shared, row.queries)})")
    for label, side in (("A", a), ("B", b)):
        if side.examples_only_here:
            lines.append(f"first only in {label}: " + ", ".join(side.examples_only_here))
    return "\n".join(lines)
