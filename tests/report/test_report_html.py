"""`build_report` on a workspace made by the real stages (collect to train, on small data), plus evaluation
results and a scaling fit in their documented formats; and the page checked in headless Chromium."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import torch
from threadpoolctl import threadpool_limits

from hephaestus.collect import collect
from hephaestus.curate.stage import curate
from hephaestus.curate.steps import BenchmarkFile, CurateSettings
from hephaestus.mix.stage import mix
from hephaestus.mix.tokens import MixSettings
from hephaestus.pack.stage import PackSettings, pack
from hephaestus.report.html import CSP, build_report
from hephaestus.select.settings import SelectSettings
from hephaestus.select.stage import select
from hephaestus.sources import parse_spec
from hephaestus.train.settings import StageSettings, TrainSettings
from hephaestus.train.stage import train_stage
from hephaestus.workspace import Workspace

pytest.importorskip("faiss")
pytest.importorskip("sklearn")

EVAL_STAGE3 = {
    "label": "stage3", "model": "WS/train/stage3/final", "created": "2026-11-30T12:00:00Z",
    "bench_loss": {"bfcl/simple_python": {"nll": 2.31, "tokens": 5120, "items": 40},
                   "valid/tool_doc": {"nll": 6.7, "tokens": 4096, "items": 16}},
    "bfcl": {"categories": {"simple_python": {"total": 40, "correct": 3, "accuracy": 0.075,
                                              "failures": {"parse_error": 30, "wrong_args": 7}}},
             "summary": {"total": 40, "correct": 3, "micro_accuracy": 0.075, "macro_accuracy": 0.075}},
    "retention": {"dataset": "valid/text", "nll": 7.28, "perplexity": 1450.2, "tokens": 8192},
}
EVAL_BASE = {"label": "base", "model": "tiny", "created": "2026-11-30T11:00:00Z",
             "bench_loss": {"bfcl/simple_python": {"nll": 3.14, "tokens": 5120, "items": 40}},
             "bfcl": {"categories": {"simple_python": {"total": 40, "correct": 0, "accuracy": 0.0,
                                                       "failures": {"parse_error": 40}},
                                     "multiple": {"total": 20, "correct": 1, "accuracy": 0.05, "failures": {}}},
                      "summary": {"total": 60, "correct": 1, "micro_accuracy": 1 / 60, "macro_accuracy": 0.025,
                                  "non_live_ast": None, "live_ast": 0.125}},
             "lm_eval": {"hellaswag": {"acc,none": 0.25, "acc_stderr,none": 0.01, "alias": "hellaswag"}}}
FIT = {"form": "L(r) = a (r - r*)^2 + c", "optimum_agent_share": 0.36, "params": {"a": 4.2, "c": 2.05},
       "points": [[0.1, 2.5], [0.36, 2.05]]}


def _write_json(path: Path, value: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value))


@pytest.fixture(scope="module")
def report_ws(tmp_path_factory, shared_data) -> Workspace:
    """Collect, curate (decontaminated against a benchmark quoting one web document), select, mix, pack and three
    tiny training stages for real; evaluation results and a scaling fit written in their documented formats."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny model on a shared 2-core machine: more threads only spin
    try:
        with threadpool_limits(limits=1):
            return _build(tmp_path_factory.mktemp("report"), shared_data)
    finally:
        torch.set_num_threads(threads)


def _build(root: Path, shared_data: Path) -> Workspace:
    ws = Workspace(root / "ws")
    specs = ["python-api:json,re,csv,textwrap", "code:pkg://json",
             f"trajectories:{shared_data / 'llama-factory' / 'glaive_toolcall_en_demo.json'}",
             f"text:{shared_data / 'webtext' / 'dclm'}"]
    collect([parse_spec(s) for s in specs], ws, workers=2)
    texts = [t for f in sorted((ws.stage_dir("collect") / "text").glob("*.parquet"))
             for t in pq.read_table(f, columns=["text"]).column("text").to_pylist()]
    quoted = " ".join(max(texts, key=len).split()[20:80])
    (root / "leaky.txt").write_text(quoted + "\n")
    benchmark = BenchmarkFile(str(root / "leaky.txt"), name="leaky-bench")
    curate(ws, CurateSettings(bfcl=False, benchmark_files=(benchmark,)), workers=2)
    select(ws, SelectSettings(embedder="hashing", rule="similarity >= p90 or agent_score >= 0.5", tsne_points=90,
                              classifier_epochs=5))
    mix(ws, MixSettings(vocab_size=600, tokenizer_sample_docs=400, valid_fraction=0.05, stage2_replay=0.1))
    pack(ws, PackSettings(seq_len=128, shuffle_memory_bytes=1 << 20))
    tiny = TrainSettings(model="tiny", batch_size=2, checkpoint_every=100, eval_batches=1,
                         stages={s: StageSettings(steps=3, lr=1e-3, warmup_steps=1) for s in (1, 2, 3)})
    for stage in (1, 2, 3):
        train_stage(ws, tiny, stage)
    _write_json(ws.stage_dir("eval") / "stage3" / "results.json", EVAL_STAGE3)
    _write_json(ws.stage_dir("eval") / "base" / "results.json", EVAL_BASE)
    _write_json(ws.root / "scaling" / "fit.json", FIT)
    return ws


def _sections(page: str) -> dict[str, str]:
    """Each <section>'s HTML by its id."""
    return dict(re.findall(r'<section id="([^"]+)">(.*?)</section>', page, flags=re.S))


def _cells(fragment: str) -> list[str]:
    return [html.unescape(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", fragment, flags=re.S)]


def assert_self_contained(page: str) -> None:
    assert not re.search(r"https?:", page.split("<main>")[0].replace(CSP, "")), "external reference in the head"
    assert not re.search(r"""(?:src|href|action|poster|srcset)\s*=\s*["']?\s*(?:https?:)?//""", page, re.I)
    assert not re.search(r"""url\(\s*["']?\s*(?:https?:)?//|@import""", page, re.I)
    assert all(src.startswith("data:image/png;base64,") for src in re.findall(r'src="([^"]*)"', page))
    assert all(href.startswith("#") for href in re.findall(r'href="([^"]*)"', page))
    assert "<script" not in page


def test_report_has_every_stage_and_its_numbers(report_ws):
    path = build_report(report_ws, title="unit <run>")
    assert path == report_ws.root / "report" / "index.html"
    assert sorted(p.name for p in path.parent.iterdir()) == ["index.html"]
    page = path.read_text()
    assert_self_contained(page)
    assert "Hephaestus report: unit &lt;run&gt;" in page and "Not run yet" not in page
    sections = _sections(page)
    assert list(sections) == ["pipeline", "curation", "composition", "tsne", "classifier", "mix", "pack", "training",
                              "evaluation", "scaling"]
    assert all(f'href="#{key}"' in page for key in sections)
    assert page.count('<img src="data:image/png;base64,') == 3  # composition, t-SNE, training

    curate_stats = json.loads((report_ws.stage_dir("curate") / "stats.json").read_text())
    assert curate_stats["decontamination"]["leaky-bench"] >= 1
    cells = _cells(sections["curation"])
    assert f"{curate_stats['records_in']:,} records in, {curate_stats['records_out']:,} out" in sections["curation"]
    assert "leaky-bench" in cells
    assert {"near_duplicate", "exact_duplicate"} & set(cells)
    assert f"{curate_stats['dedup']['near_duplicates']:,}" in cells

    classifier = json.loads((report_ws.stage_dir("select") / "classifier.json").read_text())
    assert [f"{classifier[k]:.2%}" for k in ("accuracy", "f1", "precision", "recall")] == \
        _cells(sections["classifier"])[1:5]
    tsne = json.loads((report_ws.root / "figures" / "tsne.json").read_text())
    assert f"{tsne['distances']['retrieved→seed']:.3f}" in _cells(sections["tsne"])

    mix_report = json.loads((report_ws.stage_dir("mix") / "report.json").read_text())
    mix_cells = _cells(sections["mix"])
    assert f"{mix_report['groups']['agent']['achieved_share']:.2%}" in mix_cells and "36.00%" in mix_cells
    assert all(source in mix_cells for source in mix_report["sources"])
    replay = mix_report["stage2"]
    assert f"{replay['replay_share']:.2%} (target 10.00%)" in html.unescape(sections["mix"])
    manifest = json.loads((report_ws.stage_dir("pack") / "manifest.json").read_text())
    assert f"{manifest['datasets']['stage1']['tokens']:,}" in _cells(sections["pack"])

    training = json.loads((report_ws.root / "figures" / "training.json").read_text())
    assert training["x"] == "tokens" and sorted(training["stages"]) == ["1", "2", "3"]
    assert training["stages"]["3"]["start"] == 2 * 3 * 2 * 128 and training["stages"]["1"]["tokens_per_step"] == 256
    assert {"code", "text", "tool_doc"} <= set(training["valid"])
    final = [json.loads(line) for line in
             (report_ws.stage_dir("train") / "stage3" / "metrics.jsonl").read_text().splitlines()][-1]
    train_cells = _cells(sections["training"])
    assert f"{final['loss']:.3f}" in train_cells and "after stage III" in sections["training"]

    evaluation = _cells(sections["evaluation"])
    assert evaluation.index("base") < evaluation.index("stage3")  # labels in natural order
    assert {"7.5% (3/40)", "0.0% (0/40)", "5.0% (1/20)", "1.7% (1/60)", "2.310", "3.140", "1,450.2", "30"} <= set(
        evaluation)
    assert {"BFCL multiple", "retention perplexity (valid/text)", "BFCL live_ast (group)", "12.5%",
            "lm-eval hellaswag acc", "0.250"} <= set(evaluation)
    assert "2.5%" in evaluation and not any("stderr" in cell for cell in evaluation)
    assert {"optimum_agent_share", "0.36", "params.a", "4.2", "[[0.1, 2.5], [0.36, 2.05]]"} <= set(
        _cells(sections["scaling"]))


def test_missing_stages_are_listed_not_rendered_and_text_is_escaped(tmp_path):
    ws = Workspace(tmp_path / "ws")
    _write_json(ws.stage_dir("eval") / "stage3" / "results.json",
                {**EVAL_STAGE3, "model": "<script>alert(1)</script>", "notes": ["retention: <none> & more"]})
    (ws.stage_dir("eval") / "broken").mkdir(parents=True)
    (ws.stage_dir("eval") / "broken" / "results.json").write_text("{not json")
    page = build_report(ws).read_text()
    assert_self_contained(page)
    assert list(_sections(page)) == ["evaluation"]
    notrun = re.search(r'<div class="notrun" id="not-run">(.*?)</div>', page).group(1)
    for stage in ("collect", "curate", "select", "mix", "pack", "train", "scaling"):
        assert stage in notrun
    assert "eval (" not in notrun
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    assert "stage3: retention: &lt;none&gt; &amp; more" in page
    assert "eval/broken/results.json could not be read" in page
    assert not (ws.root / "figures").exists()  # no training metrics, no training figure

    empty = build_report(tmp_path / "empty").read_text()
    assert "<section" not in empty and "No stage has written results yet" in empty


def test_a_malformed_stage_file_becomes_a_note_not_a_crash(tmp_path):
    ws = Workspace(tmp_path / "ws")
    _write_json(ws.stage_dir("mix") / "report.json", {"groups": {"agent": "not a mapping"}})
    page = build_report(ws).read_text()
    assert "Could not read this stage&#x27;s files" in _sections(page)["mix"]


CHECK = """<script>window.addEventListener("load", () => {
  const images = [...document.images].map(i => ({alt: i.alt, complete: i.complete, width: i.naturalWidth}));
  const sections = [...document.querySelectorAll("main > section")].map(s => ({
    id: s.id, height: s.getBoundingClientRect().height,
    content: [...s.children].filter(c => c.tagName !== "H2" && !c.classList.contains("src")
                                         && (c.textContent.trim() || c.querySelector("img"))).length,
    emptyTables: [...s.querySelectorAll("table")].filter(t => !t.tBodies[0] || !t.tBodies[0].rows.length).length}));
  const links = [...document.querySelectorAll("nav a")].map(a => document.getElementById(a.hash.slice(1)) !== null);
  const out = document.createElement("pre");
  out.id = "report-check";
  out.textContent = JSON.stringify({images, sections, links});
  document.body.appendChild(out);
});</script>"""


def test_page_renders_in_headless_chromium(report_ws, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("headless check needs Chromium on PATH (Debian: apt-get install chromium)")
    page = build_report(report_ws).read_text()
    # The test copy allows one inline script that records what the browser saw into the DOM.
    checked = page.replace(CSP, CSP + "; script-src 'unsafe-inline'").replace("</body>", CHECK + "</body>")
    (tmp_path / "check.html").write_text(checked)
    run = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                          f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000", "--dump-dom",
                          (tmp_path / "check.html").as_uri()], capture_output=True, text=True, timeout=90)
    found = re.search(r'<pre id="report-check">(.*?)</pre>', run.stdout, flags=re.S)
    assert found, f"the check did not run; chromium exit {run.returncode}: {run.stderr[-2000:]}"
    result = json.loads(html.unescape(found.group(1)))
    assert len(result["images"]) == 3
    assert all(image["complete"] and image["width"] > 0 for image in result["images"]), result["images"]
    assert [s["id"] for s in result["sections"]] == list(_sections(page))
    assert all(s["content"] > 0 and s["height"] > 60 and not s["emptyTables"] for s in result["sections"]), \
        result["sections"]
    assert result["links"] and all(result["links"])
