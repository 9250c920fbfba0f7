import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hephaestus.mix.stage import mix
from hephaestus.mix.tokens import MixSettings
from hephaestus.stats import check
from hephaestus.workspace import Workspace, WorkspaceError

SMALL = MixSettings(vocab_size=600, tokenizer_sample_docs=400, valid_fraction=0.05)


def _rows(folder):
    tables = [pq.read_table(p) for p in sorted(folder.glob("*.parquet"))]
    return pa.concat_tables(tables).to_pylist() if tables else []


def test_mix_writes_the_three_stages_and_disjoint_validation(curated_ws):
    summary = mix(curated_ws, SMALL)
    check(summary)
    report = summary["mix"]
    assert set(report["groups"]) == {"agent", "text", "code"}
    for group in ("agent", "text"):  # code is short here (one small package), so the plan renormalises
        assert report["groups"][group]["achieved_tokens"] > 0
    folder = curated_ws.stage_dir("mix")
    stage1, stage2, stage3 = (_rows(folder / name) for name in ("stage1", "stage2", "stage3"))
    valid_ids = {r["id"] for kind in ("text", "tool_doc", "trajectory", "code")
                 for r in _rows(folder / "valid" / kind)}
    assert valid_ids and not valid_ids & {r["id"] for r in stage1 + stage2 + stage3}
    assert {r["kind"] for r in stage2} == {"tool_doc", "trajectory"}
    assert stage3 and all(r["kind"] == "trajectory" and r["messages"] for r in stage3)
    assert json.loads((folder / "report.json").read_text())["tokenizer"]["vocab_size"] == 600


def test_mix_hits_the_shares_within_half_a_point_when_data_suffice(curated_ws, tmp_path):
    report = mix(curated_ws, MixSettings(**{**SMALL.__dict__, "shares": {"agent": 0.5, "text": 0.5, "code": 0.0}}),
                 restart=True)["mix"]
    for group in ("agent", "text"):
        row = report["groups"][group]
        assert abs(row["achieved_share"] - row["target_share"]) <= 0.005


def test_mix_without_curate_says_what_to_run(tmp_path):
    with pytest.raises(WorkspaceError, match="run `hephaestus curate` first"):
        mix(Workspace(tmp_path), SMALL)
