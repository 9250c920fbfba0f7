"""The agent-relevance classifier on real data: API documentation (agent) vs news and web prose (general)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hephaestus.io.readers import Rejected
from hephaestus.select.classifier import MIN_PER_CLASS, AgentClassifier, prepare_line, train_classifier
from hephaestus.sources import parse_spec

API_DOC = """get_current_weather(location: str, unit: str = "celsius") -> dict
Get the current weather for a city.
Parameters:
  location (string, required): the city and country, e.g. "Berlin, DE".
  unit (string, optional): "celsius" or "fahrenheit".
Returns: a JSON object with the fields temperature, humidity and conditions."""


def render(tool: dict) -> str:
    """A tool's JSON as plain `key: value` lines, the way a tool doc is read as text."""
    return "\n".join(f"{key}: {value if isinstance(value, str) else json.dumps(value)}" for key, value in tool.items())


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _openapi_docs(folder: Path, every: int, per_spec: int) -> list[str]:
    """Tool docs as the openapi source renders them, from every `every`-th spec."""
    docs = []
    for spec in sorted(folder.glob("*/*.json"))[::every]:
        source = parse_spec(f"openapi:{spec}")
        items = [item for task in source.plan(workers=1) for item in source.read(task)]
        docs += [item["text"] for item in items if not isinstance(item, Rejected)][:per_spec]
    return docs


@pytest.fixture(scope="module")
def corpus(shared_data: Path) -> dict[str, list[str]]:
    """About 550 real tool docs (OpenAPI, Gorilla APIBench and BFCL, Seal-Tools), 400 real general texts."""
    gorilla = shared_data / "gorilla"
    tools = _openapi_docs(shared_data / "openapi" / "darosh-openapi-directory-lite" / "specs", 6, 8)
    tools += [render(t) for path in sorted((gorilla / "api").glob("*.jsonl")) for t in _jsonl(path)[:60]]
    tools += [json.dumps(item["function"]) for item in _jsonl(gorilla / "bfcl" / "BFCL_v4_simple_python.json")[:100]]
    seal = [render(t) for t in _jsonl(shared_data / "seal-tools" / "tool.jsonl")]
    webtext = shared_data / "webtext"
    news = [path.read_text(encoding="utf-8") for path in sorted((webtext / "bbc-news-articles").rglob("*.txt"))]
    web = [item["text"] for item in _jsonl(webtext / "dclm" / "agreement_data.jsonl")]
    return {"positives": tools + seal[:100], "negatives": news[::8] + web[:150],
            "unseen_tool": seal[3000], "unseen_news": news[5].split("\n\n")[1]}


@pytest.fixture(scope="module")
def trained(corpus: dict, tmp_path_factory: pytest.TempPathFactory) -> tuple[AgentClassifier, dict, Path]:
    workdir = tmp_path_factory.mktemp("classifier")
    classifier, metrics = train_classifier(corpus["positives"], corpus["negatives"], workdir=workdir, threads=1)
    return classifier, metrics, workdir


def test_prepare_line_is_one_lowercase_line_of_tokens() -> None:
    assert prepare_line("  Call GET /users/{id}\n\nwith\tid='42'.  ") == "call get / users /{ id } with id =' 42 '."
    assert prepare_line("word " * 5000) == " ".join(["word"] * 1024)
    assert prepare_line("a b c d", max_tokens=2) == "a b" and prepare_line("") == ""


def test_held_out_metrics_on_real_data(trained: tuple) -> None:
    _, metrics, workdir = trained
    assert metrics["f1"] >= 0.9 and metrics["accuracy"] >= 0.9
    assert metrics["precision"] >= 0.9 and metrics["recall"] >= 0.9 and metrics["threshold"] == 0.5
    counts = metrics["counts"]
    assert counts["train"]["agent"] == counts["train"]["general"] > 200  # the majority is downsampled
    assert counts["held_out"]["agent"] > 50 and counts["held_out"]["general"] > 50
    assert json.loads((workdir / "metrics.json").read_text()) == metrics
    assert not list(workdir.glob("fasttext-*"))  # the training text was temporary


def test_scores_separate_an_api_doc_from_news(trained: tuple, corpus: dict) -> None:
    classifier, _, _ = trained
    scores = classifier.score([API_DOC, corpus["unseen_tool"], corpus["unseen_news"], "Multi\nline\n\ttext"])
    assert scores.shape == (4,) and scores.dtype == np.float64 and ((scores >= 0) & (scores <= 1)).all()
    assert scores[0] > 0.5 and scores[1] > 0.5 and scores[2] < 0.5
    assert classifier.score([]).shape == (0,)


def test_saved_model_gives_identical_scores(trained: tuple, corpus: dict) -> None:
    classifier, metrics, workdir = trained
    loaded = AgentClassifier.load(metrics["model"])
    texts = corpus["positives"][:50] + corpus["negatives"][:50]
    np.testing.assert_array_equal(loaded.score(texts), classifier.score(texts))
    assert Path(metrics["model"]) == workdir / "agent_classifier.bin"


def test_same_seed_same_metrics_and_scores(trained: tuple, corpus: dict, tmp_path: Path) -> None:
    first, metrics, _ = trained
    second, again = train_classifier(corpus["positives"], corpus["negatives"], workdir=tmp_path, threads=1)
    assert {**again, "model": None} == {**metrics, "model": None}  # one thread: bit-for-bit the same model
    texts = corpus["positives"][-30:] + corpus["negatives"][:30]
    np.testing.assert_array_equal(second.score(texts), first.score(texts))


def test_quantized_model_is_small_and_still_accurate(corpus: dict, tmp_path: Path) -> None:
    _, metrics = train_classifier(corpus["positives"], corpus["negatives"], workdir=tmp_path, quantize=True,
                                  cutoff=1_000)
    model = tmp_path / "agent_classifier.ftz"
    assert metrics["model"] == str(model) and model.stat().st_size < (tmp_path / "agent_classifier.bin").stat().st_size
    assert metrics["f1"] >= 0.9
    assert AgentClassifier.load(model).score([corpus["unseen_news"]])[0] < 0.5


def test_missing_model_path_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nowhere\.bin"):
        AgentClassifier.load(tmp_path / "nowhere.bin")


def test_too_few_examples_per_class_names_the_counts(corpus: dict, tmp_path: Path) -> None:
    few = corpus["negatives"][: MIN_PER_CLASS - 1]
    with pytest.raises(ValueError, match=rf"got \d+ agent and {MIN_PER_CLASS - 1} general"):
        train_classifier(corpus["positives"], few, workdir=tmp_path)
    with pytest.raises(ValueError, match="holdout"):
        train_classifier(corpus["positives"], corpus["negatives"], workdir=tmp_path, holdout=1.0)
