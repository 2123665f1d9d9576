"""Filter flags: the FilterConfig dataclass and the argparse flags that fill it.

Kept apart from the chain so that `wit --help` can add these flags without importing ftfy or
any language model (only stdlib modules are imported here). Re-exported by wit.filters.chain.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, fields

from wit.filters import language, urls

LONG_CAPTION_POLICIES = ("truncate", "drop")


@dataclass(frozen=True)
class FilterConfig:
    """Every filter flag with its default. `wit build` and `wit filters check` share these."""

    check_url: bool = True
    max_url_chars: int = urls.DEFAULT_MAX_URL_CHARS
    deny_domains: tuple[str, ...] = ()
    min_chars: int = 2
    max_chars: int = 1000
    long_captions: str = "truncate"  # or "drop": see docs/filters.md
    drop_filename: bool = True
    drop_boilerplate: bool = True
    drop_camera: bool = True
    strip_camera_suffix: bool = True
    english_only: bool = True
    lid_backend: str = language.DEFAULT_BACKEND  # or "none" to skip identification
    english_threshold: float = 0.4

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "FilterConfig":
        values = {}
        for f in fields(cls):
            if hasattr(args, f.name):
                values[f.name] = getattr(args, f.name)
        if "deny_domains" in values:
            values["deny_domains"] = tuple(parse_deny_domains(values["deny_domains"]))
        config = cls(**values)
        config.validate()
        return config

    def validate(self) -> None:
        from wit.core.errors import WitError

        if self.long_captions not in LONG_CAPTION_POLICIES:
            raise WitError(f"--long-captions must be one of {LONG_CAPTION_POLICIES}, not {self.long_captions!r}")
        if self.lid_backend != "none" and self.lid_backend not in language.BACKENDS:
            raise WitError(f"--lid must be one of {', '.join(language.BACKENDS)} or none, not {self.lid_backend!r}")
        if not 0.0 <= self.english_threshold <= 1.0:
            raise WitError(f"--english-threshold must be in [0, 1], not {self.english_threshold}")
        if self.min_chars < 0 or self.max_chars < 0:
            raise WitError("--min-chars and --max-chars must be >= 0")
        if self.max_chars and self.min_chars > self.max_chars:
            raise WitError(f"--min-chars {self.min_chars} is above --max-chars {self.max_chars}")


def parse_deny_domains(values) -> list[str]:
    """Domains from comma-separated values or from files (one domain a line, '#' comments)."""
    if not values:
        return []
    if isinstance(values, str):
        values = [values]
    domains: list[str] = []
    for value in values:
        if value and os.path.isfile(value):
            with open(value, encoding="utf-8") as handle:
                domains += [line.split("#", 1)[0].strip() for line in handle]
        else:
            domains += str(value).split(",")
    return sorted(urls.normalise_domains(domains))


def add_filter_arguments(parser: argparse.ArgumentParser) -> None:
    """Add every filter flag to a (sub)command; FilterConfig.from_args reads them back."""
    d = FilterConfig()
    group = parser.add_argument_group("caption and URL filters (docs/filters.md)")
    group.add_argument("--no-url-filter", dest="check_url", action="store_false", help="keep every http(s) URL")
    group.add_argument("--max-url-chars", type=int, default=d.max_url_chars, help="drop longer image URLs (default %(default)s)")
    group.add_argument(
        "--deny-domains",
        action="append",
        default=[],
        metavar="DOMAINS|FILE",
        help="comma-separated domains (subdomains included) or a file of them, one a line; repeatable",
    )
    group.add_argument("--min-chars", type=int, default=d.min_chars, help="drop shorter captions (default %(default)s)")
    group.add_argument(
        "--max-chars", type=int, default=d.max_chars, help="longer captions are truncated or dropped (default %(default)s; 0: no limit)"
    )
    group.add_argument(
        "--long-captions", choices=LONG_CAPTION_POLICIES, default=d.long_captions, help="what to do above --max-chars (default %(default)s)"
    )
    group.add_argument("--keep-filenames", dest="drop_filename", action="store_false", help="do not drop file-name captions")
    group.add_argument("--keep-boilerplate", dest="drop_boilerplate", action="store_false", help="do not drop boilerplate alt text")
    group.add_argument("--keep-camera", dest="drop_camera", action="store_false", help="do not drop camera/EXIF captions")
    group.add_argument(
        "--no-strip-camera-suffix",
        dest="strip_camera_suffix",
        action="store_false",
        help="keep trailing camera/EXIF/file-name segments ('Old pier at dusk, Nikon Z5, 1/60s f/8')",
    )
    group.add_argument(
        "--keep-non-english", dest="english_only", action="store_false", help="identify the language but keep every language"
    )
    group.add_argument(
        "--lid",
        dest="lid_backend",
        choices=language.BACKENDS + ("none",),
        default=d.lid_backend,
        help="language identifier (default %(default)s; langdetect is the CLIP card's; none skips it)",
    )
    group.add_argument(
        "--english-threshold", type=float, default=d.english_threshold, help="minimum English score to keep (default %(default)s)"
    )
