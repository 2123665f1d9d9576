"""The filter chain: every caption and URL check in one place, cheapest first.

`FilterChain(config).apply(candidate)` normalises candidate["text"] in place, recomputes the uid
from the normalised text, records lang/lang_score when language identification runs, and
returns None (keep) or exactly one drop reason from wit.core.records.TEXT_DROP_REASONS. It never
raises: a malformed record is "drop_error", so a bad row cannot kill a Beam bundle and is still
counted.

Order (cheapest first, and the order in which a caption that fails several checks is counted):
url -> length (after normalisation) -> file name -> boilerplate -> camera -> language.
File names come before boilerplate so that 'photo 4 of 7' counts as a file name, not as the
generic word 'photo'; language comes last because it costs more than all the rest together.
"""

from __future__ import annotations

import logging

from wit.filters import boilerplate, camera, caption_normalise, filename, language, prechecks, urls
from wit.filters.config import LONG_CAPTION_POLICIES, FilterConfig, add_filter_arguments, parse_deny_domains
from wit.core.records import make_uid

__all__ = ["CHECKS", "FilterChain", "FilterConfig", "add_filter_arguments", "parse_deny_domains", "LONG_CAPTION_POLICIES"]

log = logging.getLogger(__name__)

CHECKS = ("url", "length", "filename", "boilerplate", "camera", "language")
# `lang` of a caption judged not English whose detector's best label was English (ISO 639-2).
UNDETERMINED = "und"


def _is_file_name(text: str) -> bool:
    # A camera's name joined by '_' ('<maker>_<line>_<code>') has a file name's shape, but label
    # rule 6 decides camera from structure: the camera rule takes it. Asked here, not in
    # filename.py, which the camera module imports.
    return filename.is_file_name(text) and not camera.is_joined_model_name(text)


# The caption rules after normalisation, in chain order: check name -> (predicate, drop reason).
TEXT_RULES = {
    "filename": (_is_file_name, "drop_filename"),
    "boilerplate": (boilerplate.is_boilerplate, "drop_boilerplate"),
    "camera": (camera.is_camera_metadata, "drop_camera"),
}


class FilterChain:
    """Applies the configured checks to candidate dicts; build one per worker process."""

    def __init__(self, config: FilterConfig | None = None, use_prechecks: bool = True):
        """use_prechecks=False runs every rule in Python, as an install without a C compiler does
        (same verdicts; for comparing the two)."""
        self.config = config or FilterConfig()
        self.config.validate()
        self.deny_domains = urls.normalise_domains(self.config.deny_domains)
        self.identify = None if self.config.lid_backend == "none" else language.get_identifier(self.config.lid_backend)
        # The enabled rules as (predicate, reason, bit that proves it keeps), built once: apply()
        # runs per caption.
        self._rules = tuple(
            (*TEXT_RULES[name], prechecks.RULE_BITS[name]) for name, _ in self._text_checks() if name != "length"
        )
        self.use_prechecks = use_prechecks
        self._attach_scanner()

    def __getstate__(self) -> dict:
        # The C scanner does not pickle; a Beam worker that unpickles the chain builds its own.
        state = dict(self.__dict__)
        state["_scanner"] = state["_text_mask"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._attach_scanner()

    def _attach_scanner(self) -> None:
        # None without the C extension (or with use_prechecks=False): then every rule runs, with
        # the same verdicts, slower.
        self._scanner = prechecks.build_scanner() if self.use_prechecks else None
        self._text_mask = self._scanner.text_mask if self._scanner is not None else _no_proofs

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
            prepared, _ = self._prepare(candidate)
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
        prepared, proven_keeps = self._prepare(candidate)
        if prepared == "drop_error":
            return prepared
        url_reason = self._url_reason(candidate)
        if url_reason:
            return url_reason
        if prepared:
            return prepared
        text = candidate["text"]
        for is_dropped, reason, proven_keep in self._rules:
            if not proven_keeps & proven_keep and is_dropped(text):
                return reason
        if self.identify is not None and not self._language_keeps(candidate):
            return "drop_nonenglish"
        return None

    def _prepare(self, candidate) -> tuple[str | None, int]:
        """Normalise text in place and recompute the uid.

        Returns 'drop_error' / 'drop_length' or None, and the scanner's proven-keep bits
        (filters/prechecks.py) for the final text: 0 when there is no scanner.
        """
        if not isinstance(candidate, dict):
            return "drop_error", 0
        text = candidate.get("text")
        url = candidate.get("url")
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        if not isinstance(text, str) or not isinstance(url, str):
            return "drop_error", 0
        max_chars = self.config.max_chars
        scan = self._text_mask
        proven_keeps = scan(text, max_chars)
        truncated = False
        if not proven_keeps & prechecks.NORMALISED:
            text, truncated = caption_normalise.normalise_text(text, max_chars)
            proven_keeps = scan(text, max_chars)
        if self.config.strip_camera_suffix and text and not proven_keeps & prechecks.SUFFIX_KEPT:
            stripped = camera.strip_camera_suffix(text)
            if stripped != text:
                text = stripped
                proven_keeps = scan(text, max_chars)
        candidate["text"] = text
        candidate["uid"] = make_uid(url, text)
        if truncated and self.config.long_captions == "drop":
            return "drop_length", proven_keeps
        if len(text) < max(1, self.config.min_chars):
            return "drop_length", proven_keeps
        return None, proven_keeps

    def _url_reason(self, candidate: dict) -> str | None:
        if not self.config.check_url:
            return None
        meta = candidate.get("meta")
        meta = meta if isinstance(meta, dict) else {}
        url = candidate.get("url")
        width, height = meta.get("width"), meta.get("height")
        if (
            self._scanner is not None
            and not self.deny_domains
            and width is None
            and height is None
            and self._scanner.url_is_plain(url, self.config.max_url_chars)
        ):
            return None  # the scanner proved url_problem(url) is None
        problem = urls.url_problem(
            url,
            max_chars=self.config.max_url_chars,
            deny_domains=self.deny_domains,
            width=width,
            height=height,
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
        return TEXT_RULES[name][0](text)

    def _guess_language(self, text: str):
        # A kept file name's extension ('.jpg') is no language evidence (issue 19).
        text = filename.without_extension(text)
        guess = self.identify(text)
        if guess.english < self.config.english_threshold and camera.names_gear_with_a_code(text):
            # Camera and lens names are names: fastText reads 'Zeiss Distagon T* 2,8/21' as
            # German. A caption naming gear with a code that reads as another language is read
            # again without the gear names, and the more English reading counts (a listing
            # written in another language stays so without them).
            again = self.identify(camera.without_gear_names(text))
            if again.english > guess.english:
                guess = again
        threshold = self.config.english_threshold
        if guess.english < threshold:
            # Names, slug separators and tag glue are no language evidence: read such a caption
            # again without its names, as a slug's words (with and without its names), as a tag
            # list's words, or by the English half of a translation, and the most English reading
            # counts (issue 19; docs/filters.md, "Names and slugs read again").
            for reading in (
                language.reading_of_slug(text),
                language.reading_of_slug_without_names(text),
                language.reading_without_names(text),
                language.reading_of_tag_list(text),
                language.reading_of_translation(text),
            ):
                if reading is not None:
                    again = self.identify(reading)
                    if again.english > guess.english:
                        guess = again
        if guess.english < threshold and language.reads_as_english_product_title(text):
            # An English shop title whose names and codes outweigh its few plain words
            # ('... M404dn monochrome laser printer'): its product noun decides (rule 5).
            return language.LanguageGuess("en", threshold, threshold)
        return guess

    def _language_keeps(self, candidate: dict) -> bool:
        guess = self._guess_language(candidate["text"])
        english = guess.english >= self.config.english_threshold
        if guess.lang == "en" and not english:
            # The detector's best label is English but the evidence says otherwise (a Zulu
            # sentence fastText calls English at 0.3, unknown words against it): record no
            # language rather than 'en' on a caption judged not English.
            candidate["lang"], candidate["lang_score"] = UNDETERMINED, 0.0
        else:
            candidate["lang"], candidate["lang_score"] = guess.lang, round(float(guess.score), 4)
        return english or not self.config.english_only

    def english_estimate(self, text: str) -> float | None:
        """The language backend's estimate that `text` is English (what --english-threshold is
        compared with), or None without language identification. For `wit filters check`."""
        return None if self.identify is None else float(self._guess_language(text).english)


def _no_proofs(text: str, max_chars: int) -> int:
    return 0
