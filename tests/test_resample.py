"""wit.pipeline._resample, the fetch stage's C resampler, against Pillow's resize, which it replaces
(pipeline/images.py `resample`; Pillow's stays the fallback)."""

import io
import os
import random
import subprocess
import sys

import pytest
from PIL import Image

from c_extensions import c_extension
from photos import photo
from wit.pipeline import images
from wit.pipeline.fetch_config import ImageOptions
from wit.pipeline.images import process_image, resample

c_resample = c_extension("wit.pipeline._resample")

FILTERS = [Image.Resampling.BICUBIC, Image.Resampling.BILINEAR, Image.Resampling.LANCZOS, Image.Resampling.BOX]


def smooth_image(width: int, height: int, seed: int = 0) -> Image.Image:
    """Gradients and soft blobs: photo-like content, without the pixel noise on which the two
    resamplers' different pass order (each rounds and clips its intermediate) shows most."""
    rng = random.Random(seed)
    coarse = Image.frombytes("RGB", (12, 9), rng.randbytes(12 * 9 * 3)).resize((width, height), Image.Resampling.BICUBIC)
    gradient = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    return Image.blend(coarse, gradient, 0.4)


def pixels(image: Image.Image) -> list[tuple[int, int, int]]:
    data = image.tobytes()
    return [tuple(data[i:i + 3]) for i in range(0, len(data), 3)]


def pixel_differences(a: Image.Image, b: Image.Image) -> list[int]:
    assert a.size == b.size and a.mode == b.mode == "RGB"
    return [abs(x - y) for x, y in zip(a.tobytes(), b.tobytes())]


@pytest.mark.parametrize("resample_filter", FILTERS)
@pytest.mark.parametrize(
    "size, out, box",
    [
        ((640, 480), (256, 256), (80.0, 0.0, 560.0, 480.0)),  # center_crop of a landscape photo
        ((397, 511), (256, 256), (0.0, 70.5, 397.0, 467.5)),  # a fractional box edge
        ((640, 480), (341, 256), None),  # keep_ratio
        ((120, 90), (256, 192), None),  # enlarged
        ((300, 40), (37, 255), (3.25, 1.5, 290.0, 39.0)),  # shrunk one way, enlarged the other
    ],
)
def test_agrees_with_pillow_within_a_level_or_two(resample_filter, size, out, box):
    image = smooth_image(*size)
    ours = resample(image, out, resample_filter, box)
    pillows = resample(image, out, resample_filter, box, use_c=False)
    differences = pixel_differences(ours, pillows)
    assert sum(differences) / len(differences) < 0.5
    assert sum(d > 2 for d in differences) <= len(differences) // 1000


def test_reduces_by_whole_blocks_first_when_the_box_is_three_times_the_output(monkeypatch):
    image = smooth_image(2000, 1500)
    calls = []

    class Spy:
        @staticmethod
        def resample(data, width, height, box, out_width, out_height, kernel):
            calls.append((width, height))
            return c_resample.resample(data, width, height, box, out_width, out_height, kernel)

    monkeypatch.setattr(images, "_resample", Spy)
    ours = resample(image, (64, 64), Image.Resampling.BICUBIC, (250.0, 0.0, 1750.0, 1500.0))
    monkeypatch.undo()
    # 1,500 px to 64 is over 3 x 7: blocks of 7 x 7 are averaged first, so the C pass reads ~1/49
    # of the box (and the kernel's reach around it: 1.5 x 23 px each side, of the box's rows).
    assert len(calls) == 1
    width, height = calls[0]
    assert 1500 / 7 < width <= (1500 + 2 * 1.5 * 1500 / 64) / 7 + 1 and 1500 / 7 <= height <= 1500 / 7 + 1
    pillows = resample(image, (64, 64), Image.Resampling.BICUBIC, (250.0, 0.0, 1750.0, 1500.0), use_c=False)
    differences = pixel_differences(ours, pillows)
    assert sum(differences) / len(differences) < 1.0


@pytest.mark.parametrize("resample_filter", FILTERS)
@pytest.mark.parametrize("out", [(256, 256), (31, 700), (1, 1)])
def test_a_flat_colour_stays_exactly_flat(resample_filter, out):
    # The weights of every output pixel sum to exactly one, in fixed point too.
    image = Image.new("RGB", (333, 250), (200, 17, 96))
    resized = resample(image, out, resample_filter, (10.5, 3.25, 320.0, 249.0))
    assert resized.size == out
    assert set(pixels(resized)) == {(200, 17, 96)}


def test_box_kernel_averages_whole_blocks():
    # Halving 2x2 blocks of two colours each gives their exact mean.
    image = Image.new("RGB", (4, 2))
    image.putdata([(0, 0, 0), (100, 50, 10), (200, 0, 0), (0, 0, 255)] * 2)
    halved = resample(image, (2, 1), Image.Resampling.BOX)
    assert pixels(halved) == [(50, 25, 5), (100, 0, 128)]


def test_bicubic_rings_at_an_edge_and_clips():
    # A hard black/white edge shrunk by 1.5: bicubic's negative lobes would go below 0 and above
    # 255 next to it; the output clips them instead of wrapping round.
    image = Image.new("RGB", (300, 10), (0, 0, 0))
    image.paste((255, 255, 255), (150, 0, 300, 10))
    row = pixels(resample(image, (200, 10), Image.Resampling.BICUBIC))[:200]
    assert row[0] == (0, 0, 0) and row[-1] == (255, 255, 255)
    assert [pixel[0] for pixel in row] == sorted(pixel[0] for pixel in row)  # no wrap-around: still monotone


def test_bad_arguments_are_refused():
    data = bytes(10 * 10 * 3)
    with pytest.raises(ValueError, match="expected 300 bytes of RGB, got 299"):
        c_resample.resample(data[:-1], 10, 10, (0.0, 0.0, 10.0, 10.0), 5, 5, 2)
    with pytest.raises(ValueError, match="box must lie within the image"):
        c_resample.resample(data, 10, 10, (0.0, 0.0, 11.0, 10.0), 5, 5, 2)
    with pytest.raises(ValueError, match="box must lie within the image"):
        c_resample.resample(data, 10, 10, (5.0, 0.0, 5.0, 10.0), 5, 5, 2)
    with pytest.raises(ValueError, match="unknown kernel 4"):
        c_resample.resample(data, 10, 10, (0.0, 0.0, 10.0, 10.0), 5, 5, 4)
    with pytest.raises(ValueError, match="sizes must be positive"):
        c_resample.resample(data, 10, 10, (0.0, 0.0, 10.0, 10.0), 0, 5, 2)
    big = bytes(1300 * 10 * 3)
    with pytest.raises(ValueError, match="scale over 64: reduce by an integer factor first"):
        c_resample.resample(big, 1300, 10, (0.0, 0.0, 1300.0, 10.0), 20, 10, 2)


def test_process_image_resizes_with_it_and_falls_back_to_pillow(monkeypatch):
    data = photo(640, 480)
    options = ImageOptions(image_size=256)
    used = []

    class Spy:
        @staticmethod
        def resample(*args):
            used.append(args[1:3])
            return c_resample.resample(*args)

    monkeypatch.setattr(images, "_resample", Spy)
    with_c = process_image(data, options)
    # The central square and the kernel's reach (490 x 480) is over half the photo: it goes whole,
    # without a crop's copy. A panorama's central square is cropped out first, with the reach
    # either side (bicubic shrinking 1.875x reaches 4 px, and one more).
    process_image(photo(1600, 480), options)
    assert used == [(640, 480), (490, 480)]
    monkeypatch.setattr(images, "_resample", None)  # an install without the extension
    without = process_image(data, options)
    assert (with_c.width, with_c.height) == (without.width, without.height) == (256, 256)
    first, second = (Image.open(io.BytesIO(stored.data)).convert("RGB") for stored in (with_c, without))
    differences = pixel_differences(first, second)
    assert sum(differences) / len(differences) < 2.0  # JPEG's error on a noisy photo, twice, and the resize's


def test_other_modes_are_resized_by_pillow(monkeypatch):
    monkeypatch.setattr(images, "_resample", None)
    expected = resample(Image.new("L", (100, 80), 7), (50, 40), Image.Resampling.BICUBIC)

    class Refuse:
        @staticmethod
        def resample(*args):
            raise AssertionError("only RGB goes to the C resampler")

    monkeypatch.setattr(images, "_resample", Refuse)
    grey = resample(Image.new("L", (100, 80), 7), (50, 40), Image.Resampling.BICUBIC)
    assert grey.mode == "L" and grey.tobytes() == expected.tobytes()


def test_wit_pillow_resize_chooses_pillows_resize_even_where_the_extension_is_built():
    probe = "import wit.pipeline.images as images; print(images._resample is None)"
    answers = []
    for value in ("", "1"):
        env = {**os.environ, "WIT_PILLOW_RESIZE": value}
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60)
        assert done.returncode == 0, done.stderr
        answers.append(done.stdout.strip())
    assert answers == ["False", "True"]
