"""The Commons search source's settings: SearchConfig and the `wit build --search` flags.

Argparse-level only (no Beam, no aiohttp at import time), so `wit --help` registers the flags
cheaply.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from urllib.parse import urlsplit

from wit.core.errors import WitError
from wit.pipeline import DEFAULT_PER_QUERY_CAP
from wit.pipeline.sources.commons.licenses import parse_license_list
from wit.pipeline.sources.mediawiki import ClientSettings, user_agent

DEFAULT_ENDPOINT = "https://commons.wikimedia.org/w/api.php"
# Hosts whose operators require a contact in the User-Agent (Wikimedia User-Agent policy).
WIKIMEDIA_HOST_SUFFIXES = (
    "wikimedia.org", "wikipedia.org", "wikidata.org", "wiktionary.org", "wikibooks.org",
    "wikiquote.org", "wikisource.org", "wikinews.org", "wikiversity.org", "wikivoyage.org",
    "mediawiki.org",
)


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
