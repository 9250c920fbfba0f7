import json
import math

import pytest
from transformers import AutoModelForCausalLM, AutoTokenizer

from hephaestus.train.settings import StageSettings, TrainSettings
from hephaestus.train.stage import starting_model, train_stage
from hephaestus.workspace import Workspace, WorkspaceError

TINY = TrainSettings(model="tiny", batch_size=2, checkpoint_every=2,
                     stages={s: StageSettings(steps=3, lr=1e-3, warmup_steps=1) for s in (1, 2, 3)})


def test_three_stages_chain_and_the_final_model_loads_with_its_tokenizer(packed_ws):
    ws, _ = packed_ws
    first = train_stage(ws, TINY, 1, restart=True)
    second = train_stage(ws, TINY, 2, restart=True)
    third = train_stage(ws, TINY, 3, restart=True)
    assert second["start"] == first["model"] and third["start"] == second["model"]
    lines = (ws.stage_dir("train") / "stage3" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [1, 2, 3]
    last = json.loads(lines[-1])
    assert any(key.startswith("valid/") for key in last)
    assert 0 < last["valid/bfcl"] < 2 * math.log(600)  # the benchmark loss, when bfcl-eval is installed
    model = AutoModelForCausalLM.from_pretrained(third["model"], local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(third["model"], local_files_only=True)
    assert model.config.vocab_size == 600 and len(tokenizer) == 600


def test_a_later_stage_needs_the_earlier_one_and_packed_data(tmp_path):
    with pytest.raises(WorkspaceError, match="stage 1 has no final model"):
        starting_model(Workspace(tmp_path), TINY, 2, None)
    assert starting_model(Workspace(tmp_path), TINY, 2, "tiny") == "tiny"
    with pytest.raises(WorkspaceError, match="run `hephaestus pack` first"):
        train_stage(Workspace(tmp_path), TINY, 1)
