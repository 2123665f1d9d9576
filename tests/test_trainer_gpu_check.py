"""benchmarks/gpu_check.py: its CPU smoke mode runs the whole check (train, resumes across
precisions, the step rows) and prints the table; without CUDA the GPU run is one clear message."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "gpu_check.py"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: the GPU run is the real check")
def test_without_cuda_the_gpu_check_says_so_and_how_to_smoke_test():
    result = run()
    assert result.returncode == 2
    assert "CUDA is not available" in result.stderr and "--device cpu --steps 3 --tiny" in result.stderr


@pytest.mark.slow
def test_smoke_mode_trains_resumes_across_precisions_and_prints_one_table():
    result = run("--device", "cpu", "--tiny", "--steps", "2", "--models", "tiny-vit", "--no-compile")
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    rows = json.loads(lines[-1])["rows"]
    assert [(r["precision"], r["what"], r["impl"]) for r in rows] == [
        ("amp", "train", "wit train"), ("amp_bf16", "resume from amp", "wit train"), ("amp", "resume from amp_bf16", "wit train"),
        ("amp", "step on tensors", "wit"), ("amp", "step on tensors", "open_clip"),
        ("amp_bf16", "step on tensors", "wit"), ("amp_bf16", "step on tensors", "open_clip"),
    ]
    training = rows[:3]
    assert [r["steps"] for r in training] == [2, 2, 2] and all(r["status"] == "ok" and r["finite"] for r in training)
    assert all(r["samples_per_s"] > 0 for r in rows if r["impl"] == "wit")
    for row in (r for r in rows if r["impl"] == "open_clip"):  # open_clip does not import beside the CPU torch here
        assert row["status"] == "ok" or row["status"].startswith("skipped: open_clip")
    table = "\n".join(lines[:-1])
    assert "resume from amp_bf16" in table and "samples/s" in table and "x open_clip" in table
