"""Turn downloaded bytes into the stored image: verify, decode, orient, resize, re-encode.

Everything here is a plain function of (bytes, ImageOptions) so tests and the benchmark's floor
call it without a network or Beam. Pillow releases the GIL while it decodes, resizes and
encodes, so the fetcher runs `process_image` on a small thread pool and keeps every core busy.

The order is chosen for cost: header checks (format, pixel count, size and aspect filters) come
before the pixels are decoded, and JPEGs are decoded at reduced scale (`Image.draft`, libjpeg's
DCT scaling) when the target is at least 2x smaller, which is most of the speed-up.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import warnings
from dataclasses import dataclass

from PIL import Image, ImageFile, UnidentifiedImageError

from wit.pipeline.fetch_config import ImageOptions

try:  # the C resampler (pipeline/_resample.c); without it, Pillow's resize does the same job, slower
    from wit.pipeline import _resample
except ImportError:  # pragma: no cover - the extension is optional, like the others in setup.py
    _resample = None
if os.environ.get("WIT_PILLOW_RESIZE"):  # Pillow's resize even where the extension is built: to compare
    _resample = None

# Images above ImageOptions.max_image_pixels are refused from their header, before any pixel is decoded;
# Pillow itself would only warn up to twice its limit.

# Truncated files must fail, never be padded with grey.
ImageFile.LOAD_TRUNCATED_IMAGES = False
# We check the pixel count ourselves (above) and turn it into a counted status.
warnings.simplefilter("ignore", Image.DecompressionBombWarning)

# EXIF orientations 5-8 rotate by 90 degrees: width and height swap.
_SWAPPING_ORIENTATIONS = {5, 6, 7, 8}
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_WHITE = (255, 255, 255)


@dataclass(frozen=True)
class StoredImage:
    data: bytes
    width: int
    height: int
    original_width: int
    original_height: int
    sha256: str


class ImageRejected(Exception):
    """The bytes are not a usable image. `status` is the sample status, str(exc) the reason."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status


def process_image(data: bytes, options: ImageOptions) -> StoredImage:
    """Decode `data` fully and return the re-encoded, resized image; raise ImageRejected."""
    try:
        image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise ImageRejected("failed_to_decode", f"not an image ({_describe_body(data)})") from None
    except Image.DecompressionBombError as exc:
        raise ImageRejected("failed_to_decode", f"decompression bomb: {exc}") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageRejected("failed_to_decode", f"unreadable image header: {exc}") from None

    stored_width, stored_height = image.size
    if stored_width < 1 or stored_height < 1:
        raise ImageRejected("failed_to_decode", f"image has no pixels ({stored_width}x{stored_height})")
    if stored_width * stored_height > options.max_image_pixels:
        raise ImageRejected(
            "failed_to_decode",
            f"decompression bomb: {stored_width}x{stored_height} is over {options.max_image_pixels} pixels",
        )
    orientation = _orientation(image)
    swapped = orientation in _SWAPPING_ORIENTATIONS
    width, height = (stored_height, stored_width) if swapped else (stored_width, stored_height)

    _check_filters(width, height, options)
    target = _resized_size(width, height, options)

    if image.format == "JPEG" and target is not None:
        request = (target[1], target[0]) if swapped else target
        image.draft("RGB", request)  # decode at 1/2, 1/4 or 1/8 scale, never below `request`
    try:
        image.load()
    except Image.DecompressionBombError as exc:
        raise ImageRejected("failed_to_decode", f"decompression bomb: {exc}") from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise ImageRejected("failed_to_decode", f"corrupt image: {exc}") from None

    if orientation in _TRANSPOSE:
        image = image.transpose(_TRANSPOSE[orientation])
    image = _to_rgb(image)
    image = _resize(image, target, options)
    encoded = _encode(image, options)
    return StoredImage(
        data=encoded,
        width=image.width,
        height=image.height,
        original_width=width,
        original_height=height,
        sha256=hashlib.sha256(encoded).hexdigest(),
    )


def _describe_body(data: bytes) -> str:
    head = data[:256].lstrip().lower()
    if not data:
        return "empty body"
    if head.startswith((b"<!doctype html", b"<html", b"<head", b"<body")):
        return "HTML page"
    if head.startswith((b"{", b"[")):
        return "JSON or text"
    if head.startswith(b"<?xml") or head.startswith(b"<svg"):
        return "XML or SVG"
    return f"{len(data)} bytes starting {data[:8]!r}"


def _orientation(image: Image.Image) -> int:
    try:
        return int(image.getexif().get(0x0112, 1))
    except Exception:  # a broken EXIF block must not lose an otherwise good image
        return 1


def _check_filters(width: int, height: int, options: ImageOptions) -> None:
    if options.min_image_size and min(width, height) < options.min_image_size:
        raise ImageRejected("filtered", f"image too small: {width}x{height} < {options.min_image_size}")
    if options.max_aspect_ratio and max(width, height) / min(width, height) > options.max_aspect_ratio:
        raise ImageRejected(
            "filtered",
            f"aspect ratio too large: {width}x{height} is over {options.max_aspect_ratio:g}",
        )


def _resized_size(width: int, height: int, options: ImageOptions) -> tuple[int, int] | None:
    """Size of the whole image after scaling (before a crop or border); None = keep as is."""
    size = options.image_size
    if options.resize_mode == "no":
        return None
    if options.resize_mode == "border":
        scale = size / max(width, height)  # the longer side fits, a border fills the rest
    else:
        scale = size / min(width, height)  # center_crop and keep_ratio: the shorter side is `size`
    if options.resize_only_if_bigger and scale >= 1:
        return None
    return max(1, round(width * scale)), max(1, round(height * scale))


def _to_rgb(image: Image.Image) -> Image.Image:
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode == "P" and "transparency" in image.info
    )
    if has_alpha:
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, _WHITE)
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image if image.mode == "RGB" else image.convert("RGB")


def _resize(image: Image.Image, target: tuple[int, int] | None, options: ImageOptions) -> Image.Image:
    if target is None:
        return image
    width, height = image.size
    size = options.image_size
    if options.resize_mode == "center_crop":
        # Crop and scale in one pass: the box is the central square of the (drafted) source.
        side = min(width, height)
        left, top = (width - side) / 2, (height - side) / 2
        box = (left, top, left + side, top + side)
        return resample(image, (size, size), _filter(options.resample, side > size), box)
    resized = resample(image, target, _filter(options.resample, width > target[0]))
    if options.resize_mode == "border":
        canvas = Image.new("RGB", (size, size), _WHITE)
        canvas.paste(resized, ((size - resized.width) // 2, (size - resized.height) // 2))
        return canvas
    return resized


# Pillow's reducing_gap: where the box is at least this many times the output, whole blocks of
# pixels are averaged first, so the convolution's kernel stays a few pixels wide.
_REDUCING_GAP = 3.0
# Each filter the C resampler has: its kernel's number there and the kernel's reach in pixels
# (Pillow's supports; _resample.c's KERNELS table, in the same order).
_C_KERNELS = {
    Image.Resampling.BOX: (0, 0.5),
    Image.Resampling.BILINEAR: (1, 1.0),
    Image.Resampling.BICUBIC: (2, 2.0),
    Image.Resampling.LANCZOS: (3, 3.0),
}


def resample(image: Image.Image, size: tuple[int, int], resample_filter: Image.Resampling,
             box: tuple[float, float, float, float] | None = None, *, use_c: bool = True) -> Image.Image:
    """`image.resize(size, resample_filter, box=box, reducing_gap=3.0)` for an RGB image, by the C
    resampler where it is built (2-3x less CPU than Pillow's; the same kernels, within half a
    level of Pillow's pixels on average). `use_c=False` is Pillow's resize itself."""
    if _resample is None or not use_c or image.mode != "RGB" or resample_filter not in _C_KERNELS:
        return image.resize(size, resample_filter, box=box, reducing_gap=_REDUCING_GAP)
    x0, y0, x1, y1 = box if box is not None else (0.0, 0.0, float(image.width), float(image.height))
    scale_x, scale_y = (x1 - x0) / size[0], (y1 - y0) / size[1]
    factor_x, factor_y = int(scale_x / _REDUCING_GAP) or 1, int(scale_y / _REDUCING_GAP) or 1
    kernel, support = _C_KERNELS[resample_filter]
    if factor_x > 1 or factor_y > 1:
        # The blocks start where Pillow's do (the box widened by the kernel's reach less half a
        # pixel), so both reduce the same pixels together.
        reach_x, reach_y = (support - 0.5) * scale_x, (support - 0.5) * scale_y
        region = (max(0, int(x0 - reach_x)), max(0, int(y0 - reach_y)),
                  min(image.width, math.ceil(x1 + reach_x)), min(image.height, math.ceil(y1 + reach_y)))
        part = image.reduce((factor_x, factor_y), box=region)
    else:
        # The C pass reads only the box and the kernel's reach around it, so the image goes whole
        # (a crop is one more copy) unless that region is under half of it.
        reach_x = math.ceil(support * max(1.0, scale_x)) + 1
        reach_y = math.ceil(support * max(1.0, scale_y)) + 1
        region = (max(0, math.floor(x0) - reach_x), max(0, math.floor(y0) - reach_y),
                  min(image.width, math.ceil(x1) + reach_x), min(image.height, math.ceil(y1) + reach_y))
        if (region[2] - region[0]) * (region[3] - region[1]) * 2 < image.width * image.height:
            part = image.crop(region)
        else:
            region, part = (0, 0, image.width, image.height), image
    inner = ((x0 - region[0]) / factor_x, (y0 - region[1]) / factor_y,
             min(part.width, (x1 - region[0]) / factor_x), min(part.height, (y1 - region[1]) / factor_y))
    pixels = _resample.resample(part.tobytes(), part.width, part.height, inner, size[0], size[1], kernel)
    return Image.frombytes("RGB", size, pixels)


_FILTERS = {
    "bicubic": Image.Resampling.BICUBIC,
    "bilinear": Image.Resampling.BILINEAR,
    "lanczos": Image.Resampling.LANCZOS,
    "area": Image.Resampling.BOX,
}


def _filter(name: str, shrinking: bool) -> Image.Resampling:
    # Box averaging is an area filter only when shrinking; enlarged, it would repeat pixels as
    # blocks, so area enlarges with bicubic (as OpenCV's INTER_AREA does with bilinear).
    if name == "area" and not shrinking:
        return Image.Resampling.BICUBIC
    return _FILTERS[name]


def _encode(image: Image.Image, options: ImageOptions) -> bytes:
    buffer = io.BytesIO()
    if options.encode_format == "webp":
        image.save(buffer, "WEBP", quality=options.encode_quality)
    else:
        image.save(buffer, "JPEG", quality=options.encode_quality)
    return buffer.getvalue()
