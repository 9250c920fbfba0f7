"""Report sections about evaluation: one comparison across every WS/eval/<label>/results.json (BFCL accuracy
per category and overall, benchmark losses, retention perplexity), and the scaling-law fit when there is one."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from hephaestus.report.layout import MISSING, Section, Table, count, decimal, natural_key, percent, plain, read_json
from hephaestus.workspace import Workspace


def read_evaluations(ws: Workspace) -> tuple[list[dict[str, Any]], list[str]]:
    """Every readable results.json, ordered by label, and notes on those that could not be read."""
    results, problems = [], []
    for path in sorted(ws.stage_dir("eval").glob("*/results.json"), key=lambda p: natural_key(p.parent.name)):
        value = read_json(path)
        if isinstance(value, dict):
            results.append({**value, "label": str(value.get("label") or path.parent.name)})
        else:
            problems.append(f"eval/{path.parent.name}/results.json could not be read and is left out.")
    return results, problems


SUMMARY_KEYS = ("total", "correct", "micro_accuracy", "macro_accuracy")  # the rest of a BFCL summary: group scores


def _summary(bfcl: Mapping[str, Any], key: str) -> Any:
    return (bfcl.get("summary") or {}).get(key)


def _accuracy(scores: Mapping[str, Any], value: Any) -> str:
    text = percent(value, 1)
    if text != MISSING and "correct" in scores and "total" in scores:
        text += f" ({count(scores['correct'])}/{count(scores['total'])})"
    return text


def _comparison_rows(results: list[dict[str, Any]]) -> Iterator[list[str]]:
    """Metric rows, one column per label: BFCL overall, its groups and categories; losses; retention; lm-eval."""
    bfcl = [r.get("bfcl") or {} for r in results]
    if any(bfcl):
        micro = (_accuracy(b.get("summary") or {}, _summary(b, "micro_accuracy")) for b in bfcl)
        yield ["BFCL overall (micro)", *micro]
        yield ["BFCL overall (macro)", *(percent(_summary(b, "macro_accuracy"), 1) for b in bfcl)]
        groups = dict.fromkeys(k for b in bfcl for k, v in (b.get("summary") or {}).items()
                               if k not in SUMMARY_KEYS and isinstance(v, int | float))
        for group in groups:
            yield [f"BFCL {group} (group)", *(percent(_summary(b, group), 1) for b in bfcl)]
        for category in dict.fromkeys(c for b in bfcl for c in b.get("categories") or {}):
            scores = [(b.get("categories") or {}).get(category) or {} for b in bfcl]
            yield [f"BFCL {category}", *(_accuracy(s, s.get("accuracy")) for s in scores)]
    losses = [r.get("bench_loss") or {} for r in results]
    for name in dict.fromkeys(n for loss in losses for n in loss):
        yield [f"loss {name}", *(decimal((loss.get(name) or {}).get("nll")) for loss in losses)]
    retention = [r.get("retention") or {} for r in results]
    if any(retention):
        datasets = sorted({str(r.get("dataset", "?")) for r in retention if r})
        yield [f"retention perplexity ({', '.join(datasets)})", *(decimal(r.get("perplexity"), 1) for r in retention)]
        yield ["retention NLL", *(decimal(r.get("nll")) for r in retention)]
    harness = [r.get("lm_eval") or {} for r in results]
    metrics = dict.fromkeys((task, name) for h in harness for task, values in h.items() if isinstance(values, dict)
                            for name in values if "stderr" not in name and name != "alias")
    for task, name in metrics:
        yield [f"lm-eval {task} {name.removesuffix(',none')}",
               *(decimal((h.get(task) or {}).get(name)) for h in harness)]


def _failure_rows(results: list[dict[str, Any]]) -> list[list[str]]:
    totals: list[dict[str, int]] = []
    for r in results:
        reasons: dict[str, int] = {}
        for scores in ((r.get("bfcl") or {}).get("categories") or {}).values():
            for reason, n in (scores.get("failures") or {}).items():
                reasons[reason] = reasons.get(reason, 0) + n
        totals.append(reasons)
    names = sorted({reason for reasons in totals for reason in reasons})
    return [[reason, *(count(t.get(reason, 0)) for t in totals)] for reason in names]


def evaluation_section(ws: Workspace) -> Section | None:
    results, problems = read_evaluations(ws)
    if not results and not problems:
        return None
    section = Section("evaluation", "Evaluation", sources=["eval/<label>/results.json"], notes=list(problems))
    if not results:
        return section
    labels = [r["label"] for r in results]
    section.tables.append(Table(["label", "model", "prompts", "evaluated"], [
        [r["label"], str(r.get("model", MISSING)), str(r.get("style", MISSING)), str(r.get("created", MISSING))]
        for r in results], "Evaluated checkpoints."))
    section.tables.append(Table(["metric", *labels], list(_comparison_rows(results)),
                                "Comparison: BFCL accuracy (correct/total), benchmark loss (NLL per token, lower is "
                                "better), retention perplexity on general text (lower is better) and lm-eval "
                                "scores where run."))
    if failures := _failure_rows(results):
        section.tables.append(Table(["BFCL failure", *labels], failures, "Why BFCL answers failed, all categories."))
    section.notes += [f"{r['label']}: {note}" for r in results for note in r.get("notes") or [] if note]
    return section


def _flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, Mapping) and value:
        for key, item in value.items():
            yield from _flatten(item, f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix or "value", plain(value)


def scaling_section(ws: Workspace) -> Section | None:
    """Shown only when a scaling-law study wrote WS/scaling/fit.json: its fields, as they are."""
    path = ws.root / "scaling" / "fit.json"
    if not path.exists():
        return None
    fit = read_json(path)
    section = Section("scaling", "Scaling-law fit (Figure 3)", sources=["scaling/fit.json"])
    if fit is None:
        section.notes.append("scaling/fit.json could not be read.")
    else:
        section.tables.append(Table(["field", "value"], [list(row) for row in _flatten(fit)],
                                    "Fields of the fitted benchmark loss vs agent-data share."))
    return section
