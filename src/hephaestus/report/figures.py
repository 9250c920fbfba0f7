"""The paper's corpus figures for a user's own run: composition (Figure 2a-c) and t-SNE (Figure 2d).

Each figure is written as PNG plus the data behind it as JSON, so the report and other tools can
use the numbers without reading pixels.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt
import numpy as np

KIND_COLOURS = {"tool_doc": "#1f77b4", "trajectory": "#ff7f0e", "code": "#2ca02c", "text": "#7f7f7f",
                "retrieved": "#000000"}
TOP_SOURCES = 12


def save_figure(fig: Any, path: Path, data: Mapping[str, Any]) -> Path:
    """Write `fig` as PNG at `path` and `data` as JSON beside it; close the figure."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    path.with_suffix(".json").write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    return path


def _top(counts: Mapping[str, float], limit: int = TOP_SOURCES) -> dict[str, float]:
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    top = dict(ordered[:limit])
    rest = sum(value for _, value in ordered[limit:])
    if rest:
        top["other"] = rest
    return top


def composition_figure(by_kind: Mapping[str, float], by_source: Mapping[str, float], path: Path,
                       unit: str = "records") -> Path:
    """Share of the corpus by kind and of the seed data by source, as two bar charts."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    kinds = dict(sorted(by_kind.items(), key=lambda item: -item[1]))
    total = sum(kinds.values()) or 1
    left.bar(list(kinds), [v / total * 100 for v in kinds.values()],
             color=[KIND_COLOURS.get(k, "#9467bd") for k in kinds])
    left.set_ylabel(f"% of {unit}")
    left.set_title("corpus by kind")
    sources = _top(by_source)
    right.barh(list(reversed(sources)), list(reversed(sources.values())), color="#1f77b4")
    right.set_xlabel(unit)
    right.set_title("seed data by source")
    fig.tight_layout()
    return save_figure(fig, path, {"unit": unit, "by_kind": dict(kinds), "by_source": dict(sources)})


def tsne_figure(points: np.ndarray, groups: Sequence[str], path: Path, distances: Mapping[str, float]) -> Path:
    """2-D t-SNE points coloured by group: seed sources in colour, retrieved black, general grey."""
    fig, axis = plt.subplots(figsize=(7.5, 6.5))
    order = sorted(set(groups), key=lambda g: (g in ("retrieved", "general"), g))
    palette = plt.get_cmap("tab10")
    labels = np.asarray(groups)
    for index, group in enumerate(order):
        mask = labels == group
        colour = {"retrieved": "#000000", "general": "#b0b0b0"}.get(group, palette(index % 10))
        axis.scatter(points[mask, 0], points[mask, 1], s=6, alpha=0.7, color=colour, label=f"{group} ({mask.sum()})")
    axis.set_xticks([])
    axis.set_yticks([])
    axis.legend(fontsize=7, markerscale=2, loc="best")
    summary = ", ".join(f"{name} {value:.3f}" for name, value in distances.items())
    axis.set_title(f"t-SNE of seed, retrieved and general documents\nmean cosine distance: {summary}", fontsize=9)
    data = {"groups": {g: int((labels == g).sum()) for g in order}, "distances": dict(distances)}
    return save_figure(fig, path, data)
