"""Benchmark of the Commons search source (pipeline/sources/commons/).

1. CPU cost of turning API responses into candidates (parse + HTML strip + licence check), per
   result, at gsrlimit 50 and 500.
2. The polite client against a local api.php stand-in (tests/fake_mediawiki.py, 127.0.0.1):
   requested vs achieved request rate measured from server-side arrival times, the busiest
   one-second window, and the same with faults mixed in (429, maxlag, 500, malformed).
2b. `wit build --search commons --until candidates` end to end against the same stand-in.
3. The request-rate arithmetic for a full 500,000-query run (computed, not measured).

Usage: .venv/bin/python benchmarks/bench_search_commons.py [--quick]
The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from fake_mediawiki import FakeCommons, ServerThread, query_files  # noqa: E402
from wit.pipeline.sources.commons.api import parse_search_response  # noqa: E402
from wit.pipeline.sources.commons.config import SearchConfig  # noqa: E402
from wit.pipeline.sources.commons.licenses import license_accepted, parse_license_list  # noqa: E402
from wit.pipeline.sources.commons.paging import search_all  # noqa: E402
from wit.pipeline.sources.commons.results import result_to_candidate  # noqa: E402
from wit.pipeline.sources.commons.summaries import summarize  # noqa: E402


def bench_parsing(page_size: int, repeats: int) -> dict:
    config = SearchConfig(endpoint="http://127.0.0.1/w/api.php", licenses=parse_license_list("CC0,CC BY,CC BY-SA,Public domain"))
    files = query_files("red fox", page_size)
    body = json.dumps({"batchcomplete": True, "continue": {"gsroffset": page_size, "continue": "gsroffset||"},
                       "query": {"pages": [dict(f, index=i + 1) for i, f in enumerate(files)]}}).encode()
    started = time.perf_counter()
    kept = 0
    for _ in range(repeats):
        page = parse_search_response(json.loads(body))
        for result in page.results:
            candidate, _ = result_to_candidate(result, 0, "red fox", config)
            kept += candidate is not None and license_accepted(candidate["meta"]["license"], config.licenses)
    seconds = time.perf_counter() - started
    results = repeats * page_size
    return {"page_size": page_size, "response_kib": round(len(body) / 1024, 1), "results": results,
            "results_per_s": round(results / seconds), "us_per_result": round(seconds / results * 1e6, 1), "kept": kept}


def busiest_window(times: list[float], window: float = 1.0) -> int:
    best, start = 0, 0
    for end in range(len(times)):
        while times[end] - times[start] > window:
            start += 1
        best = max(best, end - start + 1)
    return best


def bench_client(rate: float, n_queries: int, pages: int, faults: bool) -> dict:
    page_size = 10
    corpus = {f"q{i}": query_files(f"q{i}", pages * page_size - 1) for i in range(n_queries)}
    fault_plan = {}
    if faults:
        for i in range(0, n_queries, 10):
            fault_plan[f"q{i}"] = ["429"]
        for i in range(3, n_queries, 10):
            fault_plan[f"q{i}"] = ["maxlag"]
        for i in range(5, n_queries, 20):
            fault_plan[f"q{i}"] = ["500"]
        for i in range(7, n_queries, 20):
            fault_plan[f"q{i}"] = ["garbage"]
    fake = FakeCommons(corpus=corpus, faults=fault_plan, retry_after="0")
    with ServerThread(fake) as server:
        config = SearchConfig(endpoint=server.url, contact="bench@example.org", page_size=page_size,
                                 requests_per_second=rate, concurrency=3, timeout_s=5, backoff_base_s=0.05)
        started = time.perf_counter()
        results = asyncio.run(search_all([(i, f"q{i}") for i in range(n_queries)], config))
        wall = time.perf_counter() - started
    summary = summarize(record for _, record in results)
    times = sorted(hit.at for hit in fake.hits)
    achieved = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
    return {"faults": faults, "limit_rps": rate, "requests": len(times), "wall_s": round(wall, 2),
            "achieved_rps": round(achieved, 2), "busiest_1s_window": busiest_window(times),
            "queries": summary["queries"], "outcomes": summary["outcomes"], "candidates": summary["candidates"],
            "retries": summary["events"].get("retries", 0)}


def bench_build(n_queries: int, rate: float) -> dict:
    """`wit build --search commons --until candidates` end to end (filters, dedup, match, cap)
    against the local api.php: 25 English-described files per query, half of them CC BY-NC."""
    import tempfile

    from fake_mediawiki import make_file

    from wit.app.cli import main

    words = ["harbour", "meadow", "castle", "bridge", "violin", "glacier", "lantern", "orchard", "canyon", "tram"]
    queries = [f"{words[i % len(words)]} {i}" for i in range(n_queries)]
    corpus = {}
    for query in queries:
        corpus[query] = [
            make_file(f"{query} photo {j}", license_name="CC BY-SA 4.0" if j % 2 == 0 else "CC BY-NC 2.0",
                      description={"en": f"A photograph of the {query} taken on a bright morning in spring, view {j}", "_type": "lang"})
            for j in range(25)
        ]
    with tempfile.TemporaryDirectory() as tmp, ServerThread(FakeCommons(corpus=corpus)) as server:
        query_file = Path(tmp) / "queries.txt"
        query_file.write_text("\n".join(queries) + "\n", encoding="utf-8")
        started = time.perf_counter()
        code = main(["-q", "build", "--search", "commons", "--search-endpoint", server.url, "--queries", str(query_file),
                     "--per-query-cap", "10", "--licenses", "CC0,CC BY,CC BY-SA,Public domain",
                     "--search-rate", str(rate), "--search-concurrency", "3", "--search-page-size", "10",
                     "--out", str(Path(tmp) / "out"), "--until", "candidates"])
        wall = time.perf_counter() - started
        counts = json.loads((Path(tmp) / "out" / "counts" / "text_counts.json").read_text())
        summary = json.loads((Path(tmp) / "out" / "counts" / "search_summary.json").read_text())
    return {"exit": code, "queries": n_queries, "limit_rps": rate, "requests": summary["requests"], "wall_s": round(wall, 1),
            "input": counts["input"], "kept": counts["kept"],
            "drops": {k: v for k, v in counts["drops"].items() if v}, "outcomes": summary["outcomes"]}


def arithmetic(queries: int = 500_000) -> list[dict]:
    """Requests and days for a full query list, for results per query and API page sizes."""
    rows = []
    for results_per_query, label in ((0, "no hits (1 request)"), (100, "100 hits"), (1_000, "1,000 hits"), (10_000, "window full (10,000)")):
        for page_size in (50, 500):
            pages = max(1, math.ceil(results_per_query / page_size))
            requests = queries * pages
            row = {"results_per_query": label, "gsrlimit": page_size, "pages_per_query": pages, "requests": requests}
            for rps in (1, 3, 10):
                row[f"days_at_{rps}_rps"] = round(requests / rps / 86_400, 1)
            rows.append(row)
    return rows


def print_table(rows: list[dict], columns: list[str]) -> None:
    widths = [max(len(col), *(len(str(row.get(col, ""))) for row in rows)) for col in columns]
    print("  ".join(col.rjust(w) for col, w in zip(columns, widths)))
    for row in rows:
        print("  ".join(str(row.get(col, "")).rjust(w) for col, w in zip(columns, widths)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds instead of about a minute")
    args = parser.parse_args()

    repeats = 20 if args.quick else 200
    parsing = [bench_parsing(50, repeats), bench_parsing(500, max(2, repeats // 10))]
    print("1. responses -> candidates (CPU, one process)")
    print_table(parsing, ["page_size", "response_kib", "results", "results_per_s", "us_per_result"])

    if args.quick:
        client_runs = [bench_client(20.0, 10, 3, False), bench_client(20.0, 20, 2, True)]
    else:
        client_runs = [bench_client(50.0, 40, 5, False), bench_client(100.0, 60, 5, False), bench_client(50.0, 60, 3, True)]
    print("\n2. client vs local api.php (rates measured at the server)")
    print_table(client_runs, ["faults", "limit_rps", "requests", "wall_s", "achieved_rps", "busiest_1s_window", "retries", "candidates"])

    try:
        import wit.filters.chain  # noqa: F401
        import wit.queries.querylist  # noqa: F401
    except ImportError:
        build_runs = []
        print("\n(wit build end to end skipped: filters/ or queries/ not installed)")
    else:
        build_runs = [bench_build(20 if args.quick else 200, 50.0)]
        print("\n2b. wit build --search commons --until candidates, local api.php (cap 10, half the files CC BY-NC)")
        print_table(build_runs, ["queries", "limit_rps", "requests", "wall_s", "input", "kept", "drops"])

    table = arithmetic()
    print("\n3. arithmetic for 500,000 queries (computed): requests and days at 1 / 3 / 10 requests per second")
    print_table(table, ["results_per_query", "gsrlimit", "pages_per_query", "requests", "days_at_1_rps", "days_at_3_rps", "days_at_10_rps"])

    print(json.dumps({"parsing": parsing, "client": client_runs, "build": build_runs, "arithmetic_500k": table}))


if __name__ == "__main__":
    main()
