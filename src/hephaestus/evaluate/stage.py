"""The evaluate stage: benchmark loss, BFCL function calling and retention for one or more checkpoints,
filed as WS/eval/<label>/results.json (and the BFCL answers as items.jsonl), then compared side by side."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import torch
import xxhash
from rich.console import Console

from hephaestus.evaluate.bfcl_data import BfclItem, load_bfcl
from hephaestus.evaluate.compare import write_comparison
from hephaestus.evaluate.lm_harness import run_lm_eval
from hephaestus.evaluate.metrics import bfcl_accuracy, bfcl_bench_loss, split_losses
from hephaestus.evaluate.models import EvalTarget, load_checkpoint
from hephaestus.evaluate.settings import AGENT_KINDS, RETENTION_KIND, EvalSettings
from hephaestus.stats import ShardStats
from hephaestus.workspace import Workspace, write_json_atomic


def _task_id(target: EvalTarget) -> str:
    """Label plus a digest of the checkpoint's path and weight files, so a retrained model is evaluated anew."""
    stamp = [str(target.path.resolve())] + [f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}"
                                            for p in sorted(target.path.glob("*.safetensors"))]
    return f"{target.label}-{xxhash.xxh3_64_hexdigest(repr(stamp).encode())[:12]}"


def evaluate(workspace: Workspace, settings: EvalSettings, targets: list[EvalTarget], *, restart: bool = False,
             console: Console | None = None) -> dict[str, Any]:
    """Evaluate every target not yet done with these settings; returns the comparison of all labels."""
    console = console or Console(stderr=True)
    workspace.begin_stage("eval", dataclasses.asdict(settings), restart=restart)
    device = torch.device(settings.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    items: list[BfclItem] | None = None
    for target in targets:
        task = _task_id(target)
        if workspace.is_done("eval", task):
            console.print(f"eval: {target.label} already evaluated ({target.path})", highlight=False)
            continue
        if items is None and (settings.bfcl or settings.bench_loss):
            items = load_bfcl(list(settings.categories), settings.limit)
        stats = ShardStats(task)
        results = evaluate_one(workspace, settings, target, items or [], device, console)
        stats.accept(len(items or []) if settings.bfcl else 0)  # BFCL questions answered and scored
        done = stats.to_dict()
        results["seconds"] = done["seconds"]
        write_json_atomic(workspace.stage_dir("eval") / target.label / "results.json", results)
        workspace.mark_done("eval", task, {**done, "label": target.label, "model": str(target.path)})
    return write_comparison(workspace.stage_dir("eval"), console)


def evaluate_one(workspace: Workspace, settings: EvalSettings, target: EvalTarget, items: list[BfclItem],
                 device: torch.device, console: Console) -> dict[str, Any]:
    model, tokenizer = load_checkpoint(target, device)
    style = "chat" if target.instruction_tuned else "base"
    console.print(f"eval: {target.label} ({target.path}, {style} prompts) on {device}", highlight=False)
    results: dict[str, Any] = {"label": target.label, "model": str(target.path), "style": style,
                               "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "notes": []}
    valid = split_losses(workspace, model, tokenizer, settings, device, results["notes"])
    if settings.bench_loss:
        results["bench_loss"] = bfcl_bench_loss(model, tokenizer, items, settings, device)
        results["bench_loss"].update({f"valid/{k}": v for k, v in valid.items() if k in AGENT_KINDS})
    if settings.bfcl:
        out = workspace.stage_dir("eval") / target.label / "items.jsonl"
        results["bfcl"] = bfcl_accuracy(model, tokenizer, items, settings, style, device, out, console)
    if settings.lm_eval_tasks:
        console.print(f"eval: lm-evaluation-harness: {', '.join(settings.lm_eval_tasks)}", highlight=False)
        results["lm_eval"] = run_lm_eval(target, settings.lm_eval_tasks, include=settings.lm_eval_include,
                                         batch_size=settings.batch_size, limit=settings.lm_eval_limit,
                                         device=str(device))
    if settings.retention and RETENTION_KIND in valid:
        results["retention"] = {"dataset": f"valid/{RETENTION_KIND}", **valid[RETENTION_KIND]}
    elif settings.retention:
        results["notes"].append(f"retention: no held-out {RETENTION_KIND} split in {workspace.stage_dir('pack')}")
    for note in results["notes"]:
        console.print(f"eval: {target.label}: {note}", highlight=False)
    return results

