"""trainer/runtime.py and trainer/distributed.py: what a GPU run depends on, checked on a CPU.

- device choice under a simulated torchrun environment (every rank on its own GPU);
- the default precision by device and CPU;
- GradScaler state across every pair of precisions, and a real resume from a checkpoint written
  without a scaler into a run with one (the GradScaler is a CPU one, active where CUDA's would be);
- the all-gather's gradient under gloo against one process on the whole batch;
- `--val-data` evaluation slower than the process group's timeout: every rank takes part, the run completes.
"""

import json
import os
import time
from datetime import timedelta

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from trainer_shards import MICRO, make_pairs, train_args, write_dataset
from wit.core.errors import WitError
from wit.trainer.config import PRECISIONS
from wit.trainer.runtime import (
    choose_device,
    cpu_runs_bf16_natively,
    ddp_device_ids,
    default_precision,
    needs_grad_scaler,
    restore_scaler,
)

TORCHRUN_RANK_1_OF_2 = {"RANK": "1", "LOCAL_RANK": "1", "WORLD_SIZE": "2", "LOCAL_WORLD_SIZE": "2"}


# ---------------------------------------------------------------- device


def test_cuda_without_an_index_under_torchrun_is_the_local_rank_gpu():
    assert choose_device("cuda", TORCHRUN_RANK_1_OF_2, cuda_device_count=2) == torch.device("cuda", 1)
    assert choose_device(None, TORCHRUN_RANK_1_OF_2, cuda_device_count=2) == torch.device("cuda", 1)
    assert choose_device("cpu", TORCHRUN_RANK_1_OF_2, cuda_device_count=2) == torch.device("cpu")
    assert choose_device(None, TORCHRUN_RANK_1_OF_2, cuda_device_count=0) == torch.device("cpu")
    assert choose_device("cuda:1", {}, cuda_device_count=2) == torch.device("cuda", 1)  # one process: as given
    assert ddp_device_ids(torch.device("cuda", 1)) == [1] and ddp_device_ids(torch.device("cpu")) is None


@pytest.mark.parametrize("requested, environ, gpus, message", [
    ("cuda:0", TORCHRUN_RANK_1_OF_2, 2, "all 2 processes of this node on one GPU"),
    ("cuda", {**TORCHRUN_RANK_1_OF_2, "LOCAL_RANK": "2"}, 2, "only 2 GPU(s) are visible"),
    ("cuda", {}, 0, "CUDA is not available"),
    ("nonsense", {}, 0, "--device nonsense"),
])
def test_impossible_devices_are_clear_errors(requested, environ, gpus, message):
    with pytest.raises(WitError, match=message.replace("(", r"\(").replace(")", r"\)")):
        choose_device(requested, environ, gpus)
    with pytest.raises(WitError):
        ddp_device_ids(torch.device("cuda"))


def test_setup_distributed_puts_each_torchrun_rank_on_its_own_gpu(monkeypatch):
    """The whole setup path on a simulated 2-GPU node: rank 1 with --device cuda selects, and
    initialises NCCL on, cuda:1 (before the fix: torch.device('cuda'), i.e. GPU 0 for every rank)."""
    from wit.trainer import train

    for name, value in TORCHRUN_RANK_1_OF_2.items():
        monkeypatch.setenv(name, value)
    selected, backends = [], []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "set_device", selected.append)
    monkeypatch.setattr(dist, "is_initialized", lambda: False)
    monkeypatch.setattr(dist, "init_process_group", lambda backend: backends.append(backend))
    rank, world_size, local_rank, device = train.setup_distributed("cuda")
    assert (rank, world_size, local_rank) == (1, 2, 1)
    assert device == torch.device("cuda", 1) and selected == [torch.device("cuda", 1)] and backends == ["nccl"]
    assert ddp_device_ids(device) == [1]


# ---------------------------------------------------------------- precision


def test_default_precision_is_amp_on_cuda_and_fp32_on_cpus_without_bf16_matrix_units():
    assert default_precision(torch.device("cuda", 0))[0] == "amp"
    zen4 = {"architecture": "x86_64", "cpu_name": "AMD EPYC", "avx512_bf16": True, "amx_bf16": False}
    sapphire_rapids = {"architecture": "x86_64", "cpu_name": "Intel Xeon", "avx512_bf16": True, "amx_bf16": True}
    precision, why = default_precision(torch.device("cpu"), zen4)
    assert precision == "fp32" and "avx512_bf16 but no AMX-BF16" in why and "AMD EPYC" in why
    assert default_precision(torch.device("cpu"), sapphire_rapids) == ("amp_bf16", "CPU: Intel Xeon has AMX-BF16 matrix units")
    assert default_precision(torch.device("cpu"), {"architecture": "aarch64", "bf16": True})[0] == "fp32"
    assert default_precision(torch.device("cpu"), {})[0] == "fp32"
    assert cpu_runs_bf16_natively({"amx_bf16": True})[0] and not cpu_runs_bf16_natively({"avx2": True})[0]


# ---------------------------------------------------------------- GradScaler across precisions


def scaler_as_on_cuda(precision: str) -> torch.amp.GradScaler:
    """A CPU GradScaler that is active exactly where the CUDA run's would be (fp16 amp)."""
    return torch.amp.GradScaler("cpu", enabled=needs_grad_scaler(precision, "cuda"))


def saved_scaler_state(precision: str) -> dict:
    scaler = scaler_as_on_cuda(precision)
    if scaler.is_enabled():
        scaler.scale(torch.ones(()))  # creates the scale tensor
        scaler.update(new_scale=1024.0)  # as after a few overflows: a state worth restoring
    return torch.load(_roundtrip(scaler.state_dict()), weights_only=False)


def _roundtrip(state: dict):
    import io

    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return buffer


@pytest.mark.parametrize("saved", PRECISIONS)
@pytest.mark.parametrize("resumed", PRECISIONS)
def test_scaler_state_resumes_across_every_pair_of_precisions(saved, resumed):
    state = saved_scaler_state(saved)
    scaler = scaler_as_on_cuda(resumed)
    note = restore_scaler(scaler, state)
    if not scaler.is_enabled():
        assert "no GradScaler" in note
    elif state:
        assert scaler.get_scale() == 1024.0 and "restored" in note
    else:
        assert scaler.get_scale() == 65536.0 and "fresh scaler" in note
        with pytest.raises(RuntimeError, match="source state dict is empty"):  # what the resume used to call
            scaler_as_on_cuda(resumed).load_state_dict(state)


@pytest.mark.slow
def test_resume_into_and_out_of_an_active_grad_scaler(tmp_path, monkeypatch):
    """A real run: fp32 (no scaler state) -> amp with an active scaler -> fp32 again, one checkpoint each."""
    from wit.app.cli import main as wit
    from wit.trainer import train

    monkeypatch.setattr(train, "make_scaler", lambda precision, device: scaler_as_on_cuda(precision))
    (tmp_path / "micro.json").write_text(json.dumps(MICRO))
    data = write_dataset(tmp_path / "data", make_pairs(128, seed=5), per_shard=64)
    run = tmp_path / "run"

    def segment(precision: str, stop: int | None):
        args = train_args(data, run, tmp_path / "micro.json", "--workers", "0", "--resume", "auto", "--warmup", "2")
        args[args.index("--precision") + 1] = precision
        assert wit([*args, *(["--stop-at-step", str(stop)] if stop else [])]) == 0
        return torch.load(run / "checkpoints" / "latest.pt", weights_only=False)

    assert segment("fp32", 1)["scaler"] == {}
    with_scaler = segment("amp", 2)
    assert with_scaler["scaler"]["scale"] > 0 and with_scaler["train_config"]["precision"] == "amp"
    final = segment("fp32", None)
    assert final["position"]["step"] == 4 and final["scaler"] == {}
    steps = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in steps] == [1, 2, 3, 4] and all(r["loss"] == r["loss"] for r in steps)


@pytest.mark.slow
def test_a_run_without_precision_records_the_default_it_chose(tmp_path, caplog):
    import logging

    from wit.app.cli import main as wit

    (tmp_path / "micro.json").write_text(json.dumps(MICRO))
    data = write_dataset(tmp_path / "data", make_pairs(32, seed=6), per_shard=32)
    args = train_args(data, tmp_path / "run", tmp_path / "micro.json", "--workers", "0", "--device", "cpu")
    del args[args.index("--precision") : args.index("--precision") + 2]
    with caplog.at_level(logging.INFO, logger="wit.train"):
        assert wit(args) == 0
    expected, why = default_precision(torch.device("cpu"))
    state = torch.load(tmp_path / "run" / "checkpoints" / "latest.pt", weights_only=False)
    assert state["train_config"]["precision"] == expected
    assert f"precision {expected} (the default on cpu; {why})" in caplog.text


# ---------------------------------------------------------------- collectives under gloo

GLOBAL_ROWS = 6


def rank_weights(rank: int) -> torch.Tensor:
    return torch.arange(GLOBAL_ROWS * 3, dtype=torch.float64).reshape(GLOBAL_ROWS, 3).sin() * (rank + 1)


def rank_loss(gathered: torch.Tensor, rank: int) -> torch.Tensor:
    """A different loss on every rank, so the backward must sum what every rank sends back."""
    return (rank_weights(rank) * gathered).sum() + (rank + 1) * (gathered**3).sum()


def gather_worker(rank: int, world_size: int, init_file: str, out_dir: str) -> None:
    from wit.trainer.distributed import all_gather_rows, all_gather_with_grad

    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world_size)
    try:
        rows = torch.linspace(-1, 1, GLOBAL_ROWS * 3, dtype=torch.float64).reshape(GLOBAL_ROWS, 3)
        share = rows[rank * GLOBAL_ROWS // world_size : (rank + 1) * GLOBAL_ROWS // world_size].clone().requires_grad_()
        gathered = all_gather_with_grad(share)
        rank_loss(gathered, rank).backward()
        uneven = all_gather_rows(torch.full((rank + 1, 2), float(rank)))  # 1 row from rank 0, 2 from rank 1
        torch.save({"gathered": gathered.detach(), "grad": share.grad, "uneven": uneven}, f"{out_dir}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_all_gather_gradient_equals_one_process_on_the_whole_batch(tmp_path):
    mp.spawn(gather_worker, args=(2, str(tmp_path / "init"), str(tmp_path)), nprocs=2, join=True)
    rows = torch.linspace(-1, 1, GLOBAL_ROWS * 3, dtype=torch.float64).reshape(GLOBAL_ROWS, 3).requires_grad_()
    sum(rank_loss(rows, rank) for rank in range(2)).backward()  # every rank's loss, on one process
    for rank in range(2):
        result = torch.load(tmp_path / f"rank{rank}.pt")
        assert torch.equal(result["gathered"], rows.detach())
        own = rows.grad[rank * 3 : (rank + 1) * 3]
        assert torch.allclose(result["grad"], own, rtol=1e-12, atol=1e-12)
        assert torch.equal(result["uneven"], torch.tensor([[0.0, 0.0], [1.0, 1.0], [1.0, 1.0]]))
    # teeth: only this rank's own loss (no sum over ranks) would give another gradient
    alone = rows.detach().clone().requires_grad_()
    rank_loss(alone, 0).backward()
    assert not torch.allclose(alone.grad[:3], rows.grad[:3])


VAL_PAIRS, VAL_BATCH = 64, 8
EVAL_DELAY_S, GROUP_TIMEOUT_S = 2.5, 10.0  # one rank alone: 8 batches x 2.5 s = 20 s > 10 s


def slow_eval_worker(rank: int, world_size: int, init_file: str, root: str) -> None:
    """`train` under a gloo group with a short timeout, where encoding a val batch takes EVAL_DELAY_S."""
    from wit.trainer import train as train_module
    from wit.trainer.config import TrainConfig
    from wit.trainer.model import CLIP

    os.environ.update({"RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": str(world_size), "LOCAL_WORLD_SIZE": str(world_size)})
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world_size,
                            timeout=timedelta(seconds=GROUP_TIMEOUT_S))
    encode_image = CLIP.encode_image

    def slow_encode_image(self, images):
        if not self.training:
            time.sleep(EVAL_DELAY_S)
        return encode_image(self, images)

    CLIP.encode_image = slow_encode_image
    config = TrainConfig(data=f"{root}/data/shards", out=f"{root}/run", model_config=f"{root}/micro.json", tokenizer=f"{root}/tokenizer.json",
                         batch_size=8, warmup=2, precision="fp32", workers=0, save_every=0, log_every=1, device="cpu",
                         val_data=f"{root}/val/shards")
    finished = False
    try:
        started = time.perf_counter()
        summary = train_module.train(config)
        finished = True
        with open(f"{root}/rank{rank}.json", "w") as out:
            json.dump({**summary, "seconds": time.perf_counter() - started}, out)
    finally:
        train_module.leave_distributed(finished)


@pytest.mark.slow
def test_evaluation_longer_than_the_group_timeout_completes_on_two_ranks(tmp_path):
    from wit.trainer.tokenizer import train_tokenizer

    (tmp_path / "micro.json").write_text(json.dumps(MICRO))
    pairs = make_pairs(64, seed=11)
    write_dataset(tmp_path / "data", pairs, per_shard=16)
    write_dataset(tmp_path / "val", make_pairs(VAL_PAIRS, seed=12), per_shard=VAL_PAIRS // 2)
    train_tokenizer([caption for _, caption in pairs], 300, MICRO["context_length"]).save(tmp_path / "tokenizer.json")

    mp.spawn(slow_eval_worker, args=(2, str(tmp_path / "init"), str(tmp_path)), nprocs=2, join=True)

    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    validation = [r for r in records if "val_pairs" in r]
    assert len(validation) == 1 and validation[0]["val_pairs"] == VAL_PAIRS  # every pair once, from both ranks
    for rank in range(2):
        summary = json.loads((tmp_path / f"rank{rank}.json").read_text())
        assert summary["step"] == 4
        # each rank's share alone (4 batches) outlasts the group timeout: nobody waited through it
        assert summary["seconds"] > GROUP_TIMEOUT_S
