"""A stage's summary: merged shard stats in total and per group, failed shards; WS/<stage>/stats.json."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from hephaestus.run.local import Outcome
from hephaestus.stats import merge
from hephaestus.workspace import Workspace, write_json_atomic


def summarise(workspace: Workspace, stage: str, groups: Mapping[str, str], outcomes: list[Outcome],
              seconds: float, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Merge the done markers of the planned tasks (`groups`: task id -> source name) into stats.json."""
    per_group: dict[str, list[dict[str, Any]]] = {}
    for task_id, group in groups.items():
        marker = workspace.done_marker(stage, task_id)
        if marker.exists():
            per_group.setdefault(group, []).append(json.loads(marker.read_text()))
    shards = [shard for group in per_group.values() for shard in group]
    summary = {
        **merge(shards),
        "shards_planned": len(groups),
        "wall_seconds": round(seconds, 3),
        "by_source": {name: merge(group) for name, group in sorted(per_group.items())},
        "failed": [{"task_id": o.task_id, "error": o.error} for o in outcomes if o.error],
        **(extra or {}),
    }
    write_json_atomic(workspace.stage_dir(stage) / "stats.json", summary)
    return summary
