"""Decode, orient, convert, resize and re-encode (pipeline/images.py), without a network."""

import hashlib
import io

import pytest
from PIL import Image

from photos import photo
from wit.pipeline.fetch_config import ImageOptions
from wit.pipeline.images import ImageRejected, process_image


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.mark.parametrize(
    "mode, expected",
    [("center_crop", (256, 256)), ("keep_ratio", (341, 256)), ("border", (256, 256)), ("no", (640, 480))],
)
def test_resize_modes(mode, expected):
    stored = process_image(photo(640, 480), ImageOptions(image_size=256, resize_mode=mode))
    assert (stored.width, stored.height) == expected
    assert decode(stored.data).size == expected
    assert (stored.original_width, stored.original_height) == (640, 480)
    assert stored.sha256 == hashlib.sha256(stored.data).hexdigest()


def test_border_pads_the_short_side_with_white():
    stored = decode(process_image(photo(600, 200), ImageOptions(image_size=300, resize_mode="border")).data)
    assert stored.size == (300, 300)
    top_left = stored.getpixel((150, 2))
    assert all(channel > 245 for channel in top_left)


def test_large_jpeg_is_decoded_at_reduced_scale(monkeypatch):
    from PIL import JpegImagePlugin

    decoded_sizes = []
    original = JpegImagePlugin.JpegImageFile.draft

    def spy(self, mode, size):
        result = original(self, mode, size)
        decoded_sizes.append((size, self.size))
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    stored = process_image(photo(3000, 2000), ImageOptions(image_size=256))
    # asked for the size the shorter side needs; libjpeg decodes at 1/4 (750x500), not 3000x2000
    assert decoded_sizes == [((384, 256), (750, 500))]
    assert (stored.width, stored.height) == (256, 256)
    assert (stored.original_width, stored.original_height) == (3000, 2000)


def test_exif_orientation_is_applied():
    # Stored 400x200 with orientation 6 (rotate 90): the photo is really 200 wide, 400 tall.
    stored = process_image(photo(400, 200, exif_orientation=6), ImageOptions(image_size=100, resize_mode="keep_ratio"))
    assert (stored.original_width, stored.original_height) == (200, 400)
    assert (stored.width, stored.height) == (100, 200)


def test_alpha_is_flattened_on_white():
    image = Image.new("RGBA", (64, 64), (255, 0, 0, 0))  # fully transparent red
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    stored = decode(process_image(buffer.getvalue(), ImageOptions(image_size=32)).data)
    assert stored.mode == "RGB"
    assert all(channel > 245 for channel in stored.getpixel((16, 16)))


@pytest.mark.parametrize("mode", ["L", "CMYK", "P"])
def test_other_modes_become_rgb(mode):
    stored = decode(process_image(photo(300, 300, mode=mode, fmt="JPEG" if mode != "P" else "PNG"), ImageOptions()).data)
    assert stored.mode == "RGB"


def test_truncated_image_fails():
    data = photo(800, 600)
    with pytest.raises(ImageRejected) as caught:
        process_image(data[: len(data) // 2], ImageOptions())
    assert caught.value.status == "failed_to_decode"
    assert "truncated" in str(caught.value)


def test_html_body_is_not_an_image():
    with pytest.raises(ImageRejected) as caught:
        process_image(b"<!DOCTYPE html><html><body>404</body></html>", ImageOptions())
    assert caught.value.status == "failed_to_decode"
    assert str(caught.value) == "not an image (HTML page)"


def test_decompression_bomb_is_refused_before_decoding():
    big = Image.new("L", (5000, 5000))
    buffer = io.BytesIO()
    big.save(buffer, "PNG")  # compresses to a few KB, 25 MP once decoded
    with pytest.raises(ImageRejected) as caught:
        process_image(buffer.getvalue(), ImageOptions(max_image_pixels=10_000_000))
    assert "decompression bomb" in str(caught.value)


def test_size_and_aspect_filters():
    with pytest.raises(ImageRejected) as small:
        process_image(photo(100, 80), ImageOptions(min_image_size=128))
    assert small.value.status == "filtered" and "too small" in str(small.value)
    with pytest.raises(ImageRejected) as wide:
        process_image(photo(900, 100), ImageOptions(max_aspect_ratio=3))
    assert wide.value.status == "filtered" and "aspect ratio" in str(wide.value)
    process_image(photo(300, 100), ImageOptions(min_image_size=100, max_aspect_ratio=3))  # on the limits: kept


def test_webp_and_quality():
    data = photo(500, 500)
    webp = process_image(data, ImageOptions(encode_format="webp"))
    assert webp.data[:4] == b"RIFF" and decode(webp.data).format == "WEBP"
    low = process_image(data, ImageOptions(encode_quality=30))
    high = process_image(data, ImageOptions(encode_quality=95))
    assert len(low.data) < len(high.data)


def test_resize_only_if_bigger_never_upscales():
    stored = process_image(photo(120, 100), ImageOptions(image_size=256, resize_mode="keep_ratio", resize_only_if_bigger=True))
    assert (stored.width, stored.height) == (120, 100)


def test_same_input_same_bytes():
    data = photo(700, 500)
    assert process_image(data, ImageOptions()).sha256 == process_image(data, ImageOptions()).sha256


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="resize mode"):
        ImageOptions(resize_mode="stretch")
    with pytest.raises(ValueError, match="quality"):
        ImageOptions(encode_quality=0)


def _blocky_png(side: int, block: int, seed: int = 5) -> tuple[bytes, Image.Image]:
    """A PNG of random flat grey blocks, and the same image at half size (each block half as wide).
    Grey, and halved blocks of 8 px: JPEG's 8x8 cells and chroma subsampling store it nearly exactly."""
    import random

    rng = random.Random(seed)
    cells = side // block
    small = Image.new("RGB", (cells, cells))
    small.putdata([(level, level, level) for level in (rng.randrange(256) for _ in range(cells * cells))])
    buffer = io.BytesIO()
    small.resize((side, side), Image.Resampling.NEAREST).save(buffer, "PNG")
    return buffer.getvalue(), small.resize((side // 2, side // 2), Image.Resampling.NEAREST)


def _mean_abs_difference(a: Image.Image, b: Image.Image) -> float:
    pairs = zip(a.convert("RGB").tobytes(), b.convert("RGB").tobytes())
    return sum(abs(x - y) for x, y in pairs) / (a.width * a.height * 3)


def test_area_resample_averages_pixels_and_bicubic_rings():
    # Halving an image of flat 16-px blocks: box averaging gives the same blocks at half size
    # (up to JPEG's error); bicubic's negative lobes over- and undershoot at every block edge.
    data, halved = _blocky_png(512, 16)
    options = dict(image_size=256, resize_mode="center_crop", encode_quality=100)
    area = decode(process_image(data, ImageOptions(resample="area", **options)).data)
    bicubic = decode(process_image(data, ImageOptions(resample="bicubic", **options)).data)
    assert area.size == bicubic.size == (256, 256)
    assert _mean_abs_difference(area, halved) < 1.5
    assert _mean_abs_difference(bicubic, halved) > 2 * _mean_abs_difference(area, halved)


@pytest.mark.parametrize("resample", ["bicubic", "bilinear", "lanczos", "area"])
def test_every_resample_filter_gives_the_target_size(resample):
    for mode, expected in (("center_crop", (256, 256)), ("keep_ratio", (341, 256))):
        stored = process_image(photo(640, 480), ImageOptions(image_size=256, resize_mode=mode, resample=resample))
        assert (stored.width, stored.height) == expected == decode(stored.data).size


def test_area_enlarges_with_bicubic():
    # Box averaging would enlarge by repeating pixels in blocks.
    data = photo(120, 100)
    area = process_image(data, ImageOptions(image_size=256, resample="area"))
    bicubic = process_image(data, ImageOptions(image_size=256, resample="bicubic"))
    assert area.sha256 == bicubic.sha256


def test_unknown_resample_filter_is_refused():
    with pytest.raises(ValueError, match="resample filter must be one of bicubic, bilinear, lanczos, area"):
        ImageOptions(resample="nearest")
