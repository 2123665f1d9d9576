"""What every source yields: candidates made from page images, or a RecordError for a record
it could not read."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from wit.core.records import new_candidate


@dataclass(frozen=True, slots=True)
class RecordError:
    """A record a source could not read. The reader counts it as one input and one drop_error.

    Sources yield it instead of raising, so one bad record (or a truncated file's tail) costs
    that record, never the file or the job.
    """

    where: str
    message: str


def candidates_from_images(images: Iterable, page_url: str, source: str) -> Iterator[dict]:
    """One candidate per non-empty alt and per non-empty title that differs from the alt.

    `images` holds objects with `url`, `alt` and `title` (ImageRef). An image with neither is
    not a candidate: there is no caption to pair it with.
    """
    for image in images:
        if image.alt:
            yield new_candidate(image.url, image.alt, page_url=page_url, source=source, text_field="alt")
        if image.title and image.title != image.alt:
            yield new_candidate(image.url, image.title, page_url=page_url, source=source, text_field="title")
