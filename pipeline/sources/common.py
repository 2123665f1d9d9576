"""The old name of pipeline/sources/candidates.py, kept only while pipeline/url_list.py and
pipeline/sources/urllist.py (rewritten in another change) still import it; delete it when they
import from candidates."""

from wit.pipeline.sources.candidates import RecordError  # noqa: F401
