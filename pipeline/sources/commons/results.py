"""Search results into candidates: one result -> a candidate (or why it was skipped), and the
candidates of one file found by several queries -> one candidate."""

from __future__ import annotations

from wit.core.records import new_candidate
from wit.pipeline.sources.commons.config import SearchConfig
from wit.pipeline.sources.commons.html_text import html_to_text, metadata_text, pick_language

# Raster formats an image trainer can decode; PDFs, DjVu, video, audio and SVG are skipped.
BITMAP_MIME_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/tiff", "image/bmp"})


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
        text, lang, text_field = metadata_text(extmetadata, "ObjectName"), "", "title"
    if not text:
        return None, "no_text"
    file_page = info.get("descriptionurl") if isinstance(info.get("descriptionurl"), str) else ""
    candidate = new_candidate(url, text, page_url=file_page, source=f"{config.source_label}:{query}", text_field=text_field)
    candidate["lang"] = lang
    candidate["matches"] = [query_id]
    candidate["meta"] = {
        # LicenseShortName is the human-readable name; License the template code
        # (cc-by-sa-2.0-fr), a fallback when a description page has no short name.
        "license": metadata_text(extmetadata, "LicenseShortName") or metadata_text(extmetadata, "License"),
        "license_url": metadata_text(extmetadata, "LicenseUrl"),
        "artist": metadata_text(extmetadata, "Artist"),
        "credit": metadata_text(extmetadata, "Credit"),
        "attribution": metadata_text(extmetadata, "Attribution"),
        "attribution_required": metadata_text(extmetadata, "AttributionRequired"),
        "usage_terms": metadata_text(extmetadata, "UsageTerms"),
        "file_page": file_page,
        "title": str(result.get("title", "")),
        "description_lang": lang,
        "mime": mime if isinstance(mime, str) else "",
        "width": str(info.get("width", "")),
        "height": str(info.get("height", "")),
    }
    return candidate, ""


def merge_candidates(candidates: list[dict]) -> dict:
    """One candidate for a file found by several queries: matches is the union, the rest comes
    from the candidate of the lowest query id (deterministic whatever the order)."""
    ordered = sorted(candidates, key=lambda c: (min(c["matches"]) if c["matches"] else -1, c["source"]))
    merged = dict(ordered[0])
    merged["matches"] = sorted({qid for c in candidates for qid in c["matches"]})
    merged["meta"] = dict(ordered[0]["meta"])
    return merged
