"""Titles by pageviews over many hourly files, in bounded memory: spills, partitions, resume."""

import gzip
import logging
import random
from collections import Counter

import pytest

from wit.core.errors import WitError
from wit.queries import pageviews

# Rows of one hour in the real file's shape and order (sorted by domain code, then title).
OTHER_PROJECTS = ["aa", "commons.m", "de", "de.m", "en.b", "en.d", "en.voy", "fr", "ja.m", "zh"]
NAMESPACED = ["Talk:Cat", "User_talk:Example", "Special:Search", "File:Cat_poster_1.jpg", "Category:Cats",
              "Wikipedia:About", "Template:Infobox_person", "Portal:Science", "Draft:New_page", "Help:Contents"]
KEPT_WITH_COLON = "Star_Wars:_Episode_IV_%E2%80%93_A_New_Hope"


def hourly_lines(rng: random.Random, titles: list[str], truth: Counter) -> list[str]:
    """One hour: English rows of a random sample of titles, other projects' rows, junk; adds to truth."""
    rows = []
    for domain in ("en", "en.m"):
        for title in rng.sample(titles, k=len(titles) // 2):
            views = 1 + int(rng.paretovariate(1.2))  # long-tailed, as real views are
            rows.append((domain, title, views))
            cleaned = pageviews.clean_title(title)
            if cleaned is not None:
                truth[cleaned] += views
        for title in NAMESPACED:
            rows.append((domain, title, 500))
        rows.append((domain, "Main_Page", 100000))
    for domain in OTHER_PROJECTS:
        for title in rng.sample(titles, k=10):
            rows.append((domain, title, 9999))
    rows.sort()
    return [f"{domain} {title} {views} 0\n" for domain, title, views in rows]


@pytest.fixture
def hourly_files(tmp_path):
    rng = random.Random(20)
    titles = [f"Title_{i}" for i in range(400)] + ["Mercury_(planet)", "Mercury", KEPT_WITH_COLON, "Caf%C3%A9", "Café"]
    truth: Counter = Counter()
    paths = []
    for hour in range(7):
        path = tmp_path / "dumps" / f"pageviews-20240101-{hour:02d}0000.gz"
        path.parent.mkdir(exist_ok=True)
        lines = hourly_lines(rng, titles, truth)
        if hour == 3:
            lines.insert(5, "en Broken_line\n")  # the real dumps carry a few
        path.write_bytes(gzip.compress("".join(lines).encode()))
        paths.append(str(path))
    return paths, truth


def test_titles_are_cleaned_and_namespaces_skipped():
    assert pageviews.clean_title("Mercury_(planet)") == "Mercury"
    assert pageviews.clean_title(KEPT_WITH_COLON) == "Star Wars: Episode IV \u2013 A New Hope"
    for title in NAMESPACED + ["Main_Page", "-", "Book_talk:X", "Education_Program:Y", "WP:NPOV"]:
        assert pageviews.clean_title(title) is None, title
    assert pageviews.clean_title("Gadget_(machine)") == "Gadget"  # a namespace name with no colon is a title


@pytest.mark.parametrize("workers, max_titles, partitions", [(1, 50, 7), (2, 1_000_000, 3), (1, 1, 1)])
def test_spilled_partitioned_sums_equal_the_exact_sums(tmp_path, hourly_files, workers, max_titles, partitions, caplog):
    paths, truth = hourly_files
    caplog.set_level(logging.INFO)
    kept = pageviews.aggregate_titles(paths, tmp_path / "work", min_pageviews=40, partitions=partitions,
                                      workers=workers, max_titles=max_titles, files_per_batch=3)
    expected = sorted(((title, views) for title, views in truth.items() if views >= 40), key=lambda item: (-item[1], item[0]))
    assert kept == expected
    titles = dict(kept)
    assert "Mercury" in titles and "Mercury (planet)" not in titles  # the two spellings merged
    assert titles["Café"] == truth["Café"] and "Caf%C3%A9" not in titles
    assert not any(title.split(":")[0] in {"Talk", "User talk", "Special", "File", "Category"} for title in titles)
    assert "Main Page" not in titles
    assert "7 files" in caplog.text and "1 malformed" in caplog.text
    # 7 files in batches of 3: three batch folders, each with its runs and stats.
    assert sorted(p.name for p in (tmp_path / "work").glob("batch-*")) == ["batch-000000", "batch-000001", "batch-000002"]
    if max_titles == 50:
        assert len(list((tmp_path / "work").glob("batch-000000/run-*.tsv"))) > 1  # it did spill


def test_an_interrupted_job_resumes_at_the_first_unfinished_batch(tmp_path, hourly_files, caplog):
    paths, truth = hourly_files
    good = open(paths[4], "rb").read()
    with open(paths[4], "wb") as broken:
        broken.write(good[: len(good) // 2])  # truncated mid-download
    work = tmp_path / "work"
    with pytest.raises(WitError, match=r"pageview file .*-040000\.gz: truncated"):
        pageviews.aggregate_titles(paths, work, min_pageviews=40, workers=1, files_per_batch=3)
    assert (work / "batch-000000").is_dir() and not (work / "batch-000001").is_dir()
    with open(paths[4], "wb") as fixed:
        fixed.write(good)
    caplog.set_level(logging.INFO)
    # Resumed with other workers and no batch size: the batches are those the work dir records.
    kept = pageviews.aggregate_titles(paths, work, min_pageviews=40, workers=2)
    assert "resuming, 1 of 3 batches already summed" in caplog.text
    assert dict(kept) == {title: views for title, views in truth.items() if views >= 40}
    # A lower threshold re-reads only the runs.
    assert len(pageviews.aggregate_titles(paths, work, min_pageviews=1, workers=1, files_per_batch=3)) == len(truth)


def test_a_work_dir_of_other_files_is_refused(tmp_path, hourly_files):
    paths, _ = hourly_files
    work = tmp_path / "work"
    pageviews.aggregate_titles(paths[:2], work, min_pageviews=1, workers=1)
    with pytest.raises(WitError, match="holds runs of other files or settings"):
        pageviews.aggregate_titles(paths, work, min_pageviews=1, workers=1)


def test_wrong_files_are_named(tmp_path):
    not_gzip = tmp_path / "pageviews-20240101-000000.gz"
    not_gzip.write_text("en Cat 3 0\n")
    with pytest.raises(WitError, match=r"pageviews-20240101-000000\.gz: truncated or not gzip"):
        pageviews.aggregate_titles([str(not_gzip)], tmp_path / "work", min_pageviews=1, workers=1)
    with pytest.raises(WitError, match="no such file"):
        pageviews.aggregate_titles([str(tmp_path / "absent.gz")], tmp_path / "work2", min_pageviews=1, workers=1)
    with pytest.raises(WitError, match="no pageview files"):
        pageviews.aggregate_titles([], tmp_path / "work3", min_pageviews=1)


def test_default_threshold_scales_metaclips_70_views_per_25_days():
    assert pageviews.default_min_pageviews(25 * 24) == 70
    assert pageviews.default_min_pageviews(30 * 24) == 84
    assert pageviews.default_min_pageviews(24) == 3
    assert pageviews.default_min_pageviews(1) == 1


def test_title_entries_default_threshold_and_temporary_work_dir(hourly_files, caplog):
    paths, truth = hourly_files
    caplog.set_level(logging.INFO)
    entries = pageviews.title_entries(paths, None, workers=1)
    assert "keeping titles with >= 1 views" in caplog.text  # 7 hours of MetaCLIP's rate rounds up to 1
    assert {entry.text: entry.pageviews for entry in entries} == dict(truth)
    assert [entry.pageviews for entry in entries] == sorted((entry.pageviews for entry in entries), reverse=True)


def test_globs_are_expanded_and_an_empty_glob_is_an_error(hourly_files, tmp_path):
    paths, _ = hourly_files
    pattern = str(tmp_path / "dumps" / "pageviews-20240101-0[0-2]*.gz")
    assert pageviews.expand_paths([pattern, paths[0]]) == paths[:3]
    with pytest.raises(WitError, match="matches no file"):
        pageviews.expand_paths([str(tmp_path / "dumps" / "pageviews-2019*.gz")])
