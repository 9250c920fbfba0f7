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
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pyarrow.parquet as pq
from rich.console import Console

from hephaestus.io.parquet import RecordWriter
from hephaestus.mix.count import TokenCount
from hephaestus.mix.exact import exact_copies, exact_replay, held_out, source_tokens
from hephaestus.mix.plan import (
    GROUPS,
    RETRIEVED,
    MixPlan,
    MixTarget,
    SourceTokens,
    achieved_report,
    report_table,
    solve,
)
from hephaestus.mix.sampled import estimate_sources, hashed_copies, hashed_replay
from hephaestus.mix.tokens import MixSettings, token_counts, tokenizer_for
from hephaestus.pack.tokenizer import TokenizerHandle
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
    try:
        chosen = (_select_exact if settings.count_sample_rate is None else _select_sampled)(
            files, tokenizer, settings, stage_dir)
    except ValueError as error:
        raise WorkspaceError(f"{workspace.stage_dir('curate')}: {error}") from error
    taken: Counter[str] = Counter()
    stage2: Counter[str] = Counter({"seed": 0, "replay": 0})
    for task, path in files.items():
        if not workspace.is_done(STAGE, task):
            workspace.mark_done(STAGE, task, _split(path, task, chosen, stage_dir))
        done = json.loads(workspace.done_marker(STAGE, task).read_text())
        taken.update(done["taken"])
        stage2.update(done["stage2"])
    plan = chosen.plan
    report = achieved_report(plan, dict(taken))
    report["notes"] = plan.notes
    report["token_counts"] = _count_report(settings, chosen.estimates)
    report["stage2"] = {"replay_target_share": settings.stage2_replay, "seed_tokens": stage2["seed"],
                        "replay_tokens": stage2["replay"],
                        "replay_share": stage2["replay"] / max(1.0, stage2["seed"] + stage2["replay"])}
    report["tokenizer"] = {"fingerprint": tokenizer.fingerprint, "vocab_size": tokenizer.vocab_size}
    write_json_atomic(stage_dir / "report.json", report)
    console.print(report_table(report))
    for note in [*plan.notes, *report["token_counts"]["notes"]]:
        console.print(f"mix: {note}", highlight=False, soft_wrap=True)
    groups_by_task = {task: task.split("__")[0] for task in files}
    return summarise(workspace, STAGE, groups_by_task, [], time.monotonic() - started, {"mix": report})


class Selection(NamedTuple):
    """The solved plan and every file's held-out flags and copies (row-aligned with the file)."""

    plan: MixPlan
    held: dict[str, np.ndarray]
    copies: dict[str, np.ndarray]
    replay: dict[str, np.ndarray]  # text and code documents stage II replays
    tokens: dict[str, np.ndarray]  # exact tokens of every document; empty when counts are estimated
    estimates: dict[str, TokenCount]  # estimated tokens per source; empty when counts are exact


def _select_exact(files: dict[str, Path], tokenizer: TokenizerHandle, settings: MixSettings,
                  stage_dir: Path) -> Selection:
    counts = {task: token_counts(path, tokenizer, stage_dir / "attrs" / "tokens" / f"{task}.parquet")
              for task, path in files.items()}
    held = {task: held_out(table.column("id"), settings.seed, settings.valid_fraction)
            for task, table in counts.items()}
    plan = _solve(source_tokens(counts, held), settings)
    return Selection(plan, held, exact_copies(counts, held, plan.rates, settings.seed),
                     exact_replay(counts, held, settings.stage2_replay, settings.seed),
                     {task: table.column("tokens").to_numpy() for task, table in counts.items()}, {})


def _select_sampled(files: dict[str, Path], tokenizer: TokenizerHandle, settings: MixSettings,
                    stage_dir: Path) -> Selection:
    keys = {task: pq.read_table(path, columns=["id", "source"]) for task, path in files.items()}
    held = {task: held_out(table.column("id"), settings.seed, settings.valid_fraction) for task, table in keys.items()}
    sources, estimates = estimate_sources(files, held, tokenizer, settings.count_sample_rate, settings.seed,
                                          stage_dir / "attrs" / "token_estimates.json")
    plan = _solve(sources, settings)
    groups = {s.source: s.group for s in sources}
    seed_tokens = sum(s.tokens for s in sources if s.group == "agent" and s.source != RETRIEVED)
    general = sum(s.tokens for s in sources if s.group in ("text", "code"))
    rate = min(1.0, settings.stage2_replay / (1 - settings.stage2_replay) * seed_tokens / general) if general else 0.0
    return Selection(plan, held,
                     {task: hashed_copies(keys[task], held[task], plan.rates, settings.seed) for task in files},
                     {task: hashed_replay(keys[task], held[task], groups, rate, settings.seed) for task in files},
                     {}, estimates)


def _solve(sources: list[SourceTokens], settings: MixSettings) -> MixPlan:
    target = MixTarget(shares=settings.shares, total_tokens=settings.total_tokens or _default_total(sources, settings),
                       max_epochs=settings.max_epochs, on_shortfall=settings.on_shortfall)
    return solve(sources, target)


def _count_report(settings: MixSettings, estimates: dict[str, TokenCount]) -> dict[str, Any]:
    """How the tokens were counted; for estimates, each source's count and standard error (EOS included)."""
    if settings.count_sample_rate is None:
        return {"method": "exact", "notes": []}
    rows = {source: {"tokens": e.tokens + e.documents, "stderr": e.stderr, "exact": e.exact, "documents": e.documents,
                     "tokenised": e.sampled} for source, e in estimates.items()}
    total = sum(row["tokens"] for row in rows.values())
    error = math.sqrt(sum(row["stderr"] ** 2 for row in rows.values()))
    note = (f"token counts estimated from a {settings.count_sample_rate:.1%} sample: {total:,} ± {error:,.0f} "
            f"(1 s.e.); achieved tokens are estimates too: the pack manifest has the exact ones")
    return {"method": "sample", "sample_rate": settings.count_sample_rate, "sources": rows, "notes": [note]}


def _default_total(sources: list[SourceTokens], settings: MixSettings) -> int:
    """Without a budget: the most tokens the shares allow without repeating any group's data."""
    by_group = {group: sum(s.tokens for s in sources if s.group == group) for group in GROUPS}
    limits = [by_group[g] / share for g, share in settings.shares.items() if share > 0 and by_group[g] > 0]
    return max(1, int(min(limits))) if limits else 1


def _split(path: Path, task: str, chosen: Selection, stage_dir: Path) -> dict[str, Any]:
    """Write one input file's share of stage1 / stage2 / stage3 / valid, streaming it; return its stats."""
    held, copies, replay = chosen.held[task], chosen.copies[task], chosen.replay[task]
    tokens = chosen.tokens.get(task)
    per_char = {source: e.tokens / max(1, e.characters) for source, e in chosen.estimates.items()}
    stats = ShardStats(task)
    stats.bytes_in = path.stat().st_size
    writers: dict[str, RecordWriter] = {}

    def write(dataset: str, record: dict[str, Any]) -> None:
        if dataset not in writers:
            writers[dataset] = RecordWriter(stage_dir / dataset / f"{task}.parquet")
        writers[dataset].add(record)

    taken: Counter[str] = Counter()
    stage2: Counter[str] = Counter()
    at = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=1024):
        if batch.num_rows + at > len(held):
            break
        for i, row in enumerate(batch.to_pylist(), start=at):
            if held[i]:
                write(f"valid/{row['kind']}", row)
                stats.accept()
                continue
            for _ in range(copies[i]):
                write("stage1", row)
            size = tokens[i] if tokens is not None else 1 + len(row["text"]) * per_char[row["source"]]
            taken[row["source"]] += copies[i] * size
            if row["kind"] in SEED_KINDS or replay[i]:
                write("stage2", row)
                stage2["seed" if row["kind"] in SEED_KINDS else "replay"] += size
            if row["kind"] == "trajectory" and row["messages"]:
                write("stage3", row)
            if copies[i] or row["kind"] in SEED_KINDS or replay[i]:
                stats.accept()
            else:
                stats.reject("not_sampled", row["id"])
        at += batch.num_rows
    if at != len(held):
        raise WorkspaceError(f"{path}: changed since the mix counted its {len(held):,} records; rerun with --restart")
    stats.bytes_out = sum(writer.close() for writer in writers.values())
    result = stats.to_dict()
    check(result)
    return {**result, "taken": {source: float(value) for source, value in taken.items()},
            "stage2": {part: float(value) for part, value in stage2.items()}}
