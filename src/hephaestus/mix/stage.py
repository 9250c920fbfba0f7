"""The mix stage: count tokens per source, solve the mixture, and write the three stages' datasets.

Inputs: curated records (WS/curate) and retrieved web text (WS/select/retrieved, when select ran).
Outputs under WS/mix/: `tokenizer/` (loaded from a local path or trained as byte-level BPE), the
datasets `stage1/` (the mixture: a record appears once per copy the plan gives it), `stage2/` (all
seed agent data: tool docs and trajectories, plus replayed text and code if asked), `stage3/`
(trajectories with messages, the instruction data), `valid/<kind>/` (held-out documents of each kind,
never in a training set), `report.json`. Every input file is streamed; see selection.py for the choices.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from rich.console import Console

from hephaestus.io.parquet import RecordWriter
from hephaestus.mix.plan import achieved_report, report_table
from hephaestus.mix.selection import Selection, count_report, select_exact, select_sampled
from hephaestus.mix.tokens import MixSettings, tokenizer_for
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
        chosen = (select_exact if settings.count_sample_rate is None else select_sampled)(
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
    report["token_counts"] = count_report(settings, chosen.estimates)
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
