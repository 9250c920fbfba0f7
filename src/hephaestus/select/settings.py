"""Settings of the select stage (apart from the stage, so that recipes load without its models)."""

from __future__ import annotations

from dataclasses import dataclass

from hephaestus.select.corpus import SEED_KINDS


@dataclass(frozen=True)
class SelectSettings:
    embedder: str = "default"  # 'default' (all-MiniLM-L6-v2 from its pip package), a local path, or 'hashing'
    max_seq_length: int = 256
    k: int = 5
    rule: str = "similarity >= p90 and agent_score >= 0.5"
    max_seeds: int = 50_000
    max_train_per_class: int = 50_000
    seed_kinds: tuple[str, ...] = SEED_KINDS
    web_sources: tuple[str, ...] = ("*",)
    batch_rows: int = 1024
    tsne_points: int = 1500
    classifier_epochs: int = 10
