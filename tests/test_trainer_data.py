"""trainer/data.py: decoding, crops, splitting over ranks and workers, bad samples, resumable position."""

import io
import random

import pytest
import torch
from PIL import Image

from wit.shards.reader import expand_urls
from wit.trainer.data import CLIP_MEAN, ShardStream, load_image, make_loader, normalize_images
from wit.trainer.tokenizer import train_tokenizer
from trainer_shards import make_pairs, write_dataset, write_shard


@pytest.fixture(scope="module")
def pairs():
    return make_pairs(48, seed=5)


@pytest.fixture(scope="module")
def tokenizer(pairs):
    return train_tokenizer([caption for _, caption in pairs], vocab_size=300, context_length=16)


@pytest.fixture(scope="module")
def urls(tmp_path_factory, pairs):
    return expand_urls(str(write_dataset(tmp_path_factory.mktemp("shards"), pairs, per_shard=8)))


def jpeg(size, colour=(10, 200, 30)):
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="JPEG", quality=95)
    return out.getvalue()


def test_load_image_square_crop_sizes_and_draft_decoding():
    big = jpeg((1000, 600))
    centre = load_image(big, 64, rng=None)
    assert centre.shape == (3, 64, 64) and centre.dtype == torch.uint8
    assert abs(int(centre[1].float().mean()) - 200) <= 3  # colour survives draft + resize
    assert torch.equal(load_image(big, 64, None), centre)
    image = Image.open(io.BytesIO(big))
    image.draft("RGB", (64, 64))
    assert image.size == (125, 75)  # libjpeg decoded at 1/8 scale: the draft the loader relies on


def test_random_crop_moves_with_the_rng_and_keeps_the_short_side():
    gradient = Image.linear_gradient("L").transpose(Image.Transpose.ROTATE_90).resize((256, 64)).convert("RGB")
    out = io.BytesIO()
    gradient.save(out, format="PNG")
    crops = [load_image(out.getvalue(), 32, random.Random(seed)) for seed in range(6)]
    assert all(crop.shape == (3, 32, 32) for crop in crops)
    assert len({crop.float().mean().item() for crop in crops}) > 1  # different horizontal offsets


def test_normalize_images_applies_clip_mean_and_std():
    images = torch.full((1, 3, 2, 2), 255, dtype=torch.uint8)
    normalised = normalize_images(images)
    assert normalised[0, 0, 0, 0].item() == pytest.approx((1 - CLIP_MEAN[0]) / 0.26862954, rel=1e-5)


def collect(stream, workers, batches):
    loader = iter(make_loader(stream, workers))
    return [next(loader) for _ in range(batches)]


def test_batches_are_uint8_images_and_token_ids(urls, tokenizer):
    stream = ShardStream(urls, tokenizer, 32, 8, training=True, shuffle_buffer=16, seed=1)
    batch = collect(stream, 0, 1)[0]
    assert batch["images"].shape == (8, 3, 32, 32) and batch["images"].dtype == torch.uint8
    assert batch["tokens"].shape == (8, 16) and batch["decoded"] == 8
    assert (batch["tokens"][:, 0] == tokenizer.sot_token_id).all()


def test_ranks_and_workers_read_disjoint_shares_that_cover_the_data(urls, tokenizer, pairs):
    seen = []
    for rank in range(2):
        stream = ShardStream(urls, tokenizer, 16, 4, training=False, rank=rank, world_size=2)
        for batch in make_loader(stream, num_workers=2):
            seen += batch["texts"]
    assert sorted(seen) == sorted(caption for _, caption in pairs)


def test_more_readers_than_shards_split_by_sample(urls, tokenizer, pairs):
    seen = []
    for rank in range(2):
        stream = ShardStream(urls[:1], tokenizer, 16, 3, training=False, rank=rank, world_size=2)
        for batch in make_loader(stream, num_workers=2):
            seen += batch["texts"]
    assert sorted(seen) == sorted(caption for _, caption in pairs[:8])


@pytest.fixture(scope="module")
def urls_with_bad_images(tmp_path_factory, pairs):
    damaged = [(image[:200] if index in (3, 17, 30) else image, caption) for index, (image, caption) in enumerate(pairs)]
    return expand_urls(str(write_dataset(tmp_path_factory.mktemp("bad"), damaged, per_shard=8)))


@pytest.mark.parametrize("workers", [0, 2])
def test_resuming_at_a_batch_gives_the_batches_an_uninterrupted_stream_gives(urls_with_bad_images, tokenizer, workers):
    stream = ShardStream(urls_with_bad_images, tokenizer, 24, 4, training=True, shuffle_buffer=10, seed=7)
    stream.set_position(epoch=1)
    uninterrupted = collect(stream, workers, 9)
    assert sum(sum(b["skipped"].values()) for b in uninterrupted) >= 1  # bad images shift the raw stream
    offsets = {b["stream"]["worker"]: b["stream"]["offset"] for b in uninterrupted[:5]}
    stream.set_position(epoch=1, batches_done=5, offsets=offsets)
    resumed = collect(stream, workers, 4)
    for a, b in zip(uninterrupted[5:], resumed):
        assert a["texts"] == b["texts"]
        assert torch.equal(a["images"], b["images"])  # crops too: they depend on the sample, not the history
    stream.set_position(epoch=2)
    assert collect(stream, workers, 1)[0]["texts"] != uninterrupted[0]["texts"]  # each epoch reshuffles


def test_corrupt_images_are_skipped_and_reported_with_the_batch(tmp_path, pairs, tokenizer):
    members = []
    for index, (image, caption) in enumerate(pairs[:6]):
        payload = image[:100] if index in (1, 4) else image  # truncated JPEGs cannot be decoded
        members += [(f"{index:09d}.jpg", payload), (f"{index:09d}.txt", caption.encode())]
    members += [("000000099.txt", b"orphan caption")]
    write_shard(tmp_path / "00000.tar", members)
    stream = ShardStream([str(tmp_path / "00000.tar")], tokenizer, 16, 2, training=False)
    batches = list(make_loader(stream, 0))
    assert sum(len(b["texts"]) for b in batches) == 4
    skipped = {}
    for batch in batches:
        for reason, count in batch["skipped"].items():
            skipped[reason] = skipped.get(reason, 0) + count
    assert skipped == {"bad_image": 2, "no_image": 1}
