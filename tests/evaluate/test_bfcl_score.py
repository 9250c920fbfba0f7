"""score_bfcl with bfcl-eval's own AST checker on the real data: an oracle, wrong answers, malformed output."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from hephaestus.evaluate.bfcl_data import AST_CATEGORIES, BfclItem, load_bfcl
from hephaestus.evaluate.bfcl_prompt import reference_answer, reference_calls
from hephaestus.evaluate.bfcl_score import score_bfcl, score_item, write_item_results

# Items no answer passes: bfcl-eval's checker or ground truth cannot accept any value (it fails them for every model).
UNPASSABLE = {
    "simple_java_36": "ArrayList<any> of mixed types: the checker compares the strings it parses to ints and bools",
    "simple_java_65": "the same",
    "simple_java_64": "HashMap ground truth {'format': 'epoch_millis'} is not a list of values per key",
    "live_simple_106-63-0": "required parameters whose list of acceptable values is empty",
    "live_simple_112-68-0": "the same",
    "live_multiple_862-181-3": "ground truth has a parameter (journey_start_time) the function does not have",
    "live_multiple_964-207-0": "ground truth names 'question', the function requires 'statement'",
}


@pytest.fixture(scope="module")
def items() -> list[BfclItem]:
    return load_bfcl()


def oracle(items: list[BfclItem]) -> dict[str, str]:
    return {item.id: reference_answer(item) if item.answer is not None else "" for item in items}


def test_the_reference_answers_score_every_passable_item(items):
    scores = score_bfcl(items, oracle(items))
    failed = {result["id"] for result in scores["items"] if not result["correct"]}
    assert failed == set(UNPASSABLE)
    for category in AST_CATEGORIES:
        entry = scores["categories"][category]
        unpassable = sum(key.rsplit("_", 1)[0] == category for key in UNPASSABLE)
        assert entry["correct"] == entry["total"] - unpassable, category
    assert scores["categories"]["irrelevance"]["accuracy"] == 1.0  # empty answers: no call
    assert scores["categories"]["simple_python"]["total"] == 400
    summary = scores["summary"]
    assert summary["total"] == len(items) and summary["correct"] == len(items) - len(UNPASSABLE)
    assert summary["irrelevance"] == 1.0 and 0.99 < summary["non_live_ast"] < 1.0 and 0.99 < summary["live_ast"] < 1
    assert summary["macro_accuracy"] == pytest.approx(
        sum(e["accuracy"] for e in scores["categories"].values()) / len(AST_CATEGORIES))


def perturb(value: Any) -> Any:
    """A value no acceptable value standardises to."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1000003
    if isinstance(value, str):
        return value + "zq"
    if isinstance(value, list):
        return [perturb(v) for v in value] or ["zq"]
    if isinstance(value, dict):
        return {k: perturb(v) for k, v in value.items()} or {"zq": ["zq"]}
    return "zq"


def wrong_values(item: BfclItem) -> BfclItem:
    """The item with every given ground-truth value perturbed (and an extra argument where a call has none)."""
    answer = []
    for truth in item.answer or []:
        ((name, params),) = truth.items()
        params = {p: [perturb(c) for c in choices if c != ""] or choices for p, choices in params.items()}
        if all(choices == [""] for choices in params.values()):
            params["zq"] = ["zq"]
        answer.append({name: params})
    return dataclasses.replace(item, answer=answer)


def test_wrong_argument_values_or_function_names_score_zero(items):
    answered = [item for item in items if item.answer is not None]
    wrong = score_bfcl(answered, {item.id: reference_answer(wrong_values(item)) for item in answered})
    assert wrong["summary"]["correct"] == 0
    assert all(set(entry["failures"]) == {"wrong_args"} for entry in wrong["categories"].values())
    renamed = {item.id: "\n".join(f"<tool_call>\n{json.dumps({**call, 'name': call['name'] + '_v2'})}\n</tool_call>"
                                  for call in reference_calls(item)) for item in answered}
    scores = score_bfcl(answered, renamed)
    assert scores["summary"]["correct"] == 0
    assert all(entry["failures"] == {"wrong_function": entry["total"]} for entry in scores["categories"].values())
    irrelevant = [item for item in items if item.answer is None]
    calls = score_bfcl(irrelevant, {item.id: '<tool_call>\n{"name": "f", "arguments": {}}\n</tool_call>'
                                    for item in irrelevant})
    assert calls["summary"]["correct"] == 0 and calls["categories"]["irrelevance"]["failures"] == {
        "unexpected_call": 240}


def test_a_malformed_or_missing_output_is_one_failure_with_its_reason(tmp_path):
    items = load_bfcl(["simple_python", "parallel"], limit=20)
    outputs = oracle(items)
    outputs["simple_python_3"] = outputs["simple_python_3"].replace('"arguments": {', '"arguments": {{', 1)
    del outputs["parallel_7"]
    outputs["parallel_8"] = "<|im_end|>"
    scores = score_bfcl(items, outputs)
    assert scores["categories"]["simple_python"] | {"error_types": None} == {
        "total": 20, "correct": 19, "accuracy": 0.95, "failures": {"parse_error": 1}, "error_types": None}
    assert scores["categories"]["parallel"]["failures"] == {"missing_output": 1, "no_call": 1}
    failed = [result for result in scores["items"] if not result["correct"]]
    assert [(r["id"], r["reason"]) for r in failed] == [
        ("simple_python_3", "parse_error"), ("parallel_7", "missing_output"), ("parallel_8", "no_call")]
    assert "not JSON" in failed[0]["error_type"]
    path = write_item_results(scores["items"], tmp_path / "items.jsonl")
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [row["id"] for row in rows] == [item.id for item in items] and rows[3]["reason"] == "parse_error"


def test_checker_details_and_bfcl_rules_for_irrelevance():
    simple, irrelevant = load_bfcl(["simple_python"], limit=1)[0], load_bfcl(["irrelevance"], limit=1)[0]
    missing = score_item(simple, '<tool_call>\n{"name": "calculate_triangle_area", "arguments": {"base": 10}}\n'
                                 "</tool_call>")
    assert (missing.reason, missing.error_type) == ("wrong_args", "simple_function_checker:missing_required")
    assert score_item(simple, "[calculate_triangle_area(base=10, height=5)]").correct  # BFCL's own format
    twice = score_item(simple, reference_answer(simple) + reference_answer(simple))  # after <|im_end|>: ignored
    assert twice.correct
    double = reference_answer(simple).replace("<|im_end|>", "\n") + reference_answer(simple)
    assert score_item(simple, double).reason == "wrong_count"
    # bfcl-eval counts output that does not decode as no call, which is right on irrelevance
    assert score_item(irrelevant, "<tool_call>\n{oops\n</tool_call>").correct
    assert score_item(irrelevant, "The weather is not something I can look up.").correct
    assert score_item(irrelevant, None).reason == "missing_output"
