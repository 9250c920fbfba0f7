"""Train time, held-out metrics and predict docs/s of the agent-relevance classifier on real data.

Agent class: tool docs rendered by the openapi source (every operation of the OpenAPI directory sample),
Gorilla APIBench and BFCL function schemas, Seal-Tools and ToolAlpaca entries. General class: BBC News,
DCLM, Data-Juicer, FreshWiki paragraphs, GAP Wikipedia snippets and C4 demo text (../shared/data).

    .venv/bin/python benchmarks/classifier_speed.py --threads 2 --workers 2 [--quantize]
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from hephaestus.io.readers import Rejected
from hephaestus.select.classifier import AgentClassifier, prepare_line, train_classifier
from hephaestus.sources import parse_spec

REPO = Path(__file__).resolve().parents[1]
BFCL = ("simple_python", "simple_java", "simple_javascript", "multiple", "parallel", "parallel_multiple",
        "live_simple", "live_multiple")
_worker_model: AgentClassifier | None = None


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _render(tool: dict) -> str:
    return "\n".join(f"{key}: {value if isinstance(value, str) else json.dumps(value)}" for key, value in tool.items())


def agent_texts(shared: Path) -> list[str]:
    """Real tool documentation as plain text."""
    source = parse_spec(f"openapi:{shared / 'openapi' / 'darosh-openapi-directory-lite' / 'specs'}")
    texts = [item["text"] for task in source.plan(workers=1) for item in source.read(task)
             if not isinstance(item, Rejected)]
    texts += [_render(tool) for path in sorted((shared / "gorilla" / "api").glob("*.jsonl")) for tool in _jsonl(path)]
    bfcl = shared / "gorilla" / "bfcl"
    texts += [json.dumps(item["function"]) for name in BFCL for item in _jsonl(bfcl / f"BFCL_v4_{name}.json")]
    texts += [_render(tool) for tool in _jsonl(shared / "seal-tools" / "tool.jsonl")]
    entries = json.loads((shared / "toolalpaca" / "public_apis.json").read_text(encoding="utf-8"))["entries"]
    return texts + [_render(entry) for entry in entries]


def general_texts(shared: Path) -> list[str]:
    """Real general prose: news, web pages and Wikipedia text."""
    web = shared / "webtext"
    texts = [path.read_text(encoding="utf-8") for path in sorted((web / "bbc-news-articles").rglob("*.txt"))]
    for folder in ("dclm", "data-juicer-demos", "llama-factory"):
        texts += [item["text"] for path in sorted((web / folder).glob("*.jsonl")) for item in _jsonl(path)]
    texts += [paragraph for path in sorted((web / "freshwiki" / "txt").glob("*.txt"))
              for paragraph in path.read_text(encoding="utf-8").split("\n\n") if len(paragraph) > 200]
    return texts + [line.split("\t")[1] for path in sorted((web / "gap-coreference").glob("*.tsv"))
                    for line in path.read_text(encoding="utf-8").splitlines()[1:]]


def _load_worker_model(path: str) -> None:
    global _worker_model
    _worker_model = AgentClassifier.load(path)


def _score_in_worker(texts: list[str]) -> np.ndarray:
    assert _worker_model is not None
    return _worker_model.score(texts)


def predict_speed(model_path: str, texts: list[str], workers: int) -> dict[str, float]:
    """Docs/s of prepare_line alone, of fastText alone, and of `score` in one process and in `workers`."""
    classifier = AgentClassifier.load(model_path)
    started = time.perf_counter()
    lines = [prepare_line(text) for text in texts]
    prepare_s = time.perf_counter() - started
    started = time.perf_counter()
    classifier.score_lines(lines)
    predict_s = time.perf_counter() - started
    started = time.perf_counter()
    classifier.score(texts)
    score_s = time.perf_counter() - started
    chunks = [texts[i:i + 2_000] for i in range(0, len(texts), 2_000)]
    with ProcessPoolExecutor(workers, initializer=_load_worker_model, initargs=(model_path,)) as pool:
        list(pool.map(_score_in_worker, chunks[:workers]))  # warm up: the model is loaded in every worker
        started = time.perf_counter()
        list(pool.map(_score_in_worker, chunks))
        parallel_s = time.perf_counter() - started
    n = len(texts)
    return {"docs": n, "prepare_line_docs_per_s": round(n / prepare_s), "fasttext_docs_per_s": round(n / predict_s),
            "score_docs_per_s": round(n / score_s), f"score_docs_per_s_{workers}_workers": round(n / parallel_s)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--quantize", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    positives, negatives = agent_texts(args.shared), general_texts(args.shared)
    print(f"data: {len(positives):,} agent and {len(negatives):,} general texts "
          f"({sum(map(len, positives + negatives)) / 1e6:.1f} MB), loaded in {time.perf_counter() - started:.1f} s; "
          f"{platform.processor() or platform.machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        _, metrics = train_classifier(positives, negatives, workdir=Path(tmp), threads=args.threads,
                                      quantize=args.quantize)
        train_s = time.perf_counter() - started
        print(json.dumps({key: metrics[key] for key in ("accuracy", "precision", "recall", "f1", "counts")}))
        size_mb = Path(metrics["model"]).stat().st_size / 1e6
        print(f"train (prepare, split, fit, save{', quantize' if args.quantize else ''}): {train_s:.1f} s with "
              f"{args.threads} threads; model {size_mb:.1f} MB")
        print(json.dumps(predict_speed(metrics["model"], positives + negatives, args.workers)))


if __name__ == "__main__":
    main()
