"""The select stage's figures: t-SNE of seed, retrieved and general documents, and corpus composition.

The distance summary printed beside the t-SNE is the evidence the paper's Figure 2d shows: the mean
cosine distance from retrieved documents to their nearest seed against that of general documents.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console

from hephaestus.report.figures import composition_figure, tsne_figure
from hephaestus.select.corpus import CorpusSplit, hash_sample, web_batches
from hephaestus.select.scoring import Scorer, source_family
from hephaestus.select.settings import SelectSettings
from hephaestus.workspace import Workspace

if TYPE_CHECKING:
    from collections.abc import Sequence


def _nearest_distance(queries: np.ndarray, targets: np.ndarray) -> float:
    """Mean over queries of the cosine distance to the nearest target (vectors are unit length)."""
    if not len(queries) or not len(targets):
        return float("nan")
    return float(np.mean(1.0 - (queries @ targets.T).max(axis=1)))


def _texts_of(files: Sequence[Path], split: CorpusSplit, ids: set[str]) -> list[str]:
    texts: dict[str, str] = {}
    for path in files:
        for batch in web_batches(path, split):
            for row_id, text in zip(batch.column("id").to_pylist(), batch.column("text").to_pylist(), strict=True):
                if row_id in ids:
                    texts.setdefault(row_id, text)
    return [texts[i] for i in sorted(texts)]


def write_figures(workspace: Workspace, files: Sequence[Path], scorer: Scorer, seeds: pa.Table, attrs: pa.Table,
                  chosen: set[str], settings: SelectSettings, console: Console) -> dict[str, Any]:
    """Write WS/figures/{tsne,composition}.png (+ .json); return their paths and the distance summary."""
    from sklearn.manifold import TSNE

    folder = workspace.root / "figures"
    split = CorpusSplit(settings.seed_kinds, settings.web_sources)
    per_group = max(10, settings.tsne_points // 3)
    seed_rows = sorted(hash_sample(pa.table({"id": seeds.column("id"), "row": pa.array(range(seeds.num_rows))}),
                                   per_group).column("row").to_pylist())
    seed_vectors = scorer.index.index.reconstruct_n(0, scorer.index.index.ntotal)[seed_rows]
    ids = attrs.column("id").to_pylist()
    retrieved_ids = set(hash_sample(pa.table({"id": sorted(chosen)}), per_group).column("id").to_pylist())
    general = pa.table({"id": sorted(set(ids) - chosen)})
    general_ids = set(hash_sample(general, per_group).column("id").to_pylist())
    retrieved = scorer.embedder.encode(_texts_of(files, split, retrieved_ids)) if retrieved_ids else np.zeros((0, 1))
    general_vectors = scorer.embedder.encode(_texts_of(files, split, general_ids))
    distances = {"retrieved→seed": _nearest_distance(retrieved, seed_vectors),
                 "general→seed": _nearest_distance(general_vectors, seed_vectors),
                 "retrieved→general": _nearest_distance(retrieved, general_vectors)}
    console.print("select: mean cosine distance to the nearest " + ", ".join(
        f"{k} {v:.3f}" for k, v in distances.items()), highlight=False)
    families = [source_family(s) for s in seeds.column("source").to_pylist()]
    groups = [families[r] for r in seed_rows] + ["retrieved"] * len(retrieved) + ["general"] * len(general_vectors)
    vectors = np.vstack([v for v in (seed_vectors, retrieved, general_vectors) if len(v)]).astype(np.float32)
    perplexity = float(max(2.0, min(30.0, (len(vectors) - 1) / 3)))
    points = TSNE(n_components=2, init="pca", perplexity=perplexity, random_state=0).fit_transform(vectors)
    tsne = tsne_figure(points, groups, folder / "tsne.png", distances)
    composition = composition_figure(*_composition(files, len(chosen)), folder / "composition.png")
    return {"tsne": str(tsne), "composition": str(composition), "distances": distances}


def _composition(files: Sequence[Path], retrieved: int) -> tuple[dict[str, float], dict[str, float]]:
    """Records by kind (curated + retrieved) and seed records by source family."""
    kinds: Counter[str] = Counter()
    seed_sources: Counter[str] = Counter()
    for path in files:
        table = pq.read_table(path, columns=["kind", "source"])
        for kind, source in zip(table.column("kind").to_pylist(), table.column("source").to_pylist(), strict=True):
            kinds[kind] += 1
            if kind != "text":
                seed_sources[source_family(source)] += 1
    if retrieved:
        kinds["retrieved"] += retrieved
    return dict(kinds), dict(seed_sources)
