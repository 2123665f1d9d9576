"""The per-query outcome records summed: the search summary and the build's (key, n) counts."""

from __future__ import annotations

from wit.pipeline.sources.commons.paging import OUTCOMES


def empty_summary() -> dict:
    return {
        "queries": 0,
        "outcomes": {name: 0 for name in OUTCOMES},
        "failures": {},
        "queries_without_candidates": 0,
        "pages": 0,
        "requests": 0,
        "results": 0,
        "candidates": 0,
        "drops": {},
        "skipped": {},
        "events": {},
    }


def add_to_summary(summary: dict, record: dict) -> dict:
    """Fold one query's outcome record into a summary (in place; returned for chaining)."""
    summary["queries"] += 1
    summary["outcomes"][record["outcome"]] = summary["outcomes"].get(record["outcome"], 0) + 1
    if record["outcome"] == "failed":
        summary["failures"][record["reason"]] = summary["failures"].get(record["reason"], 0) + 1
    if record["candidates"] == 0:
        summary["queries_without_candidates"] += 1
    for key in ("pages", "requests", "results", "candidates"):
        summary[key] += record[key]
    for key in ("drops", "skipped", "events"):
        for name, count in record[key].items():
            summary[key][name] = summary[key].get(name, 0) + count
    return summary


def merge_summaries(summaries) -> dict:
    merged = empty_summary()
    for summary in summaries:
        for key in ("queries", "queries_without_candidates", "pages", "requests", "results", "candidates"):
            merged[key] += summary[key]
        for key in ("outcomes", "failures", "drops", "skipped", "events"):
            for name, count in summary[key].items():
                merged[key][name] = merged[key].get(name, 0) + count
    return merged


def summarize(records) -> dict:
    summary = empty_summary()
    for record in records:
        add_to_summary(summary, record)
    return summary


def summary_counts(summary: dict) -> list[tuple[str, int]]:
    """The summary as (key, n) pairs for the build's text counts: drop_license (and its share of
    `input`, since a dropped candidate was an input) plus search_* figures that are not drops.
    `input` for the kept candidates is counted where they are emitted, after merging."""
    pairs = [("input", sum(summary["drops"].values()))]
    pairs += [(reason, n) for reason, n in summary["drops"].items()]
    pairs += [(f"search_{key}", summary[key]) for key in ("queries", "pages", "requests", "results", "candidates")]
    pairs += [(f"search_outcome_{name}", n) for name, n in summary["outcomes"].items()]
    pairs += [(f"search_failed_{reason}", n) for reason, n in summary["failures"].items()]
    pairs += [(f"search_skipped_{name}", n) for name, n in summary["skipped"].items()]
    pairs += [(f"search_http_{name}", n) for name, n in summary["events"].items()]
    return [(key, int(n)) for key, n in pairs if n]
