"""`wit report`: the page and plots from a build folder, 'not available' for missing parts, and
what a user sees when the page is rendered in a real browser."""

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from wit.app import cli, report
from wit.core.records import CANDIDATE_FIELDS, TEXT_DROP_REASONS

CAP = 40
PLOTS = ("drops.png", "queries.png", "languages.png", "image_sizes.png", "shards.png", "training.png")


def make_build(out: Path) -> dict:
    """A small OUT folder in the formats the build stages write (see docs/architecture.md)."""
    rng = np.random.default_rng(7)
    (out / "counts").mkdir(parents=True)
    drops = {reason: int(n) for reason, n in zip(TEXT_DROP_REASONS, rng.integers(1, 300, len(TEXT_DROP_REASONS)))}
    kept = 500
    text_counts = {"input": kept + sum(drops.values()), "kept": kept, "drops": drops}
    (out / "counts" / "text_counts.json").write_text(json.dumps(text_counts))

    texts = [f"query{i}" for i in range(60)]
    # A head that hits the cap, a long tail, and queries that selected nothing.
    selected = [min(CAP, int(400 / (rank + 1) ** 1.2)) for rank in range(50)] + [0] * 10
    matches = [count + int(rng.integers(0, 30)) if count else 0 for count in selected]
    pq.write_table(pa.table({"id": list(range(60)), "text": texts, "selected": selected, "matches": matches}),
                   out / "counts" / "queries.parquet")

    (out / "candidates").mkdir()
    langs = ["en"] * 470 + ["fr"] * 20 + ["de"] * 10
    for part, rows in enumerate((langs[:300], langs[300:])):
        table = {name: [""] * len(rows) for name in CANDIDATE_FIELDS if name not in ("text", "lang_score", "matches", "selected_by", "meta")}
        table.update(caption=["a caption"] * len(rows), lang=rows, lang_score=[0.99] * len(rows),
                     matches=[[1]] * len(rows), selected_by=[[1]] * len(rows), meta=["{}"] * len(rows))
        pq.write_table(pa.table(table), out / "candidates" / f"part-{part:05d}.parquet")

    (out / "shards").mkdir()
    sizes = {}
    for shard in range(3):
        count = 150 + 10 * shard
        statuses = ["success"] * (count - 12) + ["failed_to_download"] * 12
        widths = rng.integers(64, 1200, count).tolist()
        heights = rng.integers(64, 900, count).tolist()
        ok = [status == "success" for status in statuses]
        pq.write_table(pa.table({
            "key": [f"{shard:05d}{i:04d}" for i in range(count)],
            "status": statuses,
            "width": [min(w, 256) if good else None for w, good in zip(widths, ok)],
            "height": [min(h, 256) if good else None for h, good in zip(heights, ok)],
            "original_width": [w if good else None for w, good in zip(widths, ok)],
            "original_height": [h if good else None for h, good in zip(heights, ok)],
        }), out / "shards" / f"{shard:05d}.parquet")
        sizes[f"{shard:05d}.tar"] = count - 12
    (out / "sizes.json").write_text(json.dumps(sizes))
    (out / "manifest.json").write_text(json.dumps({
        "wit_version": "0.1.0", "query_list_hash": "ab12cd34", "samples": sum(sizes.values()),
        "shards": [{"name": name, "samples": n, "sha256": "0" * 64} for name, n in sizes.items()],
        "config": {"image_size": 256},
        "build": {"inputs": {"files": 2, "formats": {"wat": 2}, "bytes": 100, "first": ["a.wat.gz", "b.wat.gz"]},
                  "queries": "queries.parquet", "query_list_hash": "ab12cd34", "per_query_cap": CAP, "cap_seed": 3,
                  "filters": {"english_only": True}, "fetch": {"image_size": 256}, "search": None},
    }))
    return {"text_counts": text_counts, "selected": selected, "sizes": sizes}


def make_run(run: Path) -> None:
    run.mkdir()
    lines = [json.dumps({"step": step, "loss": 4.0 * 0.97 ** step, "lr": 1e-3 * min(1, step / 10), "logit_scale": 14.3 + step / 50})
             for step in range(0, 200, 5)]
    lines.insert(3, "not json")  # a torn line is skipped, not fatal
    lines.append(json.dumps({"step": 200, "zeroshot_top1": 0.41}))
    (run / "metrics.jsonl").write_text("\n".join(lines) + "\n")


@pytest.fixture
def build(tmp_path):
    out = tmp_path / "out"
    facts = make_build(out)
    make_run(tmp_path / "run")
    return out, tmp_path / "run", facts


def test_full_report_has_every_plot_and_the_figures(build, capsys):
    out, run, facts = build
    assert cli.main(["report", str(out), "--run", str(run)]) == 0
    assert str(out / "report" / "index.html") in capsys.readouterr().out
    page = (out / "report" / "index.html").read_text()
    for plot in PLOTS:
        with Image.open(out / "report" / plot) as image:
            assert image.format == "PNG" and image.width >= 600
        assert f'src="{plot}"' in page
    assert "not available" not in page
    assert f"{facts['text_counts']['input']:,}" in page
    assert "<td>input = kept + drops</td><td>yes</td>" in page
    at_cap = sum(1 for count in facts["selected"] if count >= CAP)
    assert f"{at_cap:,} (cap {CAP:,})" in page
    assert "<td>queries that selected a pair</td><td>50</td>" in page
    assert "<td>samples</td><td>" + f"{sum(facts['sizes'].values()):,}" in page
    assert f"fetched (success)</td><td>{sum(facts['sizes'].values()):,} of 480 attempted" in page
    assert "loss first / last</td><td>4.0000 / " in page
    assert "ab12cd34" in page
    assert "<td>per-query cap</td><td>40 (seed 3)</td>" in page and "<td>inputs</td><td>2 file(s) (wat 2)</td>" in page


def test_missing_parts_say_not_available(tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    page = report.write_report(out).read_text()
    assert page.count("not available") == 7
    assert "text_counts.json not found" in page
    assert "queries.parquet not found" in page
    assert "no candidates parquet files" in page
    assert "no run given" in page
    assert not list((out / "report").glob("*.png"))


def test_damaged_inputs_are_named_not_fatal(build):
    out, run, _ = build
    (out / "counts" / "text_counts.json").write_text("{not json")
    pq.write_table(pa.table({"status": ["success"], "width": [10]}), out / "shards" / "00001.parquet")
    page = report.write_report(out, run).read_text()
    assert "could not read" in page and "text_counts.json" in page
    assert "has no column height, original_width, original_height" in page
    assert (out / "report" / "queries.png").is_file()  # the intact parts still render
    assert (out / "report" / "training.png").is_file()


def test_cap_line_from_the_option_wins_and_a_breached_cap_is_flagged():
    rows = dict(report.query_summary(["a", "b", "c"], [12, 10, 3], [15, 10, 3], cap=10))
    assert rows["queries at the cap"] == "2 (cap 10)"
    assert rows["queries ABOVE the cap (a bug)"] == "1"
    assert rows["top queries (selected/matches)"].startswith("a (12/15), b (10/10)")


def test_the_cap_is_the_one_the_build_recorded():
    assert report.recorded_cap({"build": {"queries": "default", "per_query_cap": 250}}) == 250
    assert report.recorded_cap({"build": {"queries": None, "per_query_cap": 250}}) is None, "--queries none: no cap applied"
    assert report.recorded_cap({"config": {"per_query_cap": 250}}) is None, "only the build's own settings count"
    assert report.recorded_cap({"build": {"queries": "q.txt", "per_query_cap": True}}) is None
    assert report.recorded_cap([]) is None


def test_metric_columns_put_loss_first_and_skip_step():
    rows = [{"step": 1, "lr": 0.1, "loss": 2.0, "epoch": 0, "note": "x"}, {"step": 2, "acc": 0.5}]
    assert report.metric_columns(rows) == ["loss", "lr", "acc", "epoch"]


def test_out_must_exist(tmp_path, capsys):
    assert cli.main(["report", str(tmp_path / "nope")]) == 1
    assert "is not a folder" in capsys.readouterr().err


def find_chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.slow
def test_page_renders_in_headless_chromium(build, tmp_path):
    browser = find_chromium()
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run installs Debian's chromium package")
        pytest.skip("chromium is not installed (apt-get install -y chromium) so the page cannot be rendered here")
    out, run, _ = build
    page = report.write_report(out, run)
    screenshot = tmp_path / "page.png"
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        f"--user-data-dir={profile}", "--hide-scrollbars", "--window-size=1000,4200",
                        f"--screenshot={screenshot}", page.as_uri()],
                       check=True, capture_output=True, timeout=120)
    with Image.open(screenshot) as image:
        pixels = np.asarray(image.convert("RGB")).astype(int)
    assert pixels.shape[:2] == (4200, 1000)
    # The plots' bars and lines are matplotlib blue (#1f77b4): they are only on screen when the
    # browser loaded the PNGs (a broken image shows an icon and alt text, no blue).
    blue = (abs(pixels[..., 0] - 0x1F) < 30) & (abs(pixels[..., 1] - 0x77) < 30) & (abs(pixels[..., 2] - 0xB4) < 30)
    assert blue.sum() > 20_000
    # Blue appears down the page, not just in the first plot.
    rows_with_blue = np.flatnonzero(blue.any(axis=1))
    assert rows_with_blue.max() - rows_with_blue.min() > 1500


def test_image_sizes_are_sampled_evenly_across_shards_on_large_builds(tmp_path):
    paths = []
    for shard in range(4):
        count = 1000
        statuses = ["success" if i % 10 else "failed_to_download" for i in range(count)]
        widths = [shard * 10_000 + i for i in range(count)]  # encodes shard and row
        table = {"status": statuses, "width": widths, "height": widths, "original_width": widths,
                 "original_height": [None if i == 1 else w for i, w in enumerate(widths)]}
        paths.append(tmp_path / f"{shard:05d}.parquet")
        pq.write_table(pa.table(table), paths[-1])
    sizes, fetched = report.sample_image_sizes(paths, limit=300)
    assert fetched == 4 * 899  # failures and the row without an original height are left out
    assert 300 <= len(sizes["width"]) <= 600
    assert {value // 10_000 for value in sizes["width"]} == {0, 1, 2, 3}  # every shard is represented
    assert sizes["width"] == sorted(sizes["width"])
    assert sizes["width"][0] == 2  # row 0 failed, row 1 lacks a height: the first usable row leads


def test_languages_are_counted_per_file(tmp_path):
    for part, langs in enumerate((["en", "en", "fr"], ["en", None, "de"])):
        pq.write_table(pa.table({"lang": pa.array(langs, pa.string())}), tmp_path / f"part-{part}.parquet")
    counts = report.count_values(sorted(tmp_path.glob("*.parquet")), "lang", "candidates")
    assert counts == {"en": 3, "fr": 1, "de": 1, None: 1}
