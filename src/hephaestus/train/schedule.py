"""Learning-rate schedules for continual pre-training: linear re-warm-up, then cosine or warmup-stable-decay."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Schedule:
    """The learning rate of every optimizer step 0..total_steps-1.

    Steps 0..warmup_steps-1 rise linearly to `peak_lr` (re-warm-up of a pre-trained model); then "cosine"
    decays to `min_lr` at the last step, "wsd" holds `peak_lr` and decays linearly to `min_lr` over the last
    `decay_fraction` of all steps, and "constant" holds `peak_lr`.
    """

    peak_lr: float
    total_steps: int
    warmup_steps: int = 0
    min_lr: float = 0.0
    kind: Literal["cosine", "wsd", "constant"] = "cosine"
    decay_fraction: float = 0.1

    def __post_init__(self) -> None:
        if self.kind not in ("cosine", "wsd", "constant"):
            raise ValueError(f"unknown schedule {self.kind!r}: use cosine, wsd or constant")
        if not 0 <= self.warmup_steps <= self.total_steps or not 0 <= self.min_lr <= self.peak_lr:
            raise ValueError(f"need 0 <= warmup_steps <= total_steps and 0 <= min_lr <= peak_lr: {self}")
        if not 0 <= self.decay_fraction <= 1:
            raise ValueError(f"decay_fraction must be in [0, 1]; got {self.decay_fraction}")

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return self.peak_lr * (step + 1) / self.warmup_steps
        if self.kind == "constant":
            return self.peak_lr
        start = self.warmup_steps
        if self.kind == "wsd":
            start = max(start, self.total_steps - round(self.decay_fraction * self.total_steps))
        if step < start:
            return self.peak_lr
        progress = min(1.0, (step - start + 1) / max(1, self.total_steps - start))
        if self.kind == "wsd":
            return self.peak_lr - (self.peak_lr - self.min_lr) * progress
        return self.min_lr + (self.peak_lr - self.min_lr) * 0.5 * (1 + math.cos(math.pi * progress))
