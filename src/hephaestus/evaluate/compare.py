"""Side-by-side comparison of every evaluated checkpoint in WS/eval: JSON, a markdown table and the console."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from hephaestus.workspace import write_json_atomic


def comparison_rows(eval_dir: Path) -> tuple[list[str], list[dict[str, Any]]]:
    """Column names and one row per label: BFCL accuracy overall and per category, losses, retention."""
    rows: list[dict[str, Any]] = []
    categories: dict[str, None] = {}  # insertion-ordered sets of column names
    losses: dict[str, None] = {}
    harness: dict[str, None] = {}
    for path in sorted(eval_dir.glob("*/results.json")):
        results = json.loads(path.read_text())
        row: dict[str, Any] = {"label": results["label"]}
        bfcl = results.get("bfcl")
        if bfcl:
            row["bfcl overall"] = bfcl["summary"]["micro_accuracy"]
            for category, scores in bfcl["categories"].items():
                row[f"bfcl {category}"] = scores["accuracy"]
                categories[f"bfcl {category}"] = None
        for name, loss in (results.get("bench_loss") or {}).items():
            row[f"loss {name}"] = loss["nll"]
            losses[f"loss {name}"] = None
        for task, metrics in (results.get("lm_eval") or {}).items():
            for name, value in metrics.items():
                if "stderr" not in name:
                    row[f"lm-eval {task} {name.removesuffix(',none')}"] = value
                    harness[f"lm-eval {task} {name.removesuffix(',none')}"] = None
        if results.get("retention"):
            row["retention ppl"] = results["retention"]["perplexity"]
        rows.append(row)
    columns = ["label"]
    columns += ["bfcl overall"] * any("bfcl overall" in r for r in rows) + list(categories) + list(losses)
    columns += ["retention ppl"] * any("retention ppl" in r for r in rows) + list(harness)
    return columns, rows


def _cell(value: Any, column: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{100 * value:.1f}%" if column.startswith("bfcl") else f"{value:.3f}"
    return str(value)


def write_comparison(eval_dir: Path, console: Console | None = None) -> dict[str, Any]:
    """Write comparison.json and comparison.md (one row per metric, one column per label) under `eval_dir`;
    print the same table; return the JSON (one row per label)."""
    columns, rows = comparison_rows(eval_dir)
    table = {"columns": columns, "rows": rows}
    write_json_atomic(eval_dir / "comparison.json", table)
    labels = [row["label"] for row in rows]
    metrics = [[metric, *(_cell(row.get(metric), metric) for row in rows)] for metric in columns[1:]]
    lines = ["| metric | " + " | ".join(labels) + " |", "|---|" + "---:|" * len(labels)]
    lines += ["| " + " | ".join(cells) + " |" for cells in metrics]
    (eval_dir / "comparison.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    if console is not None and rows:
        shown = Table(title="evaluation: BFCL accuracy, NLL per token (loss), perplexity")
        shown.add_column("metric", no_wrap=True)
        for label in labels:
            shown.add_column(label, justify="right")
        for cells in metrics:
            shown.add_row(*cells)
        console.print(shown)
    return table
