"""`hephaestus status`: what each stage of a workspace has done so far, read from its stats files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from hephaestus.stats import merge
from hephaestus.workspace import Workspace

EMPTY = {"records_in": 0, "records_out": 0, "records_rejected": 0, "bytes_in": 0, "bytes_out": 0, "drops": {},
         "samples": {}, "seconds": 0.0}


def stage_progress(workspace: Workspace, stage: str) -> dict[str, Any]:
    """Merged stats of finished shards and of shards still running (flushed while they work)."""
    folder = workspace.stage_dir(stage)
    done = [json.loads(p.read_text()) for p in sorted((folder / "_done").glob("*.json"))]
    done = [d if "records_in" in d else {**EMPTY, "seconds": d.get("seconds", 0.0)} for d in done]  # no record stats
    running = [_read(p) for p in sorted((folder / "_stats").glob("*.json"))]
    summary_file = folder / "stats.json"
    planned = json.loads(summary_file.read_text()).get("shards_planned") if summary_file.exists() else None
    merged = merge(done + [r for r in running if r])
    return {**merged, "shards_done": len(done), "shards_planned": planned}


def _read(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):  # the shard finished and removed it while we looked
        return None


def render_status(workspace: Workspace, console: Console) -> None:
    stages = workspace.stages()
    if not stages:
        console.print(f"{workspace.root}: no stage has run yet")
        return
    table = Table(title=f"workspace {workspace.root}")
    for column in ("stage", "shards", "in", "out", "rejected", "MB in", "MB out", "task s"):
        table.add_column(column, justify="left" if column == "stage" else "right", no_wrap=True)
    drops: list[tuple[str, str, int, list[str]]] = []
    for stage in stages:
        progress = stage_progress(workspace, stage)
        planned = progress["shards_planned"]
        shards = f"{progress['shards_done']}/{planned if planned is not None else '?'}"
        if progress["running"]:
            shards += f" ({progress['running']} running)"
        table.add_row(stage, shards, f"{progress['records_in']:,}", f"{progress['records_out']:,}",
                      f"{progress['records_rejected']:,}", f"{progress['bytes_in'] / 1e6:.1f}",
                      f"{progress['bytes_out'] / 1e6:.1f}", f"{progress['task_seconds']:.1f}")
        drops += [(stage, reason, count, progress["samples"].get(reason, []))
                  for reason, count in progress["drops"].items()]
    console.print(table)
    for stage in stages:
        _render_sources(workspace, stage, console)
    for stage, reason, count, samples in drops:
        console.print(f"{stage}: rejected {count:,} as [bold]{reason}[/bold]", highlight=False)
        for sample in samples:
            console.print(f"    e.g. {sample.splitlines()[0][:160]}", highlight=False, soft_wrap=True)


def _render_sources(workspace: Workspace, stage: str, console: Console) -> None:
    """Per-source totals of a finished stage, from its stats.json."""
    summary_file = workspace.stage_dir(stage) / "stats.json"
    by_source = json.loads(summary_file.read_text()).get("by_source", {}) if summary_file.exists() else {}
    if not by_source:
        return
    table = Table(title=f"{stage} by source")
    for column in ("source", "shards", "records out", "rejected", "MB out"):
        table.add_column(column, justify="left" if column == "source" else "right", no_wrap=True)
    for name, stats in by_source.items():
        table.add_row(name, str(stats["shards"]), f"{stats['records_out']:,}", f"{stats['records_rejected']:,}",
                      f"{stats['bytes_out'] / 1e6:.1f}")
    console.print(table)
