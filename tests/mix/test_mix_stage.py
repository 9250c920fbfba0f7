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


def test_mix_on_sampled_counts_states_their_error(curated_ws):
    exact = mix(curated_ws, SMALL, restart=True)["mix"]
    sampled_settings = MixSettings(**{**SMALL.__dict__, "count_sample_rate": 0.2})
    summary = mix(curated_ws, sampled_settings, restart=True)
    check(summary)
    counts = summary["mix"]["token_counts"]
    assert counts["method"] == "sample" and "token counts estimated from a 20.0% sample" in counts["notes"][0]
    assert any(not row["exact"] and row["tokenised"] < row["documents"] for row in counts["sources"].values())
    for source, row in counts["sources"].items():
        truth = exact["sources"][source]["available_tokens"]
        assert abs(row["tokens"] - truth) <= 4 * row["stderr"] if not row["exact"] else row["tokens"] == truth
    folder = curated_ws.stage_dir("mix")
    first = sorted(r["id"] for r in _rows(folder / "stage1"))
    mix(curated_ws, sampled_settings, restart=True)
    assert first and sorted(r["id"] for r in _rows(folder / "stage1")) == first


@pytest.mark.parametrize("count_sample_rate", [None, 0.2])
def test_stage_two_replays_general_documents_at_the_share_asked(curated_ws, count_sample_rate):
    settings = MixSettings(**{**SMALL.__dict__, "stage2_replay": 0.2, "count_sample_rate": count_sample_rate})
    report = mix(curated_ws, settings, restart=True)["mix"]["stage2"]
    stage2 = _rows(curated_ws.stage_dir("mix") / "stage2")
    assert {r["kind"] for r in stage2} >= {"tool_doc", "trajectory", "text"}
    assert report["replay_target_share"] == 0.2 and report["seed_tokens"] > 0
    assert abs(report["replay_share"] - 0.2) < (0.01 if count_sample_rate is None else 0.1)
