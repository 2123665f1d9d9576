"""Query-driven source: search Wikimedia Commons for every query and emit candidates.

CLIP's WIT was built by "searching for (image, text) pairs whose text includes one of a set of
500,000 queries". This source does that literally against the MediaWiki Action API: each query
becomes a full-text search in the File namespace used as a generator, with imageinfo +
extmetadata giving the image URL, size, MIME type, licence, author and description in the same
response. It pages through the results (the `continue` protocol) until the per-query cap, the
end of the results, or the endpoint's result window, and every query ends with one counted
outcome:

  capped     collected --per-query-cap accepted candidates; paging stopped
  exhausted  the search has no more results (includes queries with no results at all)
  results    results remained, but the endpoint's result window ended paging (CirrusSearch on
             Wikimedia serves at most the first 10,000 hits of a search)
  failed     an API call failed after its retries; `reason` says why (http_503, timeout,
             maxlag, malformed_response, api_<code>, ...); candidates of earlier pages are kept

Every search result of a query is either a candidate, a counted drop (drop_license) or a counted
skip (no imageinfo, no URL, no text, not a bitmap, a result already seen for the query), so
`results = candidates + drops + skipped` holds per query.

Candidates carry `matches = [query id]` (the search found them for that query), so the cap counts
per query exactly as in pool mode; a file found by several queries is merged into one candidate
whose `matches` lists them all. Licence and attribution go into `meta` and from there into each
sample's json.

Modules, plain functions first:

  config      SearchConfig and the `wit build --search` flags
  licenses    licence names normalised, and whether --licenses accepts one
  html_text   plain text out of extmetadata's HTML, the preferred language picked
  api         the params of one search request, the results and continuation of a response
  results     a search result -> a candidate; one file's candidates -> one
  paging      one query paged to its outcome (async), a batch of queries, all without Beam
  summaries   outcome records summed, and the build's (key, n) counts
  worker      the query list, and one client per worker process

HTTP politeness (rate limit, concurrency, retries, maxlag, Retry-After) lives in
pipeline/sources/mediawiki.py; the thin Beam composite `SearchCommons` in pipeline/search.py.
No module here imports Beam or aiohttp at import time, so `wit --help` can register the flags
cheaply.
"""
