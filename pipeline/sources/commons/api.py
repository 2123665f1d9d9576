"""One search request and its response: the params of a generator=search page in the File
namespace, and the results and continuation a response holds."""

from __future__ import annotations

from dataclasses import dataclass, field

from wit.pipeline.sources.commons.config import SearchConfig

FILE_NAMESPACE = 6
# The extmetadata fields we read; asking only for these keeps responses small.
EXTMETADATA_FIELDS = (
    "ImageDescription", "ObjectName", "LicenseShortName", "License", "LicenseUrl", "Artist", "Credit",
    "Attribution", "AttributionRequired", "UsageTerms",
)


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
