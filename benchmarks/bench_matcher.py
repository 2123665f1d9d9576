"""Query matcher throughput against a full 500,000-query list, side by side with MetaCLIP's scans.

    .venv/bin/python benchmarks/bench_matcher.py            # ~2 minutes
    .venv/bin/python benchmarks/bench_matcher.py --quick    # ~30 seconds

The list is the default query list (wordfreq + WordNet, see docs/queries.md), padded to exactly
500,000 entries with the most frequent word pairs of WordNet's glosses when it is shorter (the
real recipe adds Wikipedia bigrams and titles there). Captions are the real rows in
../shared/data (captions_dev.tsv and img2dataset_test_1000.parquet's TEXT), repeated to volume.

Compared, in one process, on the same captions:
  ours       wit.queries.matcher.QueryMatcher (token n-gram table; C scanner where built)
  python     the same matcher with its pure-Python scanner (the fallback without a compiler)
  naive      MetaCLIP's first script: `for entry in spaced_metadata: if entry in text` (a sample,
             extrapolated: it is far too slow for the full run)
  pyaho      MetaCLIP's later script: space-padded queries in a pyahocorasick automaton, the caption
             space-padded around punctuation, `automaton.iter(text)` (needs the `bench` extra)

Rates are captions per CPU-second of this single-threaded process (= per core), the best of
several rounds, so a busy machine disturbs them less than wall-clock rates; the wall-clock rate
is printed too. The last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import platform
import resource
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SHARED_DATA = REPO.parent / "shared" / "data"
FULL_SIZE = 500_000


def rss_mib() -> float:
    """Current resident set size of this process."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_captions(data_dir: Path) -> list[str]:
    import pyarrow.parquet as pq

    captions = [text for text in pq.read_table(data_dir / "real" / "img2dataset_test_1000.parquet").column("TEXT").to_pylist() if text]
    with open(data_dir / "captions_dev.tsv", encoding="utf-8", newline="") as handle:
        captions += [row["text"] for row in csv.DictReader(handle, delimiter="\t") if row["text"].strip()]
    return captions


def gloss_bigrams(wordnet_dir: Path) -> list[str]:
    """Adjacent word pairs of WordNet's glosses, most frequent first: realistic two-word queries."""
    from wit.queries.match_keys import TOKEN_RE

    pairs: Counter = Counter()
    for name in ("data.noun", "data.verb", "data.adj", "data.adv"):
        path = wordnet_dir / name
        if not path.is_file():
            continue
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("  ") or " | " not in line:
                    continue
                for clause in line.split(" | ", 1)[1].split(";"):
                    tokens = TOKEN_RE.findall(clause.casefold())
                    pairs.update(zip(tokens, tokens[1:]))
    return [f"{a} {b}" for (a, b), _ in pairs.most_common()]


def full_query_list() -> tuple[list[str], dict]:
    from wit.queries import wordnet
    from wit.queries.match_keys import match_key
    from wit.queries.querylist import load_query_list

    started = time.perf_counter()
    base = load_query_list("default")
    texts = list(base.texts)
    info = {"default_list": len(texts), "default_sources": base.source_counts(), "default_load_s": round(time.perf_counter() - started, 2)}
    if len(texts) < FULL_SIZE:
        found = wordnet.find_wordnet_dir()
        keys = {match_key(text) for text in texts}
        for pair in gloss_bigrams(found) if found else []:
            if len(texts) >= FULL_SIZE:
                break
            if pair not in keys:
                keys.add(pair)
                texts.append(pair)
        n = 0
        while len(texts) < FULL_SIZE:  # only without WordNet: synthetic but well-formed pairs
            pair = f"{texts[n % 5000]} {texts[(n * 7919) % 20000]}"
            n += 1
            if match_key(pair) and match_key(pair) not in keys:
                keys.add(match_key(pair))
                texts.append(pair)
    info["padded_with"] = len(texts) - info["default_list"]
    return texts[:FULL_SIZE], info


def rate(function, captions: list[str], rounds: int) -> tuple[float, float, int]:
    """(best captions per CPU-second, best wall captions/s, matches found in one round)."""
    best_cpu = best_wall = 0.0
    found = 0
    gc.collect()
    for _ in range(rounds):
        found = 0
        wall, cpu = time.perf_counter(), time.process_time()
        for caption in captions:
            found += len(function(caption))
        cpu = time.process_time() - cpu
        wall = time.perf_counter() - wall
        best_cpu = max(best_cpu, len(captions) / max(cpu, 1e-9))
        best_wall = max(best_wall, len(captions) / max(wall, 1e-9))
    return best_cpu, best_wall, found


def metaclip_spacing(text: str) -> str:
    """MetaCLIP's spacing(): pad the text and the punctuation it wraps with spaces."""
    spaced = f" {text} "
    for punct in [",", ".", ";", ":", "?", "!", "`"]:
        spaced = spaced.replace(punct, f" {punct} ")
    for char in ["\t", "\n", "\r"]:
        spaced = spaced.replace(char, " ")
    return spaced


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer captions and rounds (~30 s)")
    parser.add_argument("--captions", type=int, default=None, help="captions per round (default 300000; --quick 50000)")
    parser.add_argument("--data", type=Path, default=SHARED_DATA, help=f"shared data folder (default {SHARED_DATA})")
    args = parser.parse_args()
    volume = args.captions or (50_000 if args.quick else 300_000)
    rounds = 2 if args.quick else 3
    naive_sample = 5 if args.quick else 20

    from wit.queries import matcher as matcher_module
    from wit.queries.matcher import QueryMatcher

    real = load_captions(args.data)
    captions = (real * (volume // len(real) + 1))[:volume]
    mean_chars = sum(map(len, real)) / len(real)
    queries, list_info = full_query_list()
    gc.collect()

    figures: dict = {
        "queries": len(queries),
        "captions_distinct": len(real),
        "captions_per_round": volume,
        "caption_mean_chars": round(mean_chars, 1),
        **list_info,
    }

    # --- ours ---------------------------------------------------------------------------------
    started = time.perf_counter()
    ours = QueryMatcher.from_texts(queries)
    figures["ours_build_s"] = round(time.perf_counter() - started, 2)
    figures["ours_implementation"] = ours.implementation
    gc.collect()
    figures["rss_mib_with_list_and_matcher"] = round(rss_mib(), 1)
    figures["ours_table_mib"] = round(getattr(ours._scanner, "table_bytes", 0) / 2**20, 1)
    cpu_rate, wall_rate, found = rate(ours.match, captions, rounds)
    figures.update(ours_captions_per_cpu_s=round(cpu_rate), ours_captions_per_wall_s=round(wall_rate), ours_matches_per_caption=round(found / volume, 2))

    # --- the same matcher with the pure-Python scanner ----------------------------------------
    python_matcher = QueryMatcher.from_texts(queries, implementation="python")
    sample = captions[: max(volume // 10, 1000)]
    cpu_rate, _, found = rate(python_matcher.match, sample, 1)
    figures["python_scanner_captions_per_cpu_s"] = round(cpu_rate)
    del python_matcher
    gc.collect()

    # --- MetaCLIP's naive loop (sample, extrapolated) -----------------------------------------
    spaced_metadata = [f" {entry} " for entry in queries]

    def naive(text: str) -> list[int]:
        text = metaclip_spacing(text)
        return [entry_id for entry_id, entry in enumerate(spaced_metadata) if entry in text]

    cpu_rate, _, found = rate(naive, real[:naive_sample], 1)
    figures["naive_captions_per_cpu_s"] = round(cpu_rate, 2)
    figures["naive_sample"] = naive_sample

    # --- MetaCLIP's pyahocorasick scan --------------------------------------------------------
    try:
        import ahocorasick
    except ImportError:
        ahocorasick = None
        figures["pyaho_captions_per_cpu_s"] = None
        print("pyahocorasick is not installed (pip install -e '.[bench]'); skipping that comparison", file=sys.stderr)
    if ahocorasick is not None:
        started = time.perf_counter()
        automaton = ahocorasick.Automaton()
        for entry_id, entry in enumerate(spaced_metadata):
            automaton.add_word(entry, (entry_id, entry))
        automaton.make_automaton()
        figures["pyaho_build_s"] = round(time.perf_counter() - started, 2)

        def pyaho(text: str) -> list[int]:
            matched = set()
            for _end, (entry_id, _entry) in automaton.iter(metaclip_spacing(text)):
                matched.add(entry_id)
            return list(matched)

        cpu_rate, wall_rate, found = rate(pyaho, captions, rounds)
        figures.update(pyaho_captions_per_cpu_s=round(cpu_rate), pyaho_captions_per_wall_s=round(wall_rate), pyaho_matches_per_caption=round(found / volume, 2))

    ours_rate = figures["ours_captions_per_cpu_s"]
    figures["ratio_vs_naive"] = round(ours_rate / figures["naive_captions_per_cpu_s"])
    if figures.get("pyaho_captions_per_cpu_s"):
        figures["ratio_vs_pyaho"] = round(ours_rate / figures["pyaho_captions_per_cpu_s"], 2)
    figures["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    figures["python"] = platform.python_version()
    figures["c_scanner_built"] = matcher_module._CScanner is not None

    print(f"query list: {len(queries):,} queries ({list_info['default_list']:,} default + {list_info['padded_with']:,} WordNet gloss bigrams)")
    print(f"captions:   {len(real):,} real captions (mean {mean_chars:.0f} chars) repeated to {volume:,} per round, best of {rounds}")
    print()
    print(f"{'matcher':<34}{'captions/s/core':>16}{'ours is':>10}{'build s':>10}{'matches/caption':>17}")
    rows = [
        (f"ours ({ours.implementation} scanner)", ours_rate, figures["ours_build_s"], figures["ours_matches_per_caption"]),
        ("ours, pure-Python scanner", figures["python_scanner_captions_per_cpu_s"], None, None),
        ("MetaCLIP pyahocorasick, spaced", figures.get("pyaho_captions_per_cpu_s"), figures.get("pyaho_build_s"), figures.get("pyaho_matches_per_caption")),
        (f"MetaCLIP naive `in` loop ({naive_sample})", figures["naive_captions_per_cpu_s"], 0.0, None),
    ]
    for name, value, build, matches in rows:
        if value is None:
            print(f"{name:<34}{'n/a':>16}")
            continue
        ratio = ours_rate / value if value else float("nan")
        print(f"{name:<34}{value:>16,.1f}{ratio:>9.1f}x{'' if build is None else f'{build:>10.2f}':>10}{'' if matches is None else f'{matches:>17.2f}':>17}")
    print()
    print(f"wall-clock: ours {figures['ours_captions_per_wall_s']:,} captions/s" + (f", pyahocorasick {figures['pyaho_captions_per_wall_s']:,}" if figures.get("pyaho_captions_per_wall_s") else ""))
    print(
        f"memory: {figures['rss_mib_with_list_and_matcher']} MiB RSS with the list and our matcher built "
        f"(its hash table: {figures['ours_table_mib']} MiB); peak {figures['peak_rss_mib']} MiB with every matcher above loaded"
    )
    print("(matches/caption differ by design: ours folds case and splits at all punctuation; MetaCLIP's is case-sensitive)")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
