"""Training on several processes (torchrun, FSDP2 on gloo): it trains, matches one process, and resumes exactly.

Run as a script under torchrun this file is also the worker: `python -m torch.distributed.run --standalone
--nproc-per-node 2 tests/train/test_distributed.py DATA [--train OUT] [--resume OUT] [--crash OUT]`.
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from test_train_loop import write_pack  # a sibling, importable under pytest and as torchrun's script
from transformers import AutoModelForCausalLM

from hephaestus.pack.packer import PackedDataset
from hephaestus.train import distributed
from hephaestus.train.checkpoint import latest_checkpoint
from hephaestus.train.data import IGNORE
from hephaestus.train.loop import TrainConfig, train
from hephaestus.train.model import build_model

# One process and two see the same global batches (batch_size is global), but the two sum their halves' losses
# and gradients in another order (and torchrun runs each with one OpenMP thread), so float32 results differ in
# the last bits. Measured over these 8 steps: losses and validation losses by at most 1.1e-7 relative, gradient
# norms by 1.3e-6; we allow 1e-4, still far below the 1e-2 a loss moves per step. Parameters: AdamW divides by
# sqrt(v), so elements whose gradients are ~0 can differ by a large *relative* amount; what matters is that the
# runs differ by far less than training moved them: measured 2.6e-5 of |trained - initial| per tensor, allowed
# 1e-3.
RTOL, ATOL, MOVED = 1e-4, 0.0, 1e-3
WATCHDOG = 90  # seconds a worker may run


class Crash(Exception):
    pass


def settings(out: Path, **changes: object) -> TrainConfig:
    base = {"out_dir": out, "steps": 8, "batch_size": 4, "grad_accum": 2, "lr": 3e-3, "min_lr": 3e-4,
            "warmup_steps": 2, "eval_every": 4, "eval_batches": 2, "checkpoint_every": 3, "device": "cpu",
            "log_every": 4}
    return TrainConfig(**{**base, **changes})


def run(data: Path, out: Path, resume: bool = False, crash_at: int = 0) -> torch.nn.Module:
    """Train the tiny proxy on the pack in data/train, validating on data/valid; raise Crash after `crash_at`."""
    def crash(record: dict) -> None:
        if record["step"] == crash_at:
            raise Crash

    pack = PackedDataset(data / "train")
    model = build_model("tiny", vocab_size=64, max_positions=pack.seq_len, seed=0)
    train(model, pack, settings(out, resume=resume), {"held": PackedDataset(data / "valid")},
          on_step=crash if crash_at else None)
    return model


def torchrun(*args: str, processes: int = 2) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_PORT")}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={processes}", *args]
    env = {**env, "OMP_NUM_THREADS": "1", "PYTHONFAULTHANDLER": "1"}  # tracebacks on fatal signals
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=180)


def succeeded(process: subprocess.CompletedProcess) -> bool:
    """Whether torchrun and its workers exited 0; if not, print their tracebacks for pytest to show."""
    if process.returncode:
        print("\n".join(line for line in process.stderr.splitlines() if line.startswith("[rank")))
        print(process.stderr[-3000:])
    return process.returncode == 0


def assert_same_training(trained: torch.nn.Module, expected: torch.nn.Module) -> None:
    """`trained` is `expected` up to a small fraction of how far training moved each tensor from the init."""
    init = build_model("tiny", vocab_size=64, max_positions=32, seed=0)
    for (name, a), b, c in zip(trained.named_parameters(), expected.parameters(), init.parameters(), strict=True):
        assert (a - b).norm() <= MOVED * (b - c).norm(), name


def records(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def column(rows: list[dict], key: str) -> list[float | None]:
    return [row.get(key) for row in rows]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("distributed")
    write_pack(root / "train", 0)
    write_pack(root / "valid", 1, docs=10)
    return root


@pytest.mark.slow
def test_two_processes_train_like_one_and_resume_exactly(data: Path, tmp_path: Path) -> None:
    worker = str(Path(__file__).resolve())
    # one launch (imports cost seconds) runs a whole training, then one that crashes after step 5
    first = torchrun(worker, str(data), "--train", str(tmp_path / "two"), "--crash", str(tmp_path / "crashed"))
    assert first.returncode != 0 and "Crash" in first.stderr, first.stderr[-3000:]
    one = run(data, tmp_path / "one")
    single, double = records(tmp_path / "one"), records(tmp_path / "two")

    assert [r["step"] for r in double] == list(range(1, 9))  # one record per step: rank 0 alone writes
    assert double[-1]["loss"] < double[0]["loss"] and single[-1]["loss"] < single[0]["loss"]
    assert [r["step"] for r in double if "valid/held" in r] == [4, 8]
    assert column(double, "lr") == column(single, "lr")
    for key in ("loss", "grad_norm", "valid/held"):
        expected = [v for v in column(single, key) if v is not None]
        actual = [v for v in column(double, key) if v is not None]
        torch.testing.assert_close(actual, expected, rtol=RTOL, atol=ATOL, msg=key)
    progress = [line.split()[1] for line in first.stdout.splitlines() if line.startswith("step ")]
    assert progress == ["4/8", "8/8", "4/8"]  # rank 0 alone prints, the crashed run up to step 5
    final = AutoModelForCausalLM.from_pretrained(tmp_path / "two" / "final", local_files_only=True)
    assert_same_training(final, one)

    assert latest_checkpoint(tmp_path / "crashed" / "checkpoints").name == "step_000000003.pt"
    timing = ("tokens_per_s", "mfu", "eta_s")  # a second run, same process: all but the timings repeat
    assert records(tmp_path / "crashed") == [{**r, **{k: c[k] for k in timing}}
                                             for r, c in zip(double[:5], records(tmp_path / "crashed"), strict=True)]
    shutil.copytree(tmp_path / "crashed", tmp_path / "crossed")  # the same checkpoint, resumed on one process
    resumed = torchrun(worker, str(data), "--resume", str(tmp_path / "crashed"))
    assert succeeded(resumed)
    again = records(tmp_path / "crashed")
    for key in ("step", "loss", "lr", "grad_norm", "valid/held"):
        assert column(again, key) == column(double, key), key
    again_final = AutoModelForCausalLM.from_pretrained(tmp_path / "crashed" / "final", local_files_only=True)
    for a, b in zip(again_final.parameters(), final.parameters(), strict=True):
        assert torch.equal(a, b)

    crossed = run(data, tmp_path / "crossed", resume=True)
    for key in ("loss", "grad_norm", "valid/held"):
        expected = [v for v in column(single, key) if v is not None]
        actual = [v for v in column(records(tmp_path / "crossed"), key) if v is not None]
        torch.testing.assert_close(actual, expected, rtol=RTOL, atol=ATOL, msg=key)
    assert_same_training(crossed, one)


@pytest.mark.slow
def test_the_cli_trains_a_stage_on_two_processes(packed_ws, tmp_path: Path) -> None:
    ws, _ = packed_ws
    config = tmp_path / "train.yaml"
    config.write_text("train:\n  model: tiny\n  batch_size: 4\n  checkpoint_every: 1\n  eval_batches: 2\n"
                      "  stages:\n    1: {steps: 2, lr: 0.001, warmup_steps: 1}\n")
    done = torchrun("-m", "hephaestus.cli", "train", "-w", str(ws.root), "--stage", "1", "--config", str(config),
                    "--restart")
    assert succeeded(done)
    output = done.stdout + done.stderr
    assert output.count("train: stage 1 done") == 1 and output.count("step 2/2") == 1  # rank 0 alone prints
    out = ws.stage_dir("train") / "stage1"
    assert [r["step"] for r in records(out)] == [1, 2]
    assert sorted(p.name for p in (out / "checkpoints").glob("*.pt")) == ["step_000000001.pt", "step_000000002.pt"]
    AutoModelForCausalLM.from_pretrained(out / "final", local_files_only=True)


def test_each_rank_gets_its_rows_and_a_rank_without_rows_a_dummy(monkeypatch) -> None:
    batch = {"input_ids": torch.arange(10).view(5, 2), "labels": torch.arange(10).view(5, 2),
             "position_ids": torch.zeros(5, 2, dtype=torch.long)}
    monkeypatch.setenv("WORLD_SIZE", "2")
    rows = []
    for rank in range(2):
        monkeypatch.setenv("RANK", str(rank))
        rows.append(distributed.local_rows(batch)["input_ids"])
    assert torch.equal(torch.cat(rows), batch["input_ids"]) and [len(r) for r in rows] == [3, 2]
    monkeypatch.setenv("WORLD_SIZE", "8")
    monkeypatch.setenv("RANK", "7")
    dummy = distributed.local_rows(batch)
    assert torch.equal(dummy["input_ids"], batch["input_ids"][:1]) and bool((dummy["labels"] == IGNORE).all())


def test_optimizer_state_by_name_and_by_index_round_trip() -> None:
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.LayerNorm(4))
    decay = [p for p in model.parameters() if p.dim() >= 2]
    optimizer = torch.optim.AdamW([{"params": decay}, {"params": [p for p in model.parameters() if p.dim() < 2]}])
    model(torch.ones(2, 3)).sum().backward()
    optimizer.step()
    state = optimizer.state_dict()
    named = distributed._by_name(state, model, optimizer)
    assert named["param_groups"][0]["params"] == ["0.weight"] and set(named["state"]) == {
        "0.weight", "0.bias", "1.weight", "1.bias"}
    back = distributed._by_index(named)
    assert back["param_groups"] == state["param_groups"]
    assert back["state"].keys() == state["state"].keys()
    for index, moments in state["state"].items():
        assert all(torch.equal(moments[k], back["state"][index][k]) for k in moments)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="One torchrun worker of test_distributed.")
    parser.add_argument("data", type=Path, help="folder with the train and valid packs")
    parser.add_argument("--train", type=Path, help="train from scratch into this folder")
    parser.add_argument("--resume", type=Path, help="then resume the run in this folder")
    parser.add_argument("--crash", type=Path, help="then train into this folder, raising Crash after step 5")
    arguments = parser.parse_args()
    faulthandler.dump_traceback_later(WATCHDOG, exit=True)  # a hang fails fast, showing where each rank waits
    jobs = [(arguments.train, False, 0), (arguments.resume, True, 0), (arguments.crash, False, 5)]
    for out, resume, crash_at in jobs:
        if out is not None:
            run(arguments.data, out, resume, crash_at)
