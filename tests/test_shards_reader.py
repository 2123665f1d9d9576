"""shards/reader.py on wit-style and img2dataset-style tars, bad samples and shard specs."""

import pytest

from wit.shards.reader import ReaderStats, epoch_size, expand_braces, expand_urls, iter_samples
from trainer_shards import make_pairs, write_dataset, write_shard
from wit.core.errors import WitError


@pytest.fixture(scope="module")
def pairs():
    return make_pairs(10, seed=3)


def test_wit_style_shards_yield_every_pair_in_order(tmp_path, pairs):
    shard_dir = write_dataset(tmp_path, pairs, per_shard=4, style="wit")
    stats = ReaderStats()
    samples = list(iter_samples(str(shard_dir), stats))
    assert [s["txt"] for s in samples] == [caption for _, caption in pairs]
    assert [s["jpg"] for s in samples] == [image for image, _ in pairs]
    assert samples[0]["__key__"] == "000000000" and samples[5]["__key__"] == "000010001"
    assert samples[0]["json"]["uid"] == "0000000000000000"
    assert stats.samples == 10 and stats.shards == 3 and stats.skipped_total == 0
    assert epoch_size(str(shard_dir)) == 10  # sizes.json sits in the parent, as `wit build` writes it


def test_img2dataset_style_shards_and_their_stats_files(tmp_path, pairs):
    shard_dir = write_dataset(tmp_path, pairs, per_shard=6, style="img2dataset")
    samples = list(iter_samples(str(shard_dir / "{00000..00001}.tar")))
    assert len(samples) == 10 and samples[0]["json"]["status"] == "success"
    assert epoch_size(str(shard_dir)) == 10  # from 00000_stats.json + 00001_stats.json


def test_bad_samples_are_skipped_and_counted(tmp_path, pairs):
    image, caption = pairs[0]
    members = [
        ("000000001.jpg", image), ("000000001.txt", caption.encode()), ("000000001.json", b"{}"),
        ("000000002.txt", b"caption without an image"),
        ("000000003.jpg", image),  # no caption
        ("000000004.jpg", image), ("000000004.txt", b"  \n"),
        ("000000005.jpg", image), ("000000005.txt", b"ok"), ("000000005.json", b"{not json"),
        ("000000006.png", image), ("000000006.txt", b"png is an image too"),
    ]
    write_shard(tmp_path / "00000.tar", members)
    stats = ReaderStats()
    samples = list(iter_samples(str(tmp_path / "00000.tar"), stats))
    assert [s["__key__"] for s in samples] == ["000000001", "000000006"]
    assert dict(stats.skipped) == {"no_image": 1, "no_text": 1, "empty_text": 1, "bad_json": 1}


def test_truncated_shard_is_counted_and_the_next_one_still_read(tmp_path, pairs):
    shard_dir = write_dataset(tmp_path, pairs, per_shard=5, style="wit")
    first = shard_dir / "00000.tar"
    first.write_bytes(first.read_bytes()[:3000])
    stats = ReaderStats()
    samples = list(iter_samples(str(shard_dir), stats))
    assert stats.skipped["bad_shard"] == 1
    assert [s["txt"] for s in samples[-5:]] == [c for _, c in pairs[5:]]


def test_expand_urls_forms(tmp_path, pairs):
    shard_dir = write_dataset(tmp_path, pairs, per_shard=3, style="wit")
    every = [str(shard_dir / f"{i:05d}.tar") for i in range(4)]
    assert expand_urls(str(shard_dir)) == every
    assert expand_urls(str(tmp_path)) == every  # the OUT folder of `wit build` means OUT/shards
    assert expand_urls(str(shard_dir / "*.tar")) == every
    assert expand_urls(str(shard_dir / "{00001..00002}.tar")) == every[1:3]
    assert expand_urls(f"{every[0]}::{every[3]}") == [every[0], every[3]]
    assert expand_braces("a/{8..10}.tar") == ["a/8.tar", "a/9.tar", "a/10.tar"]
    with pytest.raises(WitError):
        expand_urls(str(tmp_path / "nothing-here"))
    with pytest.raises(WitError):
        expand_urls(str(tmp_path / "*.tar"))


def test_epoch_size_without_counts_is_a_clear_error(tmp_path, pairs):
    write_shard(tmp_path / "a.tar", [("1.jpg", pairs[0][0]), ("1.txt", b"x")])
    with pytest.raises(WitError, match="sizes.json"):
        epoch_size(str(tmp_path))


def test_webdataset_package_reads_the_same_shards(tmp_path, pairs):
    """Cross-check the test shards (and so the reader's view of them) with the webdataset package."""
    webdataset = pytest.importorskip("webdataset")
    shard_dir = write_dataset(tmp_path, pairs, per_shard=4, style="wit")
    urls = expand_urls(str(shard_dir))
    theirs = [(s["__key__"], s["txt"].decode()) for s in webdataset.WebDataset(urls, shardshuffle=False)]
    ours = [(s["__key__"], s["txt"]) for s in iter_samples(urls)]
    assert theirs == ours
