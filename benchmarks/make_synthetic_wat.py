"""Write a deterministic synthetic Common Crawl WAT in the real format, for benchmarks and tests.

Each page is one gzip member holding a WARC/1.0 `metadata` record whose JSON payload has the
structure Common Crawl's WAT files have (Container, Envelope.WARC-Header-Metadata,
Payload-Metadata.HTTP-Response-Metadata.HTML-Metadata with Head and Links), so the same reader
that reads real WATs reads these. Captions mix what the filters must handle on real pages:
English descriptions (from wordfreq's frequency list), file names, camera strings, boilerplate,
other languages, repeated logos (duplicates) and images without alt; image URLs are absolute,
root-relative, relative, protocol-relative, or relative to a `<base href>`.

    python benchmarks/make_synthetic_wat.py --links 1000000 --files 8 --out /tmp/synthetic_wat

With `--hot-share S` (benchmarks/bench_crawl_scale.py) English captions also carry the hot
queries of HOT_QUERIES with Zipfian frequencies: the k-th is in S / k**HOT_EXPONENT of them (k**-0.4), so
a crawl of a few million links has queries matched over a million times next to a long tail.
Without it the bytes are those of earlier versions.

Same arguments, same bytes.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import sys
import uuid

LINKS_PER_PAGE = 40
ENGLISH_WORDS = 3000
# Words of the default query list that --hot-share makes hot, hottest first.
HOT_QUERIES = ("wallpaper", "vintage", "wedding", "recipe", "sunset", "garden", "portrait", "bicycle", "kitchen",
               "mountain")
HOT_EXPONENT = 0.4


def _vocabulary() -> dict[str, list[str]]:
    import wordfreq

    return {
        "en": [w for w in wordfreq.top_n_list("en", ENGLISH_WORDS) if w.isalpha()],
        "de": [w for w in wordfreq.top_n_list("de", 800) if w.isalpha()],
        "es": [w for w in wordfreq.top_n_list("es", 800) if w.isalpha()],
    }


def make_caption(rng: random.Random, words: dict[str, list[str]], hot_share: float = 0.0) -> str:
    """One alt text; the mix roughly follows what real pages carry."""
    kind = rng.random()
    if kind < 0.62:
        english = words["en"]
        # Skewed towards frequent words, as real text is.
        caption = " ".join(english[min(int(rng.paretovariate(0.9)) * 7 + rng.randrange(7), len(english) - 1)]
                           for _ in range(rng.randint(2, 12)))
        if hot_share:
            hot = [word for rank, word in enumerate(HOT_QUERIES, 1) if rng.random() < hot_share / rank ** HOT_EXPONENT]
            if hot:
                caption = f"{' '.join(hot)} {caption}"
        return caption
    if kind < 0.70:
        return rng.choice(["IMG_{:04d}.JPG", "DSC{:05d}.jpg", "image{:04d}", "{:08d}_113957.JPG", "photo_{}.png"]).format(rng.randrange(10000))
    if kind < 0.74:
        return rng.choice(["Canon EOS 5D Mark II", "NIKON D90", "f/2.8 1/250s ISO 200 50mm", "SONY DSC"])
    if kind < 0.80:
        return rng.choice(["logo", "image", "icon", "spacer", "click here", "banner", "Avatar"])
    if kind < 0.90:
        lang = rng.choice(["de", "es"])
        return " ".join(rng.choice(words[lang]) for _ in range(rng.randint(3, 9)))
    return ""  # image without alt text


def _image_url(rng: random.Random, host: str, page: int, link: int) -> str:
    name = f"img/{page}/{link}.jpg"
    form = rng.random()
    if form < 0.5:
        return f"https://{host}/{name}"
    if form < 0.7:
        return f"/{name}"
    if form < 0.85:
        return f"../{name}"
    return f"//cdn.{host}/{name}"


def page_record(rng: random.Random, words: dict[str, list[str]], page: int, hot_share: float = 0.0) -> tuple[bytes, int]:
    """(gzip member of one WAT metadata record, number of IMG links with alt text)."""
    host = f"site{rng.randrange(5000)}.example.com"
    page_url = f"https://{host}/section/{page}/index.html"
    links = []
    with_alt = 0
    for link in range(LINKS_PER_PAGE):
        if rng.random() < 0.25:
            links.append({"path": "A@/href", "url": f"/page/{rng.randrange(10**6)}.html", "text": "more"})
            continue
        if rng.random() < 0.05:  # the site's logo: same url and alt on every page (a duplicate)
            links.append({"path": "IMG@/src", "url": f"https://{host}/logo.png", "alt": f"{host} logo"})
            with_alt += 1
            continue
        entry = {"path": "IMG@/src", "url": _image_url(rng, host, page, link)}
        caption = make_caption(rng, words, hot_share)
        if caption:
            entry["alt"] = caption
            with_alt += 1
        if rng.random() < 0.1:
            entry["title"] = make_caption(rng, words, hot_share) or "photo"
        links.append(entry)
    head = {"Title": f"Page {page}", "Metas": [{"name": "viewport", "content": "width=device-width"}]}
    if rng.random() < 0.1:
        head["Base"] = f"https://static.{host}/base/"
    record_id = uuid.UUID(int=rng.getrandbits(128))
    document = {
        "Container": {"Filename": "CC-MAIN-20990101000000-20990101030000-00000.warc.gz", "Compressed": True,
                      "Offset": str(page * 20000)},
        "Envelope": {
            "Format": "WARC",
            "WARC-Header-Length": "600",
            "Actual-Content-Length": "20000",
            "WARC-Header-Metadata": {"WARC-Type": "response", "WARC-Date": "2099-01-01T00:00:00Z",
                                     "WARC-Record-ID": f"<urn:uuid:{record_id}>", "Content-Length": "20000",
                                     "Content-Type": "application/http; msgtype=response",
                                     "WARC-Target-URI": page_url},
            "Block-Digest": "sha1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "Payload-Metadata": {
                "Actual-Content-Type": "application/http; msgtype=response",
                "HTTP-Response-Metadata": {
                    "Response-Message": {"Status": "200", "Version": "HTTP/1.1", "Reason": "OK"},
                    "Headers": {"Content-Type": "text/html; charset=UTF-8"},
                    "HTML-Metadata": {"Head": head, "Links": links},
                },
            },
        },
    }
    payload = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    header = (
        "WARC/1.0\r\nWARC-Type: metadata\r\n"
        f"WARC-Target-URI: {page_url}\r\nWARC-Date: 2099-01-01T00:00:00Z\r\n"
        f"WARC-Record-ID: <urn:uuid:{uuid.UUID(int=rng.getrandbits(128))}>\r\n"
        f"WARC-Refers-To: <urn:uuid:{record_id}>\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    ).encode("ascii")
    # mtime=0 keeps the bytes identical run to run.
    return gzip.compress(header + payload + b"\r\n\r\n", compresslevel=6, mtime=0), with_alt


def warcinfo_record() -> bytes:
    body = b"software: wit make_synthetic_wat\r\nformat: WARC File Format 1.0\r\n"
    header = (b"WARC/1.0\r\nWARC-Type: warcinfo\r\nWARC-Date: 2099-01-01T00:00:00Z\r\n"
              b"WARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-000000000000>\r\n"
              b"Content-Type: application/warc-fields\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n")
    return gzip.compress(header + body + b"\r\n\r\n", mtime=0)


def write_synthetic_wat(out_dir: str, links: int, files: int = 1, seed: int = 0, hot_share: float = 0.0) -> dict:
    """Writes `files` WAT files with about `links` IMG links with alt text in all; returns stats.

    Every file holds the same number of links (links // files) drawn from the same mix.
    """
    os.makedirs(out_dir, exist_ok=True)
    words = _vocabulary()
    rng = random.Random(seed)
    per_file = max(1, links // files)
    stats = {"files": [], "pages": 0, "links_with_alt": 0, "bytes": 0}
    page = 0
    for file_index in range(files):
        path = os.path.join(out_dir, f"CC-MAIN-synthetic-{file_index:05d}.warc.wat.gz")
        written = 0
        with open(path, "wb") as handle:
            handle.write(warcinfo_record())
            while written < per_file:
                member, with_alt = page_record(rng, words, page, hot_share)
                handle.write(member)
                written += with_alt
                page += 1
        stats["files"].append(path)
        stats["links_with_alt"] += written
        stats["bytes"] += os.path.getsize(path)
    stats["pages"] = page
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--links", type=int, default=1_000_000, help="IMG links with alt text in all (default 1,000,000)")
    parser.add_argument("--files", type=int, default=8, help="number of WAT files (default 8)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hot-share", type=float, default=0.0,
                        help="share of English captions holding the hottest query of HOT_QUERIES (default 0: none)")
    parser.add_argument("--out", required=True, help="output folder")
    args = parser.parse_args(argv)
    stats = write_synthetic_wat(args.out, args.links, args.files, args.seed, args.hot_share)
    print(f"wrote {len(stats['files'])} file(s), {stats['pages']:,} pages, {stats['links_with_alt']:,} links with alt, "
          f"{stats['bytes'] / 1e6:.1f} MB to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
