"""The curate stage: clean and filter every collected shard, find duplicates globally, then drop them.

Phase `clean` (parallel): normalise, quality filters, decontamination, dedup signatures
(`attrs/dedup`). Reduce (one process): exact and near duplicates (`_dedup/`). Final phase (parallel):
drop the duplicates and write `WS/curate/<source>/<shard>.parquet`, mirroring `WS/collect/`.
Each shard's stats carry both phases, so records in = out + rejected holds per shard and in total.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from rich.console import Console

from hephaestus.curate.minhash import lsh_params
from hephaestus.curate.reduce import find_duplicates, load_drops
from hephaestus.curate.steps import CurateSettings, CurateSteps
from hephaestus.run.local import Outcome, execute
from hephaestus.run.record_job import RecordJob, phase_marker, record_files, run_record_job, task_name
from hephaestus.run.summary import summarise
from hephaestus.stats import ShardStats
from hephaestus.steps import AttributeSink, Batches, Step
from hephaestus.workspace import Workspace, WorkspaceError

STAGE = "curate"
INPUT_STAGE = "collect"


class DropRows(Step):
    """Remove the rows (by position in the shard) that the reduce decided, each with its reason."""

    name = "dedup"

    def __init__(self, drops: dict[int, str]) -> None:
        self.drops = drops

    def __call__(self, batches: Batches, stats: ShardStats) -> Batches:
        offset = 0
        for batch in batches:
            rows = [row for row in range(batch.num_rows) if offset + row in self.drops]
            offset += batch.num_rows
            for row in rows:
                stats.drop(self.drops[offset - batch.num_rows + row], str(batch.column("id")[row]))
            if len(rows) < batch.num_rows:
                keep = np.ones(batch.num_rows, dtype=bool)
                keep[rows] = False
                yield batch.filter(pa.array(keep)) if rows else batch


class DropDuplicates:
    """Step factory of the final phase for one task."""

    def __init__(self, dedup_dir: Path, task_id: str) -> None:
        self.dedup_dir = dedup_dir
        self.task_id = task_id

    def __call__(self, sink: AttributeSink) -> list[Step]:
        return [DropRows(load_drops(self.dedup_dir, self.task_id))]


def curate(workspace: Workspace, settings: CurateSettings, *, workers: int = 1, restart: bool = False,
           console: Console | None = None) -> dict[str, Any]:
    console = console or Console(stderr=True)
    source_dir = workspace.stage_dir(INPUT_STAGE)
    inputs = record_files(source_dir)
    if not inputs:
        raise WorkspaceError(f"{source_dir}: no collected records; run `hephaestus collect` first")
    upstream = json.loads((source_dir / "run.json").read_text())["config_hash"]
    workspace.begin_stage(STAGE, {"settings": dataclasses.asdict(settings), "collect": upstream}, restart=restart)
    stage_dir = workspace.stage_dir(STAGE)
    started = time.monotonic()
    names = {path: task_name(path, source_dir) for path in inputs}
    clean = [RecordJob(STAGE, "clean", names[p], workspace.root, p, stage_dir / "_clean" / p.relative_to(source_dir),
                       CurateSteps(settings)) for p in inputs]
    pending = [job for job in clean if not phase_marker(workspace, STAGE, "clean", job.task_id).exists()]
    outcomes = execute(pending, run_record_job, lambda job: job.task_id, workers=workers, label="curate: clean",
                       console=console)
    groups = {names[p]: p.relative_to(source_dir).parts[0] for p in inputs}
    if any(o.error for o in outcomes):
        return summarise(workspace, STAGE, groups, outcomes, time.monotonic() - started)
    dedup_dir = stage_dir / "_dedup"
    if not (dedup_dir / "drops.parquet").exists():
        console.print("curate: finding exact and near duplicates across all shards")
        find_duplicates(stage_dir / "attrs" / "dedup", dedup_dir, *lsh_params(settings.near_threshold,
                                                                              settings.num_perm))
    outcomes += _apply(workspace, clean, dedup_dir, workers, console)
    dedup = json.loads((dedup_dir / "dedup.json").read_text())
    summary = summarise(workspace, STAGE, groups, outcomes, time.monotonic() - started, {"dedup": dedup})
    summary["decontamination"] = {reason.removeprefix("contaminated:"): count
                                  for reason, count in summary["drops"].items() if reason.startswith("contaminated:")}
    (stage_dir / "stats.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return summary


def _apply(workspace: Workspace, clean: list[RecordJob], dedup_dir: Path, workers: int,
           console: Console) -> list[Outcome]:
    """The final phase; a shard whose records were all dropped in `clean` is done with its stats as they are."""
    stage_dir = workspace.stage_dir(STAGE)
    jobs = []
    for job in clean:
        if workspace.is_done(STAGE, job.task_id):
            continue
        carried = phase_marker(workspace, STAGE, "clean", job.task_id)
        if not job.output.exists():
            workspace.mark_done(STAGE, job.task_id, json.loads(carried.read_text()))
            continue
        final = stage_dir / job.output.relative_to(stage_dir / "_clean")
        jobs.append(RecordJob(STAGE, "", job.task_id, workspace.root, job.output, final,
                              DropDuplicates(dedup_dir, job.task_id), carry_stats=carried))
    return execute(jobs, run_record_job, lambda job: job.task_id, workers=workers, label="curate: dedup",
                   console=console)
