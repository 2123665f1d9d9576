"""Licences of Commons files: one spelling per licence, and whether `--licenses` accepts it."""

from __future__ import annotations

import re

from wit.core.errors import WitError
from wit.pipeline.sources.commons.html_text import html_to_text

# The text-side drop reason of a result whose licence `--licenses` does not accept.
LICENSE_DROP = "drop_license"

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
