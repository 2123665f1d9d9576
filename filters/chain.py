"""The filter chain: every caption and URL check in one place, cheapest first.

`FilterChain(config).apply(candidate)` normalises candidate["text"] in place, recomputes the uid
from the normalised text, records lang/lang_score when language identification runs, and
returns None (keep) or exactly one drop reason from wit.records.TEXT_DROP_REASONS. It never
raises: a malformed record is "drop_error", so a bad row cannot kill a Beam bundle and is still
counted.

Order (cheapest first, and the order in which a caption that fails several checks is counted):
url -> length (after normalisation) -> file name -> boilerplate -> camera -> language.
File names come before boilerplate so that 'photo 2 of 9' counts as a file name, not as the
generic word 'photo'; language comes last because it costs more than all the rest together.
"""

from __future__ import annotations

import argparse
import logging
import os
from dataclasses import dataclass, fields

from filters import boilerplate, camera, filename, language, normalise, urls
from wit.records import make_uid

log = logging.getLogger(__name__)

CHECKS = ("url", "length", "filename", "boilerplate", "camera", "language")
LONG_CAPTION_POLICIES = ("truncate", "drop")


@dataclass
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
    english_threshold: float = 0.3

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
        from wit.errors import WitError

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
        help="keep trailing camera/EXIF/file-name segments ('Lake at dawn, Nikon Z7, 1/125s f/11')",
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


class FilterChain:
    """Applies the configured checks to candidate dicts; build one per worker process."""

    def __init__(self, config: FilterConfig | None = None):
        self.config = config or FilterConfig()
        self.config.validate()
        self.deny_domains = urls.normalise_domains(self.config.deny_domains)
        self.identify = None if self.config.lid_backend == "none" else language.get_identifier(self.config.lid_backend)

    # -- the public contract ------------------------------------------------------------

    def apply(self, candidate: dict) -> str | None:
        """None to keep, or one drop reason. Mutates text, uid, lang, lang_score."""
        try:
            return self._apply(candidate)
        except Exception:  # noqa: BLE001 - a bad record must be counted, never kill the bundle
            log.debug("filter chain failed on a candidate", exc_info=True)
            return "drop_error"

    def verdicts(self, candidate: dict) -> dict[str, str]:
        """Every check's own verdict ('keep' or its reason), without stopping at the first drop.

        For `wit filters check`: users see which checks a caption trips, not only the first.
        Normalises the candidate like apply() does.
        """
        out = {name: "keep" for name in CHECKS}
        try:
            prepared = self._prepare(candidate)
            if prepared == "drop_error":
                return {name: "drop_error" for name in CHECKS}
            if prepared == "drop_length":
                out["length"] = prepared
            out["url"] = self._url_reason(candidate) or "keep"
            for name, reason in self._text_checks():
                if name != "length" and self._text_check(name, candidate["text"]):
                    out[name] = reason
            if self.identify is not None and not self._language_keeps(candidate):
                out["language"] = "drop_nonenglish"
        except Exception:  # noqa: BLE001 - same promise as apply()
            log.debug("filter chain failed on a candidate", exc_info=True)
            return {name: "drop_error" for name in CHECKS}
        return out

    # -- steps ----------------------------------------------------------------------------

    def _apply(self, candidate: dict) -> str | None:
        prepared = self._prepare(candidate)
        if prepared == "drop_error":
            return prepared
        url_reason = self._url_reason(candidate)
        if url_reason:
            return url_reason
        if prepared:
            return prepared
        text = candidate["text"]
        for name, reason in self._text_checks():
            if name != "length" and self._text_check(name, text):
                return reason
        if self.identify is not None and not self._language_keeps(candidate):
            return "drop_nonenglish"
        return None

    def _prepare(self, candidate) -> str | None:
        """Normalise text in place and recompute the uid; 'drop_error' / 'drop_length' or None."""
        if not isinstance(candidate, dict):
            return "drop_error"
        text = candidate.get("text")
        url = candidate.get("url")
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        if not isinstance(text, str) or not isinstance(url, str):
            return "drop_error"
        text, truncated = normalise.normalise_text(text, self.config.max_chars)
        if self.config.strip_camera_suffix and text:
            text = camera.strip_camera_suffix(text)
        candidate["text"] = text
        candidate["uid"] = make_uid(url, text)
        if truncated and self.config.long_captions == "drop":
            return "drop_length"
        if len(text) < max(1, self.config.min_chars):
            return "drop_length"
        return None

    def _url_reason(self, candidate: dict) -> str | None:
        if not self.config.check_url:
            return None
        meta = candidate.get("meta")
        meta = meta if isinstance(meta, dict) else {}
        problem = urls.url_problem(
            candidate.get("url"),
            max_chars=self.config.max_url_chars,
            deny_domains=self.deny_domains,
            width=meta.get("width"),
            height=meta.get("height"),
        )
        return "drop_url" if problem else None

    def _text_checks(self):
        c = self.config
        yield "length", "drop_length"
        if c.drop_filename:
            yield "filename", "drop_filename"
        if c.drop_boilerplate:
            yield "boilerplate", "drop_boilerplate"
        if c.drop_camera:
            yield "camera", "drop_camera"

    @staticmethod
    def _text_check(name: str, text: str) -> bool:
        if name == "filename":
            return filename.is_file_name(text)
        if name == "boilerplate":
            return boilerplate.is_boilerplate(text)
        if name == "camera":
            return camera.is_camera_metadata(text)
        raise ValueError(name)

    def _language_keeps(self, candidate: dict) -> bool:
        guess = self.identify(candidate["text"])
        candidate["lang"] = guess.lang
        candidate["lang_score"] = round(float(guess.score), 4)
        if not self.config.english_only:
            return True
        return guess.english >= self.config.english_threshold
