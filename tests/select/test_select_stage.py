import json

import pyarrow.parquet as pq
import pytest

from hephaestus.collect import collect
from hephaestus.curate.stage import curate
from hephaestus.curate.steps import CurateSettings
from hephaestus.select.rule import RuleError
from hephaestus.select.settings import SelectSettings
from hephaestus.select.stage import select
from hephaestus.sources import parse_spec
from hephaestus.stats import check
from hephaestus.workspace import Workspace, WorkspaceError

pytest.importorskip("faiss")
pytest.importorskip("sklearn")
FAST = SelectSettings(embedder="hashing", rule="similarity >= p90 or agent_score >= 0.5", tsne_points=90,
                      classifier_epochs=5)


@pytest.fixture(scope="module")
def curated(tmp_path_factory, shared_data):
    ws = Workspace(tmp_path_factory.mktemp("select") / "ws")
    specs = ["python-api:json,re,csv", f"openapi:{shared_data / 'restgpt'}",
             f"trajectories:{shared_data / 'llama-factory' / 'glaive_toolcall_en_demo.json'}",
             f"text:{shared_data / 'webtext' / 'dclm'}", f"text:{shared_data / 'webtext' / 'data-juicer-demos'}"]
    collect([parse_spec(s) for s in specs], ws, workers=2)
    curate(ws, CurateSettings(), workers=2)
    return ws


def test_select_scores_every_web_document_and_keeps_what_the_rule_says(curated):
    summary = select(curated, FAST)
    check(summary)
    assert summary["embedder"] == "hashing (test fallback, not a semantic model)"
    metrics = json.loads((curated.stage_dir("select") / "classifier.json").read_text())
    assert metrics["f1"] >= 0.9 and {"accuracy", "precision", "recall"} <= set(metrics)
    attrs = pq.read_table(next((curated.stage_dir("select") / "attrs" / "select").glob("*.parquet")))
    assert set(attrs.column_names) == {"id", "agent_score", "similarity", "similarity_topk", "nearest_source"}
    retrieved = [row for path in (curated.stage_dir("select") / "retrieved").glob("*.parquet")
                 for row in pq.read_table(path).to_pylist()]
    assert len(retrieved) == summary["records_out"] > 0
    assert summary["records_in"] == summary["records_out"] + summary["drops"]["not_selected"]
    meta = json.loads(retrieved[0]["meta"])
    threshold = float(summary["rule"].split("(= ")[1].split(")")[0])
    assert retrieved[0]["source"] == "web:retrieved"
    assert all(r["similarity"] >= threshold or r["agent_score"] >= 0.5 for r in map(json.loads, (
        row["meta"] for row in retrieved)))
    assert meta["origin_source"].startswith("text:")
    assert summary["rule"].startswith("similarity >= p90 (= ")
    figures = curated.root / "figures"
    assert (figures / "tsne.png").stat().st_size > 10_000 and (figures / "composition.png").exists()
    tsne = json.loads((figures / "tsne.json").read_text())
    assert set(tsne["distances"]) == {"retrieved→seed", "general→seed", "retrieved→general"}
    assert tsne["distances"]["retrieved→seed"] < tsne["distances"]["general→seed"]


def test_select_errors_come_before_any_work(curated, tmp_path):
    with pytest.raises(RuleError, match="cannot parse clause"):
        select(curated, SelectSettings(embedder="hashing", rule="similarity => 1"))
    with pytest.raises(WorkspaceError, match="run `hephaestus curate` first"):
        select(Workspace(tmp_path), FAST)
