"""Run shard tasks on a local process pool (or in-process with one worker), with a progress bar."""

from __future__ import annotations

import multiprocessing
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any, TypeVar

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

Task = TypeVar("Task")


@dataclass(frozen=True)
class Outcome:
    """What one task gave back: its stats, or the error that stopped it."""

    task_id: str
    stats: dict[str, Any] | None
    error: str | None = None


def _call(fn: Callable[[Any], dict[str, Any]], task: Any, task_id: str) -> Outcome:
    try:
        return Outcome(task_id, fn(task))
    except Exception:  # one failing shard must not stop the others; the caller reports it
        return Outcome(task_id, None, traceback.format_exc())


def execute(
    tasks: Sequence[Task],
    fn: Callable[[Task], dict[str, Any]],
    task_id: Callable[[Task], str],
    *,
    workers: int = 1,
    label: str = "tasks",
    console: Console | None = None,
) -> list[Outcome]:
    """Run `fn` over every task; a task that raises is reported in its Outcome, the rest go on."""
    console = console or Console(stderr=True)
    outcomes: list[Outcome] = []
    if not tasks:
        return outcomes
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[records]:,} records"), TimeElapsedColumn(),
        console=console, transient=False, disable=not console.is_terminal,
    )
    if workers <= 1:
        with progress:
            bar = progress.add_task(label, total=len(tasks), records=0)
            for task in tasks:
                outcomes.append(_call(fn, task, task_id(task)))
                _advance(progress, bar, outcomes[-1])
        return outcomes
    # workers are forked while submitting, before the progress bar starts its refresh thread
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
        futures: list[Future[Outcome]] = [pool.submit(_call, fn, task, task_id(task)) for task in tasks]
        with progress:
            bar = progress.add_task(label, total=len(tasks), records=0)
            for future in as_completed(futures):
                outcomes.append(future.result())
                _advance(progress, bar, outcomes[-1])
    order = {task_id(task): i for i, task in enumerate(tasks)}
    return sorted(outcomes, key=lambda outcome: order[outcome.task_id])


def _advance(progress: Progress, bar: Any, outcome: Outcome) -> None:
    records = outcome.stats["records_out"] if outcome.stats else 0
    done_records = progress.tasks[0].fields["records"] + records
    progress.update(bar, advance=1, records=done_records)
