"""Where `wit fetch` spends its CPU: the event loop's thread against the decode threads.

Runs the fetch stage in this process (wit.pipeline.shard_work.fetch_in_process, what `wit fetch`
runs without Beam options) on bench_fetch.py's URL list and local server, with two clocks added:
the CPU time of the thread that runs the event loop (time.thread_time around the loop), and the
CPU time of every decode (time.thread_time around each process_image call, in its thread). The
server runs in a child process, so its CPU is not counted. With --stub-decode every body is
"decoded" to a fixed small image at no cost: the loop's CPU per request with no decode threads
competing with it for the GIL.

    .venv/bin/python benchmarks/profile_fetch.py [--stub-decode] [--urls 3000] [--decode-buffer-mib 128]

Prints one table and, as its last line, a JSON object of the figures.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "benchmarks"))

import bench_fetch  # noqa: E402


def serve(workdir: Path, count: int) -> None:
    """Child process: the local image server and the URL list, until stdin closes."""
    from image_server import ImageServer

    pool = bench_fetch.make_photo_pool(max(50, count // 10), seed=7, cache=Path(tempfile.gettempdir()) / "wit-bench-photos")
    with ImageServer(pool, latency_ms=(20, 150), stall_s=30, seed=1) as server:
        bench_fetch.make_url_list(server, count, seed=3, path=workdir / "urls.parquet")
        print("ready", flush=True)
        sys.stdin.read()


def profile(workdir: Path, stub_decode: bool, decode_buffer_mib: int = 512) -> dict:
    import wit.pipeline.shard_work as shard_work
    import wit.pipeline.fetch as fetch_module
    from wit.pipeline.fetch_config import FetchConfig, ImageOptions
    from wit.pipeline.images import StoredImage
    from wit.pipeline.sources import fetch_list_config, readable_candidates
    from wit.pipeline.sources.inputs import expand_inputs

    def read_candidates(path):
        return readable_candidates(expand_inputs([path]), fetch_list_config())

    decode_cpu = [0.0]
    decodes = [0]
    lock = threading.Lock()
    real_decode = fetch_module.process_image
    stub = StoredImage(b"\xff" * 15_000, 256, 256, 1024, 768, "0" * 64)

    def timed_decode(data, options):
        started = time.thread_time()
        try:
            return stub if stub_decode else real_decode(data, options)
        finally:
            with lock:
                decode_cpu[0] += time.thread_time() - started
                decodes[0] += 1

    loop_cpu = [0.0]
    real_fetch_shards = shard_work._fetch_shards

    async def timed_fetch_shards(jobs, config, *rest):
        started = time.thread_time()
        try:
            return await real_fetch_shards(jobs, config, *rest)
        finally:
            loop_cpu[0] = time.thread_time() - started

    fetch_module.process_image = timed_decode
    shard_work._fetch_shards = timed_fetch_shards
    config = FetchConfig(
        out=str(workdir / "out"), images=ImageOptions(image_size=256, resize_mode="center_crop"), timeout=10.0, read_timeout=10.0,
        allowed_networks=("127.0.0.1/32",), per_host_limit=0, decode_buffer_mib=decode_buffer_mib,
    )
    cpu, wall = time.process_time(), time.monotonic()
    manifest = shard_work.fetch_in_process(read_candidates(str(workdir / "urls.parquet")), config)
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    requests = manifest["attempted"]
    return {
        "requests": requests,
        "stored": manifest["samples"],
        "wall_s": round(wall, 2),
        "process_cpu_s": round(cpu, 2),
        "loop_thread_cpu_s": round(loop_cpu[0], 2),
        "loop_cpu_ms_per_request": round(loop_cpu[0] / max(requests, 1) * 1000, 3),
        "decode_cpu_s": round(decode_cpu[0], 2),
        "decodes": decodes[0],
        "decode_cpu_ms_each": round(decode_cpu[0] / max(decodes[0], 1) * 1000, 3),
        "rest_cpu_s": round(cpu - loop_cpu[0] - decode_cpu[0], 2),
        "stub_decode": stub_decode,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--urls", type=int, default=3000)
    parser.add_argument("--stub-decode", action="store_true", help="no decoding: the loop's own CPU per request")
    parser.add_argument("--decode-buffer-mib", type=int, default=512,
                        help="wit's --decode-buffer-mib (default %(default)s, wit's; each worker of a local pool gets its share)")
    parser.add_argument("--serve", default="", help=argparse.SUPPRESS)  # internal: the server child
    args = parser.parse_args()
    if args.serve:
        serve(Path(args.serve), args.urls)
        return
    with tempfile.TemporaryDirectory(prefix="wit-profile-fetch-") as folder:
        workdir = Path(folder)
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(workdir), "--urls", str(args.urls)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        try:
            if server.stdout.readline().strip() != "ready":
                raise SystemExit("profile_fetch: the image server did not start")
            figures = profile(workdir, args.stub_decode, args.decode_buffer_mib)
        finally:
            server.stdin.close()
            server.wait(30)
    print(f"\n{'':28} {'CPU s':>8}  per unit")
    print(f"{'event loop thread':28} {figures['loop_thread_cpu_s']:8.2f}  {figures['loop_cpu_ms_per_request']:.3f} ms per request ({figures['requests']})")
    print(f"{'decodes (their threads)':28} {figures['decode_cpu_s']:8.2f}  {figures['decode_cpu_ms_each']:.3f} ms per decode ({figures['decodes']})"
          + ("  [stub]" if figures["stub_decode"] else ""))
    print(f"{'the rest (read, assign, index)':28} {figures['rest_cpu_s']:8.2f}")
    print(f"{'process':28} {figures['process_cpu_s']:8.2f}  in {figures['wall_s']:.1f} s wall; {figures['stored']} stored")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
