import json

import pyarrow.parquet as pq
import pytest

from hephaestus.collect import collect
from hephaestus.curate.stage import curate
from hephaestus.curate.steps import CurateSettings
from hephaestus.run.record_job import record_files
from hephaestus.sources.text import TextSource
from hephaestus.stats import check
from hephaestus.workspace import Workspace, WorkspaceError

pytest.importorskip("datasketch")


def _bfcl_question() -> str:
    from hephaestus.curate.benchmarks import bfcl_data_dir

    line = (bfcl_data_dir() / "BFCL_v4_simple_python.json").read_text().splitlines()[0]
    return json.loads(line)["question"][0][0]["content"]


@pytest.fixture()
def collected(tmp_path, shared_data):
    lines = (shared_data / "webtext" / "dclm" / "agreement_data.jsonl").read_text().splitlines()[:120]
    docs = [json.loads(line)["text"] for line in lines]
    docs = [d for d in docs if len(d.split()) > 150] + [d for d in docs if len(d.split()) <= 150]
    words = docs[0].split()
    planted = [
        docs[1],  # an exact copy
        " ".join([*words[:-3], "entirely", "different", "ending"]),  # a near copy of docs[0]
        "Before the benchmark question. " + _bfcl_question() + " After it, more words follow here.",
        "too short",
    ]
    corpus = tmp_path / "web.jsonl"
    corpus.write_text("".join(json.dumps({"text": t}) + "\n" for t in docs + planted))
    ws = Workspace(tmp_path / "ws")
    collect([TextSource(str(corpus), name="web:dclm")], ws, workers=1)
    return ws


def test_curate_counts_every_drop_by_reason_and_mirrors_collect(collected):
    summary = curate(collected, CurateSettings(), workers=2)
    check(summary)
    drops = summary["drops"]
    assert drops["exact_duplicate"] >= 1 and drops["near_duplicate"] >= 1
    assert drops["quality:too_few_words"] >= 1
    assert summary["decontamination"] == {"bfcl:simple_python": 1}
    assert summary["dedup"]["documents"] == summary["records_in"] - sum(
        count for reason, count in drops.items() if reason.startswith(("quality:", "contaminated:", "empty", "too_")))
    out = record_files(collected.stage_dir("curate"))
    assert [p.relative_to(collected.stage_dir("curate")).parts[0] for p in out] == ["text"]
    texts = [t for p in out for t in pq.read_table(p).column("text").to_pylist()]
    assert len(texts) == summary["records_out"] == len(set(texts))
    assert not any("After it, more words follow here." in t for t in texts)


def test_curate_resumes_and_refuses_other_settings(collected):
    first = curate(collected, CurateSettings(), workers=1)
    again = curate(collected, CurateSettings(), workers=1)
    assert again["records_out"] == first["records_out"]
    with pytest.raises(WorkspaceError, match="different curate config"):
        curate(collected, CurateSettings(near_threshold=0.9), workers=1)


def test_curate_without_collect_says_what_to_run(tmp_path):
    with pytest.raises(WorkspaceError, match="run `hephaestus collect` first"):
        curate(Workspace(tmp_path), CurateSettings())


def test_bad_documents_become_counted_drops_not_crashes(tmp_path):
    good = ("The committee met on Tuesday to discuss the budget for the coming year, and the members agreed that "
            "the new library should open in the spring with longer hours and more staff. ") * 3
    docs = [good, "", "\x00\x01\x02 \ufffd\ufffd" * 200, "word " * 2_100_000,
            "El comité se reunió el martes para hablar del presupuesto del próximo año y de la biblioteca. " * 6]
    corpus = tmp_path / "bad.jsonl"
    corpus.write_text("".join(json.dumps({"text": t}) + "\n" for t in docs))
    ws = Workspace(tmp_path / "ws")
    assert collect([TextSource(str(corpus))], ws, workers=1)["drops"] == {"empty_text": 1}
    summary = curate(ws, CurateSettings(bfcl=False), workers=1)
    check(summary)
    assert (summary["records_in"], summary["records_out"]) == (4, 1)
    assert summary["drops"] == {"too_long": 1, "quality:few_stop_words": 1, "quality:too_few_words": 1}
