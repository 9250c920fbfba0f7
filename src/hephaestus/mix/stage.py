"""The mix stage: count tokens per source, solve the mixture, and write the three stages' datasets.

Inputs: curated records (WS/curate) and retrieved web text (WS/select/retrieved, when select ran).
Outputs under WS/mix/: `tokenizer/` (loaded from a local path or trained as byte-level BPE), the
datasets `stage1/` (the mixture: a record appears once per copy the plan gives it), `stage2/` (all
seed agent data: tool docs and trajectories), `stage3/` (trajectories with messages, the instruction
data), `valid/<kind>/` (held-out documents of each kind, never in a training set), `report.json`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console
from rich.table import Table

from hephaestus.io.parquet import RecordWriter
from hephaestus.mix.plan import (
    GROUPS,
    MixTarget,
    SourceTokens,
    achieved_report,
    hash_fraction,
    solve,
)
from hephaestus.mix.tokens import MixSettings, token_counts, tokenizer_for
from hephaestus.run.record_job import record_files, task_name
from hephaestus.run.summary import summarise
from hephaestus.stats import ShardStats, check
from hephaestus.workspace import Workspace, WorkspaceError, write_json_atomic

STAGE = "mix"
SEED_KINDS = ("tool_doc", "trajectory")


def input_files(workspace: Workspace) -> dict[str, Path]:
    """task id -> record file: curated shards, then retrieved shards."""
    files = {task_name(p, workspace.stage_dir("curate")): p for p in record_files(workspace.stage_dir("curate"))}
    retrieved = workspace.stage_dir("select") / "retrieved"
    files |= {f"retrieved__{p.stem}": p for p in sorted(retrieved.glob("*.parquet"))}
    return files


def is_valid(doc_id: str, settings: MixSettings) -> bool:
    """Held out for validation: a fixed hash fraction of every kind."""
    return hash_fraction(doc_id, settings.seed + 1) < settings.valid_fraction


def mix(workspace: Workspace, settings: MixSettings, *, restart: bool = False,
        console: Console | None = None) -> dict[str, Any]:
    console = console or Console(stderr=True)
    files = input_files(workspace)
    if not files:
        raise WorkspaceError(f"{workspace.stage_dir('curate')}: no curated records; run `hephaestus curate` first")
    upstream = {stage: json.loads((workspace.stage_dir(stage) / "run.json").read_text())["config_hash"]
                for stage in ("curate", "select") if (workspace.stage_dir(stage) / "run.json").exists()}
    workspace.begin_stage(STAGE, {"settings": dataclasses.asdict(settings), "upstream": upstream}, restart=restart)
    stage_dir = workspace.stage_dir(STAGE)
    started = time.monotonic()
    tokenizer = tokenizer_for(stage_dir / "tokenizer", settings, list(files.values()), console)
    counts = {task: token_counts(path, tokenizer, stage_dir / "attrs" / "tokens" / f"{task}.parquet")
              for task, path in files.items()}
    available: Counter[str] = Counter()
    documents: Counter[str] = Counter()
    groups: dict[str, str] = {}
    for table in counts.values():
        for row in table.to_pylist():
            if not is_valid(row["id"], settings):
                available[row["source"]] += row["tokens"]
                documents[row["source"]] += 1
                groups[row["source"]] = row["group"]
    sources = [SourceTokens(s, groups[s], available[s], documents[s]) for s in sorted(available)]
    target = MixTarget(shares=settings.shares, total_tokens=settings.total_tokens or _default_total(sources, settings),
                       max_epochs=settings.max_epochs, on_shortfall=settings.on_shortfall)
    plan = solve(sources, target)
    chosen = token_exact_copies(counts.values(), plan.rates, settings)
    taken: Counter[str] = Counter()
    for task, path in files.items():
        if not workspace.is_done(STAGE, task):
            workspace.mark_done(STAGE, task, _split(path, counts[task], chosen, stage_dir, task, settings))
        taken.update(json.loads(workspace.done_marker(STAGE, task).read_text())["taken"])
    report = achieved_report(plan, dict(taken))
    report["notes"] = plan.notes
    report["tokenizer"] = {"fingerprint": tokenizer.fingerprint, "vocab_size": tokenizer.vocab_size}
    write_json_atomic(stage_dir / "report.json", report)
    console.print(_group_table(report))
    for note in plan.notes:
        console.print(f"mix: {note}", highlight=False, soft_wrap=True)
    groups_by_task = {task: task.split("__")[0] for task in files}
    return summarise(workspace, STAGE, groups_by_task, [], time.monotonic() - started, {"mix": report})


def _group_table(report: dict[str, Any]) -> Table:
    table = Table("group", "target", "achieved", "Δ pp", "tokens", title="stage I mixture")
    for group, row in report["groups"].items():
        table.add_row(group, f"{row['target_share']:.2%}", f"{row['achieved_share']:.2%}",
                      f"{100 * (row['achieved_share'] - row['target_share']):+.2f}", f"{row['achieved_tokens']:,.0f}")
    return table


def token_exact_copies(counts: Iterable[pa.Table], rates: dict[str, float], settings: MixSettings) -> dict[str, int]:
    """Copies of every training document: floor(rate) of each, plus one for the documents first in a seeded
    hash order until the source's fractional quota of tokens is met (to within one document)."""
    docs: dict[str, list[tuple[float, str, int]]] = {}
    for table in counts:
        for row in table.to_pylist():
            if not is_valid(row["id"], settings):
                docs.setdefault(row["source"], []).append(
                    (hash_fraction(row["id"], settings.seed), row["id"], row["tokens"]))
    chosen: dict[str, int] = {}
    for source, entries in docs.items():
        rate = rates.get(source, 0.0)
        whole = math.floor(rate)
        quota = (rate - whole) * sum(tokens for _, _, tokens in entries)
        taken = 0
        for _, doc_id, tokens in sorted(entries):
            extra = int(taken + tokens / 2 <= quota)  # take a document while that brings us closer to the quota
            taken += extra * tokens
            chosen[doc_id] = max(chosen.get(doc_id, 0), whole + extra)
    return chosen


def _default_total(sources: list[SourceTokens], settings: MixSettings) -> int:
    """Without a budget: the most tokens the shares allow without repeating any group's data."""
    by_group = {group: sum(s.tokens for s in sources if s.group == group) for group in GROUPS}
    limits = [by_group[g] / share for g, share in settings.shares.items() if share > 0 and by_group[g] > 0]
    return max(1, int(min(limits))) if limits else 1


def _split(path: Path, counts: pa.Table, chosen: dict[str, int], stage_dir: Path, task: str,
           settings: MixSettings) -> dict[str, Any]:
    """Write one input file's share of stage1 / stage2 / stage3 / valid; return its stats."""
    tokens = dict(zip(counts.column("id").to_pylist(), counts.column("tokens").to_pylist(), strict=True))
    stats = ShardStats(task)
    stats.bytes_in = path.stat().st_size
    writers: dict[str, RecordWriter] = {}

    def write(dataset: str, record: dict[str, Any]) -> None:
        if dataset not in writers:
            writers[dataset] = RecordWriter(stage_dir / dataset / f"{task}.parquet")
        writers[dataset].add(record)

    taken: Counter[str] = Counter()
    for row in pq.read_table(path).to_pylist():
        if is_valid(row["id"], settings):
            write(f"valid/{row['kind']}", row)
            stats.accept()
            continue
        n = chosen.get(row["id"], 0)
        for _ in range(n):
            write("stage1", row)
        taken[row["source"]] += n * tokens[row["id"]]
        if row["kind"] in SEED_KINDS:
            write("stage2", row)
        if row["kind"] == "trajectory" and row["messages"]:
            write("stage3", row)
        if n or row["kind"] in SEED_KINDS:
            stats.accept()
        else:
            stats.reject("not_sampled", row["id"])
    stats.bytes_out = sum(writer.close() for writer in writers.values())
    result = stats.to_dict()
    check(result)
    return {**result, "taken": dict(taken)}
