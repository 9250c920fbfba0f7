"""Training curves through stages I-III (the paper's Figure 5): training loss and validation loss per kind.

Read from WS/train/stage<N>/metrics.jsonl and run.json; the x axis is tokens trained on, counted from each
stage's batch size, gradient accumulation and the packed sequence length (steps where that is unknown).
Written as PNG plus JSON like report/figures.py.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.ticker import EngFormatter

from hephaestus.report.figures import save_figure
from hephaestus.report.layout import read_json, read_jsonl
from hephaestus.workspace import Workspace

ROMAN = {1: "I", 2: "II", 3: "III"}
STAGE_COLOURS = {1: "#1f77b4", 2: "#ff7f0e", 3: "#2ca02c"}
MAX_POINTS = 400  # per stage in the JSON; the plot uses every step
BENCHMARK_LABELS = {"bfcl": "BFCL calls (benchmark loss)"}  # probes the train loop records beside the kinds


@dataclass
class StageCurve:
    """One training stage's metrics: per-step records, its settings and tokens per optimizer step."""

    stage: int
    records: list[dict[str, Any]]
    settings: dict[str, Any] = field(default_factory=dict)
    tokens_per_step: int | None = None

    @property
    def name(self) -> str:
        return f"stage {ROMAN.get(self.stage, self.stage)}"

    def valid(self) -> dict[str, list[tuple[int, float]]]:
        """Validation loss by kind (`valid/<kind>` keys) at the steps where it was evaluated."""
        by_kind: dict[str, list[tuple[int, float]]] = {}
        for record in self.records:
            for key, value in record.items():
                if key.startswith("valid/") and isinstance(value, int | float) and math.isfinite(value):
                    by_kind.setdefault(key.removeprefix("valid/"), []).append((record["step"], float(value)))
        return dict(sorted(by_kind.items()))


def read_curves(workspace: Workspace) -> list[StageCurve]:
    """Every trained stage with at least one metrics record, in stage order."""
    curves = []
    for folder in workspace.stage_dir("train").glob("stage*"):
        number = folder.name.removeprefix("stage")
        records = [r for r in read_jsonl(folder / "metrics.jsonl")
                   if isinstance(r.get("step"), int) and isinstance(r.get("loss"), int | float)]
        if not number.isdigit() or not records:
            continue
        run = read_json(folder / "run.json") or {}
        settings = (run.get("config") or {}).get("settings") or {}
        curves.append(StageCurve(int(number), records, settings, _tokens_per_step(workspace, int(number), settings)))
    return sorted(curves, key=lambda curve: curve.stage)


def _tokens_per_step(workspace: Workspace, stage: int, settings: dict[str, Any]) -> int | None:
    pack = read_json(workspace.stage_dir("pack") / f"stage{stage}" / "pack.json") or {}
    seq_len = pack.get("seq_len") or (read_json(workspace.stage_dir("pack") / "manifest.json") or {}).get("seq_len")
    batch, accum = settings.get("batch_size"), settings.get("grad_accum", 1)
    if not all(isinstance(v, int) and v > 0 for v in (seq_len, batch, accum)):
        return None
    return int(seq_len * batch * accum)


def positions(curves: Sequence[StageCurve]) -> tuple[str, list[float], list[list[float]]]:
    """The x axis ("tokens" or "steps"), where each stage starts on it, and each record's x value; a stage
    continues from where the previous one ended."""
    unit = "tokens" if curves and all(c.tokens_per_step for c in curves) else "steps"
    offset, starts, xs = 0.0, [], []
    for curve in curves:
        scale = (curve.tokens_per_step or 1) if unit == "tokens" else 1
        starts.append(offset)
        xs.append([offset + r["step"] * scale for r in curve.records])
        offset += curve.records[-1]["step"] * scale
    return unit, starts, xs


def training_figure(curves: Sequence[StageCurve], path: Path) -> Path:
    """Training loss (left) and validation loss per kind (right) across the stages; stage edges dashed."""
    unit, starts, xs = positions(curves)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5), sharex=True)
    kinds: dict[str, list[tuple[float, float]]] = {}
    data: dict[str, Any] = {"x": unit, "stages": {}, "valid": {}}
    for curve, start, x in zip(curves, starts, xs, strict=True):
        loss = [float(r["loss"]) for r in curve.records]
        colour = STAGE_COLOURS.get(curve.stage, "#9467bd")
        left.plot(x, loss, color=colour, linewidth=1, label=curve.name)
        at = {r["step"]: xi for r, xi in zip(curve.records, x, strict=True)}
        for kind, points in curve.valid().items():
            kinds.setdefault(kind, []).extend((at[step], value) for step, value in points)
        stride = max(1, len(loss) // MAX_POINTS)
        data["stages"][str(curve.stage)] = {
            "steps": curve.records[-1]["step"], "tokens_per_step": curve.tokens_per_step,
            "first_loss": loss[0], "final_loss": loss[-1], "start": start, "end": x[-1],
            "valid": {kind: points[-1][1] for kind, points in curve.valid().items()},
            "loss": [[x[i], loss[i]] for i in range(0, len(loss), stride)],
        }
    for index, (kind, points) in enumerate(sorted(kinds.items())):
        right.plot(*zip(*points, strict=True), marker="o", markersize=3, linewidth=1,
                   color=plt.get_cmap("tab10")(index % 10), label=BENCHMARK_LABELS.get(kind, kind))
        data["valid"][kind] = [list(point) for point in points]
    for start in starts[1:]:
        for axis in (left, right):
            axis.axvline(start, color="#999999", linestyle="--", linewidth=0.7)
    if not kinds:
        right.text(0.5, 0.5, "no validation loss recorded", ha="center", va="center", transform=right.transAxes)
    for axis, title in ((left, "training loss"), (right, "validation loss by kind, and benchmark loss")):
        axis.set_xlabel(f"{unit} trained")
        axis.xaxis.set_major_formatter(EngFormatter(sep=""))
        axis.set_ylabel("loss (nats/token)")
        axis.set_title(title)
        if axis.get_legend_handles_labels()[0]:
            axis.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path, data)
