"""The dataset report: `wit report OUT [--run RUN_DIR]` writes OUT/report/index.html and PNG plots.

It reads what the build and the trainer leave behind and shows, one section each:

    per-query counts   OUT/counts/queries.parquet (id, text, selected, matches): selected counts
                       sorted, the head-and-tail curve on log axes, with the cap line
    drops by reason    OUT/counts/text_counts.json {"input", "kept", "drops": {reason: n}}, plus
                       fetch outcomes by status from the shard parquets
    languages          OUT/candidates/*.parquet, column lang
    image sizes        OUT/shards/*.parquet, columns status, width, height, original_*
    samples per shard  OUT/sizes.json (OUT/manifest.json for the build settings)
    training curves    RUN_DIR/metrics.jsonl, one JSON object per line with a step and figures

A part that is missing or unreadable becomes a 'not available' note with the reason, so the report
works on a half-finished build; the reasons are logged as warnings as well. Only the columns a plot
needs are read, so the report stays cheap on a large build.

OUT and RUN_DIR may be local folders or URLs (s3://, gs:// ...): everything is read through
fsspec, and a remote report is drawn in a local scratch folder, then uploaded, page last.
"""

from __future__ import annotations

import html
import json
import logging
import math
import posixpath
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from wit.core.errors import WitError
from wit.core.layout import DatasetLayout, join
from wit.core.storage import is_url, url_to_fs

log = logging.getLogger(__name__)

# Keys under which a build may record its per-query cap in manifest.json's config.


class NotAvailable(Exception):
    """A report input is missing or unreadable; the message says which and why."""


@dataclass
class Section:
    title: str
    plot: str | None = None  # PNG file name inside OUT/report/
    table: list[tuple[str, str]] = field(default_factory=list)  # (label, value) rows under the plot
    note: str = ""  # 'not available: ...' or a one-line explanation


# ---------------------------------------------------------------------------------------------
# Reading the inputs (each raises NotAvailable with a reason a user can act on)


def is_file(path: str | Path) -> bool:
    fs, root = url_to_fs(str(path))
    return fs.isfile(root)


def read_text(path: str | Path) -> str:
    fs, root = url_to_fs(str(path))
    with fs.open(root, "rb") as handle:
        return handle.read().decode("utf-8")


def parquet_files(folder: str) -> list[str]:
    """The *.parquet files directly in a folder, named as `folder/NAME` so messages show the user's path."""
    fs, root = url_to_fs(folder)
    if not fs.isdir(root):
        return []
    return sorted(join(folder, posixpath.basename(found)) for found in fs.glob(join(root, "*.parquet")))


def read_json(path: str | Path) -> object:
    if not is_file(path):
        raise NotAvailable(f"{path} not found")
    try:
        return json.loads(read_text(path))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NotAvailable(f"could not read {path}: {exc}") from exc


def _read_table(path: str | Path, columns: list[str]):
    """One parquet file's columns as a pyarrow Table; a missing column or damaged file is NotAvailable."""
    import pyarrow.parquet as pq

    # Through fsspec's filesystem, not pyarrow's own: the same credentials and endpoint as the rest.
    fs, root = url_to_fs(str(path))
    try:
        schema_names = pq.read_schema(root, filesystem=fs).names
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise NotAvailable(f"could not read {path}: {exc}") from exc
    missing = [name for name in columns if name not in schema_names]
    if missing:
        raise NotAvailable(f"{path} has no column {', '.join(missing)}")
    try:
        return pq.read_table(root, columns=columns, filesystem=fs)
    except Exception as exc:
        raise NotAvailable(f"could not read {path}: {exc}") from exc


def read_parquet_columns(paths: list[str | Path], columns: list[str], what: str) -> dict[str, list]:
    """The given columns of every file, concatenated: for small tables such as the query counts."""
    if not paths:
        raise NotAvailable(f"no {what} parquet files")
    merged: dict[str, list] = {name: [] for name in columns}
    for path in paths:
        table = _read_table(path, columns)
        for name in columns:
            merged[name].extend(table.column(name).to_pylist())
    return merged


def count_values(paths: list[str | Path], column: str, what: str) -> Counter:
    """How often each value of a column occurs over every file, counted one file at a time."""
    import pyarrow.compute as pc

    if not paths:
        raise NotAvailable(f"no {what} parquet files")
    counts: Counter = Counter()
    for path in paths:
        for entry in pc.value_counts(_read_table(path, [column]).column(column)).to_pylist():
            counts[entry["values"]] += entry["counts"]
    return counts


SIZE_COLUMNS = ("width", "height", "original_width", "original_height")


def sample_image_sizes(paths: list[str | Path], limit: int = 100_000) -> tuple[dict[str, list[int]], int]:
    """Sizes of successfully fetched images, at most about `limit` of them, and how many there were.

    Builds can hold hundreds of millions of samples, so every file is read on its own and the
    kept rows are thinned to every 2nd, 4th ... row whenever they pass twice the limit: a
    deterministic, evenly spread sample without a first counting pass.
    """
    import pyarrow.compute as pc

    if not paths:
        raise NotAvailable("no shard parquet files")
    kept: dict[str, list[int]] = {name: [] for name in SIZE_COLUMNS}
    stride, seen = 1, 0
    for path in paths:
        table = _read_table(path, ["status", *SIZE_COLUMNS])
        usable = pc.equal(table.column("status"), "success")
        for name in SIZE_COLUMNS:
            usable = pc.and_kleene(usable, pc.is_valid(table.column(name)))
        table = table.filter(usable)
        # Global row numbers seen, seen+1, ...: keep those on the current stride.
        offset = (-seen) % stride
        for name in SIZE_COLUMNS:
            kept[name].extend(int(value) for value in table.column(name).to_pylist()[offset::stride])
        seen += table.num_rows
        while len(kept["width"]) > 2 * limit:
            stride *= 2
            kept = {name: values[::2] for name, values in kept.items()}
    return kept, seen


def read_metrics(path: str | Path) -> list[dict]:
    """Rows of a metrics JSONL file; lines that are not JSON objects are skipped and counted."""
    if not is_file(path):
        raise NotAvailable(f"{path} not found")
    rows, bad = [], 0
    for line in read_text(path).splitlines():
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            bad += 1
            continue
        if isinstance(row, dict) and isinstance(row.get("step"), (int, float)):
            rows.append(row)
        else:
            bad += 1
    if bad:
        log.warning("%s: skipped %d line(s) that are not JSON objects with a step", path, bad)
    if not rows:
        raise NotAvailable(f"{path} has no rows with a step")
    return rows


def recorded_cap(manifest: object) -> int | None:
    """The per-query cap of the `wit build` that wrote manifest.json (its `build` settings), if any."""
    build = manifest.get("build") if isinstance(manifest, dict) else None
    cap = build.get("per_query_cap") if isinstance(build, dict) and build.get("queries") is not None else None
    return cap if isinstance(cap, int) and not isinstance(cap, bool) and cap > 0 else None


def settings_rows(build: dict) -> list[tuple[str, str]]:
    """The run's settings as the report shows them, from manifest.json's `build`."""
    inputs = build.get("inputs") or {}
    formats = ", ".join(f"{name} {n:,}" for name, n in (inputs.get("formats") or {}).items())
    rows = [("inputs", f"{inputs.get('files', 0):,} file(s) ({formats})" if formats else f"{inputs.get('files', 0):,} file(s)")]
    if build.get("search"):
        rows.append(("source", f"search {build['search'].get('endpoint', '')}"))
    if build.get("queries") is None:
        rows.append(("queries", "none (no matching, no cap)"))
    else:
        rows += [("queries", str(build["queries"])), ("query list hash", str(build.get("query_list_hash", ""))),
                 ("per-query cap", f"{build['per_query_cap']:,} (seed {build.get('cap_seed', 0)})")]
    for group in ("filters", "fetch"):
        if isinstance(build.get(group), dict):
            rows.append((f"{group} settings", json.dumps(build[group], sort_keys=True)))
    return rows


# ---------------------------------------------------------------------------------------------
# Summaries (plain functions over plain data)


def query_summary(texts: list[str], selected: list[int], matches: list[int], cap: int | None) -> list[tuple[str, str]]:
    hit = sum(1 for count in selected if count > 0)
    rows = [("queries", f"{len(texts):,}"), ("queries that selected a pair", f"{hit:,}"),
            ("pairs selected (sum over queries)", f"{sum(selected):,}")]
    if cap:
        at_cap = sum(1 for count in selected if count >= cap)
        rows.append(("queries at the cap", f"{at_cap:,} (cap {cap:,})"))
        over = [count for count in selected if count > cap]
        if over:
            rows.append(("queries ABOVE the cap (a bug)", f"{len(over):,}"))
    order = sorted(range(len(texts)), key=lambda i: (-selected[i], texts[i]))
    head = ", ".join(f"{texts[i]} ({selected[i]:,}/{matches[i]:,})" for i in order[:10])
    rows.append(("top queries (selected/matches)", head))
    return rows


def size_summary(widths: list[int], heights: list[int]) -> list[tuple[str, str]]:
    if not widths:
        return []
    sides = sorted(max(w, h) for w, h in zip(widths, heights))
    median = sides[len(sides) // 2]
    return [("images", f"{len(sides):,}"), ("longest side: min / median / max", f"{sides[0]} / {median} / {sides[-1]} px")]


def metric_columns(rows: list[dict]) -> list[str]:
    """Numeric figures in the metrics rows besides step, loss first."""
    names = Counter(key for row in rows for key, value in row.items()
                    if key != "step" and isinstance(value, (int, float)) and not isinstance(value, bool))
    preferred = [name for name in ("loss", "lr", "logit_scale") if name in names]
    return preferred + sorted(name for name in names if name not in preferred)


# ---------------------------------------------------------------------------------------------
# Plots


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # no display; must precede the pyplot import
    import matplotlib.pyplot as plt

    return plt


def plot_query_counts(texts: list[str], selected: list[int], matches: list[int], cap: int | None, path: Path) -> None:
    plt = _pyplot()
    order = sorted(range(len(texts)), key=lambda i: -selected[i])
    ranked_selected = [selected[i] for i in order if selected[i] > 0]
    ranked_matches = [matches[i] for i in order if selected[i] > 0]
    fig, ax = plt.subplots(figsize=(8, 4.2), dpi=100)
    ranks = range(1, len(ranked_selected) + 1)
    ax.plot(ranks, ranked_matches, ".", color="#bbbbbb", markersize=4, label="matches among kept pairs")
    ax.plot(ranks, ranked_selected, "-", color="#1f77b4", linewidth=2, label="selected by the query")
    if cap:
        ax.axhline(cap, color="#d62728", linestyle="--", linewidth=1.2, label=f"per-query cap ({cap:,})")
    ax.set_xscale("log")
    ax.set_yscale("log")
    _plain_log_ticks(ax)
    ax.set_xlabel("query rank (by selected count)")
    ax.set_ylabel("pairs")
    zero = len(texts) - len(ranked_selected)
    ax.set_title(f"Pairs per query, head to tail ({len(ranked_selected):,} queries hit, {zero:,} selected nothing)")
    if len(ranked_selected) <= 40:  # few enough to name the head
        for rank, index in enumerate(order[:min(8, len(ranked_selected))], start=1):
            ax.annotate(texts[index], (rank, selected[index]), textcoords="offset points", xytext=(4, 4), fontsize=7)
    ax.legend(loc="lower left", fontsize=8)
    ax.grid(True, which="both", alpha=0.25)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _plain_log_ticks(ax) -> None:
    """Log axes labelled 1, 2, 5, 10, 20 ... instead of powers of ten."""
    from matplotlib import ticker

    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        axis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:,.0f}" if value >= 1 else f"{value:g}"))
        axis.set_minor_formatter(ticker.NullFormatter())


def plot_bars(labels: list[str], values: list[int], title: str, xlabel: str, path: Path,
              colors: dict[str, str] | None = None) -> None:
    """Horizontal bars, largest first as given; `colors` overrides the default blue per label."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, max(2.2, 0.32 * len(labels) + 1.2)), dpi=100)
    colors = [(colors or {}).get(label, "#1f77b4") for label in labels]
    positions = range(len(labels))
    ax.barh(positions, values, color=colors)
    ax.set_yticks(list(positions), labels)
    ax.invert_yaxis()
    top = max(values) if values else 1
    for position, value in zip(positions, values):
        ax.text(value + top * 0.01, position, f"{value:,}", va="center", fontsize=8)
    ax.set_xlim(0, top * 1.15 if top else 1)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_image_sizes(original: tuple[list[int], list[int]], stored: tuple[list[int], list[int]], path: Path) -> None:
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.8), dpi=100)
    left.scatter(original[0], original[1], s=6, alpha=0.4, color="#1f77b4")
    left.set_xlabel("original width (px)")
    left.set_ylabel("original height (px)")
    left.set_title("Original sizes")
    sides = [max(w, h) for w, h in zip(*stored)]
    bins = sorted(set(sides))
    right.hist(sides, bins=min(40, max(1, len(bins))), color="#ff7f0e")
    right.set_xlabel("longest side as stored (px)")
    right.set_ylabel("images")
    right.set_title("Stored sizes")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_training(rows: list[dict], names: list[str], path: Path) -> None:
    plt = _pyplot()
    columns = min(3, len(names))
    lines = math.ceil(len(names) / columns)
    fig, axes = plt.subplots(lines, columns, figsize=(3.3 * columns, 2.7 * lines), dpi=100, squeeze=False)
    for ax, name in zip(axes.ravel(), names):
        points = [(row["step"], row[name]) for row in rows if isinstance(row.get(name), (int, float))]
        ax.plot([p[0] for p in points], [p[1] for p in points], "-o" if len(points) < 20 else "-", markersize=3)
        ax.set_title(name)
        ax.set_xlabel("step")
        ax.grid(True, alpha=0.25)
    for ax in axes.ravel()[len(names):]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


# ---------------------------------------------------------------------------------------------
# Sections


def _not_available(title: str, exc: NotAvailable) -> Section:
    log.warning("%s not available: %s", title.lower(), exc)
    return Section(title, note=f"not available: {exc}")


def section_queries(out: str, report: Path, cap: int | None) -> Section:
    title = "Per-query counts"
    path = DatasetLayout(out).query_counts
    try:
        if not is_file(path):
            raise NotAvailable(f"{path} not found")
        columns = read_parquet_columns([path], ["text", "selected", "matches"], "counts/queries")
    except NotAvailable as exc:
        return _not_available(title, exc)
    texts, selected, matches = columns["text"], [int(v or 0) for v in columns["selected"]], [int(v or 0) for v in columns["matches"]]
    if not any(selected):
        return Section(title, table=query_summary(texts, selected, matches, cap), note="no query selected any pair")
    plot_query_counts(texts, selected, matches, cap, report / "queries.png")
    note = "" if cap else "the cap is not recorded in manifest.json; pass --per-query-cap to draw it"
    return Section(title, "queries.png", query_summary(texts, selected, matches, cap), note)


def section_drops(out: str, report: Path) -> Section:
    title = "Drops by reason"
    try:
        counts_path = DatasetLayout(out).text_counts
        counts = read_json(counts_path)
        if not isinstance(counts, dict) or not isinstance(counts.get("drops"), dict):
            raise NotAvailable(f"{counts_path} has no drops object")
    except NotAvailable as exc:
        return _not_available(title, exc)
    drops = {str(reason): int(n) for reason, n in counts["drops"].items()}
    kept = int(counts.get("kept", 0))
    entered = int(counts.get("input", kept + sum(drops.values())))
    # Fetch outcomes are counted per sample in the shard parquets.
    fetch = Counter()
    shard_parquets = parquet_files(DatasetLayout(out).shards_dir)
    if shard_parquets:
        try:
            fetch.update({f"fetch_{status}": n for status, n in count_values(shard_parquets, "status", "shard").items()})
        except NotAvailable as exc:
            log.warning("fetch outcomes not available: %s", exc)
    ordered = sorted(drops.items(), key=lambda item: -item[1])
    labels = ["kept (text side)"] + [reason for reason, _ in ordered] + [status for status in sorted(fetch)]
    values = [kept] + [n for _, n in ordered] + [fetch[status] for status in sorted(fetch)]
    # Green for what survives, blue for text-side drops, orange for fetch failures.
    colors = {"kept (text side)": "#2ca02c", "fetch_success": "#2ca02c"}
    colors.update({status: "#ff7f0e" for status in fetch if status != "fetch_success"})
    plot_bars(labels, values, f"What happened to {entered:,} candidates", "candidates", report / "drops.png", colors)
    balance = kept + sum(drops.values())
    rows = [("candidates in", f"{entered:,}"), ("kept after the text side", f"{kept:,}"), ("dropped", f"{sum(drops.values()):,}"),
            ("input = kept + drops", "yes" if balance == entered else f"NO: {kept:,} + {sum(drops.values()):,} = {balance:,}")]
    if fetch:
        rows.append(("fetched (success)", f"{fetch.get('fetch_success', 0):,} of {sum(fetch.values()):,} attempted"))
    return Section(title, "drops.png", rows)


def section_languages(out: str, report: Path) -> Section:
    title = "Languages"
    try:
        by_lang = count_values(parquet_files(DatasetLayout(out).candidates_dir), "lang", "candidates")
    except NotAvailable as exc:
        return _not_available(title, exc)
    counts = Counter()
    for lang, n in by_lang.items():
        counts[lang or "(none)"] += n
    if not counts:
        return Section(title, note="the candidates parquet files have no rows")
    top = counts.most_common(15)
    other = sum(counts.values()) - sum(n for _, n in top)
    labels, values = [lang for lang, _ in top], [n for _, n in top]
    if other:
        labels.append("other")
        values.append(other)
    plot_bars(labels, values, "Detected language of kept captions", "candidates", report / "languages.png")
    return Section(title, "languages.png", [("kept candidates", f"{sum(counts.values()):,}"), ("languages", f"{len(counts):,}")])


def section_image_sizes(out: str, report: Path) -> Section:
    title = "Image sizes"
    try:
        sizes, fetched = sample_image_sizes(parquet_files(DatasetLayout(out).shards_dir))
    except NotAvailable as exc:
        return _not_available(title, exc)
    if not fetched:
        return Section(title, note="no successfully fetched image in the shard parquets")
    original = (sizes["original_width"], sizes["original_height"])
    stored = (sizes["width"], sizes["height"])
    plot_image_sizes(original, stored, report / "image_sizes.png")
    rows = [("fetched images", f"{fetched:,}" + (f" ({len(stored[0]):,} sampled for the plots and sizes)" if len(stored[0]) < fetched else ""))]
    rows += [("original " + label, value) for label, value in size_summary(*original)[1:]]
    rows += [("stored " + label, value) for label, value in size_summary(*stored)[1:]]
    return Section(title, "image_sizes.png", rows)


def section_shards(out: str, report: Path) -> Section:
    title = "Samples per shard"
    try:
        sizes_path = DatasetLayout(out).sizes
        sizes = read_json(sizes_path)
        if not isinstance(sizes, dict) or not all(isinstance(n, int) for n in sizes.values()):
            raise NotAvailable(f"{sizes_path} is not an object of shard name -> sample count")
    except NotAvailable as exc:
        return _not_available(title, exc)
    if not sizes:
        return Section(title, note="sizes.json lists no shards")
    names = sorted(sizes)
    plot_bars(names[:60], [sizes[name] for name in names[:60]], f"Samples per shard ({len(names):,} shards)", "samples", report / "shards.png")
    rows = [("shards", f"{len(names):,}"), ("samples", f"{sum(sizes.values()):,}")]
    if len(names) > 60:
        rows.append(("plotted", "the first 60 shards"))
    return Section(title, "shards.png", rows)


def section_manifest(out: str) -> Section:
    title = "Build"
    try:
        manifest = read_json(DatasetLayout(out).manifest)
    except NotAvailable as exc:
        return _not_available(title, exc)
    rows = []
    if isinstance(manifest, dict):
        if isinstance(manifest.get("build"), dict):
            rows += settings_rows(manifest["build"])
        for key, value in manifest.items():
            if key == "build":
                continue
            if isinstance(value, (str, int, float, bool)):
                rows.append((key, str(value)))
            elif isinstance(value, dict) and len(json.dumps(value)) < 600:
                rows.append((key, json.dumps(value, sort_keys=True)))
            elif isinstance(value, (list, dict)):
                rows.append((key, f"{len(value):,} entries"))
    return Section(title, table=rows)


def section_training(run: str | None, report: Path) -> Section:
    title = "Training"
    if run is None:
        return Section(title, note="not available: no run given (wit report OUT --run RUN_DIR)")
    metrics = join(run, "metrics.jsonl")
    try:
        rows = read_metrics(metrics)
    except NotAvailable as exc:
        return _not_available(title, exc)
    names = metric_columns(rows)
    if not names:
        return Section(title, note=f"not available: {metrics} has no numeric figures besides step")
    plot_training(rows, names, report / "training.png")
    table = [("steps logged", f"{len(rows):,} (last step {rows[-1]['step']})")]
    losses = [row["loss"] for row in rows if isinstance(row.get("loss"), (int, float))]
    if losses:
        table.append(("loss first / last", f"{losses[0]:.4f} / {losses[-1]:.4f}"))
    return Section(title, "training.png", table)


# ---------------------------------------------------------------------------------------------
# The page


PAGE_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 980px; color: #222; }
h1 { margin-bottom: 0.2em; } .where { color: #666; margin-top: 0; }
section { border-top: 1px solid #ddd; padding: 0.6em 0 1.2em; }
img { max-width: 100%; } .missing { color: #a15c00; font-style: italic; }
table { border-collapse: collapse; margin-top: 0.6em; } td { padding: 0.15em 1em 0.15em 0; vertical-align: top; }
td:first-child { color: #555; white-space: nowrap; }
"""


def render_page(out: str, sections: list[Section]) -> str:
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">', "<title>wit dataset report</title>",
             f"<style>{PAGE_STYLE}</style></head><body>", "<h1>wit dataset report</h1>",
             f'<p class="where">{html.escape(str(out))}</p>']
    for section in sections:
        parts.append(f"<section><h2>{html.escape(section.title)}</h2>")
        if section.note:
            css = "missing" if section.note.startswith("not available") else "note"
            parts.append(f'<p class="{css}">{html.escape(section.note)}</p>')
        if section.plot:
            parts.append(f'<img src="{html.escape(section.plot)}" alt="{html.escape(section.title)}">')
        if section.table:
            parts.append("<table>" + "".join(f"<tr><td>{html.escape(label)}</td><td>{html.escape(value)}</td></tr>"
                                             for label, value in section.table) + "</table>")
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _folder(path: str | Path) -> str:
    """The folder as the report names it: a local path as pathlib spells it, a URL as given."""
    return str(path).rstrip("/") if is_url(str(path)) else str(Path(path))


def _is_dir(path: str) -> bool:
    fs, root = url_to_fs(path)
    return fs.isdir(root)


def write_report(out_dir: str | Path, run_dir: str | Path | None = None, cap: int | None = None) -> Path | str:
    """Write OUT/report/index.html and its plots; returns the page's path (its URL for a remote OUT)."""
    out = _folder(out_dir)
    if not _is_dir(out):
        raise WitError(f"{out} is not a folder; give the OUT folder of a `wit build`")
    run = _folder(run_dir) if run_dir else None
    if run is not None and not _is_dir(run):
        raise WitError(f"run folder {run} does not exist")
    if cap is None:
        try:
            cap = recorded_cap(read_json(DatasetLayout(out).manifest))
        except NotAvailable:
            cap = None
    if not is_url(out):
        report = Path(DatasetLayout(out).report_dir)
        report.mkdir(parents=True, exist_ok=True)
        return _draw(out, run, cap, report)
    # matplotlib and the page want a local folder: draw there, then upload.
    with tempfile.TemporaryDirectory(prefix="wit-report-") as scratch:
        page = _draw(out, run, cap, Path(scratch))
        fs, remote = url_to_fs(DatasetLayout(out).report_dir)
        fs.makedirs(remote, exist_ok=True)
        drawn = sorted(path for path in Path(scratch).iterdir() if path.is_file() and path != page)
        for path in [*drawn, page]:  # the page last, so it never links a plot not yet there
            fs.put_file(str(path), join(remote, path.name))
    return join(DatasetLayout(out).report_dir, page.name)


def _draw(out: str, run: str | None, cap: int | None, report: Path) -> Path:
    """Every section's plot into `report`, then index.html; returns the page."""
    sections = [
        section_drops(out, report),
        section_queries(out, report, cap),
        section_languages(out, report),
        section_image_sizes(out, report),
        section_shards(out, report),
        section_training(run, report),
        section_manifest(out),
    ]
    page = report / "index.html"
    temporary = page.with_name("index.html.tmp")
    temporary.write_text(render_page(out, sections), encoding="utf-8")
    temporary.replace(page)
    return page
