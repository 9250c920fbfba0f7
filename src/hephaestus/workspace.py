"""A workspace: one folder per stage, with its run.json, done markers, stats and quarantine."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import xxhash

from hephaestus import __version__


class WorkspaceError(RuntimeError):
    """A workspace that cannot be used as asked (e.g. a resume under a different config)."""


class ConfigChangedError(WorkspaceError):
    """A stage's folder was made with another config; `stage` names it (e.g. "mix", "train/stage2")."""

    def __init__(self, message: str, stage: str) -> None:
        super().__init__(message)
        self.stage = stage


def config_hash(config: Any) -> str:
    """Stable hash of a JSON-serialisable stage config."""
    return xxhash.xxh3_64_hexdigest(json.dumps(config, sort_keys=True, default=str).encode())


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary sibling path; on success it replaces `path` in one rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json_atomic(path: Path, value: Any) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")


class Workspace:
    """Paths and bookkeeping of a workspace folder."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def stage_dir(self, stage: str) -> Path:
        return self.root / stage

    def quarantine_dir(self, stage: str) -> Path:
        return self.root / "quarantine" / stage

    def begin_stage(self, stage: str, config: dict[str, Any], restart: bool = False) -> None:
        """Record the stage config in run.json; refuse to resume one made with another config."""
        run_file = self.stage_dir(stage) / "run.json"
        digest = config_hash(config)
        if run_file.exists() and not restart:
            previous = json.loads(run_file.read_text())
            if previous.get("config_hash") == digest:
                return
            raise ConfigChangedError(
                f"{self.stage_dir(stage)} was made with a different {stage} config "
                f"(hash {previous.get('config_hash')} there, {digest} now); pass --restart to start it over", stage
            )
        if restart:
            self.clear_stage(stage)
        write_json_atomic(run_file, {"stage": stage, "config_hash": digest, "config": config, "version": __version__})

    def clear_stage(self, stage: str) -> None:
        for folder in (self.stage_dir(stage), self.quarantine_dir(stage)):
            if folder.exists():
                shutil.rmtree(folder)

    def done_marker(self, stage: str, task_id: str) -> Path:
        return self.stage_dir(stage) / "_done" / f"{task_id}.json"

    def running_stats(self, stage: str, task_id: str) -> Path:
        return self.stage_dir(stage) / "_stats" / f"{task_id}.json"

    def is_done(self, stage: str, task_id: str) -> bool:
        return self.done_marker(stage, task_id).exists()

    def mark_done(self, stage: str, task_id: str, stats: dict[str, Any]) -> None:
        write_json_atomic(self.done_marker(stage, task_id), stats)
        self.running_stats(stage, task_id).unlink(missing_ok=True)

    def stages(self) -> list[str]:
        """Stages that have a run.json, in pipeline order where known."""
        order = ["collect", "curate", "select", "mix", "pack", "train", "eval"]
        found = [p.parent.name for p in self.root.glob("*/run.json")]
        return sorted(found, key=lambda s: (order.index(s) if s in order else len(order), s))
