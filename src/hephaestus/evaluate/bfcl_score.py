"""Score model outputs on BFCL items with bfcl-eval's own AST checker, per category and overall.

As bfcl-eval's runner does: the checker gets the item's original function docs and ground truth and the
category name (which picks the simple, multiple or parallel checker) and the category's language; an
irrelevance item is correct when the output holds no call, and output that cannot be read as calls
counts as no call there. Elsewhere every failure is counted under a reason: missing_output, parse_error,
no_call, wrong_count, wrong_function, wrong_args or checker_error (the checker itself failed); the checker's
own error type (e.g. `value_error:string`) is kept per item and counted per category.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from hephaestus.evaluate.bfcl_data import IRRELEVANCE_CATEGORIES, BfclItem
from hephaestus.evaluate.bfcl_parse import CallParseError, parse_calls
from hephaestus.workspace import atomic_path

CHECKER_MODEL = "gorilla-openfunctions-v2"  # a model name the checker knows that keeps dots in function names


@dataclass(frozen=True)
class ItemResult:
    id: str
    category: str
    correct: bool
    reason: str | None = None  # why it failed; None when correct
    error_type: str | None = None  # the checker's error type, or the parse error
    calls: int | None = None  # number of calls read from the output


def score_item(item: BfclItem, output: str | None) -> ItemResult:
    """Whether `output` answers `item`; a failure has a reason, and nothing in the output raises."""

    def result(reason: str | None, error_type: str | None = None, calls: int | None = None) -> ItemResult:
        return ItemResult(item.id, item.category, reason is None, reason, error_type, calls)

    if output is None:
        return result("missing_output")
    irrelevance = item.category in IRRELEVANCE_CATEGORIES
    try:
        calls = parse_calls(output, item.language)
    except CallParseError as error:  # bfcl-eval: output that does not decode holds no call
        return result(None if irrelevance else "parse_error", f"parse_error: {error}", 0)
    if irrelevance:
        return result("unexpected_call" if calls else None, None, len(calls))
    if not calls:
        return result("no_call", None, 0)
    checked = _check(item, calls)
    if checked.get("valid"):
        return result(None, None, len(calls))
    error_type = str(checked.get("error_type", "unknown"))
    if error_type == "checker_error":
        return result("checker_error", str(checked.get("error")), len(calls))
    expected = Counter(next(iter(truth)) for truth in item.answer or [])
    if error_type.endswith(":wrong_count"):
        reason = "wrong_count"
    elif error_type.endswith(":wrong_func_name") or Counter(next(iter(call)) for call in calls) != expected:
        reason = "wrong_function"
    else:
        reason = "wrong_args"
    return result(reason, error_type, len(calls))


def _check(item: BfclItem, calls: list[dict[str, dict[str, Any]]]) -> dict[str, Any]:
    from bfcl_eval.constants.enums import Language
    from bfcl_eval.eval_checker.ast_eval.ast_checker import ast_checker

    try:
        return ast_checker(item.functions, calls, item.answer, Language(item.language), item.category, CHECKER_MODEL)
    except Exception as error:  # e.g. a type the checker's converters do not implement
        return {"valid": False, "error_type": "checker_error", "error": f"{type(error).__name__}: {error}"}


def score_bfcl(items: Sequence[BfclItem], outputs: Mapping[str, str]) -> dict[str, Any]:
    """Scores of `outputs` (answer text by item id) on `items`: per category, a summary, and per item."""
    results = [score_item(item, outputs.get(item.id)) for item in items]
    return {**summarize(results), "items": [asdict(result) for result in results]}


def summarize(results: Iterable[ItemResult]) -> dict[str, Any]:
    """Per category {total, correct, accuracy, failures, error_types}; overall micro and macro accuracy."""
    categories: dict[str, dict[str, Any]] = {}
    for result in results:
        entry = categories.setdefault(result.category, {"total": 0, "correct": 0, "failures": Counter(),
                                                        "error_types": Counter()})
        entry["total"] += 1
        entry["correct"] += result.correct
        if not result.correct:
            entry["failures"][result.reason] += 1
            if result.reason in ("wrong_function", "wrong_args", "wrong_count"):
                entry["error_types"][result.error_type] += 1
    for entry in categories.values():
        entry["accuracy"] = entry["correct"] / entry["total"]
        entry["failures"], entry["error_types"] = dict(entry["failures"]), dict(entry["error_types"])
    total, correct = sum(e["total"] for e in categories.values()), sum(e["correct"] for e in categories.values())
    accuracy = {name: entry["accuracy"] for name, entry in categories.items()}
    summary = {
        "total": total,
        "correct": correct,
        "micro_accuracy": correct / total if total else None,
        "macro_accuracy": sum(accuracy.values()) / len(accuracy) if accuracy else None,
        **_bfcl_groups(categories),
    }
    return {"summary": summary, "categories": categories}


def _mean(values: list[float | None]) -> float | None:
    return None if not values or None in values else sum(values) / len(values)  # type: ignore[arg-type]


def _bfcl_groups(categories: Mapping[str, Mapping[str, Any]]) -> dict[str, float | None]:
    """BFCL's leaderboard groups, None unless all their categories were scored: non-live AST (unweighted,
    simple = mean of its three languages), live AST (weighted by item count), irrelevance (unweighted)."""
    acc = lambda name: categories[name]["accuracy"] if name in categories else None  # noqa: E731
    simple = _mean([acc("simple_python"), acc("simple_java"), acc("simple_javascript")])
    live = [categories.get(name) for name in ("live_simple", "live_multiple", "live_parallel",
                                              "live_parallel_multiple")]
    return {
        "non_live_ast": _mean([simple, acc("multiple"), acc("parallel"), acc("parallel_multiple")]),
        "live_ast": None if None in live else sum(e["correct"] for e in live) / sum(e["total"] for e in live),
        "irrelevance": _mean([acc("irrelevance"), acc("live_irrelevance")]),
    }


def write_item_results(items: Iterable[Mapping[str, Any]], path: str | Path) -> Path:
    """Per-item results (the "items" of score_bfcl, with anything added to them) as JSON lines, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8") as handle:
        for item in items:
            handle.write(json.dumps(dict(item), ensure_ascii=False) + "\n")
    return path
