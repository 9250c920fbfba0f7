"""LR schedules: linear re-warm-up, then cosine to min_lr, or hold then decay (WSD)."""

from __future__ import annotations

import itertools

import pytest

from hephaestus.train.schedule import Schedule


def test_cosine_warms_up_then_decays_to_min() -> None:
    schedule = Schedule(peak_lr=1.0, total_steps=10, warmup_steps=4, min_lr=0.1)
    lrs = [schedule(step) for step in range(10)]
    assert lrs[:4] == [0.25, 0.5, 0.75, 1.0]
    assert all(a > b for a, b in itertools.pairwise(lrs[3:]))
    assert lrs[-1] == pytest.approx(0.1)


def test_wsd_holds_then_decays_linearly() -> None:
    schedule = Schedule(peak_lr=1.0, total_steps=10, warmup_steps=2, min_lr=0.0, kind="wsd", decay_fraction=0.4)
    assert [schedule(step) for step in range(10)] == pytest.approx([0.5, 1, 1, 1, 1, 1, 0.75, 0.5, 0.25, 0])


def test_constant_and_invalid() -> None:
    assert Schedule(0.3, 5, kind="constant")(4) == 0.3
    with pytest.raises(ValueError, match="unknown schedule"):
        Schedule(1.0, 10, kind="linear")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="warmup_steps"):
        Schedule(1.0, 10, warmup_steps=11)
