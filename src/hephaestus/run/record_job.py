"""A shard task over record files: stream one Parquet file through steps into another, atomically.

Used by every stage after collect: the input is a previous stage's output file, the output mirrors
its path under this stage's folder, attribute columns go to `attrs/<name>/<task>.parquet`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from hephaestus.io.parquet import RecordWriter, iter_batches
from hephaestus.stats import ShardStats, check
from hephaestus.steps import AttributeSink, Step, run_steps
from hephaestus.workspace import Workspace, atomic_path

RECORD_JOB_BATCH_ROWS = 1024  # rows per batch through the steps: bounds the memory of per-batch arrays
StepFactory = Callable[[AttributeSink], list[Step]]


def record_files(folder: Path) -> list[Path]:
    """A stage's record files: every Parquet file below it, except bookkeeping (`_*`) and `attrs/`."""
    return sorted(p for p in folder.rglob("*.parquet")
                  if not any(part.startswith("_") or part == "attrs" for part in p.relative_to(folder).parts[:-1]))


def task_name(path: Path, folder: Path) -> str:
    """A task id that keeps the file's place: `<source>__<file stem>`."""
    return "__".join(path.relative_to(folder).with_suffix("").parts)


class ParquetAttributeSink(AttributeSink):
    """Collects attribute columns of one task and writes `attrs/<name>/<task>.parquet` on close."""

    def __init__(self, root: Path, task_id: str) -> None:
        self.root = root
        self.task_id = task_id
        self._tables: dict[str, list[pa.Table]] = {}

    def write(self, name: str, ids: pa.Array, columns: dict[str, pa.Array]) -> None:
        self._tables.setdefault(name, []).append(pa.table({"id": ids, **columns}))

    def close(self) -> None:
        for name, tables in self._tables.items():
            with atomic_path(self.root / name / f"{self.task_id}.parquet") as tmp:
                pq.write_table(pa.concat_tables(tables), tmp, compression="zstd")


@dataclass(frozen=True)
class RecordJob:
    """Stream `source` through the steps `make_steps` builds into `output`; picklable."""

    stage: str
    phase: str
    task_id: str
    workspace: Path
    source: Path
    output: Path
    make_steps: StepFactory
    carry_stats: Path | None = None  # a previous phase's stats of this task, added to this one's
    extra: dict[str, Any] = field(default_factory=dict)


def phase_marker(workspace: Workspace, stage: str, phase: str, task_id: str) -> Path:
    """Done marker of a task in a phase; the final phase uses the stage's own `_done/`."""
    if not phase:
        return workspace.done_marker(stage, task_id)
    return workspace.stage_dir(stage) / "_phases" / phase / f"{task_id}.json"


def run_record_job(job: RecordJob) -> dict[str, Any]:
    """Run one job; the result (and the done marker) hold its stats, previous phases included."""
    workspace = Workspace(job.workspace)
    stats = ShardStats(job.task_id, flush_path=None if job.phase else workspace.running_stats(job.stage, job.task_id))
    stats.bytes_in = job.source.stat().st_size
    sink = ParquetAttributeSink(workspace.stage_dir(job.stage) / "attrs", job.task_id)
    writer = RecordWriter(job.output)
    try:
        batches = iter_batches(str(job.source), batch_rows=RECORD_JOB_BATCH_ROWS)
        for batch in run_steps(batches, job.make_steps(sink), stats):
            writer.add_table(pa.Table.from_batches([batch]))
        stats.bytes_out = writer.close()
        sink.close()
    except BaseException:
        writer.abort()
        raise
    result = stats.to_dict()
    if job.carry_stats is not None:
        result = _carry(json.loads(job.carry_stats.read_text()), result)
    check(result)
    marker = phase_marker(workspace, job.stage, job.phase, job.task_id)
    if job.phase:
        with atomic_path(marker) as tmp:
            tmp.write_text(json.dumps(result, indent=2, sort_keys=True))
    else:
        workspace.mark_done(job.stage, job.task_id, {**result, **job.extra})
    return result


def _carry(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Stats of two phases of one task: records in from the first, out from the second, drops of both."""
    drops = {**before["drops"]}
    for reason, count in after["drops"].items():
        drops[reason] = drops.get(reason, 0) + count
    samples = {**after["samples"], **before["samples"]}
    return {**after, "records_in": before["records_in"], "bytes_in": before["bytes_in"],
            "records_rejected": before["records_rejected"] + after["records_rejected"],
            "drops": dict(sorted(drops.items())), "samples": dict(sorted(samples.items())),
            "seconds": round(before["seconds"] + after["seconds"], 3)}
