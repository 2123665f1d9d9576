"""Counting a Wikipedia dump on one machine: MB of XML per second per core, peak memory, run disk.

    .venv/bin/python benchmarks/bench_dump_counts.py                       # 32, 64, 128 MB of XML
    .venv/bin/python benchmarks/bench_dump_counts.py --sizes 250,500,1000,2000   # the issue's sizes (hours on 2 cores)
    .venv/bin/python benchmarks/bench_dump_counts.py --beam                 # also Beam's local job on the smallest
    .venv/bin/python benchmarks/bench_dump_counts.py --python --multistream # the peers: pure-Python counter, bz2 input
    .venv/bin/python benchmarks/bench_dump_counts.py --profile              # CPU ms per MB of each stage

Synthetic dumps in the real export format (<mediawiki><page>...<text>wikitext</text>), written
once into --data: articles of 300-3,000 words drawn from a Zipf law (exponent 1.25; the 3% of draws past the end
wrap round to rare words) over a vocabulary of 2,000,000 made-up words, sentences cut by
punctuation, with the markup articles
carry (an infobox template with a nested template, links with labels, references holding
citation templates, a file link with a caption, a table, categories) and a few hundred fixed
collocations so that some pairs have a high PMI. More XML brings new rare words, as a real dump
does.

Each size runs `wit.queries.dump_counts.count_dump` in a fresh process (--workers, default one
per core; thresholds 100/100/PMI 5 as the paper's) and prints wall seconds, MB of XML per
CPU-second (per core: CPU time of the parent and its workers together, the fair rate on a shared
machine), how many cores were busy on average (CPU-seconds / wall seconds), the peak RSS of the largest process and of the parent, the run files'
size, and the words and pairs kept. The last lines extrapolate to the 90 GB of XML of the whole
English dump: time at the measured per-core rate on 16 cores, and memory (per worker the spill
limit holds it flat; the merge grows with the kept words). With --beam, the Beam job that
`--runner direct` runs (wikipedia.run_count_job on FnApiRunner, in memory) is measured on the
smallest dump as the peer. With --python, the same counter with wikipedia.PythonNgramCounter in
place of the C counter (queries/_ngramcount.c), on the smallest dump. With --multistream, the
smallest dump is also written as a multistream .xml.bz2 with its index (100 pages a stream, as
Wikimedia writes them) and counted from that: the rate per MB of XML with bz2 decompression, as a
real dump costs. With --profile, only the CPU time per MB of XML of each stage (bz2
decompression, XML parsing, wikitext cleaning, counting with either counter, spilling, merging) on
one 32 MB piece, in one process. The last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

VOCABULARY = 2_000_000
COLLOCATIONS = 400
ZIPF_EXPONENT = 1.25
FULL_DUMP_XML_GB = 90


def own_peak_rss_mib() -> float:
    """This process's peak RSS (VmHWM). Not ru_maxrss: Linux carries that over an exec, so a child
    started by a process that had grown (the data generator) would report the parent's peak."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_dump(path: Path, megabytes: int, seed: int = 0) -> None:
    import numpy as np

    marker = path.with_suffix(".done")
    if path.exists() and marker.exists():
        return
    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    lengths = rng.integers(2, 11, size=VOCABULARY)
    pool = "".join(rng.choice(letters, size=int(lengths.sum())).tolist())
    cuts = np.concatenate([[0], np.cumsum(lengths)]).tolist()
    words = np.array([pool[cuts[i] : cuts[i + 1]] for i in range(VOCABULARY)], dtype=object)
    firsts = rng.integers(500, 50_000, size=COLLOCATIONS)
    target = megabytes * 1_000_000
    written = 0
    page = 0
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as out:
        out.write('<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/" version="0.11" xml:lang="en">\n'
                  "  <siteinfo><sitename>Wikipedia</sitename></siteinfo>\n")
        while written < target:
            page += 1
            n = int(rng.integers(300, 3000))
            ranks = (rng.zipf(ZIPF_EXPONENT, size=n) - 1) % VOCABULARY  # the tail past the vocabulary: rare words
            # A few hundred fixed pairs recur across articles: the high-PMI bigrams.
            at = rng.integers(0, n - 1, size=max(1, n // 60))
            chosen = firsts[rng.integers(COLLOCATIONS, size=len(at))]
            ranks[at], ranks[at + 1] = chosen, chosen + 1
            tokens = words[ranks]
            tokens[14::15] = [token + "." for token in tokens[14::15].tolist()]
            body = " ".join(tokens.tolist())
            tokens = tokens.tolist()
            link = words[int(rng.integers(100, 5000))]
            half = len(body) // 2
            text = (
                "{{Infobox thing | name = Zzname | data = {{nowrap|zzdata}} }}\n"
                f"'''{tokens[0]}''' is a [[{link}|{link}s]] topic. {body[:half]}"
                '<ref name="a">{{cite web |url=https://example.org/zz |title=Zztitle}}</ref>\n'
                f"[[File:Zz{page}.jpg|thumb|A [[{link}]] caption]]\n== Section ==\n{body[half:]}\n"
                '{| class="wikitable"\n! zzhead\n|-\n| zzcell\n|}\n'
                f"[[Category:Zzcat {page % 97}]]\n"
            )
            text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            chunk = (f"  <page>\n    <title>Page {page}</title>\n    <ns>0</ns>\n    <id>{page}</id>\n"
                     f"    <revision><id>{page}</id><text xml:space=\"preserve\">{text}</text></revision>\n  </page>\n")
            out.write(chunk)
            written += len(chunk)
        out.write("</mediawiki>\n")
    tmp.rename(path)
    marker.write_text(str(megabytes))


def make_multistream(xml_path: Path, pages_per_stream: int = 100) -> Path:
    """The dump as a multistream .xml.bz2 with its index beside it: a header stream, streams of
    `pages_per_stream` pages, a footer stream, as Wikimedia writes them."""
    import bz2
    import re

    dump = xml_path.with_name(xml_path.stem + "-multistream.xml.bz2")
    index = xml_path.with_name(xml_path.stem + "-multistream-index.txt.bz2")
    marker = dump.with_suffix(".done")
    if dump.exists() and index.exists() and marker.exists():
        return dump
    title = re.compile(rb"<title>(.*?)</title>")
    header: list[bytes] = []
    group: list[bytes] = []
    page: list[bytes] | None = None
    pages = 0
    with open(xml_path, "rb") as source, open(dump, "wb") as out, bz2.open(index, "wt", encoding="utf-8") as index_out:

        def write_group() -> None:
            offset = out.tell()
            for n, text in enumerate(group):
                index_out.write(f"{offset}:{pages - len(group) + n + 1}:{title.search(text).group(1).decode()}\n")
            out.write(bz2.compress(b"".join(group)))
            group.clear()

        for line in source:
            stripped = line.lstrip()
            if page is None:
                if stripped.startswith(b"<page>"):
                    if header:
                        out.write(bz2.compress(b"".join(header)))
                        header = []
                    page = [line]
                elif stripped.startswith(b"</mediawiki>"):
                    break
                elif not pages:
                    header.append(line)
                continue
            page.append(line)
            if stripped.startswith(b"</page>"):
                group.append(b"".join(page))
                pages += 1
                page = None
                if len(group) == pages_per_stream:
                    write_group()
        if group:
            write_group()
        out.write(bz2.compress(b"</mediawiki>\n"))
    marker.write_text("done")
    return dump


def run_one(method: str, path: str, workers: int) -> dict:
    from wit.queries import dump_counts, wikipedia

    started = time.perf_counter()
    before = os.times()
    with tempfile.TemporaryDirectory(prefix="bench-dump-", dir=os.environ.get("BENCH_WORK_DIR")) as work:
        if method != "beam":
            counter = "python" if method == "python" else "c"
            words, pairs, totals = dump_counts.count_dump([path], work, 100, 100, 5.0, workers=workers, counter=counter)
            runs = sum(p.stat().st_size for p in Path(work).rglob("*.tsv"))
            kept_words, kept_pairs = len(words), len(pairs)
        else:
            from apache_beam.options.pipeline_options import PipelineOptions
            from apache_beam.runners.portability.fn_api_runner import FnApiRunner

            unigram_files, bigram_files = wikipedia.run_count_job([path], work + "/counts-", PipelineOptions(["--direct_running_mode=in_memory"]),
                                                                  100, 100, 5.0, runner=FnApiRunner())
            kept_words = sum(1 for _ in wikipedia.read_count_files(unigram_files))
            kept_pairs = sum(1 for _ in wikipedia.read_count_files(bigram_files))
            runs = 0
    wall = time.perf_counter() - started
    after = os.times()
    cpu = sum(getattr(after, f) - getattr(before, f) for f in ("user", "system", "children_user", "children_system"))
    return {"wall_s": wall, "cpu_s": cpu, "words": kept_words, "pairs": kept_pairs, "run_bytes": runs,
            "parent_rss_mib": own_peak_rss_mib(),
            "worker_rss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


def profile_stages(path: Path, partitions: int = 512) -> list[tuple[str, float]]:
    """CPU milliseconds per MB of XML of each stage of counting one 32 MB piece, in this process."""
    import bz2

    from wit.queries import dump_counts, spill, wikipedia

    def cpu_ms(function):
        started = time.process_time()
        result = function()
        return (time.process_time() - started) * 1000, result

    fragment = dump_counts._xml_range(dump_counts.Piece(str(path), "xml-range", 0, min(path.stat().st_size, 32 << 20)))
    mb = len(fragment) / 1e6
    compressed = bz2.compress(fragment, 9)
    stages = [("bz2 decompression (a multistream dump only)", cpu_ms(lambda: bz2.decompress(compressed))[0])]
    ms, articles = cpu_ms(lambda: [text for _, text in wikipedia.iter_fragment_articles(fragment, str(path))])
    stages.append(("XML parsing", ms))
    ms, proses = cpu_ms(lambda: [wikipedia.article_prose(text) for text in articles])
    stages.append(("wikitext cleaning (strip_wikitext, drop_clitics)", ms))
    with tempfile.TemporaryDirectory(prefix="bench-dump-profile-", dir=os.environ.get("BENCH_WORK_DIR")) as work:
        for implementation in ("c", "python"):
            counter = wikipedia.ngram_counter(implementation)
            stages.append((f"segmenting, tokenising, counting ({implementation} counter)", cpu_ms(lambda: [counter.add(p) for p in proses])[0]))

            def spill_runs():
                words, pairs = counter.drain_runs(partitions)
                spill.write_buckets(words, Path(work) / f"words-{implementation}.tsv")
                spill.write_buckets(pairs, Path(work) / f"pairs-{implementation}.tsv")

            stages.append((f"spilling ({implementation} counter)", cpu_ms(spill_runs)[0]))
        runs = [str(Path(work) / "words-c.tsv")], [str(Path(work) / "pairs-c.tsv")]
        stages.append(("merging the runs (one spill; serial)", cpu_ms(lambda: [list(spill.sum_partitions(run, partitions, 100, 1)) for run in runs])[0]))
    return [(name, ms / mb) for name, ms in stages]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="32,64,128", help="MB of XML per synthetic dump (default 32,64,128)")
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--data", default=str(Path(tempfile.gettempdir()) / "wit-bench-dumps"))
    parser.add_argument("--beam", action="store_true", help="also run Beam's local job on the smallest dump")
    parser.add_argument("--python", action="store_true", help="also count the smallest dump with the pure-Python counter")
    parser.add_argument("--multistream", action="store_true", help="also count the smallest dump as a multistream .xml.bz2")
    parser.add_argument("--profile", action="store_true", help="only print CPU ms per MB of XML of each stage, on one 32 MB piece of the smallest dump")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.path, args.workers)))
        return 0

    sizes = [int(s) for s in args.sizes.split(",") if s]
    data = Path(args.data)
    data.mkdir(parents=True, exist_ok=True)
    print(f"machine: {os.cpu_count()} cores; workers {args.workers}; data in {data}")
    if args.profile:
        path = data / f"enwiki-synthetic-{sizes[0]}MB-pages-articles.xml"
        make_dump(path, sizes[0])
        stages = profile_stages(path)
        print(f"CPU ms per MB of XML, one piece of {path.name}, in one process:")
        for name, ms in stages:
            print(f"  {name:<58}{ms:7.1f}")
        for implementation in ("c", "python"):
            total = sum(ms for name, ms in stages if "counter)" not in name or f"({implementation} counter)" in name)
            print(f"  {'total with the ' + implementation + ' counter, bz2 input':<58}{total:7.1f}  ({1000 / total:.1f} MB per CPU-second)")
        print(json.dumps({"profile_ms_per_mb": dict(stages)}))
        return 0
    print(f"{'method':<7}{'XML MB':>8}{'wall s':>9}{'MB/s':>8}{'MB/cpu-s':>10}{'cores':>7}{'peak RSS MiB':>14}{'parent MiB':>12}{'runs MB':>9}{'words':>9}{'pairs':>8}")
    results = []
    peers = [("python", args.python), ("bz2", args.multistream), ("beam", args.beam)]
    runs = [("local", size) for size in sizes] + [(method, sizes[0]) for method, wanted in peers if wanted]
    for method, size in runs:
        path = data / f"enwiki-synthetic-{size}MB-pages-articles.xml"
        started = time.perf_counter()
        make_dump(path, size)
        made = time.perf_counter() - started
        if made > 1:
            print(f"  (made {path.name} in {made:.0f} s)")
        xml_mb = path.stat().st_size / 1e6
        if method == "bz2":
            started = time.perf_counter()
            path = make_multistream(path)
            if time.perf_counter() - started > 1:
                print(f"  (made {path.name}, {path.stat().st_size / 1e6:.0f} MB, in {time.perf_counter() - started:.0f} s)")
        out = subprocess.run([sys.executable, __file__, "--one", method, "--path", str(path), "--workers", str(args.workers)],
                             check=True, capture_output=True, text=True).stdout
        figures = json.loads(out.strip().splitlines()[-1]) | {"method": method, "xml_mb": xml_mb}
        figures["mb_per_cpu_s"] = xml_mb / max(figures["cpu_s"], 1e-9)
        figures["peak_rss_mib"] = max(figures["parent_rss_mib"], figures["worker_rss_mib"])
        figures["cores_busy"] = figures["cpu_s"] / max(figures["wall_s"], 1e-9)
        results.append(figures)
        print(f"{method:<7}{xml_mb:>8.0f}{figures['wall_s']:>9.1f}{xml_mb / figures['wall_s']:>8.2f}{figures['mb_per_cpu_s']:>10.2f}{figures['cores_busy']:>7.2f}"
              f"{figures['peak_rss_mib']:>14.0f}{figures['parent_rss_mib']:>12.0f}{figures['run_bytes'] / 1e6:>9.0f}{figures['words']:>9,}{figures['pairs']:>8,}")
    local = [r for r in results if r["method"] == "local"]
    rate = sum(r["xml_mb"] for r in local) / sum(r["cpu_s"] for r in local)
    largest = local[-1]
    first = local[0]
    peer = {r["method"]: r for r in results if r["method"] != "local"}

    def hours(mb_per_cpu_s: float) -> float:
        return FULL_DUMP_XML_GB * 1000 / mb_per_cpu_s / 16 / 3600

    print(f"extrapolated to {FULL_DUMP_XML_GB} GB of XML: {rate:.2f} MB per CPU-second (all sizes) -> {hours(rate):.1f} h on 16 cores; "
          f"run files ~{largest['run_bytes'] / largest['xml_mb'] * FULL_DUMP_XML_GB * 1000 / 1e9:.0f} GB at the largest dump's ratio; "
          f"memory ~{(16 * largest['worker_rss_mib'] + largest['parent_rss_mib']) / 1024:.1f} GiB: 16 workers at ~{largest['worker_rss_mib']:.0f} MiB "
          f"(the spill limit holds a worker flat) and the parent at {largest['parent_rss_mib']:.0f} MiB (grows with the kept words)")
    if "bz2" in peer:
        bz2_run = peer["bz2"]
        print(f"multistream .xml.bz2 of the {bz2_run['xml_mb']:.0f} MB dump: {bz2_run['mb_per_cpu_s']:.2f} MB of XML per CPU-second with decompression "
              f"({bz2_run['mb_per_cpu_s'] / first['mb_per_cpu_s']:.2f}x the plain XML's) -> {hours(bz2_run['mb_per_cpu_s']):.1f} h for {FULL_DUMP_XML_GB} GB on 16 cores; "
              f"same words: {bz2_run['words'] == first['words']}, same pairs: {bz2_run['pairs'] == first['pairs']}")
    if "python" in peer:
        python_run = peer["python"]
        print(f"pure-Python counter on {python_run['xml_mb']:.0f} MB: {python_run['mb_per_cpu_s']:.2f} MB/cpu-s; the C counter "
              f"{first['mb_per_cpu_s'] / python_run['mb_per_cpu_s']:.2f}x per core; same words: {first['words'] == python_run['words']}, "
              f"same pairs: {first['pairs'] == python_run['pairs']}")
    if "beam" in peer:
        beam = peer["beam"]
        print(f"Beam local job on {beam['xml_mb']:.0f} MB: {beam['mb_per_cpu_s']:.2f} MB/cpu-s, peak RSS {beam['peak_rss_mib']:.0f} MiB; "
              f"the local counter {first['mb_per_cpu_s'] / beam['mb_per_cpu_s']:.2f}x per core, "
              f"{first['peak_rss_mib'] / beam['peak_rss_mib']:.2f}x the memory; same words: {first['words'] == beam['words']}, same pairs: {first['pairs'] == beam['pairs']}")
    print(json.dumps({"workers": args.workers, "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
