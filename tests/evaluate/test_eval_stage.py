"""The evaluate stage on a small real workspace: results files, the oracle wiring, resume and comparison."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from rich.console import Console
from transformers import LlamaConfig

from hephaestus.evaluate import metrics
from hephaestus.evaluate.bfcl_data import load_bfcl
from hephaestus.evaluate.bfcl_prompt import reference_answer
from hephaestus.evaluate.models import find_targets
from hephaestus.evaluate.settings import EvalSettings
from hephaestus.evaluate.stage import evaluate
from hephaestus.pack.packer import PackWriter
from hephaestus.pack.tokenizer import train_bpe
from hephaestus.status import render_status
from hephaestus.train.model import proxy
from hephaestus.workspace import Workspace, WorkspaceError

TEXTS = ["The quick brown fox jumps over the lazy dog. " * 3, "def area(base, height):\n    return base * height / 2",
         '{"name": "calculate_triangle_area", "arguments": {"base": 10, "height": 5}}',
         "Wikipedia is a free online encyclopedia written by volunteers."] * 5
SETTINGS = EvalSettings(categories=("simple_python", "irrelevance"), limit=3, shots=1, batch_size=4,
                        max_new_tokens=8, valid_batches=2)


def make_workspace(root: Path) -> Workspace:
    ws = Workspace(root)
    tokenizer = train_bpe(TEXTS, 400, root / "mix" / "tokenizer")
    (root / "pack").mkdir(parents=True)
    (root / "pack" / "manifest.json").write_text(json.dumps({"tokenizer": {"fingerprint": tokenizer.fingerprint}}))
    for kind, texts in (("text", TEXTS[::4] + TEXTS[3::4]), ("tool_doc", TEXTS[2::4])):
        writer = PackWriter(root / "pack" / "valid" / kind, seq_len=64, vocab_size=tokenizer.vocab_size,
                            eos_id=tokenizer.eos_id)
        for ids in tokenizer.encode_batch(texts):
            writer.add(np.array([*ids, tokenizer.eos_id]))
        writer.close()
    config = LlamaConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         num_key_value_heads=2, intermediate_size=64, max_position_embeddings=256)
    torch.manual_seed(0)
    final = root / "train" / "stage1" / "final"
    proxy(config, torch.float32, "sdpa").save_pretrained(final)
    tokenizer.save(final)
    return ws


@pytest.fixture()
def workspace(tmp_path) -> Workspace:
    return make_workspace(tmp_path / "ws")


def test_evaluate_writes_results_items_and_comparison_and_resumes(workspace):
    console = Console(record=True, width=200)
    targets = find_targets(workspace)
    assert [(t.label, t.instruction_tuned) for t in targets] == [("stage1", False)]
    table = evaluate(workspace, SETTINGS, targets, console=console)
    results = json.loads((workspace.root / "eval" / "stage1" / "results.json").read_text())
    assert results["style"] == "base" and results["notes"] == []
    assert set(results["bench_loss"]) == {"bfcl/simple_python", "valid/tool_doc"}
    assert results["bench_loss"]["bfcl/simple_python"]["items"] == 3
    assert all(np.isfinite(loss["nll"]) and loss["tokens"] > 0 for loss in results["bench_loss"].values())
    assert results["retention"]["dataset"] == "valid/text" and results["retention"]["perplexity"] > 1
    assert {c: s["total"] for c, s in results["bfcl"]["categories"].items()} == {"simple_python": 3, "irrelevance": 3}
    lines = (workspace.root / "eval" / "stage1" / "items.jsonl").read_text().splitlines()
    assert len(lines) == 6 and all("output" in json.loads(line) for line in lines)
    assert [row["label"] for row in table["rows"]] == ["stage1"]
    assert "stage1" in (workspace.root / "eval" / "comparison.md").read_text()
    before = (workspace.root / "eval" / "stage1" / "results.json").stat().st_mtime_ns
    evaluate(workspace, SETTINGS, targets, console=console)
    assert (workspace.root / "eval" / "stage1" / "results.json").stat().st_mtime_ns == before
    assert "already evaluated" in console.export_text()
    shown = Console(record=True, width=200)
    render_status(workspace, shown)
    text = shown.export_text()
    assert "eval" in text and "1/" in text


def test_an_oracle_scores_everything_and_the_stage_files_it(workspace, monkeypatch):
    items = load_bfcl(list(SETTINGS.categories), SETTINGS.limit)
    oracle = [reference_answer(item) if item.answer else "No function fits this request." for item in items]
    monkeypatch.setattr(metrics, "generate", lambda model, tokenizer, prompts, **_: oracle[: len(prompts)])
    evaluate(workspace, SETTINGS, find_targets(workspace, labels=["oracle"]), console=Console(quiet=True))
    bfcl = json.loads((workspace.root / "eval" / "oracle" / "results.json").read_text())["bfcl"]
    assert bfcl["summary"]["micro_accuracy"] == 1.0
    assert all(scores["accuracy"] == 1.0 for scores in bfcl["categories"].values())


def test_a_model_with_another_tokenizer_skips_the_pack_splits_with_a_note(workspace):
    manifest = workspace.root / "pack" / "manifest.json"
    manifest.write_text(json.dumps({"tokenizer": {"fingerprint": "another"}}))
    settings = EvalSettings(categories=("simple_python",), limit=1, bfcl=False, max_new_tokens=4)
    evaluate(workspace, settings, find_targets(workspace), console=Console(quiet=True))
    results = json.loads((workspace.root / "eval" / "stage1" / "results.json").read_text())
    assert "retention" not in results and set(results["bench_loss"]) == {"bfcl/simple_python"}
    assert any("tokenizer is not the one the pack" in note for note in results["notes"])


def test_targets_need_checkpoints_and_distinct_labels(workspace, tmp_path):
    with pytest.raises(WorkspaceError, match="no trained model"):
        find_targets(Workspace(tmp_path / "empty"))
    with pytest.raises(WorkspaceError, match="not a Hugging Face checkpoint"):
        find_targets(workspace, [str(tmp_path)])
    final = str(workspace.root / "train" / "stage1" / "final")
    with pytest.raises(WorkspaceError, match="share the label"):
        find_targets(workspace, [final, final])
    assert find_targets(workspace, [final], chat=True)[0].instruction_tuned
