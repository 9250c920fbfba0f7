"""The training loop: exact resume after a crash, gradient accumulation, metrics, evaluation and the final model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoModelForCausalLM, LlamaConfig

from hephaestus.pack.packer import PackedDataset, PackWriter
from hephaestus.train.checkpoint import latest_checkpoint
from hephaestus.train.loop import TrainConfig, train
from hephaestus.train.model import proxy


class Crash(Exception):
    pass


def write_pack(folder: Path, seed: int, docs: int = 60) -> PackedDataset:
    rng = np.random.default_rng(seed)
    writer = PackWriter(folder, seq_len=32, vocab_size=64, eos_id=0)
    for _ in range(docs):
        n = int(rng.integers(2, 40))
        start = int(rng.integers(1, 60))
        writer.add((start + np.arange(n)) % 63 + 1, loss_mask=rng.random(n) < 0.7)  # learnable: counting
    writer.close()
    return PackedDataset(folder)


def tiny() -> torch.nn.Module:
    config = LlamaConfig(vocab_size=64, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=4, intermediate_size=128, max_position_embeddings=32)
    torch.manual_seed(0)
    return proxy(config, torch.float32, "sdpa")


def settings(out: Path, **changes: object) -> TrainConfig:
    base = {"out_dir": out, "steps": 8, "batch_size": 4, "lr": 3e-3, "min_lr": 3e-4, "warmup_steps": 2,
            "eval_every": 4, "eval_batches": 2, "checkpoint_every": 3, "device": "cpu", "log_every": 4}
    return TrainConfig(**{**base, **changes})


def records(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def test_resume_after_a_crash_continues_exactly(tmp_path: Path) -> None:
    data, valid = write_pack(tmp_path / "train", 0), {"held": write_pack(tmp_path / "valid", 1, docs=10)}
    train(tiny(), data, settings(tmp_path / "straight"), valid)
    straight = records(tmp_path / "straight")
    assert [r["step"] for r in straight] == list(range(1, 9))
    assert straight[-1]["loss"] < straight[0]["loss"]
    assert {"lr", "grad_norm", "tokens_per_s", "mfu", "eta_s"} <= straight[0].keys()
    assert all(0 < r["mfu"] < 1 for r in straight) and straight[-1]["eta_s"] == 0 < straight[0]["eta_s"]
    assert [r["step"] for r in straight if "valid/held" in r] == [4, 8]

    def crash_at_5(record: dict) -> None:
        if record["step"] == 5:
            raise Crash

    with pytest.raises(Crash):
        train(tiny(), data, settings(tmp_path / "crashed"), valid, on_step=crash_at_5)
    assert latest_checkpoint(tmp_path / "crashed" / "checkpoints").name == "step_000000003.pt"
    fresh = tiny()
    torch.manual_seed(123)  # the resumed run must not depend on the caller's RNG or the fresh init
    for p in fresh.parameters():
        p.data.normal_()
    last = train(fresh, data, settings(tmp_path / "crashed", resume=True), valid)
    resumed = records(tmp_path / "crashed")
    assert [r["step"] for r in resumed] == list(range(1, 9))
    for key in ("loss", "lr", "grad_norm", "valid/held"):
        assert [r.get(key) for r in resumed] == [r.get(key) for r in straight], key
    assert last["loss"] == straight[-1]["loss"]

    final = AutoModelForCausalLM.from_pretrained(tmp_path / "crashed" / "final", local_files_only=True)
    for a, b in zip(final.parameters(), fresh.parameters(), strict=True):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="schedule"):
        train(tiny(), data, settings(tmp_path / "crashed", resume=True, steps=9), valid)


def test_gradient_accumulation_matches_one_large_batch(tmp_path: Path) -> None:
    data = write_pack(tmp_path / "train", 0)
    one, two = tiny(), tiny()
    common = {"steps": 2, "shuffle": False, "checkpoint_every": 0, "grad_clip": 0.0}
    train(one, data, settings(tmp_path / "one", batch_size=4, **common))
    train(two, data, settings(tmp_path / "two", batch_size=2, grad_accum=2, **common))
    for a, b in zip(records(tmp_path / "one"), records(tmp_path / "two"), strict=True):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-5)
    for a, b in zip(one.parameters(), two.parameters(), strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


def test_probes_run_at_each_validation_point_in_eval_mode(tmp_path: Path) -> None:
    data, calls = write_pack(tmp_path / "train", 0), []

    def probe(model: torch.nn.Module, device: torch.device) -> float:
        calls.append(model.training)
        ids = torch.arange(1, 9, device=device)[None]
        with torch.no_grad():
            return float(model(input_ids=ids, labels=ids).loss)

    model = tiny()
    train(model, data, settings(tmp_path / "run", checkpoint_every=0), probes={"count": probe})
    logged = [r.get("valid/count") for r in records(tmp_path / "run")]
    assert calls == [False, False] and model.training  # evaluated in eval mode, training resumed after
    assert [i + 1 for i, v in enumerate(logged) if v is not None] == [4, 8] and logged[7] < logged[3]


def test_activation_checkpointing_recomputes_layers_and_trains_alike(tmp_path: Path) -> None:
    data = write_pack(tmp_path / "train", 0)
    runs = {}
    for checkpointing in (False, True):
        model, calls = tiny(), []
        # a pre-hook: the recompute may stop early, inside the module, before a forward hook would run
        model.model.layers[0].self_attn.register_forward_pre_hook(lambda *_, seen=calls: seen.append(1))
        common = {"steps": 3, "checkpoint_every": 0, "eval_every": 0, "activation_checkpointing": checkpointing}
        train(model, data, settings(tmp_path / str(checkpointing), **common))
        runs[checkpointing] = (len(calls), [r["loss"] for r in records(tmp_path / str(checkpointing))])
    assert runs[False][0] == 3 and runs[True][0] == 6  # one forward per step; again in each backward
    assert runs[True][1] == pytest.approx(runs[False][1], rel=1e-6)
