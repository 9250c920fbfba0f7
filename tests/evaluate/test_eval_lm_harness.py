"""The lm-evaluation-harness adapter, offline, on a local task and a local checkpoint."""

from __future__ import annotations

import json
import sys

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from hephaestus.evaluate.lm_harness import run_lm_eval
from hephaestus.evaluate.models import EvalTarget
from hephaestus.pack.tokenizer import train_bpe
from hephaestus.workspace import WorkspaceError

pytest.importorskip("lm_eval", reason="the lm-eval extra is not installed")

TASK = """task: hephaestus_capitals
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: multiple_choice
doc_to_text: "{{{{question}}}}"
doc_to_choice: "{{{{choices}}}}"
doc_to_target: "{{{{answer}}}}"
metric_list:
  - metric: acc
"""
ROWS = [{"question": "The capital of France is", "choices": [" Paris", " Rome"], "answer": 0},
        {"question": "The capital of Italy is", "choices": [" Paris", " Rome"], "answer": 1},
        {"question": "Two plus two is", "choices": [" three", " four"], "answer": 1}]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("lm")
    (root / "data.jsonl").write_text("".join(json.dumps(row) + "\n" for row in ROWS))
    (root / "tasks").mkdir()
    (root / "tasks" / "capitals.yaml").write_text(TASK.format(data=root / "data.jsonl"))
    tokenizer = train_bpe([row["question"] + " ".join(row["choices"]) for row in ROWS] * 10, 300, root / "model")
    config = LlamaConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                         num_key_value_heads=2, intermediate_size=64, max_position_embeddings=64)
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(root / "model")
    return root, EvalTarget(root / "model", "tiny", False)


def test_runs_a_local_task_offline_and_returns_its_metrics(setup):
    root, target = setup
    metrics = run_lm_eval(target, ["hephaestus_capitals"], include=[str(root / "tasks")], batch_size=2)
    scores = metrics["hephaestus_capitals"]
    assert scores["acc,none"] in (0.0, 1 / 3, 2 / 3, 1.0)  # three questions, each right or wrong
    assert scores["sample_len"] == 3


def test_unknown_tasks_and_missing_folders_fail_clearly(setup, tmp_path):
    root, target = setup
    with pytest.raises(WorkspaceError, match="unknown lm-eval task"):
        run_lm_eval(target, ["no_such_task_anywhere"], include=[str(root / "tasks")])
    with pytest.raises(WorkspaceError, match="no such lm-eval task folder"):
        run_lm_eval(target, ["hephaestus_capitals"], include=[str(tmp_path / "missing")])


def test_a_missing_harness_names_the_extra(setup, monkeypatch):
    monkeypatch.setitem(sys.modules, "lm_eval", None)
    with pytest.raises(WorkspaceError, match=r"hephaestus\[lm-eval\]"):
        run_lm_eval(setup[1], ["hephaestus_capitals"])
