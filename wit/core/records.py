"""The record contract shared by every stage (see docs/architecture.md).

A candidate is a plain dict so it pickles cheaply between Beam stages and maps one-to-one onto
a parquet row. Stages add fields; none removes one. Every candidate that leaves the pipeline
early leaves with exactly one reason from DROP_REASONS, so that
input count = kept + sum(drops) can be checked at the end of every run.
"""

from __future__ import annotations

import hashlib

# Text-side candidate fields, in the order they are written to candidates parquet.
CANDIDATE_FIELDS = (
    "uid",  # stable hash of normalised url + caption (make_uid)
    "url",  # absolute image URL
    "text",  # caption, normalised by filters/
    "page_url",  # page the image was found on ("" for URL lists)
    "source",  # file + record offset, or API + query
    "text_field",  # alt / title / caption / description
    "lang",  # detected language code ("" when not run)
    "lang_score",  # detector confidence in [0, 1]
    "matches",  # ids of every query found in the text
    "selected_by",  # ids of the queries whose cap selected this candidate
    "meta",  # source-specific extras (licence, artist, file page ...): str -> str, passed to the sample json
)

# Reasons a candidate is dropped on the text side, cheapest check first.
TEXT_DROP_REASONS = (
    "drop_url",  # scheme, data: URI, non-photo asset, over-long URL, denied domain
    "drop_length",  # empty after normalisation, or outside the length bounds
    "drop_boilerplate",  # 'image', 'logo', 'click here', digits only, bare URL ...
    "drop_filename",  # caption is only a file name or automatic identifier
    "drop_camera",  # caption is only camera / EXIF metadata
    "drop_nonenglish",  # language identification says not English
    "drop_duplicate",  # same uid seen before
    "drop_nomatch",  # no query occurs in the caption
    "drop_cap",  # every query it matched had already selected its cap
    "drop_license",  # search sources: the file's licence is not one of --licenses
    "drop_error",  # malformed input record (counted, never raised)
)


def make_uid(url: str, text: str) -> str:
    """Stable 16-hex-digit id of an (image url, caption) pair.

    Same inputs give the same id on every machine and Python version (no hash() salt), so
    dedup and the seeded cap are independent of runner and input order.
    """
    digest = hashlib.blake2b(digest_size=8)
    digest.update(url.strip().encode("utf-8", "surrogatepass"))
    digest.update(b"\x00")
    digest.update(text.strip().encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def new_candidate(url: str, text: str, *, page_url: str = "", source: str = "", text_field: str = "") -> dict:
    """A candidate dict with every contract field present."""
    return {
        "uid": make_uid(url, text),
        "url": url,
        "text": text,
        "page_url": page_url,
        "source": source,
        "text_field": text_field,
        "lang": "",
        "lang_score": 0.0,
        "matches": [],
        "selected_by": [],
        "meta": {},
    }
