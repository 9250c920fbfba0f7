"""`hephaestus run`: the stages of a recipe in order, each resuming what is already done."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import Console

from hephaestus.config import Recipe
from hephaestus.workspace import Workspace

Report = Callable[[str, dict[str, Any]], None]
STAGES = ("collect", "curate", "select", "mix", "pack", "train", "eval")


def run_recipe(recipe: Recipe, workspace: Workspace, *, workers: int, restart: bool | str, console: Console,
               report: Report) -> None:
    """Run every stage the recipe configures; `report` is told each stage's summary (and may stop the run).

    `restart`: True starts every stage over; a stage name starts that one and every later one over (a later
    stage would otherwise resume on what the old run of an earlier one made).
    """
    from hephaestus.collect import collect

    first = 0 if restart is True else STAGES.index(restart) if restart else len(STAGES)
    again = {name: STAGES.index(name) >= first for name in STAGES}
    sources = [entry.build() for entry in recipe.collect.sources]
    report("collect", collect(sources, workspace, workers=workers, restart=again["collect"], console=console))
    if recipe.curate is not None:
        from hephaestus.curate.stage import curate

        report("curate", curate(workspace, recipe.curate.settings(), workers=workers, restart=again["curate"],
                                console=console))
    if recipe.select is not None:
        from hephaestus.select.stage import select

        report("select", select(workspace, recipe.select.settings(), restart=again["select"], console=console))
    if recipe.mix is not None:
        from hephaestus.mix.stage import mix

        report("mix", mix(workspace, recipe.mix.settings(), restart=again["mix"], console=console))
    if recipe.pack is not None:
        from hephaestus.pack.stage import pack

        report("pack", pack(workspace, recipe.pack.settings(), restart=again["pack"], console=console))
    if recipe.train is not None:
        from hephaestus.train.stage import train_stage

        for stage in sorted(recipe.train.stages):
            if stage == 3 and not (workspace.stage_dir("pack") / "stage3" / "pack.json").exists():
                console.print("train: no instruction data (trajectories with messages) was packed: stage 3 skipped")
                continue
            result = train_stage(workspace, recipe.train.settings(), stage, restart=again["train"], console=console)
            console.print(f"train: stage {stage} done: {result['model']} (loss {result['last']['loss']:.3f})",
                          highlight=False)
    if recipe.eval is not None:
        from hephaestus.evaluate.models import find_targets
        from hephaestus.evaluate.stage import evaluate

        evaluate(workspace, recipe.eval.settings(), find_targets(workspace, recipe.eval.models or None),
                 restart=again["eval"], console=console)
    if recipe.report:
        from hephaestus.report.html import build_report

        console.print(f"report: {build_report(workspace, title=recipe.name)}", highlight=False)
