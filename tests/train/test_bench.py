"""The benchmark loss the train loop records is the one the evaluate stage reports, over the same answers."""

from __future__ import annotations

import pytest
import torch

from hephaestus.evaluate.settings import EvalSettings
from hephaestus.pack.tokenizer import TokenizerHandle, train_bpe
from hephaestus.train import bench
from hephaestus.train.model import build_model

pytest.importorskip("bfcl_eval")


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory: pytest.TempPathFactory) -> TokenizerHandle:
    from hephaestus.evaluate.bfcl_data import load_bfcl
    from hephaestus.evaluate.bfcl_prompt import reference_answer, render_prompt

    items = load_bfcl(limit=5)
    texts = [render_prompt(item) + reference_answer(item) for item in items if item.answer]
    return train_bpe(texts, 600, tmp_path_factory.mktemp("bpe"))


def test_probe_equals_the_evaluate_stage_benchmark_loss(tokenizer: TokenizerHandle) -> None:
    from hephaestus.evaluate.bfcl_data import load_bfcl
    from hephaestus.evaluate.metrics import bfcl_bench_loss

    model = build_model("tiny", tokenizer.vocab_size, 256).eval()
    probe, line = bench.bfcl_probe(tokenizer, max_len=256, per_category=2, batch_size=4)
    assert probe is not None and "benchmark loss (valid/bfcl)" in line
    value = probe(model, torch.device("cpu"))
    per_category = bfcl_bench_loss(model, tokenizer, load_bfcl(limit=2), EvalSettings(batch_size=4),
                                   torch.device("cpu"))
    nll = sum(c["nll"] * c["tokens"] for c in per_category.values()) / sum(c["tokens"] for c in per_category.values())
    assert value == pytest.approx(nll, rel=1e-5) and 0 < value < 2 * torch.log(torch.tensor(600.0)).item()
    assert probe(model, torch.device("cpu")) == value  # deterministic


def test_without_bfcl_data_the_probe_is_off_and_says_why(tokenizer: TokenizerHandle, monkeypatch) -> None:
    import hephaestus.evaluate.bfcl_data as bfcl_data

    def missing(**_: object) -> None:
        raise FileNotFoundError("BFCL data folder not found: /nowhere")

    monkeypatch.setattr(bfcl_data, "load_bfcl", missing)
    probe, line = bench.bfcl_probe(tokenizer, max_len=256, per_category=2, batch_size=4)
    assert probe is None and "BFCL data folder not found: /nowhere" in line
