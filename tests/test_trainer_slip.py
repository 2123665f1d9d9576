"""SLIP (--objective slip): NT-Xent by hand, gradients through both branches, the views, the
loader's raw squares, the SSL branch across ranks, and an exactly resumed SLIP run."""

import json
import math
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

pytest.importorskip("kornia", reason="the train extra (kornia) is not installed")

from trainer_shards import MICRO, make_pairs, train_args, write_dataset  # noqa: E402
from wit.app.cli import main as wit  # noqa: E402
from wit.shards.reader import expand_urls  # noqa: E402
from wit.trainer.augment import SimCLRAugment, make_views, view_seed  # noqa: E402
from wit.trainer.checkpoint import load_checkpoint  # noqa: E402
from wit.trainer.data import ShardStream  # noqa: E402
from wit.trainer.loss import clip_loss  # noqa: E402
from wit.trainer.model import CLIPConfig, build_model  # noqa: E402
from wit.trainer.slip import SLIP, SlipLoss, SSLHeadConfig, build_ssl_head, nt_xent_loss, ssl_loss  # noqa: E402
from wit.trainer.tokenizer import train_tokenizer  # noqa: E402

SMALL_VIT = CLIPConfig(embed_dim=32, image_size=32, vision_layers=2, vision_width=32, vision_patch_size=8, vision_heads=2,
                       context_length=16, vocab_size=100, text_width=32, text_heads=2, text_layers=2, eot_token_id=99)
SMALL_RN = CLIPConfig(embed_dim=32, image_size=32, vision_layers=(1, 1, 1, 1), vision_width=8, vision_patch_size=None,
                      vision_heads=2, context_length=16, vocab_size=100, text_width=32, text_heads=2, text_layers=2, eot_token_id=99)


def cosine(u, v):
    return sum(a * b for a, b in zip(u, v)) / math.sqrt(sum(a * a for a in u) * sum(b * b for b in v))


def test_nt_xent_matches_a_hand_computation():
    generator = torch.Generator().manual_seed(3)
    first, second = torch.randn(3, 5, generator=generator), torch.randn(3, 5, generator=generator)
    temperature = 0.1
    views = [row.tolist() for row in first] + [row.tolist() for row in second]  # 2N anchors
    count = len(first)
    total = 0.0
    for anchor in range(2 * count):
        positive = (anchor + count) % (2 * count)
        terms = {other: math.exp(cosine(views[anchor], views[other]) / temperature) for other in range(2 * count) if other != anchor}
        total += -math.log(terms[positive] / sum(terms.values()))
    expected = total / (2 * count)
    assert nt_xent_loss(first, second, temperature).item() == pytest.approx(expected, rel=1e-5)
    # the anchors' own similarity is excluded: with it the value would differ
    assert nt_xent_loss(first, second, 1.0).item() != pytest.approx(expected, rel=1e-3)
    # identical views of orthogonal images: the positive is certain, the loss near zero
    eye = torch.eye(4)
    assert nt_xent_loss(eye, eye, 0.01).item() < 1e-6


@pytest.mark.parametrize("config", [SMALL_VIT, SMALL_RN], ids=["vit", "resnet"])
def test_gradients_reach_the_encoder_through_both_branches(config):
    torch.manual_seed(0)
    clip = build_model(config)
    head_config = SSLHeadConfig.for_encoder(clip.visual.feature_width, config.embed_dim)
    model = SLIP(clip, build_ssl_head(head_config))
    generator = torch.Generator().manual_seed(1)
    images = torch.randn(4, 3, 32, 32, generator=generator)
    views = torch.randn(8, 3, 32, 32, generator=generator)
    tokens = torch.randint(1, 99, (4, 16), generator=generator)
    tokens[:, -1] = 99
    image_features, text_features, scale, first, second = model(images, tokens, views)
    assert image_features.shape == (4, 32) and first.shape == second.shape == (4, head_config.emb_dim)

    encoder = {name: p for name, p in clip.visual.named_parameters()}
    clip_loss(image_features, text_features, scale).backward(retain_graph=True)
    from_clip = {name: p.grad.clone() for name, p in encoder.items() if p.grad is not None}
    assert all(p.grad is None for p in model.ssl_head.parameters())  # the CLIP loss never reaches the head
    model.zero_grad(set_to_none=True)
    ssl_loss(first, second, 0.1).backward()
    from_ssl = {name: p.grad.clone() for name, p in encoder.items() if p.grad is not None}
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.ssl_head.parameters() if p.ndim == 2)
    projection = ("proj",) if config.is_vit else ("attnpool.c_proj.weight", "attnpool.c_proj.bias")
    # (a ResNet's residual branches start as the identity, bn3 = 0: their convs get no gradient yet)
    trunk = [name for name, grad in from_clip.items() if grad.abs().sum() > 0 and name not in projection]
    assert "conv1.weight" in trunk or "stem.conv1.weight" in trunk
    for name in trunk:  # every encoder weight the CLIP loss moves, the SSL loss moves too
        assert from_ssl[name].abs().sum() > 0, name
    assert not any(name in from_ssl for name in projection)  # the SSL head reads the features before CLIP's projection

    model.zero_grad(set_to_none=True)
    loss, parts = SlipLoss(ssl_scale=0.5)(*model(images, tokens, views))
    assert loss.item() == pytest.approx(parts["clip_loss"].item() + 0.5 * parts["ssl_loss"].item(), rel=1e-6)


def test_ssl_head_defaults_are_slips_capped_for_small_encoders():
    assert SSLHeadConfig.for_encoder(768, 512) == SSLHeadConfig(768, 4096, 256)  # ViT-B/16, as in SLIP
    assert SSLHeadConfig.for_encoder(2048, 1024) == SSLHeadConfig(2048, 4096, 256)  # RN50
    assert SSLHeadConfig.for_encoder(512, 128) == SSLHeadConfig(512, 1024, 256)  # tiny-rn: not 4096 wide
    assert SSLHeadConfig.for_encoder(64, 64) == SSLHeadConfig(64, 512, 128)  # the benchmark's ViT
    assert SSLHeadConfig.for_encoder(64, 64, mlp_dim=100, emb_dim=10) == SSLHeadConfig(64, 100, 10)
    head = build_ssl_head(SSLHeadConfig(16, 32, 8))
    assert [type(m).__name__ for m in head] == ["Linear", "BatchNorm1d", "ReLU", "Linear", "BatchNorm1d", "ReLU", "Linear"]


def test_views_are_two_augmentations_seeded_by_position_and_leave_torch_rng_alone():
    augment = SimCLRAugment(32)
    generator = torch.Generator().manual_seed(4)
    squares = torch.randint(0, 256, (6, 3, 37, 37), dtype=torch.uint8, generator=generator)
    torch.manual_seed(11)
    expected_next = torch.rand(3)
    torch.manual_seed(11)
    views = make_views(augment, squares, view_seed(0, 0, 5))
    assert torch.equal(torch.rand(3), expected_next)  # the global generator is untouched
    assert views.shape == (12, 3, 32, 32) and views.dtype == torch.float32
    assert torch.equal(views, make_views(augment, squares, view_seed(0, 0, 5)))
    assert not torch.equal(views, make_views(augment, squares, view_seed(0, 0, 6)))
    assert not torch.equal(views, make_views(augment, squares, view_seed(0, 1, 5)))
    assert not torch.equal(views[:6], views[6:])  # the two views of an image differ
    assert len({view_seed(s, r, t) for s in range(3) for r in range(3) for t in range(50)}) == 450


def test_loader_adds_the_raw_square_and_keeps_the_clip_crop(tmp_path):
    pairs = make_pairs(16, seed=6)
    urls = expand_urls(str(write_dataset(tmp_path, pairs, per_shard=8)))
    tokenizer = train_tokenizer([caption for _, caption in pairs], vocab_size=300, context_length=16)
    plain = next(iter(ShardStream(urls, tokenizer, 32, 8, training=True, shuffle_buffer=0)))
    slip = next(iter(ShardStream(urls, tokenizer, 32, 8, training=True, shuffle_buffer=0, ssl_squares=True)))
    assert "ssl_images" not in plain
    assert torch.equal(plain["images"], slip["images"])  # the CLIP view is the same crop as for --objective clip
    assert slip["ssl_images"].shape == (8, 3, 37, 37) and slip["ssl_images"].dtype == torch.uint8
    evaluation = next(iter(ShardStream(urls, tokenizer, 32, 8, training=False, ssl_squares=True)))
    assert "ssl_images" not in evaluation


def ssl_worker(rank: int, world_size: int, init_file: str, out_dir: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world_size)
    try:
        first, second = fixed_views()
        share = slice(rank * 4, (rank + 1) * 4)
        mine_first, mine_second = first[share].clone().requires_grad_(), second[share].clone().requires_grad_()
        loss = ssl_loss(mine_first, mine_second, 0.1)
        loss.backward()
        torch.save({"loss": loss.item(), "first": mine_first.grad, "second": mine_second.grad}, f"{out_dir}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def fixed_views():
    generator = torch.Generator().manual_seed(7)
    return torch.randn(8, 16, generator=generator), torch.randn(8, 16, generator=generator)


@pytest.mark.slow
def test_the_ssl_branch_gathers_across_ranks(tmp_path):
    mp.spawn(ssl_worker, args=(2, str(tmp_path / "init"), str(tmp_path)), nprocs=2, join=True)
    first, second = (v.clone().requires_grad_() for v in fixed_views())
    loss = ssl_loss(first, second, 0.1)  # one process, the whole batch
    loss.backward()
    for rank in range(2):
        result = torch.load(tmp_path / f"rank{rank}.pt")
        share = slice(rank * 4, (rank + 1) * 4)
        assert result["loss"] == pytest.approx(loss.item(), rel=1e-5)
        # each rank gets world x its share of the global gradient; DDP's average restores it (trainer/loss.py)
        assert torch.allclose(result["first"], 2 * first.grad[share], rtol=1e-4, atol=1e-7)
        assert torch.allclose(result["second"], 2 * second.grad[share], rtol=1e-4, atol=1e-7)
    local = ssl_loss(fixed_views()[0][:4], fixed_views()[1][:4], 0.1)
    assert abs(local.item() - loss.item()) > 1e-3  # a per-rank loss would differ


def metrics(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_a_resumed_slip_run_continues_exactly(tmp_path, capsys):
    (tmp_path / "micro.json").write_text(json.dumps(MICRO))
    data, micro = write_dataset(tmp_path / "data", make_pairs(192, seed=1), per_shard=64), tmp_path / "micro.json"
    common = ("--epochs", "1", "--workers", "2", "--objective", "slip", "--ssl-mlp-dim", "128", "--ssl-emb-dim", "32")
    assert wit(train_args(data, tmp_path / "straight", micro, *common)) == 0
    assert wit(train_args(data, tmp_path / "resumed", micro, *common, "--stop-at-step", "3")) == 0
    assert wit(train_args(data, tmp_path / "resumed", micro, *common, "--resume", "auto")) == 0
    straight, resumed = metrics(tmp_path / "straight"), metrics(tmp_path / "resumed")
    assert [r["step"] for r in straight] == [r["step"] for r in resumed] == list(range(1, 7))
    for a, b in zip(straight, resumed):
        for key in ("loss", "clip_loss", "ssl_loss"):
            assert b[key] == pytest.approx(a[key], rel=1e-5, abs=1e-6), (a["step"], key)
        assert a["loss"] == pytest.approx(a["clip_loss"] + a["ssl_loss"], rel=1e-5)
    assert straight[-1]["ssl_loss"] < straight[0]["ssl_loss"]

    state = load_checkpoint(tmp_path / "straight" / "checkpoints" / "latest.pt")
    assert state["objective"] == "slip" and state["ssl_head_config"] == {"in_dim": 64, "mlp_dim": 128, "emb_dim": 32}
    assert state["ssl_head"]["layer1.weight"].shape == (128, 64) and "bn1.running_mean" in state["ssl_head"]
    assert not any(key.startswith("ssl_head") for key in state["model"])  # eval and predict read a plain CLIP

    capsys.readouterr()  # resuming with another objective or head is one clear error
    assert wit(train_args(data, tmp_path / "resumed", micro, "--epochs", "2", "--resume", "auto")) == 1
    assert "--objective slip" in capsys.readouterr().err
    assert wit(train_args(data, tmp_path / "resumed", micro, "--epochs", "2", "--resume", "auto", "--objective", "slip")) == 1
    assert "--ssl-mlp-dim" in capsys.readouterr().err


class StopAtTraining(Exception):
    pass


def test_wit_demo_objective_slip_trains_with_slip(monkeypatch, tmp_path):
    from wit.app import demo

    calls = []

    def run_step(name, wit_args, verbose):
        calls.append((name, wit_args))
        if name == "train":
            raise StopAtTraining
        return ""

    monkeypatch.setattr(demo, "_run_wit", run_step)
    assert wit(["demo", "--quick", "--objective", "slip", "--out", str(tmp_path)]) == 1  # stopped at the train step
    name, train = calls[-1]
    assert [n for n, _ in calls] == ["sample-web", "build", "train"]
    assert train[train.index("--objective") + 1] == "slip"


@pytest.mark.slow
def test_torchrun_two_processes_train_slip(tmp_path):
    """The real loop under torchrun (gloo on CPU) with the SSL head inside DDP."""
    from test_trainer_ddp import SMALL, free_port, run_torchrun

    data = write_dataset(tmp_path / "data", make_pairs(64, seed=3), per_shard=16)
    config = tmp_path / "micro.json"
    config.write_text(json.dumps({**SMALL.to_dict(), "vocab_size": 300, "eot_token_id": 299}))
    import sys

    result = run_torchrun([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
                           "--master_port", str(free_port()), "-m", "wit.trainer.train", "--data", str(data), "--out", str(tmp_path / "run"),
                           "--model-config", str(config), "--batch-size", "8", "--workers", "1", "--precision", "fp32",
                           "--vocab-size", "300", "--log-every", "1", "--save-every", "0", "--device", "cpu", "--objective", "slip"])
    assert json.loads(result.stdout.strip().splitlines()[-1])["step"] == 4  # 64 samples / (8 x 2 processes)
    records = metrics(tmp_path / "run")
    assert [r["step"] for r in records] == [1, 2, 3, 4] and all(r["ssl_loss"] > 0 for r in records)
    state = load_checkpoint(tmp_path / "run" / "checkpoints" / "latest.pt")
    assert state["objective"] == "slip" and "layer3.weight" in state["ssl_head"]
