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

Layout: plain functions (flags, params, parsing, licences, paging decisions) first, then the
async per-query loop and the per-process worker. HTTP politeness (rate limit, concurrency,
retries, maxlag, Retry-After) lives in pipeline/sources/mediawiki.py; the thin Beam composite
`SearchCommons` in pipeline/search.py. This module imports neither Beam nor aiohttp at
import time, so `wit --help` can register its flags cheaply.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import logging
import math
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

from wit.pipeline import DEFAULT_PER_QUERY_CAP
from wit.pipeline.sources.mediawiki import ClientSettings, MediaWikiClient, TokenBucket, user_agent
from wit.core.errors import WitError
from wit.core.records import new_candidate

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "https://commons.wikimedia.org/w/api.php"
FILE_NAMESPACE = 6
OUTCOMES = ("capped", "exhausted", "results", "failed")
# What searching one query gives: its candidates and its outcome record (QueryProgress.record).
QueryResult = tuple[list[dict], dict]
LICENSE_DROP = "drop_license"
# Hosts whose operators require a contact in the User-Agent (Wikimedia User-Agent policy).
WIKIMEDIA_HOST_SUFFIXES = (
    "wikimedia.org", "wikipedia.org", "wikidata.org", "wiktionary.org", "wikibooks.org",
    "wikiquote.org", "wikisource.org", "wikinews.org", "wikiversity.org", "wikivoyage.org",
    "mediawiki.org",
)
# The extmetadata fields we read; asking only for these keeps responses small.
EXTMETADATA_FIELDS = (
    "ImageDescription", "ObjectName", "LicenseShortName", "License", "LicenseUrl", "Artist", "Credit",
    "Attribution", "AttributionRequired", "UsageTerms",
)
# Raster formats an image trainer can decode; PDFs, DjVu, video, audio and SVG are skipped.
BITMAP_MIME_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/tiff", "image/bmp"})


# --------------------------------------------------------------------------------------------
# Configuration and flags
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchConfig:
    """Everything the Commons search source needs; `from_args` builds it from `wit build` flags."""

    endpoint: str = DEFAULT_ENDPOINT
    contact: str = ""  # e-mail, URL or wiki user page put into the User-Agent
    per_query_cap: int = DEFAULT_PER_QUERY_CAP
    page_size: int = 50  # gsrlimit: results per request (the API allows 1..500)
    max_results: int = 10_000  # the endpoint's result window: gsroffset never reaches it
    search_filter: str = "filetype:bitmap"  # CirrusSearch keyword appended to each query
    phrase_queries: bool = True  # multi-word queries searched as "exact phrase"
    licenses: tuple[str, ...] = ()  # accepted licences (normalised); empty = accept all
    requests_per_second: float = 1.0  # per worker process
    concurrency: int = 2  # requests in flight per host, per worker process
    timeout_s: float = 30.0
    max_attempts: int = 5
    backoff_base_s: float = 1.0
    max_retry_after_s: float = 300.0
    maxlag_s: int | None = 5
    batch_size: int = 8  # queries searched concurrently by one bundle
    thumb_width: int = 0  # >0: use a thumbnail of this width instead of the original file

    def __post_init__(self) -> None:
        scheme = urlsplit(self.endpoint).scheme
        if scheme not in ("http", "https") or not urlsplit(self.endpoint).netloc:
            raise WitError(f"--search-endpoint must be an http(s) URL of api.php, got {self.endpoint!r}")
        if not 1 <= self.page_size <= 500:
            raise WitError(f"--search-page-size must be between 1 and 500 (the API's gsrlimit), got {self.page_size}")
        if self.per_query_cap < 1:
            raise WitError(f"--per-query-cap must be >= 1, got {self.per_query_cap}")
        if self.max_results < 1:
            raise WitError(f"--search-max-results must be >= 1, got {self.max_results}")
        if self.requests_per_second <= 0:
            raise WitError(f"--search-rate must be > 0 requests per second, got {self.requests_per_second}")
        if self.concurrency < 1 or self.batch_size < 1 or self.max_attempts < 1:
            raise WitError("--search-concurrency, --search-batch-size and --search-retries + 1 must be >= 1")
        if self.timeout_s <= 0:
            raise WitError(f"--search-timeout must be > 0 seconds, got {self.timeout_s}")
        if requires_contact(self.endpoint) and not self.contact.strip():
            raise WitError(
                "Wikimedia's User-Agent policy requires a contact: pass --search-contact "
                "'you@example.org' (or a URL / wiki user page) to search "
                f"{urlsplit(self.endpoint).netloc}"
            )

    @property
    def source_label(self) -> str:
        """'commons' for Wikimedia Commons, else the endpoint's host: the prefix of `source`."""
        return "commons" if self.endpoint == DEFAULT_ENDPOINT else urlsplit(self.endpoint).netloc

    def client_settings(self) -> ClientSettings:
        return ClientSettings(
            user_agent=user_agent(self.contact or "no contact given"),
            requests_per_second=self.requests_per_second,
            concurrency_per_host=self.concurrency,
            timeout_s=self.timeout_s,
            max_attempts=self.max_attempts,
            backoff_base_s=self.backoff_base_s,
            max_retry_after_s=self.max_retry_after_s,
            maxlag_s=self.maxlag_s,
        )

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "SearchConfig":
        return cls(
            endpoint=args.search_endpoint,
            contact=args.search_contact or "",
            per_query_cap=getattr(args, "per_query_cap", None) or cls.per_query_cap,
            page_size=args.search_page_size,
            max_results=args.search_max_results,
            search_filter=args.search_filter,
            licenses=parse_license_list(args.licenses) if args.licenses else (),
            requests_per_second=args.search_rate,
            concurrency=args.search_concurrency,
            timeout_s=args.search_timeout,
            max_attempts=args.search_retries + 1,
            maxlag_s=args.search_maxlag if args.search_maxlag >= 0 else None,
            batch_size=args.search_batch_size,
            thumb_width=args.search_thumb_width,
        )


def requires_contact(endpoint: str) -> bool:
    host = (urlsplit(endpoint).hostname or "").lower()
    return any(host == suffix or host.endswith("." + suffix) for suffix in WIKIMEDIA_HOST_SUFFIXES)


def add_search_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of the query-driven source, for `wit build --search commons ...`.

    `--queries` and `--per-query-cap` belong to `wit build` itself (pool mode uses them too);
    SearchConfig.from_args reads --per-query-cap when present.
    """
    d = SearchConfig
    group = parser.add_argument_group("search source (wit build --search commons)")
    group.add_argument("--search", choices=("commons",), default=None,
                       help="instead of scanning a pool, search every query on Wikimedia Commons "
                            "(MediaWiki Action API) and page through the results up to the cap")
    group.add_argument("--search-endpoint", default=d.endpoint, metavar="URL",
                       help="api.php of the MediaWiki installation to search (default: %(default)s)")
    group.add_argument("--search-contact", default="", metavar="CONTACT",
                       help="e-mail, URL or wiki user page for the User-Agent; required by "
                            "Wikimedia's User-Agent policy for Wikimedia endpoints")
    group.add_argument("--licenses", default="", metavar="LIST",
                       help="keep only these licences, comma-separated, e.g. 'CC0,CC BY,CC BY-SA,"
                            "Public domain' (variants such as 'CC BY-SA 4.0' or 'cc-by-sa-3.0' are "
                            "normalised; a version given here must match exactly); others are "
                            "dropped as drop_license. Default: keep all")
    group.add_argument("--search-rate", type=float, default=d.requests_per_second, metavar="R",
                       help="API requests per second per worker process (default: %(default)s); "
                            "the endpoint sees R x workers")
    group.add_argument("--search-concurrency", type=int, default=d.concurrency, metavar="N",
                       help="requests in flight per host per worker (default: %(default)s)")
    group.add_argument("--search-page-size", type=int, default=d.page_size, metavar="N",
                       help="results per request, the API's gsrlimit, 1-500 (default: %(default)s)")
    group.add_argument("--search-max-results", type=int, default=d.max_results, metavar="N",
                       help="the endpoint's result window: stop paging a query at this offset "
                            "(default: %(default)s, CirrusSearch's limit)")
    group.add_argument("--search-filter", default=d.search_filter, metavar="KEYWORDS",
                       help="search keywords appended to every query (default: '%(default)s'; "
                            "use '' for wikis without CirrusSearch)")
    group.add_argument("--search-timeout", type=float, default=d.timeout_s, metavar="S",
                       help="seconds per API request (default: %(default)s)")
    group.add_argument("--search-retries", type=int, default=d.max_attempts - 1, metavar="N",
                       help="retries per request on 429/5xx/timeouts/maxlag (default: %(default)s)")
    group.add_argument("--search-maxlag", type=int, default=d.maxlag_s, metavar="S",
                       help="the API's maxlag parameter in seconds; -1 to omit (default: %(default)s)")
    group.add_argument("--search-batch-size", type=int, default=d.batch_size, metavar="N",
                       help="queries searched concurrently per bundle (default: %(default)s)")
    group.add_argument("--search-thumb-width", type=int, default=d.thumb_width, metavar="PX",
                       help="use the API's thumbnail of this width instead of the original file "
                            "(0 = original; default: %(default)s)")


# --------------------------------------------------------------------------------------------
# Licences
# --------------------------------------------------------------------------------------------

_CC_PATTERN = re.compile(r"^(?:cc|creative commons)\s*((?:by|sa|nc|nd)(?:\s+(?:by|sa|nc|nd))*)\s*(\d+(?:\.\d+)?)?")
_CC_ORDER = {"by": 0, "nc": 1, "nd": 2, "sa": 3}


def normalize_license(name: str) -> str:
    """One spelling per licence: 'cc-by-sa-3.0-de' and 'CC BY-SA 3.0' both give 'CC BY-SA 3.0'.

    Families: 'CC0', 'CC BY[-NC][-ND|-SA] [version]', 'Public domain', 'GFDL', 'Attribution';
    anything else comes back stripped and whitespace-collapsed; '' for no licence.
    """
    text = html_to_text(name) if isinstance(name, str) else ""
    key = " ".join(text.lower().replace("_", " ").replace("-", " ").split())
    if not key:
        return ""
    if key.startswith(("cc0", "cc zero", "cc 0 ")) or key in ("cc 0", "creative commons zero"):
        return "CC0"
    if key in ("pd", "public domain", "publicdomain") or key.startswith(("pd ", "public domain")):
        return "Public domain"
    match = _CC_PATTERN.match(key)
    if match:
        parts = sorted(set(match.group(1).split()), key=_CC_ORDER.__getitem__)
        family = "CC " + "-".join(part.upper() for part in parts)
        version = match.group(2)
        if version and "." not in version:
            version += ".0"
        return f"{family} {version}" if version else family
    if key.startswith("gfdl") or key.startswith("gnu free documentation"):
        return "GFDL"
    if key == "attribution":
        return "Attribution"
    return " ".join(text.split())


def license_family(normalized: str) -> str:
    """'CC BY-SA 4.0' -> 'CC BY-SA': the licence without its version."""
    head, _, tail = normalized.rpartition(" ")
    return head if head and re.fullmatch(r"\d+(?:\.\d+)?", tail) else normalized


def parse_license_list(spec: str) -> tuple[str, ...]:
    """'CC0, CC BY,cc-by-sa' -> ('CC0', 'CC BY', 'CC BY-SA'); a clear error for an empty entry."""
    accepted = []
    for raw in spec.split(","):
        if not raw.strip():
            raise WitError(f"--licenses has an empty entry: {spec!r}")
        accepted.append(normalize_license(raw))
    return tuple(dict.fromkeys(accepted))


def license_accepted(license_name: str, accepted: tuple[str, ...]) -> bool:
    """True when no filter is set, or the licence (any version, unless one was asked) is accepted."""
    if not accepted:
        return True
    normalized = normalize_license(license_name)
    if not normalized:
        return False
    return normalized in accepted or license_family(normalized) in accepted


# --------------------------------------------------------------------------------------------
# Text out of extmetadata (HTML)
# --------------------------------------------------------------------------------------------


class _TextExtractor(HTMLParser):
    """Collects the visible text of an HTML fragment: tags dropped, entities decoded."""

    _SKIP = {"script", "style"}
    _BREAKS = {"br", "p", "div", "li", "tr", "td", "th", "dd", "dt", "ul", "ol", "table"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag, attrs):
        if tag in self._SKIP:
            self._skip_depth += 1
        elif tag in self._BREAKS:
            self.parts.append(" ")

    def handle_endtag(self, tag):
        if tag in self._SKIP and self._skip_depth:
            self._skip_depth -= 1
        elif tag in self._BREAKS:
            self.parts.append(" ")

    def handle_data(self, data):
        if not self._skip_depth:
            self.parts.append(data)


def html_to_text(value: object) -> str:
    """Plain text of an extmetadata value (HTML in the API): tags stripped, whitespace collapsed."""
    if not isinstance(value, str):
        return "" if value is None or isinstance(value, (dict, list)) else str(value)
    if "<" not in value and "&" not in value:
        return " ".join(value.split())
    extractor = _TextExtractor()
    try:
        extractor.feed(value)
        extractor.close()
    except Exception:  # HTMLParser is lenient; this only guards against the unforeseen
        return " ".join(re.sub(r"<[^>]*>", " ", value).split())
    return " ".join("".join(extractor.parts).split())


def pick_language(value: object, preferred: str = "en") -> tuple[str, str]:
    """(text, lang) from an extmetadata value: English first, then an English variant, then any.

    With iiextmetadatamultilang=1 translated fields come as {"en": ..., "de": ..., "_type":
    "lang"}; untranslated ones as a plain string, whose language is unknown ("").
    """
    if isinstance(value, dict):
        langs = {k: v for k, v in value.items() if not k.startswith("_") and isinstance(v, str) and v.strip()}
        if not langs:
            return "", ""
        if preferred in langs:
            return langs[preferred], preferred
        for lang, text in langs.items():
            if lang.startswith(preferred + "-"):
                return text, lang
        lang, text = next(iter(langs.items()))
        return text, lang
    if isinstance(value, str):
        return value, ""
    return "", ""


def _metadata_text(extmetadata: dict, name: str) -> str:
    entry = extmetadata.get(name)
    value = entry.get("value") if isinstance(entry, dict) else None
    text, _ = pick_language(value)
    return html_to_text(text)


# --------------------------------------------------------------------------------------------
# Requests and responses
# --------------------------------------------------------------------------------------------


def search_terms(query: str, config: SearchConfig) -> str:
    """The gsrsearch value: the query (a phrase when it has several words) plus the filter."""
    terms = " ".join(query.split())
    if config.phrase_queries and " " in terms:
        terms = '"' + terms.replace('"', " ").strip() + '"'
    return f"{terms} {config.search_filter}".strip() if config.search_filter else terms


def search_params(query: str, config: SearchConfig, continuation: dict | None = None, limit: int | None = None) -> dict:
    """Params of one generator=search request; `continuation` is the previous response's `continue`."""
    params = {
        "action": "query",
        "generator": "search",
        "gsrsearch": search_terms(query, config),
        "gsrnamespace": FILE_NAMESPACE,
        "gsrlimit": limit or config.page_size,
        "prop": "imageinfo",
        "iiprop": "url|size|mime|extmetadata",
        "iiextmetadatafilter": "|".join(EXTMETADATA_FIELDS),
        "iiextmetadatalanguage": "en",
        "iiextmetadatamultilang": 1,
        "format": "json",
        "formatversion": 2,
    }
    if config.thumb_width > 0:
        params["iiurlwidth"] = config.thumb_width
    if config.maxlag_s is not None:
        params["maxlag"] = config.maxlag_s
    if continuation:
        # The continue protocol: send back every key of the `continue` object unchanged.
        params.update({key: value for key, value in continuation.items()})
    return params


@dataclass
class SearchPage:
    """What one API response holds for one query."""

    results: list[dict] = field(default_factory=list)  # page objects in search rank order
    continuation: dict | None = None  # the `continue` object; None at the end of the results
    warnings: int = 0


def parse_search_response(data: dict) -> SearchPage:
    """The result pages (rank order) and continuation of a decoded response. Never raises.

    formatversion=2 gives `query.pages` as a list; formatversion=1 (older wikis that ignore the
    parameter) as an object keyed by page id: both are accepted. A response without `query`
    is a search without results.
    """
    page = SearchPage()
    query = data.get("query")
    pages = query.get("pages") if isinstance(query, dict) else None
    if isinstance(pages, dict):
        pages = list(pages.values())
    if isinstance(pages, list):
        page.results = sorted(pages, key=_rank)
    continuation = data.get("continue")
    page.continuation = continuation if isinstance(continuation, dict) and continuation else None
    warnings = data.get("warnings")
    page.warnings = len(warnings) if isinstance(warnings, (dict, list)) else 0
    return page


def _rank(result: object) -> int:
    index = result.get("index") if isinstance(result, dict) else None
    return index if isinstance(index, int) else 1 << 30


def result_to_candidate(result: object, query_id: int, query: str, config: SearchConfig) -> tuple[dict | None, str]:
    """(candidate, "") for a usable search result, else (None, why it was skipped).

    The candidate's text is the description (English preferred, HTML stripped; text_field
    'description'), else the object name ('title'). The licence is not judged here.
    """
    if not isinstance(result, dict):
        return None, "malformed_result"
    infos = result.get("imageinfo")
    info = infos[0] if isinstance(infos, list) and infos and isinstance(infos[0], dict) else None
    if info is None:
        return None, "no_imageinfo"
    url = info.get("thumburl") if config.thumb_width > 0 and info.get("thumburl") else info.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        return None, "no_url"
    mime = info.get("mime")
    if isinstance(mime, str) and mime and mime not in BITMAP_MIME_TYPES:
        return None, "not_bitmap"
    extmetadata = info.get("extmetadata") if isinstance(info.get("extmetadata"), dict) else {}
    description_entry = extmetadata.get("ImageDescription")
    description_value = description_entry.get("value") if isinstance(description_entry, dict) else None
    raw_text, lang = pick_language(description_value)
    text, text_field = html_to_text(raw_text), "description"
    if not text:
        text, lang, text_field = _metadata_text(extmetadata, "ObjectName"), "", "title"
    if not text:
        return None, "no_text"
    file_page = info.get("descriptionurl") if isinstance(info.get("descriptionurl"), str) else ""
    candidate = new_candidate(url, text, page_url=file_page, source=f"{config.source_label}:{query}", text_field=text_field)
    candidate["lang"] = lang
    candidate["matches"] = [query_id]
    candidate["meta"] = {
        # LicenseShortName is the human-readable name; License the template code
        # (cc-by-sa-2.0-fr), a fallback when a description page has no short name.
        "license": _metadata_text(extmetadata, "LicenseShortName") or _metadata_text(extmetadata, "License"),
        "license_url": _metadata_text(extmetadata, "LicenseUrl"),
        "artist": _metadata_text(extmetadata, "Artist"),
        "credit": _metadata_text(extmetadata, "Credit"),
        "attribution": _metadata_text(extmetadata, "Attribution"),
        "attribution_required": _metadata_text(extmetadata, "AttributionRequired"),
        "usage_terms": _metadata_text(extmetadata, "UsageTerms"),
        "file_page": file_page,
        "title": str(result.get("title", "")),
        "description_lang": lang,
        "mime": mime if isinstance(mime, str) else "",
        "width": str(info.get("width", "")),
        "height": str(info.get("height", "")),
    }
    return candidate, ""


# --------------------------------------------------------------------------------------------
# Paging one query
# --------------------------------------------------------------------------------------------


@dataclass
class QueryProgress:
    """Running totals of one query; `record()` is its counted outcome."""

    query_id: int
    query: str
    pages: int = 0  # successful responses
    results: int = 0  # search results seen
    candidates: int = 0  # emitted (licence accepted)
    drops: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)
    events: Counter = field(default_factory=Counter)  # HTTP-level: requests, retries, http_429 ...
    outcome: str = ""
    reason: str = ""
    last_continuation: dict | None = None

    def record(self) -> dict:
        return {
            "query_id": self.query_id,
            "query": self.query,
            "outcome": self.outcome,
            "reason": self.reason,
            "pages": self.pages,
            "requests": self.events.get("requests", 0),
            "results": self.results,
            "candidates": self.candidates,
            "drops": dict(self.drops),
            "skipped": dict(self.skipped),
            "events": dict(self.events),
        }


def max_pages(config: SearchConfig) -> int:
    """Upper bound on responses per query: the result window in pages, plus room for prop
    continuations (iicontinue) that repeat a page. Guards against a server that never ends."""
    return 2 * math.ceil(config.max_results / config.page_size) + 4


def next_request(progress: QueryProgress, page: SearchPage, config: SearchConfig) -> dict | None:
    """Params of the next request for this query, or None after setting progress.outcome."""
    if progress.candidates >= config.per_query_cap:
        progress.outcome = "capped"
        return None
    continuation = page.continuation
    if continuation is None:
        progress.outcome = "exhausted"
        return None
    offset = continuation.get("gsroffset")
    if isinstance(offset, int) and offset >= config.max_results:
        progress.outcome = "results"
        return None
    if continuation == progress.last_continuation:
        progress.outcome, progress.reason = "failed", "continuation_loop"
        return None
    if progress.pages >= max_pages(config):
        progress.outcome, progress.reason = "failed", "too_many_pages"
        return None
    progress.last_continuation = continuation
    limit = config.page_size
    if set(continuation) <= {"gsroffset", "continue"}:
        # Only the generator continues: ask for no more results than the cap still needs at
        # the share of results accepted so far (licence drops and skips included), and none
        # past the window.
        remaining = config.per_query_cap - progress.candidates
        accepted_share = progress.candidates / progress.results if progress.results else 1.0
        limit = min(limit, math.ceil(remaining / max(accepted_share, 0.1)))
        if isinstance(offset, int):
            limit = min(limit, config.max_results - offset)
    return search_params(progress.query, config, continuation, limit=max(1, limit))


async def search_query(client: MediaWikiClient, query_id: int, query: str, config: SearchConfig) -> QueryResult:
    """Page through one query. Returns (candidates, outcome record); never raises."""
    progress = QueryProgress(query_id, query)
    candidates: list[dict] = []
    seen_titles: set[str] = set()
    try:
        params: dict | None = search_params(query, config)
        while params is not None:
            response = await client.get(params)
            progress.events.update(response.events)
            if not response.ok:
                progress.outcome, progress.reason = "failed", response.failure
                break
            progress.pages += 1
            page = parse_search_response(response.data)
            if page.warnings:
                progress.events["api_warnings"] += page.warnings
            for result in page.results:
                progress.results += 1
                title = result.get("title") if isinstance(result, dict) else None
                if isinstance(title, str) and title in seen_titles:
                    # Results shift between pages while the index changes; count, don't repeat.
                    progress.skipped["duplicate_result"] += 1
                    continue
                candidate, skip = result_to_candidate(result, query_id, query, config)
                if candidate is None:
                    progress.skipped[skip] += 1
                    continue
                if isinstance(title, str):
                    seen_titles.add(title)
                if not license_accepted(candidate["meta"]["license"], config.licenses):
                    progress.drops[LICENSE_DROP] += 1
                    continue
                candidates.append(candidate)
                progress.candidates += 1
            params = next_request(progress, page, config)
    except Exception as exc:  # a bug or an input nobody foresaw: fail this query, not the job
        log.exception("search for query %d (%r) failed", query_id, query)
        progress.outcome, progress.reason = "failed", f"error_{type(exc).__name__}"
    return candidates, progress.record()


async def search_queries(client: MediaWikiClient, queries: list[tuple[int, str]], config: SearchConfig) -> list[QueryResult]:
    """Search a batch of (id, query) concurrently; the client's limits keep it polite."""
    return list(await asyncio.gather(*(search_query(client, qid, text, config) for qid, text in queries)))


async def search_all(queries: list[tuple[int, str]], config: SearchConfig,
                     bucket: TokenBucket | None = None) -> list[QueryResult]:
    """Open a client, search every query, close it: the whole source without Beam."""
    async with MediaWikiClient(config.endpoint, config.client_settings(), bucket=bucket) as client:
        return await search_queries(client, queries, config)


# --------------------------------------------------------------------------------------------
# Counting
# --------------------------------------------------------------------------------------------


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


def merge_candidates(candidates: list[dict]) -> dict:
    """One candidate for a file found by several queries: matches is the union, the rest comes
    from the candidate of the lowest query id (deterministic whatever the order)."""
    ordered = sorted(candidates, key=lambda c: (min(c["matches"]) if c["matches"] else -1, c["source"]))
    merged = dict(ordered[0])
    merged["matches"] = sorted({qid for c in candidates for qid in c["matches"]})
    merged["meta"] = dict(ordered[0]["meta"])
    return merged


# --------------------------------------------------------------------------------------------
# The query list
# --------------------------------------------------------------------------------------------


def load_queries(spec: str) -> list[str]:
    """Query texts by id (id = index). Uses wit.queries.querylist when present (parquet, txt,
    'default'); until then a .txt file with one query per line is read here."""
    try:
        from wit.queries.querylist import load_query_list  # issue 3
    except ImportError:
        load_query_list = None
    if load_query_list is not None:
        return list(load_query_list(spec).texts)
    path = Path(spec)
    if spec == "default" or path.suffix != ".txt":
        raise WitError(f"--queries {spec!r}: this build reads only .txt query lists (one query per line)")
    if not path.is_file():
        raise WitError(f"--queries: no such file: {spec}")
    texts = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    return [text for text in texts if text]


# --------------------------------------------------------------------------------------------
# One client per worker process
# --------------------------------------------------------------------------------------------


class SearchWorker:
    """Per worker process: one event loop on a daemon thread, one aiohttp client, one token
    bucket, shared by every DoFn instance (thread) of the process through Beam's Shared, so
    the request-rate and per-host limits hold for the whole process."""

    def __init__(self, config: SearchConfig) -> None:
        self.config = config
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="wit-search-loop", daemon=True)
        self._thread.start()
        self._client = MediaWikiClient(config.endpoint, config.client_settings())
        asyncio.run_coroutine_threadsafe(self._client.__aenter__(), self._loop).result()
        atexit.register(self.close)

    def search(self, queries: list[tuple[int, str]]) -> list[QueryResult]:
        future = asyncio.run_coroutine_threadsafe(search_queries(self._client, queries, self.config), self._loop)
        return future.result()

    def close(self) -> None:
        if self._loop.is_running():
            asyncio.run_coroutine_threadsafe(self._client.__aexit__(None, None, None), self._loop).result(timeout=10)
            self._loop.call_soon_threadsafe(self._loop.stop)
