"""Is there a cheaper image path than wit's Pillow one? CPU per image, output size and quality.

wit stores every fetched image through `wit.pipeline.images.process_image`: Pillow reads the
header, decodes JPEGs at reduced scale (`Image.draft`), resizes and re-encodes. This script runs
that path and its candidates on the photos `benchmarks/bench_fetch.py` serves (the same 300
photos: real photographs cropped and rescaled to web sizes, median 0.3 MP up to 12 MP, 95% JPEG
and 5% PNG), with wit's default image options (256 px, center_crop, JPEG quality 95):

  pillow              today's path, `process_image` itself (--resample bicubic, the default):
                      Pillow decodes and encodes, wit's C resampler (pipeline/_resample.c) resizes
  pillow, Pillow's resize
                      the same with Pillow's resize, as where the C extension is not built
  pillow --resample   the same with wit's other resize filters: bilinear, area, lanczos
  pillow-simd         the same `process_image` under a Python that has pillow-simd instead of
                      Pillow (it replaces Pillow and must be built from source; --pillow-simd)
  pyvips              libvips: `thumbnail_buffer` (shrink-on-load, then lanczos3 reduce and crop),
                      `jpegsave_buffer` with 4:2:0 chroma like Pillow's
  simplejpeg+opencv   libjpeg-turbo through simplejpeg (scaled decode, as draft), cv2.resize
                      INTER_AREA on the central square, simplejpeg encode; PNGs through cv2.imdecode
  ... (fastdct)       the same with libjpeg-turbo's fast integer DCT for decode and encode

Every candidate other than pillow-simd also reads the header with Pillow first (Image.open and
the EXIF orientation), as a backend inside `process_image` would, since the header checks
(format, pixel count, filters) and their counted statuses stay Pillow's.

Per backend it prints CPU ms per image (time.process_time of the whole process over every photo,
one thread: OMP_NUM_THREADS, VIPS_CONCURRENCY and cv2.setNumThreads at 1; median over --rounds
rounds, the backends interleaved in each round so a shared machine's drifting load falls on all
of them alike), how much cheaper than pillow it is, how many outputs have the same width and
height as pillow's (and the same bytes), PSNR of the stored (decoded) output against a reference
resize (Pillow LANCZOS of the full decode, no draft, same crop; mean and 5th percentile over the
photos), and the mean output size; then where pillow's CPU goes, step by step.

    .venv/bin/pip install -c requirements/constraints.txt "pyvips[binary]" simplejpeg opencv-python-headless
    python3 -m venv /tmp/simd && CC="cc -mavx2" /tmp/simd/bin/pip install pillow-simd numpy
    .venv/bin/python benchmarks/bench_image_path.py --pillow-simd /tmp/simd/bin/python

A backend whose package is missing is reported as such and skipped. The last line is a JSON
object.
"""

from __future__ import annotations

import os

# One thread everywhere, before any image library is imported: the figure is CPU per image.
for _variable in ("OMP_NUM_THREADS", "VIPS_CONCURRENCY", "OPENBLAS_NUM_THREADS"):
    os.environ[_variable] = "1"

import argparse
import io
import json
import math
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))

IMAGE_SIZE = 256  # wit's defaults (wit.pipeline.fetch_config.ImageOptions)
QUALITY = 95
POOL_SIZE = 300  # bench_fetch.py's pool for its default 3,000 URLs
POOL_SEED = 7
POOL_SPREAD = 1.3


def _import_wit():
    """wit.pipeline from this checkout, also under a Python where wit is not installed (the
    pillow-simd venv): wit's subpackages live at the repo root (setuptools package-dir)."""
    try:
        import wit.pipeline.images  # noqa: F401
    except ImportError:
        sys.path.insert(0, str(REPO))
        import wit

        wit.__path__.append(str(REPO))
    from wit.pipeline.fetch_config import ImageOptions
    from wit.pipeline.images import process_image

    return ImageOptions, process_image


def load_photos() -> list[bytes]:
    from bench_fetch import make_photo_pool

    cache = Path(tempfile.gettempdir()) / "wit-bench-photos"
    return make_photo_pool(POOL_SIZE, seed=POOL_SEED, cache=cache, spread=POOL_SPREAD)


# ---- the backends: bytes -> stored JPEG bytes, wit's default options -------------------------


def pillow_backend(resample: str = "bicubic", c_resize: bool = True):
    ImageOptions, process_image = _import_wit()
    import wit.pipeline.images as images

    options = ImageOptions(image_size=IMAGE_SIZE, resize_mode="center_crop", encode_quality=QUALITY, resample=resample)
    built = images._resample

    def run(data: bytes) -> bytes:
        if c_resize:
            return process_image(data, options).data
        images._resample = None  # what an install without the C extension does: Pillow's resize
        try:
            return process_image(data, options).data
        finally:
            images._resample = built

    return run


def _pillow_header(data: bytes) -> tuple[int, int, int]:
    """What process_image reads before any pixel: size and EXIF orientation."""
    from PIL import Image

    image = Image.open(io.BytesIO(data))
    try:
        orientation = int(image.getexif().get(0x0112, 1))
    except Exception:
        orientation = 1
    return image.width, image.height, orientation


def pyvips_backend():
    import pyvips

    pyvips.cache_set_max(0)  # the same photo comes round every round: never answer from the cache

    def run(data: bytes) -> bytes:
        _pillow_header(data)
        # crop="centre": scale so the shorter side is IMAGE_SIZE, then take the central square;
        # JPEGs are shrunk on load by libjpeg (1/2..1/8), as Pillow's draft does. EXIF rotation is
        # applied by thumbnail itself.
        image = pyvips.Image.thumbnail_buffer(data, IMAGE_SIZE, height=IMAGE_SIZE, crop="centre", size="both")
        if image.hasalpha():
            image = image.flatten(background=[255, 255, 255])
        if image.interpretation != "srgb" or image.bands != 3:
            image = image.colourspace("srgb")
        # libvips turns chroma subsampling off at Q >= 90 unless told; Pillow keeps 4:2:0.
        return image.jpegsave_buffer(Q=QUALITY, subsample_mode="on", keep=0)

    return run


def simplejpeg_opencv_backend(fastdct: bool):
    import cv2
    import numpy as np
    import simplejpeg

    cv2.setNumThreads(1)

    def run(data: bytes) -> bytes:
        width, height, _ = _pillow_header(data)  # the photos carry no EXIF rotation
        scale = IMAGE_SIZE / min(width, height)
        target = (max(1, round(width * scale)), max(1, round(height * scale)))
        if data[:3] == b"\xff\xd8\xff":
            # The smallest libjpeg-turbo scale that is still at least the target: Pillow's draft.
            pixels = simplejpeg.decode_jpeg(data, colorspace="RGB", fastdct=fastdct, fastupsample=fastdct,
                                            min_width=target[0], min_height=target[1])
        else:
            pixels = cv2.cvtColor(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        rows, columns = pixels.shape[:2]
        side = min(rows, columns)
        top, left = (rows - side) // 2, (columns - side) // 2
        square = pixels[top:top + side, left:left + side]
        interpolation = cv2.INTER_AREA if side >= IMAGE_SIZE else cv2.INTER_CUBIC
        resized = cv2.resize(square, (IMAGE_SIZE, IMAGE_SIZE), interpolation=interpolation)
        return simplejpeg.encode_jpeg(np.ascontiguousarray(resized), quality=QUALITY, colorspace="RGB",
                                      colorsubsampling="420", fastdct=fastdct)

    return run


IN_PROCESS = {
    "pillow": pillow_backend,
    # The same path with Pillow's own resize in place of wit's C resampler (pipeline/_resample.c).
    "pillow, Pillow's resize": lambda: pillow_backend(c_resize=False),
    # The same path with wit's other --resample filters (pillow is its default, bicubic).
    "pillow --resample bilinear": lambda: pillow_backend("bilinear"),
    "pillow --resample area": lambda: pillow_backend("area"),
    "pillow --resample lanczos": lambda: pillow_backend("lanczos"),
    "pyvips": pyvips_backend,
    "simplejpeg+opencv": lambda: simplejpeg_opencv_backend(fastdct=False),
    "simplejpeg+opencv (fastdct)": lambda: simplejpeg_opencv_backend(fastdct=True),
}


def backend_versions(name: str) -> str:
    if name.startswith("pillow"):
        import PIL

        return f"Pillow {PIL.__version__}"
    if name == "pyvips":
        import pyvips

        return f"pyvips {pyvips.__version__}, libvips {pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}"
    import cv2
    import simplejpeg

    return f"simplejpeg {simplejpeg.__version__}, opencv {cv2.__version__}"


def pillow_stages(photos: list[bytes]) -> dict:
    """Where today's path spends its CPU: the steps of process_image for the default options, each
    clocked on its own (header, draft decode, resize, encode), one pass; the resize both by wit's
    C resampler and by Pillow's."""
    from PIL import Image

    _import_wit()
    from wit.pipeline.images import resample

    totals = dict.fromkeys(("header", "decode", "resize", "resize by Pillow", "encode"), 0.0)
    for data in photos:
        start = time.process_time()
        image = Image.open(io.BytesIO(data))
        image.getexif()
        width, height = image.size
        scale = IMAGE_SIZE / min(width, height)
        if image.format == "JPEG":
            image.draft("RGB", (round(width * scale), round(height * scale)))
        after_header = time.process_time()
        image = image.convert("RGB")
        after_decode = time.process_time()
        side = min(image.size)
        left, top = (image.width - side) / 2, (image.height - side) / 2
        box = (left, top, left + side, top + side)
        resample(image, (IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BICUBIC, box, use_c=False)
        after_pillow_resize = time.process_time()
        image = resample(image, (IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BICUBIC, box)
        after_resize = time.process_time()
        image.save(io.BytesIO(), "JPEG", quality=QUALITY)
        end = time.process_time()
        steps = (after_header - start, after_decode - after_header, after_resize - after_pillow_resize,
                 after_pillow_resize - after_decode, end - after_resize)
        for name, seconds in zip(totals, steps):
            totals[name] += seconds
    return {name: round(seconds / len(photos) * 1000, 3) for name, seconds in totals.items()}


def cpu_ms_each(run, photos: list[bytes]) -> list[float]:
    """CPU ms of each photo, one pass (process_time counts every thread of the process)."""
    figures = []
    for data in photos:
        start = time.process_time()
        run(data)
        figures.append((time.process_time() - start) * 1000)
    return figures


def photo_groups(photos: list[bytes]) -> dict[str, list[int]]:
    """Indices of the photos by what they cost and how they are resized: at most / over the
    pool's median pixel count (0.3 MP), and shrunk / enlarged to 256 px (shorter side under it)."""
    from PIL import Image

    sizes = [Image.open(io.BytesIO(data)).size for data in photos]
    median = sorted(w * h for w, h in sizes)[len(sizes) // 2]
    return {
        "small": [i for i, (w, h) in enumerate(sizes) if w * h <= median],
        "large": [i for i, (w, h) in enumerate(sizes) if w * h > median],
        "shrunk": [i for i, (w, h) in enumerate(sizes) if min(w, h) >= IMAGE_SIZE],
        "enlarged": [i for i, (w, h) in enumerate(sizes) if min(w, h) < IMAGE_SIZE],
        "median_mp": [median],
    }


def cpu_figures(rounds: list[list[float]], groups: dict[str, list[int]]) -> dict:
    """Median over the rounds of the mean CPU ms per photo: all photos, small ones, large ones."""

    def median_of_means(indices: list[int]) -> float:
        return round(statistics.median(statistics.fmean(each[i] for i in indices) for each in rounds), 3)

    everything = list(range(len(rounds[0])))
    return {
        "cpu_ms_per_image": median_of_means(everything),
        "cpu_ms_small": median_of_means(groups["small"]),
        "cpu_ms_large": median_of_means(groups["large"]),
        "cpu_ms_per_image_rounds": [round(statistics.fmean(each), 3) for each in rounds],
    }


# ---- pillow-simd: the same process_image under another Python --------------------------------


def worker(outputs_path: str, rounds: int) -> None:
    """Under the pillow-simd Python: warm up once (keeping the outputs), then time `rounds` passes."""
    import PIL

    photos = load_photos()
    run = pillow_backend()
    outputs = [run(data) for data in photos]
    if outputs_path:
        Path(outputs_path).write_bytes(pickle.dumps(outputs))
    figures = [cpu_ms_each(run, photos) for _ in range(rounds)]
    print(json.dumps({"version": f"Pillow-SIMD {PIL.__version__}", "cpu_ms_each": figures}))


def run_worker(python: str, rounds: int, outputs_path: str = "") -> dict:
    command = [python, str(Path(__file__).resolve()), "--worker", "--rounds", str(rounds)]
    if outputs_path:
        command += ["--outputs", outputs_path]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---- quality ---------------------------------------------------------------------------------


def reference(data: bytes):
    """The high-quality resize to judge against: full decode (no draft), the central square,
    Pillow LANCZOS straight to 256 px (no reducing_gap)."""
    import numpy as np
    from PIL import Image

    image = Image.open(io.BytesIO(data)).convert("RGB")
    side = min(image.size)
    left, top = (image.width - side) / 2, (image.height - side) / 2
    resized = image.resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.LANCZOS, box=(left, top, left + side, top + side))
    return np.asarray(resized, dtype=np.float64)


def decoded(data: bytes):
    import numpy as np
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.float64)


def psnr(output, expected) -> float:
    mse = float(((output - expected) ** 2).mean())
    return 99.0 if mse == 0 else 10 * math.log10(255**2 / mse)


def quality_figures(outputs: list[bytes], references: list, pillow_outputs: list[bytes],
                    pillow_sizes: list[tuple[int, int]], groups: dict[str, list[int]]) -> dict:
    sizes, scores = [], []
    for data, expected in zip(outputs, references):
        pixels = decoded(data)
        sizes.append((pixels.shape[1], pixels.shape[0]))
        scores.append(psnr(pixels, expected) if pixels.shape == expected.shape else float("nan"))
    same = sum(size == pillow for size, pillow in zip(sizes, pillow_sizes))
    same_bytes = sum(data == pillow for data, pillow in zip(outputs, pillow_outputs))
    valid = sorted(s for s in scores if s == s)

    def mean_psnr(indices: list[int]) -> float | None:
        chosen = [scores[i] for i in indices if scores[i] == scores[i]]
        return round(statistics.fmean(chosen), 2) if chosen else None

    return {
        "same_size_as_pillow": same,
        "same_bytes_as_pillow": same_bytes,
        "psnr_mean_db": round(statistics.fmean(valid), 2) if valid else None,
        "psnr_p5_db": round(valid[len(valid) // 20], 2) if valid else None,
        "psnr_shrunk_db": mean_psnr(groups["shrunk"]),
        "psnr_enlarged_db": mean_psnr(groups["enlarged"]),
        "output_kb_mean": round(statistics.fmean(len(d) for d in outputs) / 1024, 2),
    }


# ---- main ------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed passes over the photos per backend (default %(default)s)")
    parser.add_argument("--quick", action="store_true", help="2 rounds")
    parser.add_argument("--pillow-simd", action="append", default=[], metavar="PYTHON",
                        help="a Python with pillow-simd (instead of Pillow) and numpy; may be given more than once")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--outputs", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    rounds = 2 if args.quick else args.rounds
    if args.worker:
        worker(args.outputs, rounds)
        return

    photos = load_photos()
    jpegs = sum(d[:3] == b"\xff\xd8\xff" for d in photos)
    print(f"bench_image_path: {len(photos)} photos ({jpegs} JPEG, {len(photos) - jpegs} PNG; bench_fetch.py's pool), "
          f"{IMAGE_SIZE} px center_crop, JPEG quality {QUALITY}, one thread, {rounds} rounds, "
          f"{os.cpu_count()} cores (load average {os.getloadavg()[0]:.1f})", flush=True)

    runs, outputs, versions, missing = {}, {}, {}, {}
    for name, make in IN_PROCESS.items():
        try:
            runs[name] = make()
            versions[name] = backend_versions(name)
        except ImportError as exc:
            missing[name] = f"not installed ({exc.name})"
            continue
        outputs[name] = [runs[name](data) for data in photos]  # also the warm-up pass
    simd = {}
    for number, python in enumerate(args.pillow_simd, start=1):
        name = "pillow-simd" if len(args.pillow_simd) == 1 else f"pillow-simd #{number}"
        with tempfile.NamedTemporaryFile(suffix=".pickle") as handle:
            try:
                answer = run_worker(python, rounds=0, outputs_path=handle.name)
            except (RuntimeError, OSError) as exc:
                missing[name] = f"failed under {python}: {exc}"
                continue
            outputs[name] = pickle.loads(Path(handle.name).read_bytes())
        versions[name] = f"{answer['version']} ({python})"
        simd[name] = python

    cpu: dict[str, list[list[float]]] = {name: [] for name in list(runs) + list(simd)}
    for round_number in range(rounds):
        for name, run in runs.items():
            cpu[name].append(cpu_ms_each(run, photos))
        for name, python in simd.items():
            cpu[name] += run_worker(python, rounds=1)["cpu_ms_each"]
        print(f"round {round_number + 1}: " + ", ".join(f"{n} {statistics.fmean(v[-1]):.2f}" for n, v in cpu.items()), flush=True)

    print("computing the reference resizes (full decode, LANCZOS) ...", flush=True)
    references = [reference(data) for data in photos]
    pillow_sizes = [(decoded(d).shape[1], decoded(d).shape[0]) for d in outputs["pillow"]]
    groups = photo_groups(photos)
    results = {}
    for name, each in cpu.items():
        results[name] = {"version": versions[name], **cpu_figures(each, groups),
                         **quality_figures(outputs[name], references, outputs["pillow"], pillow_sizes, groups)}
    base = results["pillow"]["cpu_ms_per_image"]
    for figures in results.values():
        figures["cheaper_than_pillow"] = round(base / figures["cpu_ms_per_image"], 2)

    print()
    median_mp = groups["median_mp"][0] / 1e6
    print(f"{'':29} {'CPU ms per image':^30} {'output against pillow':^21} {'PSNR dB':^31}")
    print(f"{'backend':29} {'all':>6} {'vs pillow':>9} {f'<={median_mp:.1f}MP':>7} {f'>{median_mp:.1f}MP':>6} "
          f"{'same size':>10} {'same bytes':>10} {'all':>6} {'p5':>6} {'shrunk':>7} {'enlarged':>8} {'KB out':>7}")
    for name, f in results.items():
        print(f"{name:29} {f['cpu_ms_per_image']:6.2f} {f['cheaper_than_pillow']:8.2f}x {f['cpu_ms_small']:7.2f} {f['cpu_ms_large']:6.2f} "
              f"{f['same_size_as_pillow']:>5}/{len(photos):<4} {f['same_bytes_as_pillow']:>5}/{len(photos):<4} "
              f"{f['psnr_mean_db']:6.2f} {f['psnr_p5_db']:6.2f} {f['psnr_shrunk_db']:7.2f} {f['psnr_enlarged_db']:8.2f} {f['output_kb_mean']:7.1f}")
    for name, reason in missing.items():
        print(f"{name:29} {reason}")
    print(f"({len(groups['shrunk'])} photos are shrunk to {IMAGE_SIZE} px, {len(groups['enlarged'])} enlarged: their shorter side is under it)")
    stages = pillow_stages(photos)
    print("pillow's CPU ms per image by step (one pass): " + ", ".join(f"{k} {v:.2f}" for k, v in stages.items()))
    print("(vs pillow: pillow's CPU per image / the backend's, > 1 is cheaper; PSNR of the stored JPEG "
          "against Pillow LANCZOS of the full decode; CPU is the median over the rounds of the mean per photo)")
    for name, version in versions.items():
        print(f"  {name}: {version}")
    print(json.dumps({"photos": len(photos), "rounds": rounds, "results": results, "pillow_stages_ms": stages, "missing": missing}))


if __name__ == "__main__":
    main()
