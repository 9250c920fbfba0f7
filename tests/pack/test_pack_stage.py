import json

import numpy as np
import pytest

from hephaestus.pack.packer import PackedDataset
from hephaestus.pack.stage import PackSettings, pack
from hephaestus.pack.tokenizer import load_tokenizer
from hephaestus.status import stage_progress
from hephaestus.workspace import Workspace, WorkspaceError


@pytest.fixture(scope="module")
def packed(packed_ws):
    return packed_ws


def test_pack_writes_every_dataset_with_a_manifest(packed):
    ws, summary = packed
    assert {"stage1", "stage2", "stage3"} <= set(summary["datasets"])
    manifest = json.loads((ws.stage_dir("pack") / "manifest.json").read_text())
    tokenizer = load_tokenizer(ws.stage_dir("mix") / "tokenizer")
    assert manifest["tokenizer"]["fingerprint"] == tokenizer.fingerprint and manifest["seq_len"] == 128
    stage1 = PackedDataset(ws.stage_dir("pack") / "stage1")
    assert len(stage1) == summary["datasets"]["stage1"]["sequences"]
    assert summary["datasets"]["stage1"]["trained_tokens"] == summary["datasets"]["stage1"]["tokens"]
    assert manifest["datasets"]["stage1"]["shuffle"]["sequences"] == len(stage1)
    progress = stage_progress(ws, "pack")  # what `hephaestus status` shows: documents in and out per dataset
    assert progress["records_out"] == sum(d["documents"] for d in summary["datasets"].values())
    assert progress["records_in"] == progress["records_out"] + progress["records_rejected"]


def test_instruction_data_trains_only_on_assistant_turns(packed):
    ws, summary = packed
    counts = summary["datasets"]["stage3"]
    assert 0 < counts["trained_tokens"] < counts["tokens"]
    tokenizer = load_tokenizer(ws.stage_dir("mix") / "tokenizer")
    data = PackedDataset(ws.stage_dir("pack") / "stage3")
    trained, untrained = [], []
    for i in range(len(data)):
        tokens, mask, _ = data[i]
        trained.append(tokenizer.decode(tokens[mask == 1].tolist()))
        untrained.append(tokenizer.decode(tokens[mask == 0].tolist()))
    assert "<tool_call>" in "".join(trained) and "<|im_start|>user" not in "".join(trained)
    assert "<|im_start|>user" in "".join(untrained)


def test_pack_resumes_and_needs_a_mix(packed, tmp_path):
    ws, summary = packed
    again = pack(ws, PackSettings(seq_len=128, shuffle_memory_bytes=1 << 20))
    assert again["datasets"] == summary["datasets"]
    with pytest.raises(WorkspaceError, match="run `hephaestus mix` first"):
        pack(Workspace(tmp_path), PackSettings())
    assert np.iinfo(PackedDataset(ws.stage_dir("pack") / "stage1").tokens.dtype).max >= 599
