"""Every path of a dataset folder (OUT/), named in one place.

    OUT/candidates/part-*.parquet      text side after the cap (img2dataset reads it)
    OUT/counts/text_counts.json        {"input", "kept", "drops"} of the text side
    OUT/counts/queries.parquet         per query: selected, matches, matched before the cap
    OUT/counts/search_queries.parquet  search builds: one outcome per query
    OUT/counts/search_summary.json     search builds: totals
    OUT/shards/00000.tar               {key}.jpg {key}.txt {key}.json
    OUT/shards/00000.parquet           every attempted sample, with status and error
    OUT/shards/00000_stats.json        counts by status
    OUT/shards/sizes.json              samples per tar, where open_clip looks for it
    OUT/sizes.json                     the same, as the dataset's index
    OUT/manifest.json                  shards, counts, sha256, the run's settings, versions
    OUT/report/                        `wit report`'s page and plots

The root is a local path or a URL (gs://, s3://, memory:// ...); every path here is joined with
'/', so the same names serve the launcher, Beam's workers and fsspec.
"""

from __future__ import annotations

from dataclasses import dataclass

CANDIDATES_DIR = "candidates"
COUNTS_DIR = "counts"
SHARDS_DIR = "shards"
REPORT_DIR = "report"
SIZES = "sizes.json"
MANIFEST = "manifest.json"
TEXT_COUNTS = "text_counts.json"
QUERY_COUNTS = "queries.parquet"
SEARCH_QUERIES = "search_queries"  # Beam appends the .parquet suffix
SEARCH_SUMMARY = "search_summary.json"
STATS_SUFFIX = "_stats.json"  # img2dataset's name for a shard's counts, which wit shares


def join(root: str, *parts: str) -> str:
    """`root/part/...`, for local paths and URLs alike (no doubled slash after the root)."""
    return "/".join([root.rstrip("/"), *parts]) if parts else root


def tar_name(shard: str) -> str:
    return f"{shard}.tar"


def parquet_name(shard: str) -> str:
    return f"{shard}.parquet"


def stats_name(shard: str) -> str:
    return f"{shard}{STATS_SUFFIX}"


@dataclass(frozen=True)
class DatasetLayout:
    """The paths of one dataset folder."""

    root: str

    def join(self, *parts: str) -> str:
        return join(self.root, *parts)

    @property
    def candidates_dir(self) -> str:
        return self.join(CANDIDATES_DIR)

    @property
    def candidates_prefix(self) -> str:
        """Prefix of the candidate files Beam's parquet sink writes (part-00000-of-00001.parquet)."""
        return self.join(CANDIDATES_DIR, "part")

    @property
    def counts_dir(self) -> str:
        return self.join(COUNTS_DIR)

    @property
    def text_counts(self) -> str:
        return self.join(COUNTS_DIR, TEXT_COUNTS)

    @property
    def query_counts(self) -> str:
        return self.join(COUNTS_DIR, QUERY_COUNTS)

    @property
    def search_queries_prefix(self) -> str:
        return self.join(COUNTS_DIR, SEARCH_QUERIES)

    @property
    def search_summary(self) -> str:
        return self.join(COUNTS_DIR, SEARCH_SUMMARY)

    @property
    def shards_dir(self) -> str:
        return self.join(SHARDS_DIR)

    @property
    def sizes(self) -> str:
        return self.join(SIZES)

    @property
    def shards_sizes(self) -> str:
        return self.join(SHARDS_DIR, SIZES)

    @property
    def manifest(self) -> str:
        return self.join(MANIFEST)

    @property
    def report_dir(self) -> str:
        return self.join(REPORT_DIR)
