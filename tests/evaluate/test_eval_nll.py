"""Answer NLL given prompts (benchmark loss) and packed-split NLL (validation, retention)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from transformers import LlamaConfig

from hephaestus.evaluate.nll import answer_loss, pack_loss
from hephaestus.pack.packer import PackedDataset, PackWriter
from hephaestus.train.loop import TrainConfig, evaluate
from hephaestus.train.model import proxy

CPU = torch.device("cpu")


def tiny(positions: int = 64) -> torch.nn.Module:
    config = LlamaConfig(vocab_size=50, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         num_key_value_heads=2, intermediate_size=64, max_position_embeddings=positions)
    torch.manual_seed(0)
    return proxy(config, torch.float32, "sdpa").eval()


def manual_nll(model: torch.nn.Module, prompt: list[int], answer: list[int]) -> float:
    ids = torch.tensor([prompt + answer])
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0, len(prompt) - 1: -1]
    return F.cross_entropy(logits, torch.tensor(answer), reduction="sum").item()


def test_answer_loss_scores_only_answer_tokens_and_is_batch_invariant():
    model = tiny()
    rng = np.random.default_rng(0)
    lengths = [(int(rng.integers(3, 20)), int(rng.integers(1, 8))) for _ in range(7)]
    pairs = [(rng.integers(1, 50, p).tolist(), rng.integers(1, 50, a).tolist()) for p, a in lengths]
    prompts, answers = [p for p, _ in pairs], [a for _, a in pairs]
    expected = sum(manual_nll(model, p, a) for p, a in pairs)
    batched = answer_loss(model, prompts, answers, batch_size=4, max_len=64, device=CPU)
    single = answer_loss(model, prompts, answers, batch_size=1, max_len=64, device=CPU)
    assert batched.tokens == single.tokens == sum(len(a) for a in answers)
    assert batched.items == 7 and batched.truncated == 0
    assert batched.nll_sum == pytest.approx(expected, rel=1e-4)
    assert single.nll_sum == pytest.approx(expected, rel=1e-4)
    result = batched.as_dict()
    assert result["perplexity"] == pytest.approx(math.exp(result["nll"]))


def test_answer_loss_cuts_long_prompts_from_the_left_and_counts_them():
    model = tiny(positions=16)
    prompt, answer = list(range(1, 30)), [7, 8, 9]
    tally = answer_loss(model, [prompt], [answer], batch_size=1, max_len=16, device=CPU)
    assert tally.truncated == 1 and tally.tokens == 3
    assert tally.nll_sum == pytest.approx(manual_nll(model, prompt[-13:], answer), rel=1e-4)


def test_pack_loss_equals_the_training_loops_validation(tmp_path):
    rng = np.random.default_rng(1)
    writer = PackWriter(tmp_path / "valid", seq_len=32, vocab_size=50, eos_id=0)
    for _ in range(20):
        n = int(rng.integers(3, 30))
        writer.add(rng.integers(1, 50, n), loss_mask=rng.random(n) < 0.8)
    writer.close()
    data = PackedDataset(tmp_path / "valid")
    model = tiny()
    tally = pack_loss(model, data, batch_size=4, max_batches=None, device=CPU)
    config = TrainConfig(out_dir=tmp_path, steps=1, batch_size=4, eval_batches=10_000)
    assert tally.items == len(data) and tally.tokens > 0
    assert tally.nll_sum / tally.tokens == pytest.approx(evaluate(model, data, config, CPU), rel=1e-5)
    assert pack_loss(model, data, batch_size=4, max_batches=1, device=CPU).items == 4
