"""Image URL filter (drop_url): URLs that cannot or should not be fetched as training photos.

Dropped: schemes other than http(s) (data:, javascript:, ftp:, relative leftovers), non-photo
assets by extension (.svg, .ico, ...), over-long URLs (usually tracking or inline payloads),
hosts on the --deny-domains list (a domain denies its subdomains too), and 1x1 tracking pixels
when width/height hints (from the <img> tag or the source's metadata) say so.
"""

from __future__ import annotations

from urllib.parse import urlsplit

NON_PHOTO_EXTENSIONS = frozenset(".svg .svgz .ico .cur .css .js .json .xml .html .htm .php .txt .pdf .mp4 .webm .swf".split())
DEFAULT_MAX_URL_CHARS = 2048
# Images this small in either direction are spacers, tracking pixels or bullets.
TRACKING_PIXEL_MAX = 2


def normalise_domains(domains) -> frozenset[str]:
    return frozenset(d.strip().lower().lstrip(".") for d in domains if d and d.strip())


def host_is_denied(host: str, deny_domains: frozenset[str]) -> bool:
    host = host.lower().rstrip(".")
    while host:
        if host in deny_domains:
            return True
        if "." not in host:
            return False
        host = host.split(".", 1)[1]
    return False


def _as_int(value) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(float(str(value).strip().removesuffix("px")))
    except (TypeError, ValueError):
        return None


def is_tracking_pixel(width=None, height=None) -> bool:
    """True when a width or height hint says the image is at most 2 px across."""
    for value in (width, height):
        size = _as_int(value)
        if size is not None and 0 <= size <= TRACKING_PIXEL_MAX:
            return True
    return False


def url_problem(
    url: str,
    *,
    max_chars: int = DEFAULT_MAX_URL_CHARS,
    deny_domains: frozenset[str] = frozenset(),
    width=None,
    height=None,
) -> str | None:
    """A short description of why the URL is dropped, or None when it is fine."""
    if not isinstance(url, str) or not url.strip():
        return "no url"
    url = url.strip()
    if max_chars > 0 and len(url) > max_chars:
        return "url too long"
    scheme, sep, _ = url.partition(":")
    if not sep or scheme.lower() not in ("http", "https"):
        return "scheme not http(s)"
    parts = _split_simple_url(url, len(scheme))
    if parts is None:
        try:
            split = urlsplit(url)
        except ValueError:  # e.g. an invalid IPv6 literal
            return "unparsable url"
        parts = split.hostname or "", split.path
    host, path = parts
    if not host:
        return "no host"
    path = path.lower()
    dot = path.rfind(".")
    if dot > path.rfind("/") and path[dot:] in NON_PHOTO_EXTENSIONS:
        return "non-photo asset"
    if deny_domains and host_is_denied(host, deny_domains):
        return "denied domain"
    if (width is not None or height is not None) and is_tracking_pixel(width, height):
        return "tracking pixel"
    return None


def _split_simple_url(url: str, scheme_length: int) -> tuple[str, str] | None:
    """(lowercased host, path) of a plain printable-ASCII 'scheme://host/path' URL, else None.

    urlsplit costs about as much as all the caption rules together; almost every crawled URL
    is this simple, and anything it is not (IPv6 literals, tabs or newlines that urlsplit drops,
    non-ASCII hosts) goes to urlsplit.
    """
    if not (url.isascii() and url.isprintable()) or url[scheme_length + 1 : scheme_length + 3] != "//":
        return None
    rest = url[scheme_length + 3 :]
    end = len(rest)
    for delimiter in "/?#":
        found = rest.find(delimiter, 0, end)
        if found >= 0:
            end = found
    netloc = rest[:end]
    if "[" in netloc or "]" in netloc:
        return None
    host = netloc.rpartition("@")[2].partition(":")[0].lower()
    path = rest[end:]
    for delimiter in "?#":
        found = path.find(delimiter)
        if found >= 0:
            path = path[:found]
    return host, path
