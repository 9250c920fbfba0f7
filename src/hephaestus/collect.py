"""The collect stage: read every source's shard tasks into WS/collect/<source>/<task>.parquet."""

from __future__ import annotations

import json
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fsspec
from rich.console import Console

from hephaestus.io.parquet import RecordWriter
from hephaestus.io.readers import Location, Rejected
from hephaestus.quarantine import QuarantineWriter
from hephaestus.records import RecordError, validate_record
from hephaestus.run.local import execute
from hephaestus.run.summary import summarise
from hephaestus.sources import ShardTask, Source
from hephaestus.stats import ShardStats, check
from hephaestus.workspace import Workspace, config_hash

STAGE = "collect"


@dataclass(frozen=True)
class CollectJob:
    """One shard task of one source, with where its output goes; picklable for worker processes."""

    source: Source
    task: ShardTask
    workspace: Path

    @property
    def task_id(self) -> str:
        """The task's id, made unique per source config (one file may be read by two specs)."""
        return f"{self.task.task_id}{config_hash(self.source.config())[:6]}"

    def output(self) -> Path:
        return Workspace(self.workspace).stage_dir(STAGE) / self.source.name / f"{self.task_id}.parquet"


def run_job(job: CollectJob) -> dict[str, Any]:
    """Read one task into a Parquet file; rejected inputs go to quarantine; returns the shard stats."""
    workspace = Workspace(job.workspace)
    stats = ShardStats(job.task_id, flush_path=workspace.running_stats(STAGE, job.task_id))
    stats.bytes_in = _input_bytes(job.task)
    quarantine = QuarantineWriter(workspace.quarantine_dir(STAGE) / f"{job.task_id}.jsonl", STAGE)
    writer = RecordWriter(job.output())
    try:
        for item in _guarded(job.source, job.task):
            if isinstance(item, Rejected):
                quarantine.write(item)
                stats.reject(item.reason, item.message())
            else:
                writer.add(item)
                stats.accept()
            stats.maybe_flush()
        stats.bytes_out = writer.close()
    except BaseException:
        writer.abort()
        raise
    finally:
        quarantine.close()
    result = stats.to_dict()
    check(result)
    workspace.mark_done(STAGE, job.task_id, {**result, "source": job.source.name, "path": job.task.path})
    return result


def _guarded(source: Source, task: ShardTask):
    """The source's items, each record validated; a reader that crashes ends the task as one rejection."""
    try:
        for item in source.read(task):
            if isinstance(item, Rejected):
                yield item
                continue
            try:
                validate_record(item)
            except RecordError as error:
                yield Rejected("invalid_record", Location(task.path), str(error), json.dumps(item, default=str))
                continue
            yield item
    except Exception as error:  # a reader bug must not stop the other shards; keep the traceback
        detail = f"{type(error).__name__}: {error}\n{traceback.format_exc(limit=5)}"
        yield Rejected("reader_error", Location(task.path, offset=task.start), detail)


def _input_bytes(task: ShardTask) -> int:
    if task.end is not None:
        return task.end - task.start
    try:
        fs, path = fsspec.core.url_to_fs(task.path)
        return int(fs.size(path) or 0) if fs.isfile(path) else 0
    except (OSError, ValueError):
        return 0


def collect(sources: list[Source], workspace: Workspace, *, workers: int = 1, restart: bool = False,
            console: Console | None = None) -> dict[str, Any]:
    """Plan every source (errors surface before any work), then run the tasks not yet done."""
    console = console or Console(stderr=True)
    config = {"sources": [source.config() for source in sources]}
    jobs = [CollectJob(source, task, workspace.root) for source in sources for task in source.plan(workers)]
    workspace.begin_stage(STAGE, config, restart=restart)
    pending = [job for job in jobs if not workspace.is_done(STAGE, job.task_id)]
    if len(pending) < len(jobs):
        console.print(f"collect: resuming, {len(jobs) - len(pending)} of {len(jobs)} shards already done")
    started = time.monotonic()
    outcomes = execute(pending, run_job, lambda job: job.task_id, workers=workers, label="collect",
                       console=console)
    groups = {job.task_id: job.source.name for job in jobs}
    return summarise(workspace, STAGE, groups, outcomes, time.monotonic() - started)
