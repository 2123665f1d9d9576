"""Per-filter behaviour of the caption rules: file names, camera metadata, boilerplate, URLs.

The held-out style cases here are written from the label definitions in shared/data/README.md,
not copied from captions_dev.tsv, so they check that the rules generalise.
"""

import pytest

from wit.filters.boilerplate import is_bare_url_or_domain, is_boilerplate
from wit.filters.camera import is_camera_metadata, strip_camera_suffix
from wit.filters.filename import content_words, is_file_name, name_part
from wit.filters.urls import host_is_denied, is_tracking_pixel, normalise_domains, url_problem


@pytest.mark.parametrize(
    "text",
    [
        "DSC_0012.JPG",
        "IMG_20200101_123456",
        "Screen Shot 2019-05-01 at 10.12.33 AM",
        "Capture d’écran 2020-01-01 à 10.00.00",
        "image001.png",
        "header-bg.jpg",
        "team-photo.jpg",
        "dog.jpg",
        "shutterstock_123456789",
        "a1b2c3d4-e5f6-7890-abcd-ef1234567890.png",
        "Click image for larger version. Name: DSC_0123.JPG Views: 12 Size: 98.3 KB ID: 123456",
        "logo.png",
        "Copy of Copy of IMG_3345",
        "FB_IMG_1588963.jpg",
        "Photo 3 of 12",
        "MVI_4410",
        "DJI_0042.JPG",
        "Presentation1.004",
        "Smith2019ICML.pdf",
        "0f8fad5b-d9cb-469f-a165-70867728950e",
    ],
)
def test_file_names_are_dropped(text):
    assert is_file_name(text)


@pytest.mark.parametrize(
    "text",
    [
        "john-smith.jpg",  # a person's name counts as two content words
        "golden-retriever-puppy-in-grass.jpg",
        "1200px-Eiffel_Tower.jpg",
        "Wedding photo 3 of 12 at Lake Como",
        "Screenshot of a spreadsheet with quarterly sales figures",
        "Untitled (Blue Horizon), 1967 oil painting",
        "red barn in the snow",
        "Pelican crossing",
        "Tweed Heads",
        "1234567890",  # no letters: boilerplate, not a file name
    ],
)
def test_descriptions_are_not_file_names(text):
    assert not is_file_name(text)


def test_name_part_and_content_words():
    assert name_part("Copy of holiday-cottage-garden.jpeg (1024×768)") == "holiday-cottage-garden"
    assert content_words("holiday-cottage-garden") == ["holiday", "cottage", "garden"]
    # Codes glued to digits and short acronyms carry no description.
    assert content_words("Stokes2023CHI") == []
    assert content_words("flowers2") == []


@pytest.mark.parametrize(
    "text",
    [
        "NIKON D3100",
        "Sony A7 III",
        "Shot on iPhone 13 Pro",
        "OLYMPUS DIGITAL CAMERA",
        "ISO 100 1/1000 f/8",
        "Exif: Make=Canon Model=EOS 80D",
        "Leica M6 with Portra 400",
        "Olympus OM-1, Ilford HP5",
        "Tamron 28-75mm f/2.8 Di III RXD",
        "1/500 sec at f/5.6, ISO 200",
        "Tags: canon 5dmkiii 24-70mm",
        "Google Pixel 7 Pro",
    ],
)
def test_camera_metadata_is_dropped(text):
    assert is_camera_metadata(text)


@pytest.mark.parametrize(
    "text",
    [
        # A natural caption that names a camera is a keep.
        "Sunset on the beach with my Canon",
        "Morning fog over the valley, Fujifilm X-T4",
        "Tags: mountains lake reflection nikon d750",
        # A product title that describes a camera is a keep.
        "Canon 50mm f/1.8 STM lens for Canon DSLR (Black)",
        "Sony Alpha a6400 Mirrorless Camera with 16-50mm Lens",
        "iPhone 12 Pro Max case with MagSafe",
        # Brands alone, or look-alikes that are not camera metadata.
        "Sony headphones",
        "Apple",
        "Kodak Theatre at night",
        "ISO 9001 certificate",
        "red rose in a vase",
        "Stainless steel measuring cups 1/4 cup",
    ],
)
def test_captions_naming_cameras_are_kept(text):
    assert not is_camera_metadata(text)


def test_trailing_camera_and_file_segments_are_stripped():
    assert strip_camera_suffix("Mountain lake at sunrise, Nikon Z7, 1/125s f/11") == "Mountain lake at sunrise"
    assert strip_camera_suffix("Red barn in the snow - DSC_0012.JPG") == "Red barn in the snow"
    assert strip_camera_suffix("Old mill | Canon EOS 5D Mark II") == "Old mill"
    # Never reduced to a stub; metadata-only captions stay whole for the drop rule to count.
    assert strip_camera_suffix("Sunset, 1/250s") == "Sunset, 1/250s"
    assert strip_camera_suffix("Canon EOS 5D, f/2.8") == "Canon EOS 5D, f/2.8"
    assert strip_camera_suffix("Kate Moss, Jamie Hince") == "Kate Moss, Jamie Hince"


@pytest.mark.parametrize(
    "text",
    ["", "...", "2021", "Search", "Previous", "Home", "Arrow right icon", "Banner image", "www.example.com",
     "example.co.uk/about", "https://cdn.example.net/x.jpg?w=200", "Image result for cat memes", "Logo", "User avatar"],
)
def test_boilerplate_is_dropped(text):
    assert is_boilerplate(text)


@pytest.mark.parametrize(
    "text",
    ["Facebook icon", "Acme Corp logo", "Golden retriever puppy", "Image of a lighthouse at dusk", "prof_pic.jpg",
     "Read the full story"],
)
def test_content_is_not_boilerplate(text):
    assert not is_boilerplate(text)


def test_file_extensions_are_not_domains():
    assert not is_bare_url_or_domain("prof_pic.jpg")
    assert is_bare_url_or_domain("hitachi-solutions.jp")


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://example.com/cat.jpg", None),
        ("http://example.com/a/b.png?size=large", None),
        ("data:image/png;base64,iVBORw0KGgo=", "scheme not http(s)"),
        ("javascript:void(0)", "scheme not http(s)"),
        ("ftp://example.com/cat.jpg", "scheme not http(s)"),
        ("/relative/cat.jpg", "scheme not http(s)"),
        ("https://example.com/icons/star.svg", "non-photo asset"),
        ("https://example.com/favicon.ico", "non-photo asset"),
        ("https://example.com/" + "a" * 3000 + ".jpg", "url too long"),
        ("https://", "no host"),
        ("", "no url"),
        (None, "no url"),
        ("http://[::1/cat.jpg", "unparsable url"),
    ],
)
def test_url_problems(url, problem):
    assert url_problem(url) == problem


def test_denied_domains_cover_subdomains():
    deny = normalise_domains(["Ads.Example.com", " tracker.net ", ""])
    assert host_is_denied("ads.example.com", deny)
    assert host_is_denied("img.tracker.net", deny)
    assert not host_is_denied("example.com", deny)
    assert url_problem("https://cdn.tracker.net/p.jpg", deny_domains=deny) == "denied domain"


def test_tracking_pixels_from_size_hints():
    assert is_tracking_pixel(1, 1)
    assert is_tracking_pixel("1px", None)
    assert is_tracking_pixel(None, "0")
    assert not is_tracking_pixel(None, None)
    assert not is_tracking_pixel("640", "480")
    assert not is_tracking_pixel("auto", "100%")
    assert url_problem("https://example.com/p.gif", width=1, height=1) == "tracking pixel"


@pytest.mark.parametrize(
    "url",
    [
        "https://Example.COM/a/b.jpg?x=1#frag",
        "http://user:secret@host.example.org:8080/dir.svg/photo",
        "https://a@b@c.example/x.CSS",
        "https://example.com?x=/a.svg",
        "https://example.com#/a.svg",
        "https://example.com/a.png#.svg",
        "https://example.com:notaport/x.js",
        "https://.example.com./a.gif",
        "https:///no-host.jpg",
        "HTTPS://EXAMPLE.COM/A.ICO",
    ],
)
def test_fast_url_split_agrees_with_urlsplit(url):
    # The fast path must give what urlsplit gives, or decline (None) and leave it to urlsplit.
    from urllib.parse import urlsplit

    from wit.filters.urls import _split_simple_url

    parts = _split_simple_url(url, url.index(":"))
    assert parts is not None
    reference = urlsplit(url)
    assert parts == (reference.hostname or "", reference.path)


@pytest.mark.parametrize("url", ["http://[::1]/a.jpg", "https://exa\tmple.com/a.svg", "https://bücher.example/a.jpg", "http:example.com/a.jpg"])
def test_unusual_urls_go_to_urlsplit(url):
    from wit.filters.urls import _split_simple_url

    assert _split_simple_url(url, url.index(":")) is None
    # ... and still get a verdict, never an exception.
    assert url_problem(url) in (None, "non-photo asset", "no host", "unparsable url")
