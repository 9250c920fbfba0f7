"""The scorer that turns web text into selection attributes."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
from rich.console import Console
from transformers.utils import logging as transformers_logging

from hephaestus.select.classifier import AgentClassifier, train_classifier
from hephaestus.select.corpus import hash_sample
from hephaestus.select.embed import Embedder, load_embedder
from hephaestus.select.retrieve import SeedIndex
from hephaestus.select.settings import SelectSettings
from hephaestus.workspace import write_json_atomic

transformers_logging.disable_progress_bar()  # our own progress lines say what happens


class Scorer:
    """The trained classifier, the embedder and the seed index, applied to batches of web records."""

    def __init__(self, classifier: AgentClassifier, embedder: Embedder, index: SeedIndex, seeds: pa.Table, k: int,
                 metrics: dict[str, Any]) -> None:
        self.classifier = classifier
        self.seeds = seeds  # the indexed seeds, in index order
        self.embedder = embedder
        self.index = index
        self.k = k
        self.metrics = metrics

    def attributes(self, batch: pa.Table) -> pa.Table:
        texts = batch.column("text").to_pylist()
        neighbours = self.index.top_k_attributes(self.embedder.encode(texts), self.k, self.embedder.name)
        return pa.table({
            "id": batch.column("id"),
            "agent_score": pa.array(self.classifier.score(texts), pa.float64()),
            "similarity": pa.array(neighbours.max_similarity, pa.float64()),
            "similarity_topk": pa.array(neighbours.mean_similarity, pa.float64()),
            "nearest_source": pa.array(neighbours.nearest_source.tolist(), pa.string()),
        })


def _texts(column: pa.ChunkedArray) -> Iterator[str]:
    """The strings of a column, a chunk at a time (not all of them as Python objects at once)."""
    for chunk in column.chunks:
        for start in range(0, len(chunk), 4096):
            yield from chunk.slice(start, 4096).to_pylist()


def source_family(source: str) -> str:
    """`botocore:s3` -> `botocore`; `trajectories:bfcl:simple` -> `trajectories:bfcl`."""
    parts = source.split(":")
    return ":".join(parts[:2]) if parts[0] == "trajectories" and len(parts) > 2 else parts[0]


def train_or_load(stage_dir: Path, settings: SelectSettings, seeds: pa.Table, read_web: Callable[[], pa.Table],
                  console: Console) -> Scorer:
    """Train the classifier (on up to `max_train_per_class` seeds and the general documents `read_web` gives)
    and index up to `max_seeds` seeds, or load both when a previous run made them."""
    metrics_file = stage_dir / "classifier.json"
    model_dir = stage_dir / "classifier"
    if metrics_file.exists():
        metrics = json.loads(metrics_file.read_text())
        classifier = AgentClassifier.load(metrics["model"])
    else:
        positives = hash_sample(seeds, settings.max_train_per_class).column("text")
        negatives = hash_sample(read_web(), settings.max_train_per_class).column("text")
        console.print(f"select: training the agent classifier on {len(positives):,} seed and "
                      f"{len(negatives):,} general documents")
        classifier, metrics = train_classifier(_texts(positives), _texts(negatives), workdir=model_dir,
                                               epoch=settings.classifier_epochs)
        del negatives
        write_json_atomic(metrics_file, metrics)
    console.print("select: classifier on held-out data: " + ", ".join(
        f"{name} {metrics[name]:.3f}" for name in ("accuracy", "precision", "recall", "f1")))
    embedder = load_embedder(settings.embedder, max_seq_length=settings.max_seq_length)
    console.print(f"select: embedding with {embedder.name}")
    index_dir = stage_dir / "index"
    seeds = hash_sample(seeds, settings.max_seeds)
    if (index_dir / "meta.json").exists():
        index = SeedIndex.load(index_dir)
    else:
        console.print(f"select: embedding {seeds.num_rows:,} seed documents")
        families = [source_family(s) for s in seeds.column("source").to_pylist()]
        index = SeedIndex.from_texts(embedder, seeds.column("text").to_pylist(), families)
        index.save(index_dir)
    return Scorer(classifier, embedder, index, seeds, settings.k, metrics)
