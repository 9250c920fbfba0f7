"""An adapter to lm-evaluation-harness (`pip install hephaestus[lm-eval]`): general-ability tasks on a local
checkpoint, offline. Tasks come from the harness's registry or from YAML files in `include` folders; their
datasets must already be on disk (a local `data_files` path, or the Hugging Face datasets cache): nothing is
downloaded."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hephaestus.evaluate.models import EvalTarget
from hephaestus.workspace import WorkspaceError

INSTALL_HINT = "pip install 'hephaestus[lm-eval]'"


def _harness() -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # no model or dataset hub at run time
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    try:
        import lm_eval
        from lm_eval.tasks import TaskManager
    except ImportError as error:
        raise WorkspaceError(f"lm-evaluation-harness is not installed ({error}); {INSTALL_HINT}") from None
    return lm_eval, TaskManager


def run_lm_eval(target: EvalTarget, tasks: Sequence[str], *, include: Sequence[str] = (), batch_size: int = 8,
                limit: int | None = None, device: str = "cpu") -> dict[str, dict[str, float]]:
    """Run `tasks` on the checkpoint; the harness's numeric metrics per task (e.g. {"acc,none": 0.61})."""
    lm_eval, task_manager_class = _harness()
    for folder in include:
        if not Path(folder).is_dir():
            raise WorkspaceError(f"{folder}: no such lm-eval task folder")
    manager = task_manager_class(include_path=list(include), include_defaults=False) if include else None
    if manager is None or any(task not in manager.all_tasks for task in tasks):  # index the registry (slow) too
        manager = task_manager_class(include_path=list(include) or None)
    unknown = [task for task in tasks if task not in manager.all_tasks]
    if unknown:
        raise WorkspaceError(f"unknown lm-eval task(s) {', '.join(unknown)}; name registry tasks or pass "
                             "--lm-eval-include with their YAML files")
    try:
        output = lm_eval.simple_evaluate(
            model="hf", model_args=f"pretrained={target.path},local_files_only=True", tasks=list(tasks),
            task_manager=manager, batch_size=batch_size, limit=limit, device=device)
    except (OSError, ConnectionError) as error:  # a dataset that is neither local nor cached
        raise WorkspaceError(f"lm-eval could not load a task's data offline: {error}") from None
    return {task: {name: value for name, value in values.items() if _is_number(value)}
            for task, values in output["results"].items()}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)

