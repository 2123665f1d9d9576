"""Photo-like test images made on the spot (gradients plus seeded noise, so JPEG behaves as on
real photos). Real photographs are used by benchmarks/bench_fetch.py."""

import io
import random

from PIL import Image


def photo(width=640, height=480, fmt="JPEG", mode="RGB", exif_orientation=None, seed=0) -> bytes:
    """A photo-like test image: gradients plus noise, so JPEG behaves as on real photos."""
    gradient = Image.linear_gradient("L").resize((width, height))
    noise = Image.frombytes("L", (width, height), random.Random(seed).randbytes(width * height))
    image = Image.merge("RGB", (gradient, noise, gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    if mode != "RGB":
        image = image.convert(mode)
    buffer = io.BytesIO()
    kwargs = {}
    if exif_orientation:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        kwargs["exif"] = exif.tobytes()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()
