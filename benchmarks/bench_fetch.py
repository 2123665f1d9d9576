"""Peer benchmark of the fetch + shards stage: wit vs img2dataset on the same URL list.

A local image server (aiohttp on 127.0.0.1) serves real photographs (scikit-image's and
scikit-learn's sample photos, cropped and rescaled to web sizes: median ~0.3 MP, up to 12 MP
with the default --photo-spread) with 20-150 ms latency and the faults of the live web: 3% 404,
2% truncated bodies, 1% HTML instead of an image, 1% 30-second stalls, 0.5% X-Robots-Tag: noai.
Then img2dataset (webdataset output, 256 px center crop) and `wit fetch` (same settings) run on the same URL
list one after the other, each as its own process tree, and the script prints for both:
images/s (stored images over wall time, start-up included), CPU seconds per 1,000 stored
images, peak RSS of the process tree, outcomes by status, and the ratios. It also measures the
floor: decode (with JPEG draft) + resize + encode alone, on the same photos, on a pool of one
thread per core as wit runs it (and on one thread, for reference).

    scripts/setup-peers.sh      # img2dataset in .peers/img2dataset, apart from the project's venv
    .venv/bin/python benchmarks/bench_fetch.py
    .venv/bin/python benchmarks/bench_fetch.py --quick
    .venv/bin/python benchmarks/bench_fetch.py --build   # also `wit build --queries none`: images/s, cores busy, ratios

img2dataset is taken from .peers/img2dataset where it is installed, or from --img2dataset; without it
(or with --img2dataset none) only wit and the floor are measured. The last line is a JSON object.
"""

from __future__ import annotations

import argparse
import glob
import io
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

PEERS_IMG2DATASET = REPO / ".peers" / "img2dataset" / "bin" / "img2dataset"  # scripts/setup-peers.sh
# Both tools get the same 10 s timeout (img2dataset's default); the 30 s stalls end there.
TIMEOUT_S = 10
FAULTS = (("404", 0.03), ("corrupt", 0.02), ("html", 0.01), ("stall", 0.01), ("noai", 0.005))


# ---- the photos ------------------------------------------------------------------------------


def source_photos() -> list:
    """Real colour photographs shipped by scikit-image and scikit-learn."""
    from PIL import Image

    paths = []
    try:
        import skimage

        data = Path(skimage.__file__).parent / "data"
        for name in ("astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg", "hubble_deep_field.jpg", "retina.jpg", "motorcycle_left.png", "motorcycle_right.png"):
            if (data / name).exists():
                paths.append(data / name)
    except ImportError:
        pass
    try:
        import sklearn

        images = Path(sklearn.__file__).parent / "datasets" / "images"
        paths += [images / "china.jpg", images / "flower.jpg"]
    except ImportError:
        pass
    if not paths:
        raise SystemExit("bench_fetch: install scikit-image or scikit-learn into the venv for the sample photographs")
    return [Image.open(p).convert("RGB") for p in paths]


def make_photo_pool(count: int, seed: int, cache: Path, spread: float = 1.3) -> list[bytes]:
    """`count` web-sized photos: random crops of the real photos at a log-normal pixel count
    (median 0.3 MP; `spread` is the sigma of its log: 1.3 gives a p90 near 1.5 MP and reaches
    the 12 MP cap in 300 photos, as the issue describes; 0.9 tops out near 6 MP)."""
    from PIL import Image

    cache.mkdir(parents=True, exist_ok=True)
    prefix = f"s{seed}" if spread == 0.9 else f"s{seed}-sigma{spread:g}"
    files = sorted(cache.glob(f"{prefix}-[0-9]*.bin"))
    if len(files) >= count:
        return [f.read_bytes() for f in files[:count]]
    sources = source_photos()
    rng = random.Random(seed)
    pool = []
    for number in range(count):
        source = rng.choice(sources)
        w, h = source.size
        cw, ch = int(w * rng.uniform(0.5, 1.0)), int(h * rng.uniform(0.5, 1.0))
        left, top = rng.randint(0, w - cw), rng.randint(0, h - ch)
        megapixels = min(12.0, max(0.03, rng.lognormvariate(math.log(0.3), spread)))
        scale = math.sqrt(megapixels * 1e6 / (cw * ch))
        size = (max(16, int(cw * scale)), max(16, int(ch * scale)))
        image = source.crop((left, top, left + cw, top + ch)).resize(size, Image.Resampling.BICUBIC)
        noise = Image.effect_noise(size, 24).convert("RGB")
        image = Image.blend(image, noise, 0.06)  # camera-like grain, so upscaled crops compress like photos
        buffer = io.BytesIO()
        if rng.random() < 0.05:
            image.save(buffer, "PNG")
        else:
            image.save(buffer, "JPEG", quality=rng.randint(70, 92), progressive=rng.random() < 0.3)
        data = buffer.getvalue()
        (cache / f"{prefix}-{number:05d}.bin").write_bytes(data)
        pool.append(data)
    return pool


def make_url_list(server, count: int, seed: int, path: Path) -> Counter:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = random.Random(seed)
    kinds = []
    for kind, share in FAULTS:
        kinds += [kind] * round(count * share)
    kinds += ["ok"] * (count - len(kinds))
    rng.shuffle(kinds)
    urls = [server.url(f"{kind}/{number}.jpg") for number, kind in enumerate(kinds)]
    captions = [f"photo number {number}" for number in range(count)]
    pq.write_table(pa.table({"url": urls, "caption": captions}), path)
    return Counter(kinds)


# ---- measuring a process tree ----------------------------------------------------------------


def _tree_rss_bytes(root: int) -> int:
    children: dict[int, list[int]] = {}
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            fields = Path(stat).read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.split("/")[2]))
        except (OSError, IndexError, ValueError):
            continue
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def run_measured(command: list[str], log_path: Path, env=None) -> dict:
    """Wall time, CPU (user+sys of the whole tree) and peak RSS (sum over the tree) of a command."""
    started = time.monotonic()
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO)
    peak = 0
    stop = threading.Event()

    def sample():
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _tree_rss_bytes(process.pid))
            stop.wait(0.25)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - started
    stop.set()
    sampler.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"bench_fetch: {command[0]} failed ({process.returncode}); see {log_path}:\n{log_path.read_text()[-3000:]}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mb": peak / 2**20, "started": started}


# ---- the contenders --------------------------------------------------------------------------


def peer_env() -> dict:
    """img2dataset's environment: albumentations (which it imports) otherwise asks PyPI for a newer
    version at import, in every process, with a 2 s timeout each: start-up that is no part of
    img2dataset's work, and network traffic a local benchmark should not make."""
    return {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1"}


def img2dataset_command(exe: str, url_list: Path, out: Path, count: int, processes: int, threads: int) -> list[str]:
    command = [exe] if not Path(exe).name.startswith("python") else [exe, "-m", "img2dataset.main"]
    return command + [
        "--url_list", str(url_list), "--input_format", "parquet", "--url_col", "url", "--caption_col", "caption",
        "--output_format", "webdataset", "--output_folder", str(out), "--image_size", "256",
        "--resize_mode", "center_crop", "--processes_count", str(processes), "--thread_count", str(threads),
        "--number_sample_per_shard", str(math.ceil(count / processes)), "--timeout", str(TIMEOUT_S), "--retries", "0",
        "--enable_wandb", "False",
    ]


def run_img2dataset(exe: str, url_list: Path, out: Path, count: int, processes: int, threads: int) -> dict:
    command = img2dataset_command(exe, url_list, out, count, processes, threads)
    figures = run_measured(command, out.parent / "img2dataset.log", env=peer_env())
    statuses: Counter = Counter()
    for stats in glob.glob(str(out / "*_stats.json")):
        payload = json.loads(Path(stats).read_text())
        statuses["success"] += payload["successes"]
        statuses["failed_to_download"] += payload["failed_to_download"]
        statuses["failed_to_resize"] += payload["failed_to_resize"]
    return {**figures, "statuses": dict(statuses), "stored": statuses["success"]}


def run_wit(url_list: Path, out: Path, extra: list[str], command_name: str = "fetch") -> dict:
    """`wit fetch` on the list, or with command_name "build" the whole `wit build --queries none`
    (the text side in Beam, then the same fetch stage in a pool of one process per core) with
    the same fetch flags."""
    text_side = ["--queries", "none"] if command_name == "build" else []
    command = [
        sys.executable, "-m", "wit", command_name, "--input", str(url_list), "--out", str(out), *text_side,
        "--image-size", "256", "--resize-mode", "center_crop", "--timeout", str(TIMEOUT_S), "--read-timeout", str(TIMEOUT_S),
        "--allow-address", "127.0.0.1/32", "--per-host-limit", "0", *extra,
    ]
    figures = run_measured(command, out.parent / f"wit-{command_name}.log")
    manifest = json.loads((out / "manifest.json").read_text())
    return {**figures, "statuses": manifest["status_counts"], "stored": manifest["samples"]}


def one_url_list(server, workdir: Path) -> Path:
    """A list of one URL the local server answers at once with 404: start-up and nothing else."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = workdir / "one.parquet"
    pq.write_table(pa.table({"url": [server.url("404/0.jpg")], "caption": ["x"]}), path)
    return path


def wit_startup(one: Path, workdir: Path) -> dict:
    """`wit fetch` on one URL: the process, its imports and the stage set-up, no image work."""
    out = workdir / "wit-startup"
    shutil.rmtree(out, ignore_errors=True)
    command = [sys.executable, "-m", "wit", "fetch", "--input", str(one), "--out", str(out), "--allow-address", "127.0.0.1/32"]
    return run_measured(command, workdir / "wit-startup.log")


def img2dataset_startup(exe: str, one: Path, workdir: Path, processes: int, threads: int) -> dict:
    """img2dataset on one URL with the same settings: its processes and threads, no image work."""
    out = workdir / "img2dataset-startup"
    shutil.rmtree(out, ignore_errors=True)
    command = img2dataset_command(exe, one, out, 1, processes, threads)
    return run_measured(command, workdir / "img2dataset-startup.log", env=peer_env())


def floor(pool: list[bytes], repeat: int, threads: int) -> dict:
    """Decode + resize + encode alone, on the same photos, the way wit runs it: a pool of one
    thread per core (Pillow releases the GIL), so the images/s is what the cores can do and the
    CPU per image includes what running in parallel costs. Also one thread, for reference."""
    from concurrent.futures import ThreadPoolExecutor

    from wit.pipeline.fetch_config import ImageOptions
    from wit.pipeline.images import ImageRejected, process_image

    options = ImageOptions(image_size=256, resize_mode="center_crop")

    def work(data: bytes) -> int:
        try:
            process_image(data, options)
            return 1
        except ImageRejected:
            return 0

    figures = {}
    for name, count in (("parallel", threads), ("one_thread", 1)):
        cpu, wall = time.process_time(), time.monotonic()
        with ThreadPoolExecutor(count) as executor:
            done = sum(executor.map(work, pool * repeat))
        cpu, wall = time.process_time() - cpu, time.monotonic() - wall
        figures[name] = {"cpu_s_per_1000": cpu / done * 1000, "images_per_s": done / wall}

    # Without JPEG draft, one thread, for the record: what reduce-on-decode saves.
    from PIL import Image

    cpu = time.process_time()
    for data in pool:
        image = Image.open(io.BytesIO(data)).convert("RGB")
        side = min(image.size)
        left, top = (image.width - side) / 2, (image.height - side) / 2
        image = image.resize((256, 256), Image.Resampling.BICUBIC, box=(left, top, left + side, top + side))
        image.save(io.BytesIO(), "JPEG", quality=95)
    figures["no_draft_cpu_s_per_1000"] = (time.process_time() - cpu) / len(pool) * 1000
    return figures


# ---- main ------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="600 URLs instead of 3,000")
    parser.add_argument("--urls", type=int, default=0, help="number of URLs (default 3000, --quick 600)")
    parser.add_argument("--img2dataset", default=str(PEERS_IMG2DATASET) if PEERS_IMG2DATASET.exists() else "",
                        help="img2dataset CLI (or a python that has it) from a separate venv; 'none' skips it (default: .peers/img2dataset's, if installed)")
    parser.add_argument("--i2d-processes", type=int, default=3, help="img2dataset processes (default %(default)s)")
    parser.add_argument("--i2d-threads", type=int, default=512, help="img2dataset threads per process (default %(default)s)")
    parser.add_argument("--photo-spread", type=float, default=1.3, help="sigma of the log of the photos' pixel count: 1.3 (default) gives the issue's mix, median 0.3 MP up to the 12 MP cap; 0.9 the lighter mix of earlier runs (max ~6 MP)")
    parser.add_argument("--wit-args", default="", help="extra `wit fetch` flags, e.g. '--concurrency 512'")
    parser.add_argument("--workdir", default="", help="keep outputs here (default: a temporary folder)")
    parser.add_argument("--build-args", default="", help="extra flags for `wit build` only, e.g. '--direct_num_workers 1' (fetch in the launcher, no pool)")
    parser.add_argument("--build", action="store_true", help="also run `wit build --queries none` on the same list (the text side in Beam, then the fetch stage in one process per core)")
    args = parser.parse_args()
    if args.img2dataset == "none":
        args.img2dataset = ""

    from image_server import ImageServer

    count = args.urls or (600 if args.quick else 3000)
    pool_size = max(50, count // 10)
    cores = os.cpu_count() or 1
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="wit-bench-fetch-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"bench_fetch: {count} URLs over {pool_size} distinct photos, {cores} cores, workdir {workdir}", flush=True)
    pool = make_photo_pool(pool_size, seed=7, cache=Path(tempfile.gettempdir()) / "wit-bench-photos", spread=args.photo_spread)
    megapixels = sorted(_megapixels(data) for data in pool)
    sizes = sorted(len(d) for d in pool)
    photo_mix = {
        "photos": len(pool),
        "median_mp": round(megapixels[len(pool) // 2], 2),
        "p90_mp": round(megapixels[int(len(pool) * 0.9)], 2),
        "max_mp": round(megapixels[-1], 2),
        "mean_mp": round(sum(megapixels) / len(pool), 2),
        "median_kb": sizes[len(pool) // 2] // 1024,
        "mean_kb": sum(sizes) // len(pool) // 1024,
    }
    print("photos: " + ", ".join(f"{k} {v}" for k, v in photo_mix.items()), flush=True)

    results: dict[str, dict] = {}
    with ImageServer(pool, latency_ms=(20, 150), stall_s=30, seed=1) as server:
        url_list = workdir / "urls.parquet"
        mix = make_url_list(server, count, seed=3, path=url_list)
        print("URL mix: " + ", ".join(f"{k} {v}" for k, v in sorted(mix.items())), flush=True)
        if args.img2dataset:
            out = workdir / "img2dataset"
            shutil.rmtree(out, ignore_errors=True)
            print(f"running img2dataset ({args.i2d_processes} processes x {args.i2d_threads} threads) ...", flush=True)
            results["img2dataset"] = run_img2dataset(args.img2dataset, url_list, out, count, args.i2d_processes, args.i2d_threads)
        # The floor is measured right before and right after wit, and averaged: on a shared
        # machine the load drifts, and one measurement minutes away from wit's run would not
        # be under the load wit saw. Every photo of the pool is served by some "ok" URL, so
        # the floor decodes the same photos.
        print(f"measuring the floor (decode with draft + resize + encode, {cores} threads) ...", flush=True)
        floor_before = floor(pool, repeat=1 if args.quick else 2, threads=cores)
        out = workdir / "wit"
        shutil.rmtree(out, ignore_errors=True)
        print("running wit fetch ...", flush=True)
        server.first_seen.clear()  # img2dataset asked for the same paths
        results["wit"] = run_wit(url_list, out, args.wit_args.split())
        issued = _request_timeline(server.first_seen, results["wit"]["started"])
        if args.build:
            out = workdir / "wit-build"
            shutil.rmtree(out, ignore_errors=True)
            print("running wit build --queries none ...", flush=True)
            server.first_seen.clear()
            results["wit build"] = run_wit(url_list, out, args.wit_args.split() + args.build_args.split(), command_name="build")
            build_issued = _request_timeline(server.first_seen, results["wit build"]["started"])
        print("measuring the floor again ...", flush=True)
        floor_after = floor(pool, repeat=1 if args.quick else 2, threads=cores)
        print("measuring start-up (one URL answered 404 at once) ...", flush=True)
        one = one_url_list(server, workdir)
        startup = wit_startup(one, workdir)
        if args.img2dataset:
            i2d_startup = img2dataset_startup(args.img2dataset, one, workdir, args.i2d_processes, args.i2d_threads)
    floor_figures = _mean_figures(floor_before, floor_after)
    floor_cpu = floor_figures["parallel"]["cpu_s_per_1000"]
    floor_rate = floor_figures["parallel"]["images_per_s"]

    for name, figures in results.items():
        figures["images_per_s"] = figures["stored"] / figures["wall_s"]
        figures["cpu_s_per_1000"] = figures["cpu_s"] / max(figures["stored"], 1) * 1000

    print()
    print(f"{'':14} {'images/s':>9} {'wall s':>7} {'CPU s/1000':>11} {'peak RSS MB':>12} {'stored':>7}  outcomes")
    for name, f in results.items():
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(f["statuses"].items()))
        print(f"{name:14} {f['images_per_s']:9.1f} {f['wall_s']:7.1f} {f['cpu_s_per_1000']:11.1f} {f['peak_rss_mb']:12.0f} {f['stored']:7d}  {outcomes}")
    one = floor_figures["one_thread"]
    print(f"{'floor':14} {floor_rate:9.1f} {'':7} {floor_cpu:11.1f}   (decode with draft + resize + encode, {cores} threads; "
          f"one thread: {one['cpu_s_per_1000']:.1f} CPU s/1000, without draft {floor_figures['no_draft_cpu_s_per_1000']:.1f})")

    summary = {
        "urls": count,
        "cores": cores,
        "url_mix": dict(mix),
        "photo_mix": photo_mix,
        "timeout_s": TIMEOUT_S,
        "floor_cpu_s_per_1000": round(floor_cpu, 2),
        "floor_images_per_s": round(floor_rate, 1),
        "floor_one_thread_cpu_s_per_1000": round(one["cpu_s_per_1000"], 2),
        "floor_no_draft_cpu_s_per_1000": round(floor_figures["no_draft_cpu_s_per_1000"], 2),
        "floor_cpu_s_per_1000_before_after_wit": [round(f["parallel"]["cpu_s_per_1000"], 2) for f in (floor_before, floor_after)],
    }
    for name, f in results.items():
        name = name.replace(" ", "_")
        for key in ("images_per_s", "wall_s", "cpu_s_per_1000", "peak_rss_mb"):
            summary[f"{name}_{key}"] = round(f[key], 2)
        summary[f"{name}_stored"] = f["stored"]
        summary[f"{name}_statuses"] = f["statuses"]
    if "wit build" in results:
        build = results["wit build"]
        summary["build_cores_busy"] = round(build["cpu_s"] / build["wall_s"], 2)
        summary["fetch_cores_busy"] = round(results["wit"]["cpu_s"] / results["wit"]["wall_s"], 2)
        summary["build_vs_fetch"] = round(build["images_per_s"] / results["wit"]["images_per_s"], 2)
        print(f"wit build: {build['images_per_s']:.1f} images/s, {summary['build_vs_fetch']:.2f}x wit fetch's "
              f"(target >= 0.9x), {summary['build_cores_busy']:.2f} of {cores} cores busy (wit fetch {summary['fetch_cores_busy']:.2f})")
        summary["build_requests_issued_s"] = build_issued
        print(f"wit build's requests reached the server {build_issued['first']:.2f}-{build_issued['last']:.2f} s after it "
              f"started (the last stalled one at {build_issued['last_stall']:.2f} s; it ended at {build['wall_s']:.1f} s), "
              f"wit fetch's {issued['first']:.2f}-{issued['last']:.2f} s")
        if "img2dataset" in results:
            summary["build_vs_img2dataset"] = round(build["images_per_s"] / results["img2dataset"]["images_per_s"], 2)
            print(f"wit build vs img2dataset: {summary['build_vs_img2dataset']:.2f}x images/s (target >= 1.5x)")
    wit = results["wit"]
    summary["wit_cpu_vs_floor"] = round(wit["cpu_s_per_1000"] / floor_cpu, 2)
    summary["wit_startup_cpu_s"] = round(startup["cpu_s"], 2)
    net = (wit["cpu_s"] - startup["cpu_s"]) / max(wit["stored"], 1) * 1000
    summary["wit_cpu_s_per_1000_after_startup"] = round(net, 2)
    summary["wit_cpu_after_startup_vs_floor"] = round(net / floor_cpu, 2)
    summary["wit_cpu_vs_one_thread_floor"] = round(wit["cpu_s_per_1000"] / one["cpu_s_per_1000"], 2)
    summary["wit_rate_vs_floor"] = round(wit["images_per_s"] / floor_rate, 2)
    summary["wit_startup_wall_s"] = round(startup["wall_s"], 2)
    # No run can end before its start-up plus one timeout: the stalled URLs hold until it fires.
    wall_floor = startup["wall_s"] + TIMEOUT_S
    summary["wit_wall_floor_s"] = round(wall_floor, 2)
    summary["wit_images_per_s_at_wall_floor"] = round(wit["stored"] / wall_floor, 1)
    summary["wit_requests_issued_s"] = issued
    summary["wit_held_bytes_per_candidate"] = round(held_bytes_per_candidate(url_list))
    print()
    print(f"wit's requests reached the server {issued['first']:.2f}-{issued['last']:.2f} s after it started "
          f"(the last stalled one at {issued['last_stall']:.2f} s, so the run cannot end before "
          f"{issued['last_stall'] + TIMEOUT_S:.1f} s; it ended at {wit['wall_s']:.1f} s)")
    print(f"memory the in-process driver holds per candidate (list read and assigned): "
          f"{summary['wit_held_bytes_per_candidate']:,} bytes")
    print(f"wit CPU per stored image / floor: {summary['wit_cpu_vs_floor']:.2f}x (target <= 1.3x; "
          f"{summary['wit_cpu_vs_one_thread_floor']:.2f}x of the one-thread floor); "
          f"start-up (process start and imports, measured alone on one URL) {startup['cpu_s']:.1f} CPU s, "
          f"{summary['wit_cpu_after_startup_vs_floor']:.2f}x the floor without it; "
          f"wit images/s / floor: {summary['wit_rate_vs_floor']:.2f}")
    if "img2dataset" in results:
        i2d = results["img2dataset"]
        summary["speedup_vs_img2dataset"] = round(wit["images_per_s"] / i2d["images_per_s"], 2)
        summary["cpu_ratio_vs_img2dataset"] = round(wit["cpu_s_per_1000"] / i2d["cpu_s_per_1000"], 2)
        summary["stored_vs_img2dataset"] = wit["stored"] - i2d["stored"]
        summary["img2dataset_startup_wall_s"] = round(i2d_startup["wall_s"], 2)
        summary["img2dataset_startup_cpu_s"] = round(i2d_startup["cpu_s"], 2)
        summary["speedup_at_wall_floor_vs_img2dataset"] = round(summary["wit_images_per_s_at_wall_floor"] / i2d["images_per_s"], 2)
        print(f"start-up (one URL): wit {startup['wall_s']:.1f} s wall, {startup['cpu_s']:.1f} CPU s; img2dataset "
              f"{i2d_startup['wall_s']:.1f} s wall, {i2d_startup['cpu_s']:.1f} CPU s")
        print(f"wall floor of any run of this list: wit's start-up + the {TIMEOUT_S:g} s timeout = {wall_floor:.1f} s, "
              f"i.e. at most {summary['wit_images_per_s_at_wall_floor']:.0f} images/s = "
              f"{summary['speedup_at_wall_floor_vs_img2dataset']:.2f}x img2dataset's rate here")
        print(f"wit vs img2dataset: {summary['speedup_vs_img2dataset']:.2f}x images/s (target >= 2.5x), "
              f"{summary['cpu_ratio_vs_img2dataset']:.2f}x CPU per image, {summary['stored_vs_img2dataset']:+d} stored")
    print(json.dumps(summary))


def _request_timeline(first_seen: dict[str, float], started: float) -> dict:
    """When the server saw the first, the median and the last request, and the last stalled one,
    in seconds after the tool started: requests that start late end late, stalls 10 s late."""
    times = sorted(t - started for t in first_seen.values())
    stalls = [t - started for path, t in first_seen.items() if path.startswith("/stall/")]
    if not times:
        return {"first": 0.0, "median": 0.0, "last": 0.0, "last_stall": 0.0}
    return {
        "first": round(times[0], 2),
        "median": round(times[len(times) // 2], 2),
        "last": round(times[-1], 2),
        "last_stall": round(max(stalls, default=0.0), 2),
    }


def held_bytes_per_candidate(url_list: Path) -> float:
    """Python memory the in-process driver holds per candidate: the list read and assigned to
    shards (wit.shards.assign.assign_all), as tracemalloc counts it after the imports are done."""
    import gc
    import tracemalloc

    from wit.pipeline.sources import fetch_list_config, readable_candidates
    from wit.pipeline.sources.inputs import expand_inputs

    def read_candidates(path):
        return readable_candidates(expand_inputs([path]), fetch_list_config())
    from wit.shards.assign import assign_all

    assign_all(list(read_candidates(str(url_list))), 10_000)  # imports and caches first
    gc.collect()
    tracemalloc.start()
    try:
        candidates = list(read_candidates(str(url_list)))
        shards = assign_all(candidates, 10_000)
        gc.collect()
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del shards
    return held / max(len(candidates), 1)


def _mean_figures(a: dict, b: dict) -> dict:
    """Element-wise mean of two nested dicts of figures."""
    return {k: _mean_figures(v, b[k]) if isinstance(v, dict) else (v + b[k]) / 2 for k, v in a.items()}


def _megapixels(data: bytes) -> float:
    from PIL import Image

    width, height = Image.open(io.BytesIO(data)).size
    return width * height / 1e6


if __name__ == "__main__":
    main()
