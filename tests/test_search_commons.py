"""The query-driven Commons source: request params, parsing, licences, paging decisions, and
the async client against a local api.php stand-in (tests/fake_mediawiki.py) with continuation,
maxlag, 429 + Retry-After, 5xx, malformed, empty and hanging responses."""

from __future__ import annotations

import argparse
import asyncio
import time
from email.utils import formatdate

import pytest

from fake_mediawiki import FakeCommons, ServerThread, make_file, query_files
from wit.pipeline.sources.commons.api import SearchPage, parse_search_response, search_params
from wit.pipeline.sources.commons.config import DEFAULT_ENDPOINT, SearchConfig, add_search_arguments
from wit.pipeline.sources.commons.html_text import html_to_text
from wit.pipeline.sources.commons.licenses import license_accepted, normalize_license, parse_license_list
from wit.pipeline.sources.commons.paging import OUTCOMES, QueryProgress, max_pages, next_request, search_all
from wit.pipeline.sources.commons.results import merge_candidates, result_to_candidate
from wit.pipeline.sources.commons.summaries import summarize
from wit.pipeline.sources.commons.worker import load_queries
from wit.pipeline.sources.mediawiki import TokenBucket, classify_body, parse_retry_after
from wit.core.errors import WitError


def config(url: str = "http://127.0.0.1:1/w/api.php", **overrides) -> SearchConfig:
    """A config for the local server: fast retries, short timeouts, a generous rate."""
    values = dict(endpoint=url, contact="tests@example.org", page_size=3, per_query_cap=100,
                  requests_per_second=200.0, concurrency=4, timeout_s=2.0, max_attempts=3,
                  backoff_base_s=0.01)
    values.update(overrides)
    return SearchConfig(**values)


def run(queries: list[str], cfg: SearchConfig):
    results = asyncio.run(search_all(list(enumerate(queries)), cfg))
    candidates = [c for cands, _ in results for c in cands]
    records = [record for _, record in results]
    return candidates, records


def assert_accounted(record: dict) -> None:
    """Every search result of a query is a candidate, a drop or a skip."""
    assert record["results"] == record["candidates"] + sum(record["drops"].values()) + sum(record["skipped"].values())


# ---------------------------------------------------------------------------------------------
# Plain functions
# ---------------------------------------------------------------------------------------------


def test_search_params_ask_for_files_with_imageinfo_and_extmetadata():
    params = search_params("red fox", config(page_size=50))
    assert params["action"] == "query"
    assert params["generator"] == "search"
    assert params["gsrnamespace"] == 6
    assert params["gsrsearch"] == '"red fox" filetype:bitmap'
    assert params["gsrlimit"] == 50
    assert params["prop"] == "imageinfo"
    assert params["iiprop"] == "url|size|mime|extmetadata"
    assert set(params["iiextmetadatafilter"].split("|")) >= {"ImageDescription", "ObjectName", "LicenseShortName", "Artist", "LicenseUrl", "Credit"}
    assert params["iiextmetadatalanguage"] == "en"
    assert (params["format"], params["formatversion"], params["maxlag"]) == ("json", 2, 5)
    assert "gsroffset" not in params and "iiurlwidth" not in params

    following = search_params("fox", config(search_filter="", maxlag_s=None, thumb_width=640),
                                 {"gsroffset": 50, "continue": "gsroffset||"}, limit=7)
    assert following["gsrsearch"] == "fox"
    assert (following["gsroffset"], following["continue"], following["gsrlimit"]) == (50, "gsroffset||", 7)
    assert following["iiurlwidth"] == 640 and "maxlag" not in following


def test_parse_response_orders_results_by_search_rank_in_both_format_versions():
    v2 = {"continue": {"gsroffset": 3, "continue": "gsroffset||"},
          "query": {"pages": [{"title": "File:B", "index": 2}, {"title": "File:C", "index": 3}, {"title": "File:A", "index": 1}]},
          "warnings": {"main": {"warnings": "x"}}}
    page = parse_search_response(v2)
    assert [r["title"] for r in page.results] == ["File:A", "File:B", "File:C"]
    assert page.continuation == {"gsroffset": 3, "continue": "gsroffset||"}
    assert page.warnings == 1
    v1 = {"batchcomplete": "", "query": {"pages": {"12": {"title": "File:Y", "index": 2}, "7": {"title": "File:X", "index": 1}}}}
    assert [r["title"] for r in parse_search_response(v1).results] == ["File:X", "File:Y"]
    assert parse_search_response(v1).continuation is None
    no_hits = parse_search_response({"batchcomplete": True})
    assert (no_hits.results, no_hits.continuation) == ([], None)
    odd = parse_search_response({"query": "nonsense", "continue": []})
    assert (odd.results, odd.continuation) == ([], None)


def test_result_to_candidate_prefers_english_strips_html_and_records_licence():
    result = make_file("Fox 1", description={"de": "Ein Fuchs", "en": "<p>A <b>red fox</b> &amp; its den</p>", "_type": "lang"})
    candidate, skip = result_to_candidate(result, 7, "red fox", config(endpoint=DEFAULT_ENDPOINT))
    assert skip == ""
    assert candidate["text"] == "A red fox & its den"
    assert candidate["lang"] == "en" and candidate["text_field"] == "description"
    assert candidate["url"] == "https://upload.example.org/commons/Fox_1.jpg"
    assert candidate["page_url"] == "https://commons.example.org/wiki/File:Fox_1.jpg"
    assert candidate["source"] == "commons:red fox"
    assert candidate["matches"] == [7]
    meta = candidate["meta"]
    assert (meta["license"], meta["artist"], meta["credit"]) == ("CC BY-SA 4.0", "Jane Doe", "Own work")
    assert meta["license_url"] == "https://creativecommons.org/licenses/by-sa/4.0"
    assert meta["file_page"] == candidate["page_url"]
    assert all(isinstance(value, str) for value in meta.values())
    from wit.core.records import CANDIDATE_FIELDS, make_uid
    assert set(candidate) == set(CANDIDATE_FIELDS)
    assert candidate["uid"] == make_uid(candidate["url"], candidate["text"])


def test_result_to_candidate_falls_back_and_skips_with_a_reason():
    cfg = config()
    german = make_file("Fuchs", description={"de": "Ein Fuchs im Wald", "_type": "lang"})
    candidate, _ = result_to_candidate(german, 0, "fox", cfg)
    assert (candidate["text"], candidate["lang"]) == ("Ein Fuchs im Wald", "de")
    plain = make_file("Plain", description="An untagged <i>description</i>")
    candidate, _ = result_to_candidate(plain, 0, "fox", cfg)
    assert (candidate["text"], candidate["lang"]) == ("An untagged description", "")
    untitled = make_file("Red fox in snow", description=None)
    candidate, _ = result_to_candidate(untitled, 0, "fox", cfg)
    assert (candidate["text"], candidate["text_field"]) == ("Red fox in snow", "title")
    assert result_to_candidate(make_file("X", imageinfo=False), 0, "fox", cfg) == (None, "no_imageinfo")
    assert result_to_candidate(make_file("Doc", mime="application/pdf", description="d"), 0, "fox", cfg) == (None, "not_bitmap")
    assert result_to_candidate(make_file("N", description="", object_name=""), 0, "fox", cfg) == (None, "no_text")
    no_url = make_file("U", description="d")
    no_url["imageinfo"][0]["url"] = "//relative/only"
    assert result_to_candidate(no_url, 0, "fox", cfg) == (None, "no_url")
    assert result_to_candidate("garbage", 0, "fox", cfg) == (None, "malformed_result")


def test_licence_falls_back_to_the_template_code_and_attribution_is_kept():
    result = make_file("Lisa", description="An Apple Lisa 2 computer in a museum", license_name=None,
                       artist='<a href="//commons.example.org/wiki/User:R" title="User:R">R</a> &amp; Mus\u00e9e Bolo')
    extmetadata = result["imageinfo"][0]["extmetadata"]
    extmetadata["License"] = {"value": "cc-by-sa-2.0-fr", "source": "commons-templates", "hidden": ""}
    extmetadata["Attribution"] = {"value": 'Photograph by <a href="//x">R</a>, Wikimedia Commons', "source": "commons-desc-page"}
    candidate, _ = result_to_candidate(result, 0, "computer", config())
    assert candidate["meta"]["license"] == "cc-by-sa-2.0-fr"
    assert license_accepted(candidate["meta"]["license"], ("CC BY-SA",))
    assert candidate["meta"]["artist"] == "R & Mus\u00e9e Bolo"
    assert candidate["meta"]["attribution"] == "Photograph by R, Wikimedia Commons"


def test_thumbnail_url_used_when_asked():
    result = make_file("T", description="d")
    result["imageinfo"][0]["thumburl"] = "https://upload.example.org/thumb/T.jpg/640px-T.jpg"
    candidate, _ = result_to_candidate(result, 0, "t", config(thumb_width=640))
    assert candidate["url"].endswith("640px-T.jpg")
    candidate, _ = result_to_candidate(result, 0, "t", config())
    assert candidate["url"] == "https://upload.example.org/commons/T.jpg"


@pytest.mark.parametrize("raw, expected", [
    ("CC BY-SA 4.0", "CC BY-SA 4.0"),
    ("cc-by-sa-3.0-de", "CC BY-SA 3.0"),
    ("CC-BY-SA-2.5,2.0,1.0", "CC BY-SA 2.5"),
    ("CC BY 2.0", "CC BY 2.0"),
    ("CC BY 4", "CC BY 4.0"),
    ("CC BY-NC-SA 2.0", "CC BY-NC-SA 2.0"),
    ("CC SA BY 1.0", "CC BY-SA 1.0"),
    ("CC0", "CC0"),
    ("CC0 1.0", "CC0"),
    ("cc-zero", "CC0"),
    ("Public domain", "Public domain"),
    ("PD-self", "Public domain"),
    ("public domain (US)", "Public domain"),
    ("GFDL 1.2", "GFDL"),
    ("Attribution", "Attribution"),
    ("No restrictions", "No restrictions"),
    ("  ", ""),
])
def test_normalize_license(raw, expected):
    assert normalize_license(raw) == expected


def test_license_filter_accepts_families_and_exact_versions():
    accepted = parse_license_list("CC0, CC BY,cc-by-sa,Public domain")
    assert accepted == ("CC0", "CC BY", "CC BY-SA", "Public domain")
    assert license_accepted("CC BY-SA 4.0", accepted)
    assert license_accepted("CC-BY-3.0", accepted)
    assert license_accepted("PD-old-70", accepted)
    assert not license_accepted("CC BY-NC-SA 2.0", accepted)
    assert not license_accepted("GFDL", accepted)
    assert not license_accepted("", accepted)
    only_four = parse_license_list("CC BY-SA 4.0")
    assert license_accepted("cc-by-sa-4.0", only_four) and not license_accepted("CC BY-SA 3.0", only_four)
    assert license_accepted("anything at all", ())
    with pytest.raises(WitError):
        parse_license_list("CC0,,CC BY")


def test_html_to_text():
    assert html_to_text('<div class="description en"><span>A</span> <b>cat</b><br>on a mat</div>') == "A cat on a mat"
    assert html_to_text("Tom &amp; Jerry&nbsp;&lt;3") == "Tom & Jerry <3"
    assert html_to_text("<style>.x{}</style>kept<script>dropped()</script>") == "kept"
    assert html_to_text(None) == "" and html_to_text({"en": "x"}) == ""


def test_paging_decisions():
    cfg = config(page_size=50, per_query_cap=120, max_results=200)
    more = SearchPage(results=[], continuation={"gsroffset": 50, "continue": "gsroffset||"})

    progress = QueryProgress(0, "cat", pages=1, candidates=50)
    params = next_request(progress, more, cfg)
    assert (params["gsroffset"], params["gsrlimit"]) == (50, 50) and progress.outcome == ""

    progress = QueryProgress(0, "cat", pages=2, results=100, candidates=100)
    assert next_request(progress, more, cfg)["gsrlimit"] == 20  # only what the cap still needs

    progress = QueryProgress(0, "cat", pages=2, results=200, candidates=100)
    assert next_request(progress, more, cfg)["gsrlimit"] == 40  # half the results were accepted so far

    progress = QueryProgress(0, "cat", pages=3, candidates=120)
    assert next_request(progress, more, cfg) is None and progress.outcome == "capped"

    progress = QueryProgress(0, "cat", pages=1, candidates=3)
    assert next_request(progress, SearchPage(), cfg) is None and progress.outcome == "exhausted"

    progress = QueryProgress(0, "cat", pages=4, candidates=10)
    window = SearchPage(continuation={"gsroffset": 200, "continue": "gsroffset||"})
    assert next_request(progress, window, cfg) is None and progress.outcome == "results"

    progress = QueryProgress(0, "cat", pages=2, candidates=10)
    near_window = SearchPage(continuation={"gsroffset": 190, "continue": "gsroffset||"})
    assert next_request(progress, near_window, cfg)["gsrlimit"] == 10

    progress = QueryProgress(0, "cat", pages=1, candidates=1)
    prop_continue = SearchPage(continuation={"iicontinue": "X|2024", "gsroffset": 50, "continue": "gsroffset||"})
    params = next_request(progress, prop_continue, cfg)
    assert params["iicontinue"] == "X|2024" and params["gsrlimit"] == 50  # batch kept as it was
    assert next_request(progress, prop_continue, cfg) is None
    assert (progress.outcome, progress.reason) == ("failed", "continuation_loop")

    progress = QueryProgress(0, "cat", pages=max_pages(cfg), candidates=1)
    assert next_request(progress, more, cfg) is None
    assert (progress.outcome, progress.reason) == ("failed", "too_many_pages")


def test_token_bucket_spaces_reservations():
    now = [0.0]
    bucket = TokenBucket(rate=10.0, capacity=1, clock=lambda: now[0])
    assert bucket.reserve() == 0.0
    assert bucket.reserve() == pytest.approx(0.1)
    assert bucket.reserve() == pytest.approx(0.2)
    now[0] = 1.0  # refilled, but never above capacity
    assert bucket.reserve() == 0.0
    assert bucket.reserve() == pytest.approx(0.1)
    bucket.defer(2.0)
    assert bucket.reserve() == pytest.approx(2.1)


def test_retry_after_and_body_classification():
    assert parse_retry_after("5") == 5.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after(formatdate(time.time() + 30, usegmt=True)) == pytest.approx(30, abs=2)
    maxlag = b'{"error": {"code": "maxlag", "info": "Waiting for db1: 7 seconds lagged", "host": "db1", "lag": 7}}'
    assert classify_body(200, maxlag) == (None, "maxlag", 7.0)
    assert classify_body(200, b'{"error": {"code": "badvalue", "info": "x"}}')[1] == "api_badvalue"
    assert classify_body(200, b"{not json")[1] == "malformed_response"
    assert classify_body(200, b"[1, 2]")[1] == "malformed_response"
    assert classify_body(200, b"  ")[1] == "empty_response"
    assert classify_body(503, b"")[1] == "http_503"
    assert classify_body(200, b'{"batchcomplete": true}') == ({"batchcomplete": True}, "", None)


def test_config_flags_and_errors(tmp_path):
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-query-cap", type=int, default=20000)
    add_search_arguments(parser)
    args = parser.parse_args(["--search", "commons", "--search-contact", "me@example.org", "--per-query-cap", "500",
                              "--licenses", "CC0,CC BY-SA 4.0", "--search-rate", "0.5", "--search-maxlag", "-1"])
    cfg = SearchConfig.from_args(args)
    assert (cfg.endpoint, cfg.per_query_cap, cfg.requests_per_second) == (DEFAULT_ENDPOINT, 500, 0.5)
    assert cfg.licenses == ("CC0", "CC BY-SA 4.0") and cfg.maxlag_s is None and cfg.max_attempts == 5
    assert "me@example.org" in cfg.client_settings().user_agent
    assert cfg.client_settings().user_agent.startswith("wit/")
    with pytest.raises(WitError, match="User-Agent policy"):
        SearchConfig()  # Wikimedia without a contact
    assert SearchConfig(endpoint="http://127.0.0.1:8080/w/api.php").contact == ""  # elsewhere optional
    with pytest.raises(WitError, match="page-size"):
        config(page_size=501)
    with pytest.raises(WitError, match="endpoint"):
        config(url="ftp://example.org/api.php")


def test_load_queries_from_text_file(tmp_path):
    path = tmp_path / "q.txt"
    path.write_text("red fox\ncat\n", encoding="utf-8")
    assert load_queries(str(path)) == ["red fox", "cat"]
    with pytest.raises((WitError, FileNotFoundError)):
        load_queries(str(tmp_path / "missing.txt"))


def test_merge_candidates_unions_matches_deterministically():
    a = {"uid": "u", "matches": [3], "source": "commons:dog", "meta": {"license": "CC0"}}
    b = {"uid": "u", "matches": [1], "source": "commons:cat", "meta": {"license": "CC0"}}
    for group in ([a, b], [b, a]):
        merged = merge_candidates(group)
        assert merged["matches"] == [1, 3] and merged["source"] == "commons:cat"


# ---------------------------------------------------------------------------------------------
# Against the local api.php
# ---------------------------------------------------------------------------------------------


def test_paging_follows_continuation_to_the_end():
    fake = FakeCommons(corpus={"red fox": query_files("red fox", 7)})
    with ServerThread(fake) as server:
        candidates, [record] = run(["red fox"], config(server.url))
    assert record["outcome"] == "exhausted" and record["reason"] == ""
    assert (record["pages"], record["results"], record["candidates"]) == (3, 7, 7)
    assert_accounted(record)
    offsets = [hit.params.get("gsroffset") for hit in fake.hits]
    assert offsets == [None, "3", "6"]
    assert all(hit.params["continue"] == "gsroffset||" for hit in fake.hits[1:])
    first = fake.hits[0]
    assert first.params["maxlag"] == "5" and first.params["formatversion"] == "2"
    assert "tests@example.org" in first.user_agent
    assert [c["text"] for c in candidates] == [f"A red fox number {i} & friends" for i in range(7)]  # rank order


def test_paging_stops_at_the_cap_and_at_the_result_window():
    fake = FakeCommons(corpus={"cat": query_files("cat", 20), "dog": query_files("dog", 20)})
    with ServerThread(fake) as server:
        capped, [capped_record] = run(["cat"], config(server.url, per_query_cap=4))
        window, [window_record] = run(["dog"], config(server.url, max_results=6))
    assert capped_record["outcome"] == "capped" and len(capped) == 4
    assert [hit.params["gsrlimit"] for hit in fake.hits_for("cat")] == ["3", "1"]
    assert window_record["outcome"] == "results" and len(window) == 6
    assert [hit.params.get("gsroffset") for hit in fake.hits_for("dog")] == [None, "3"]


def test_licence_filter_drops_and_counts_and_does_not_fill_the_cap():
    files = [make_file(f"nc {i}", description=f"nc {i}", license_name="CC BY-NC 2.0") for i in range(3)]
    files += [make_file(f"ok {i}", description=f"ok {i}", license_name="CC-BY-SA-3.0") for i in range(3)]
    files.append(make_file("unlicensed", description="no licence", license_name=None))
    fake = FakeCommons(corpus={"mix": files})
    with ServerThread(fake) as server:
        candidates, [record] = run(["mix"], config(server.url, licenses=parse_license_list("CC BY-SA,CC0"), per_query_cap=3))
    assert [c["meta"]["license"] for c in candidates] == ["CC-BY-SA-3.0"] * 3
    assert record["outcome"] == "capped"
    assert record["drops"] == {"drop_license": 3}
    assert_accounted(record)


def test_maxlag_error_is_retried_after_retry_after():
    fake = FakeCommons(corpus={"owl": query_files("owl", 2)}, faults={"owl": ["maxlag"]}, retry_after="1")
    with ServerThread(fake) as server:
        candidates, [record] = run(["owl"], config(server.url))
    assert record["outcome"] == "exhausted" and len(candidates) == 2
    assert record["events"]["maxlag"] == 1 and record["events"]["retries"] == 1
    hits = fake.hits_for("owl")
    assert len(hits) == 2 and hits[1].at - hits[0].at >= 0.95


def test_429_retry_after_pauses_every_query_of_the_worker():
    fake = FakeCommons(corpus={f"q{i}": query_files(f"q{i}", 9) for i in range(4)}, faults={"q0": ["429"]}, retry_after="1")
    with ServerThread(fake) as server:
        candidates, records = run([f"q{i}" for i in range(4)], config(server.url, requests_per_second=50.0))
    assert all(r["outcome"] == "exhausted" for r in records) and len(candidates) == 36
    assert records[0]["events"]["http_429"] == 1
    refused_at = next(hit.at for hit in fake.hits if fake.search_key(hit.params) == "q0")
    # Nothing from this worker may reach the server for Retry-After seconds after the 429
    # (requests that already held a token, ~0.1 s at most, may still land in between).
    assert not [hit for hit in fake.hits if refused_at + 0.2 < hit.at < refused_at + 0.95]
    assert fake.hits_for("q0")[1].at - refused_at >= 0.95


def test_server_errors_fail_the_query_after_bounded_retries():
    fake = FakeCommons(corpus={"a": query_files("a", 2)}, faults={"a": ["always:500"], "b": ["500", "500"]})
    fake.corpus["b"] = query_files("b", 1)
    with ServerThread(fake) as server:
        candidates, records = run(["a", "b"], config(server.url, max_attempts=3))
    failed, recovered = records
    assert (failed["outcome"], failed["reason"]) == ("failed", "http_500")
    assert failed["requests"] == 3 and len(fake.hits_for("a")) == 3
    assert recovered["outcome"] == "exhausted" and recovered["candidates"] == 1


def test_malformed_empty_and_error_responses_are_counted_outcomes():
    fake = FakeCommons(
        corpus={"flaky": query_files("flaky", 2)},
        faults={"garbage": ["always:garbage"], "blank": ["always:empty_body"], "flaky": ["garbage", "not_object"],
                "bad": ["always:badvalue"], "array": ["always:not_object"]},
    )
    with ServerThread(fake) as server:
        _, records = run(["garbage", "blank", "flaky", "bad", "array", "nothing"], config(server.url))
    by_query = {r["query"]: r for r in records}
    assert (by_query["garbage"]["outcome"], by_query["garbage"]["reason"]) == ("failed", "malformed_response")
    assert by_query["garbage"]["events"]["malformed_response"] == 3
    assert by_query["blank"]["reason"] == "empty_response"
    assert by_query["array"]["reason"] == "malformed_response"
    assert (by_query["flaky"]["outcome"], by_query["flaky"]["candidates"]) == ("exhausted", 2)
    assert (by_query["bad"]["reason"], by_query["bad"]["requests"]) == ("api_badvalue", 1)  # not retried
    assert (by_query["nothing"]["outcome"], by_query["nothing"]["results"]) == ("exhausted", 0)


def test_results_without_imageinfo_or_text_are_counted_skips():
    files = [make_file("ok", description="fine"), make_file("missing", imageinfo=False),
             make_file("pdf", description="d", mime="application/pdf"), make_file("blank", description="", object_name="")]
    fake = FakeCommons(corpus={"mixed": files})
    with ServerThread(fake) as server:
        candidates, [record] = run(["mixed"], config(server.url, page_size=10))
    assert len(candidates) == 1
    assert record["skipped"] == {"no_imageinfo": 1, "not_bitmap": 1, "no_text": 1}
    assert_accounted(record)


def test_a_hanging_server_times_out_instead_of_hanging():
    fake = FakeCommons(corpus={"slow": query_files("slow", 1)}, faults={"slow": ["always:hang"]}, hang_s=30)
    started = time.monotonic()
    with ServerThread(fake) as server:
        _, [record] = run(["slow"], config(server.url, timeout_s=0.3, max_attempts=2))
    assert (record["outcome"], record["reason"]) == ("failed", "timeout")
    assert record["events"]["timeout"] == 2
    assert time.monotonic() - started < 10


def test_unreachable_endpoint_fails_with_connection():
    _, [record] = run(["x"], config("http://127.0.0.1:9/w/api.php", max_attempts=2))
    assert (record["outcome"], record["reason"]) == ("failed", "connection")


def test_request_rate_stays_under_the_limit_measured_at_the_server():
    rate = 25.0
    fake = FakeCommons(corpus={f"r{i}": query_files(f"r{i}", 9) for i in range(6)})
    with ServerThread(fake) as server:
        _, records = run([f"r{i}" for i in range(6)], config(server.url, requests_per_second=rate, concurrency=4))
    assert all(r["outcome"] == "exhausted" for r in records)
    times = sorted(hit.at for hit in fake.hits)
    assert len(times) == 18
    # With a bucket of one token, n requests need at least (n - 1) / rate seconds: check every
    # window, allowing 50 ms between client send and server arrival (the server shares this
    # process and a busy machine). Without the limit all 18 would arrive within a few ms.
    jitter = 0.05
    for i in range(len(times)):
        for j in range(i + 1, len(times)):
            assert times[j] - times[i] >= (j - i) / rate - jitter, (i, j, times[j] - times[i])
    assert len(times) - 1 <= rate * (times[-1] - times[0] + jitter)


def test_every_query_ends_with_one_counted_outcome_under_mixed_faults():
    corpus = {f"ok{i}": query_files(f"ok{i}", 5) for i in range(4)}
    corpus.update({"lag": query_files("lag", 4), "busy": query_files("busy", 4), "capme": query_files("capme", 30)})
    faults = {"lag": ["maxlag"], "busy": ["429"], "dead": ["always:500"], "junk": ["always:garbage"]}
    fake = FakeCommons(corpus=corpus, faults=faults, retry_after="0")
    queries = list(corpus) + ["dead", "junk", "empty"]
    with ServerThread(fake) as server:
        candidates, records = run(queries, config(server.url, per_query_cap=10))
    assert sorted(r["query_id"] for r in records) == list(range(len(queries)))
    assert all(r["outcome"] in OUTCOMES for r in records)
    summary = summarize(records)
    assert summary["queries"] == len(queries) == sum(summary["outcomes"].values())
    assert summary["outcomes"] == {"capped": 1, "exhausted": 7, "results": 0, "failed": 2}
    assert summary["failures"] == {"http_500": 1, "malformed_response": 1}
    assert summary["candidates"] == len(candidates) == 4 * 5 + 4 + 4 + 10
    assert summary["requests"] == len(fake.hits)
    for record in records:
        assert_accounted(record)


def test_wit_build_parses_the_search_flags():
    from wit.app.cli import build_parser

    parser = build_parser()
    args = parser.parse_args(["build", "--search", "commons", "--queries", "q.txt", "--per-query-cap", "7",
                              "--search-contact", "me@example.org", "--licenses", "CC0", "--out", "out"])
    cfg = SearchConfig.from_args(args)
    assert (args.search, cfg.per_query_cap, cfg.licenses, cfg.contact) == ("commons", 7, ("CC0",), "me@example.org")
    with pytest.raises(SystemExit):
        parser.parse_args(["build", "--search", "google", "--out", "out"])
