"""The options of the fetch + shards stage: one dataclass (the image options nested in it as
their own), one argparse group.

Kept free of heavy imports (aiohttp, Pillow, Beam) so `wit --help` and `wit fetch --help` stay
instant; `wit build` adds the same flags with `add_fetch_arguments(parser)` and builds the
config with `FetchConfig.from_args(args)`.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass, field, fields

from wit.core.storage import require_filesystem

RESOLVERS = ("async", "threaded")
RESIZE_MODES = ("center_crop", "keep_ratio", "border", "no")
ENCODE_FORMATS = {"jpg": "JPEG", "webp": "WEBP"}
# The resampling filter of the resize (pipeline/images.py maps the names to Pillow's filters).
# bicubic is CLIP's own preprocessing filter; area (box averaging, what img2dataset's OpenCV
# INTER_AREA does when shrinking) and bilinear cost less CPU for softer images: figures in
# docs/fetch-and-shards.md ("Resampling filters").
RESAMPLE_FILTERS = ("bicubic", "bilinear", "lanczos", "area")
# Pillow's default bomb limit (~89 MP).
DEFAULT_MAX_PIXELS = 89_478_485
USER_AGENT_TOKEN = "wit"
# img2dataset's default set: an image whose response carries any of these is not used.
DEFAULT_DISALLOWED_DIRECTIVES = ("noai", "noimageai", "noindex", "noimageindex")


@dataclass(frozen=True)
class ImageOptions:
    """How a downloaded image is checked, resized and stored (pipeline/images.py applies them)."""

    image_size: int = 256
    resize_mode: str = "center_crop"
    encode_format: str = "jpg"
    encode_quality: int = 95
    min_image_size: int = 0  # smaller side of the original, in pixels; 0 = no minimum
    max_aspect_ratio: float = 0.0  # longer side / shorter side of the original; 0 = no maximum
    max_image_pixels: int = DEFAULT_MAX_PIXELS
    resize_only_if_bigger: bool = False  # never upscale
    resample: str = "bicubic"

    def __post_init__(self) -> None:
        if self.resize_mode not in RESIZE_MODES:
            raise ValueError(f"resize mode must be one of {', '.join(RESIZE_MODES)}, not {self.resize_mode!r}")
        if self.encode_format not in ENCODE_FORMATS:
            raise ValueError(f"encode format must be one of {', '.join(ENCODE_FORMATS)}, not {self.encode_format!r}")
        if self.resample not in RESAMPLE_FILTERS:
            raise ValueError(f"resample filter must be one of {', '.join(RESAMPLE_FILTERS)}, not {self.resample!r}")
        if self.image_size < 1 and self.resize_mode != "no":
            raise ValueError("image size must be at least 1")
        if not 1 <= self.encode_quality <= 100:
            raise ValueError("encode quality must be within 1..100")

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ImageOptions:
        return cls(**{f.name: getattr(args, f.name) for f in fields(cls) if hasattr(args, f.name)})


@dataclass(frozen=True)
class FetchConfig:
    """Every option of the fetch + shards stage. `wit build` and `wit fetch` share it."""

    out: str = ""
    shard_size: int = 10_000
    images: ImageOptions = field(default_factory=ImageOptions)
    dedup_images: bool = False
    # network
    concurrency: int = 256
    per_host_limit: int = 32
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    timeout: float = 10.0
    retries: int = 2
    retry_backoff: float = 1.0  # the first retry of a URL waits this, each later one twice as long
    max_retry_after: float = 10.0  # a Retry-After up to this is waited; a longer one ends the URL
    url_deadline: float = 60.0  # from a URL's first request to its final status, retries included
    max_redirects: int = 5
    max_size: int = 20_000_000
    contact: str = ""
    disallowed_directives: tuple[str, ...] = DEFAULT_DISALLOWED_DIRECTIVES
    respect_robots: bool = False
    allow_private_addresses: bool = False
    allowed_networks: tuple[str, ...] = ()
    archives: tuple[str, ...] = ()
    # name resolution (pipeline/resolver.py)
    resolver: str = "async"  # "async": c-ares through aiodns; "threaded": getaddrinfo in threads
    dns_servers: tuple[str, ...] = ()  # empty: the system's, from /etc/resolv.conf
    # Lookups in flight at once. A request waits for at most one, so this binds only above
    # --concurrency 256; a resolver answering in 200 ms then still gives ~1,300 lookups/s, and
    # one that slows down under load is not flooded (benchmarks/bench_resolver.py).
    dns_concurrency: int = 256
    dns_timeout: float = 3.0  # for a whole lookup, c-ares' own retries included
    dns_cache_ttl: float = 300.0
    dns_negative_ttl: float = 300.0  # a name that does not exist is not looked up again within it
    # runs
    retry_failed: bool = False
    decode_threads: int = 0  # 0 = one per CPU
    # Downloaded bodies may wait this many MiB for the decoder before downloads pause: enough
    # that the requests, their retries and the network's slow tail go out while the decoders
    # still have work, instead of after (docs/fetch-and-shards.md: 512 against 256 MiB gave
    # 13-19% more images/s on the benchmarks' lists for ~200-300 MB more peak memory).
    decode_buffer_mib: int = 512
    query_list_hash: str = ""

    def __post_init__(self) -> None:
        for name in ("shard_size", "concurrency", "decode_buffer_mib", "dns_concurrency"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name.replace('_', '-')} must be at least 1")
        for name in ("timeout", "connect_timeout", "read_timeout", "dns_timeout", "url_deadline"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name.replace('_', '-')} must be positive")
        for name in ("retries", "retry_backoff", "max_retry_after", "dns_cache_ttl", "dns_negative_ttl"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name.replace('_', '-')} must not be negative")
        if self.resolver not in RESOLVERS:
            raise ValueError(f"resolver must be one of {', '.join(RESOLVERS)}, not {self.resolver!r}")

    def address_policy(self):
        from wit.pipeline.safety import AddressPolicy

        return AddressPolicy(allow_private=self.allow_private_addresses, allowed_networks=self.allowed_networks)

    @property
    def user_agent(self) -> str:
        from wit import __version__

        contact = f"; contact: {self.contact}" if self.contact else ""
        return f"{USER_AGENT_TOKEN}/{__version__} (image fetcher for CLIP-style datasets{contact})"

    def to_json(self) -> dict:
        """The settings recorded in manifest.json, flat (the image options in their place among
        the others): the layout manifests have always had."""
        flat = {}
        for name, value in asdict(self).items():
            flat.update(value if name == "images" else {name: value})
        return {k: list(v) if isinstance(v, tuple) else v for k, v in flat.items()}

    @classmethod
    def from_args(cls, args: argparse.Namespace, **overrides) -> FetchConfig:
        values = {f.name: getattr(args, f.name) for f in fields(cls) if hasattr(args, f.name)}
        values["images"] = ImageOptions.from_args(args)
        for name in ("disallowed_directives", "allowed_networks", "archives", "dns_servers"):
            if name in values:
                values[name] = tuple(values[name] or ())
        values.update(overrides)
        # Fail now, naming the extra to install, rather than on a worker mid-run.
        for path in (values.get("out"), *values.get("archives", ())):
            if path:
                require_filesystem(path)
        return cls(**values)


def add_fetch_arguments(parser: argparse.ArgumentParser) -> None:
    """The fetch and shard flags, shared by `wit build` and `wit fetch` (no --out: the caller owns it)."""
    d = FetchConfig()
    shards = parser.add_argument_group("shards")
    shards.add_argument("--shard-size", type=int, default=d.shard_size, help="samples per shard (default %(default)s)")
    shards.add_argument("--retry-failed", action="store_true", help="in complete shards, re-attempt only the failed samples")
    shards.add_argument("--dedup-images", action="store_true", help="drop exact duplicate images (same sha256) dataset-wide; the smallest key stays")

    images = parser.add_argument_group("images")
    images.add_argument("--image-size", type=int, default=d.images.image_size, help="target size in pixels (default %(default)s)")
    images.add_argument("--resize-mode", choices=RESIZE_MODES, default=d.images.resize_mode, help="center_crop: square crop; keep_ratio: shorter side = size; border: pad to a square; no: keep (default %(default)s)")
    images.add_argument("--encode-format", choices=sorted(ENCODE_FORMATS), default=d.images.encode_format, help="stored format (default %(default)s)")
    images.add_argument("--encode-quality", type=int, default=d.images.encode_quality, help="JPEG/WEBP quality 1-100 (default %(default)s)")
    images.add_argument("--min-image-size", type=int, default=d.images.min_image_size, help="drop images whose shorter side is smaller (default: no minimum)")
    images.add_argument("--max-aspect-ratio", type=float, default=d.images.max_aspect_ratio, help="drop images whose longer/shorter side ratio is larger (default: no maximum)")
    images.add_argument("--max-image-pixels", type=int, default=d.images.max_image_pixels, help="refuse larger images as decompression bombs (default %(default)s)")
    images.add_argument("--resize-only-if-bigger", action="store_true", help="never upscale")
    images.add_argument("--resample", choices=RESAMPLE_FILTERS, default=d.images.resample,
                        help="resize filter: bicubic (CLIP's), lanczos (sharper, dearer), bilinear, or area (box "
                             "averaging when shrinking, as img2dataset's INTER_AREA: ~1.2x less CPU per image, "
                             "softer) (default %(default)s)")

    net = parser.add_argument_group("fetching")
    net.add_argument("--concurrency", type=int, default=d.concurrency, help="requests in flight per worker; a local run shares them out between its fetch processes (default %(default)s)")
    net.add_argument("--per-host-limit", type=int, default=d.per_host_limit, help="requests in flight per host and worker (shared out locally, as --concurrency), 0 = no limit (default %(default)s)")
    net.add_argument("--timeout", type=float, default=d.timeout, help="hard deadline in seconds for a whole attempt: DNS, every redirect hop and the whole body, however slow (default %(default)s)")
    net.add_argument("--connect-timeout", type=float, default=d.connect_timeout, help="seconds to connect (default %(default)s)")
    net.add_argument("--read-timeout", type=float, default=d.read_timeout, help="seconds between two reads (default %(default)s)")
    net.add_argument("--retries", type=int, default=d.retries, help="retries of transient failures (connection errors and resets, truncated bodies, HTTP 429/5xx, DNS SERVFAIL and timeouts), each in a later pass after a backoff (default %(default)s)")
    net.add_argument("--retry-backoff", type=float, default=d.retry_backoff, metavar="S", help="seconds before a URL's first retry, doubled for each further one (default %(default)s)")
    net.add_argument("--max-retry-after", type=float, default=d.max_retry_after, metavar="S", help="a Retry-After up to this many seconds is waited, for the URL and its host; a longer one ends the URL as failed (default %(default)s)")
    net.add_argument("--url-deadline", type=float, default=d.url_deadline, metavar="S", help="hard limit from a URL's first request to its final status, retries and waits included (default %(default)s)")
    net.add_argument("--max-redirects", type=int, default=d.max_redirects, help="(default %(default)s)")
    net.add_argument("--max-size", type=int, default=d.max_size, help="largest response body in bytes (default %(default)s)")
    net.add_argument("--contact", default=d.contact, help="contact (e-mail or URL) put in the User-Agent")
    net.add_argument("--disallowed-directives", type=_comma_list, default=d.disallowed_directives, metavar="LIST", help=f"X-Robots-Tag directives that opt an image out; '' honours none (default {','.join(d.disallowed_directives)})")
    net.add_argument("--respect-robots", action="store_true", help="also obey robots.txt (cached per host)")
    net.add_argument("--allow-private-addresses", action="store_true", help="allow private, loopback and link-local addresses (internal crawls only)")
    net.add_argument("--allow-address", dest="allowed_networks", action="append", default=[], metavar="CIDR", help="allow this network only, e.g. 127.0.0.1/32 (repeatable)")
    net.add_argument("--archive", dest="archives", nargs="+", default=[], metavar="WARC", help="answer image URLs from these WARC files instead of the web")
    dns = parser.add_argument_group("name resolution")
    dns.add_argument("--resolver", choices=RESOLVERS, default=d.resolver, help="async: c-ares (aiodns), many lookups in flight; threaded: the system's getaddrinfo in a few threads (default %(default)s)")
    dns.add_argument("--dns-server", dest="dns_servers", action="append", default=[], metavar="HOST[:PORT]", help="name server to ask (repeatable; default: those of /etc/resolv.conf; async resolver only)")
    dns.add_argument("--dns-concurrency", type=int, default=d.dns_concurrency, help="lookups in flight per worker (shared out locally, as --concurrency; default %(default)s)")
    dns.add_argument("--dns-timeout", type=float, default=d.dns_timeout, metavar="S", help="seconds for a whole lookup; a timed-out name is retried later like other transient failures (default %(default)s)")
    dns.add_argument("--dns-cache-ttl", type=float, default=d.dns_cache_ttl, metavar="S", help="seconds an answer is reused (default %(default)s)")
    dns.add_argument("--dns-negative-ttl", type=float, default=d.dns_negative_ttl, metavar="S", help="seconds a name that does not exist (NXDOMAIN, no address) is not looked up again (default %(default)s)")
    net.add_argument("--decode-threads", type=int, default=d.decode_threads, help="image decode threads per worker, 0 = one per CPU")
    net.add_argument("--decode-buffer-mib", type=int, default=d.decode_buffer_mib, metavar="MIB", help="downloaded bytes that may wait for the decoder before downloads pause (default %(default)s)")


def _comma_list(text: str) -> tuple[str, ...]:
    return tuple(part.strip().lower() for part in text.split(",") if part.strip())
