"""Settings of the train stage (apart from the stage, so that recipes load without PyTorch)."""

from __future__ import annotations

from dataclasses import dataclass, field

STAGES = (1, 2, 3)


@dataclass(frozen=True)
class StageSettings:
    steps: int = 100
    lr: float = 3e-4
    min_lr: float = 3e-5
    warmup_steps: int = 10
    schedule: str = "cosine"


@dataclass(frozen=True)
class TrainSettings:
    model: str = "10m"  # a proxy size (tiny, 10m, 30m, 100m, 400m, 1b) or a local Hugging Face checkpoint
    batch_size: int = 8
    grad_accum: int = 1
    seed: int = 0
    eval_every: int = 0
    eval_batches: int = 20
    bench_items: int = 8  # BFCL answers per category in the benchmark loss (valid/bfcl); 0: none
    checkpoint_every: int = 50
    compile: bool = False
    activation_checkpointing: bool = False  # trade compute for memory: recompute layer activations
    attention: str = "sdpa"  # a Transformers attention implementation: sdpa, flex_attention, flash_attention_2, eager
    stages: dict[int, StageSettings] = field(default_factory=lambda: {s: StageSettings() for s in STAGES})
