"""Training checkpoints: one torch.save file per step with everything an exact resume needs.

A checkpoint holds model and optimizer state dicts, the schedule, the batch iterator's position and the
torch RNG states; everything else is plain Python, so it loads with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

PATTERN = "step_*.pt"


def save_checkpoint(folder: Path, step: int, state: dict[str, Any], keep: int = 2) -> Path:
    """Write `state` plus the RNG states as `folder/step_<step>.pt` atomically; keep only the last `keep` files."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"step_{step:09d}.pt"
    partial = path.with_suffix(".partial")
    torch.save({**state, "step": step, "rng": rng_state()}, partial)
    os.replace(partial, path)
    for old in sorted(folder.glob(PATTERN))[:-keep] if keep > 0 else []:
        old.unlink()
    return path


def latest_checkpoint(folder: Path) -> Path | None:
    """The checkpoint of the highest step in `folder`, or None."""
    found = sorted(folder.glob(PATTERN))
    return found[-1] if found else None


def load_checkpoint(path: Path) -> dict[str, Any]:
    """The state saved at `path` (on the CPU), after restoring the RNG states it holds."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    set_rng_state(state["rng"])
    return state


def rng_state() -> dict[str, Any]:
    """The CPU and CUDA RNG states: of every GPU, or of this process's own one when it is a rank of several (so
    as not to open a CUDA context on the other ranks' GPUs)."""
    if not torch.cuda.is_available():
        cuda = []
    elif _one_of_several():
        cuda = [torch.cuda.get_rng_state()]
    else:
        cuda = torch.cuda.get_rng_state_all()
    return {"cpu": torch.get_rng_state(), "cuda": cuda}


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["cpu"])
    if state["cuda"] and torch.cuda.is_available():
        if _one_of_several():
            torch.cuda.set_rng_state(state["cuda"][0])
        else:
            torch.cuda.set_rng_state_all(state["cuda"])


def _one_of_several() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1
