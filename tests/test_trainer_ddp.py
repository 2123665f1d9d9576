"""DDP on CPU (gloo, 2 processes): loss and gradients equal one process on the concatenated batch."""

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from wit.trainer.loss import clip_loss
from wit.trainer.model import CLIPConfig, build_model

SMALL = CLIPConfig(embed_dim=32, image_size=32, vision_layers=2, vision_width=32, vision_patch_size=8, vision_heads=2,
                   context_length=16, vocab_size=100, text_width=32, text_heads=2, text_layers=2, eot_token_id=99)
GLOBAL_BATCH = 8


def fixed_batch():
    generator = torch.Generator().manual_seed(123)
    images = torch.randn(GLOBAL_BATCH, 3, 32, 32, generator=generator)
    tokens = torch.randint(1, 99, (GLOBAL_BATCH, 16), generator=generator)
    tokens[torch.arange(GLOBAL_BATCH), torch.randint(2, 16, (GLOBAL_BATCH,), generator=generator)] = 99
    return images, tokens


def fresh_model():
    torch.manual_seed(0)
    return build_model(SMALL)


def ddp_worker(rank: int, world_size: int, init_file: str, out_dir: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world_size)
    try:
        model = fresh_model()
        ddp = torch.nn.parallel.DistributedDataParallel(model)
        images, tokens = fixed_batch()
        share = slice(rank * GLOBAL_BATCH // world_size, (rank + 1) * GLOBAL_BATCH // world_size)
        loss = clip_loss(*ddp(images[share], tokens[share]))
        loss.backward()
        torch.save({"loss": loss.item(), "grads": {n: p.grad.clone() for n, p in model.named_parameters()}}, f"{out_dir}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_two_gloo_processes_match_one_process_on_the_whole_batch(tmp_path):
    mp.spawn(ddp_worker, args=(2, str(tmp_path / "init"), str(tmp_path)), nprocs=2, join=True)

    model = fresh_model()
    images, tokens = fixed_batch()
    loss = clip_loss(*model(images, tokens))  # not distributed here: a plain contrastive loss
    loss.backward()
    expected = {n: p.grad for n, p in model.named_parameters()}

    for rank in range(2):
        result = torch.load(tmp_path / f"rank{rank}.pt")
        assert result["loss"] == pytest.approx(loss.item(), rel=1e-5)
        for name, grad in expected.items():
            assert torch.allclose(result["grads"][name], grad, rtol=1e-4, atol=1e-6), name
    # a sanity check that the comparison has teeth: a per-rank (local) loss differs
    local = clip_loss(*model(images[:4], tokens[:4]))
    assert abs(local.item() - loss.item()) > 1e-3


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_torchrun(command: list[str]):
    import subprocess

    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=240, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"torchrun timed out; stderr: {(exc.stderr or b'')[-3000:]!r}")
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.mark.slow
def test_torchrun_two_processes_train_and_checkpoint_both_ranks_positions(tmp_path):
    """The real loop under torchrun (gloo on CPU): runs, logs the global batch, resumes."""
    import json
    import sys

    from trainer_shards import make_pairs, write_dataset

    shard_dir = write_dataset(tmp_path / "data", make_pairs(64, seed=3), per_shard=16)
    config = tmp_path / "micro.json"
    config.write_text(json.dumps({**SMALL.to_dict(), "vocab_size": 300, "eot_token_id": 299}))
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
               "--master_port", str(free_port()), "-m", "wit.trainer.train", "--data", str(shard_dir), "--out", str(tmp_path / "run"),
               "--model-config", str(config), "--batch-size", "8", "--workers", "1", "--precision", "fp32",
               "--vocab-size", "300", "--log-every", "1", "--save-every", "0", "--device", "cpu"]
    run_torchrun([*command, "--stop-at-step", "2"])
    state = torch.load(tmp_path / "run" / "checkpoints" / "latest.pt", weights_only=False)
    assert state["position"]["step"] == 2 and len(state["position"]["stream_offsets"]) == 2
    command[command.index("--master_port") + 1] = str(free_port())
    second = run_torchrun([*command, "--resume", "auto"])
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3, 4]  # 64 samples / (8 x 2 processes)
    assert json.loads(second.stdout.strip().splitlines()[-1])["step"] == 4
