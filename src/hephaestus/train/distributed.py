"""Data-parallel training on several GPUs or nodes with `torchrun`: process group, FSDP2 sharding, batch slicing,
reductions and full-state checkpoints. Without torchrun (WORLD_SIZE unset or 1) every helper is a no-op and the
loop runs exactly as in one process.

- Process group: nccl with device cuda:LOCAL_RANK on CUDA, gloo on the CPU; set up and torn down by `session`.
- Sharding: FSDP2 (`fully_shard`) on every decoder layer (the model's `_no_split_modules`), then on the root;
  on CUDA with bf16 parameters in compute and fp32 gradient reduction. Every rank must build the same initial
  model (proxies are seeded; checkpoints load identically), since each keeps its shard of its own copy.
- Batches: `TrainConfig.batch_size` is the *global* micro-batch whatever the world size, so a step trains on
  batch_size × grad_accum sequences on 1 GPU or 64. Every rank draws the same global batch from the same seeded
  `Batches` and trains on its own contiguous rows of it (`local_rows`). Each rank divides its summed token loss
  by the global count of trained tokens and the gradients are summed over ranks, so a run on N processes follows
  the same trajectory as on one, up to the order of floating-point reductions.
- Checkpoints: full (unsharded) state dicts gathered to rank 0, which writes the very file a single process
  would (optimizer state keyed by parameter index, as `Optimizer.state_dict()`); on resume rank 0 reads it and
  broadcasts it to the shards. A checkpoint therefore resumes on any number of processes, and only rank 0 needs
  the output folder (the packed data must be readable on every node).
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch.distributed.checkpoint.state_dict import (
    StateDictOptions,
    get_model_state_dict,
    get_state_dict,
    set_model_state_dict,
    set_optimizer_state_dict,
)
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

from hephaestus.train.checkpoint import latest_checkpoint, load_checkpoint, set_rng_state
from hephaestus.train.data import IGNORE

_SESSIONS = itertools.count()  # sessions of this process, counted alike on every rank


def active() -> bool:
    """Whether this process is one of several: a process group of 2+ ranks, or torchrun's WORLD_SIZE > 1."""
    return world_size() > 1


def world_size() -> int:
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    return int(os.environ.get("RANK", "0"))


def is_main() -> bool:
    """Rank 0: the one process that prints and writes metrics, checkpoints and the final model."""
    return rank() == 0


@contextlib.contextmanager
def session(device: str | None = None) -> Iterator[torch.device]:
    """The device this process trains on (`device`, default cuda if available, else cpu).

    Under torchrun with several processes, CUDA means cuda:LOCAL_RANK, and the process group (nccl on CUDA, gloo
    on the CPU) is initialised for the duration and destroyed at the end, unless it already existed: then its
    owner tears it down. Every session rendezvouses under its own prefix of torchrun's store: a second default
    group under the same keys would find the first one's stale addresses and hang, so that a process (such as a
    recipe's stages 1, 2 and 3) can train several times.
    """
    chosen = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if not active():
        yield chosen
        return
    if chosen.type == "cuda":
        chosen = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(chosen)
    owner = not dist.is_initialized()
    if owner:
        store, rank_, size = next(dist.rendezvous("env://"))
        store = dist.PrefixStore(f"hephaestus/session{next(_SESSIONS)}", store)
        if chosen.type == "cuda":
            dist.init_process_group("nccl", store=store, rank=rank_, world_size=size, device_id=chosen)
        else:
            dist.init_process_group("gloo", store=store, rank=rank_, world_size=size)
    try:
        yield chosen
    finally:
        if owner and dist.is_initialized():
            dist.destroy_process_group()


def shard(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """Shard `model` (already on `device`) with FSDP2 over all ranks: each decoder layer, then the root.

    Gradients are summed over ranks, not averaged: each rank's loss is already divided by the global number of
    trained tokens. A no-op in one process.
    """
    if not active():
        return model
    mesh = init_device_mesh(device.type, (world_size(),))
    if device.type == "cuda":
        policy = MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32)
    else:
        policy = MixedPrecisionPolicy()
    blocks = set(getattr(model, "_no_split_modules", None) or ())
    layers = [module for module in model.modules() if type(module).__name__ in blocks]
    if not layers:
        raise ValueError(f"{type(model).__name__}: no decoder layers ({blocks or 'no _no_split_modules'}) to shard")
    for layer in layers:
        fully_shard(layer, mesh=mesh, mp_policy=policy)
    fully_shard(model, mesh=mesh, mp_policy=policy)
    for module in [*layers, model]:
        module.set_gradient_divide_factor(1.0)
        module.set_force_sum_reduction_for_comms(True)  # a plain SUM, which gloo supports (no PREMUL_SUM)
    return model


def local_rows(batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """This rank's contiguous share of a global batch (split as evenly as `tensor_split` does).

    A rank left without rows (fewer rows than ranks) gets the first row with every label IGNORE: it still runs
    the forward and backward that FSDP's collectives need, and adds nothing to the loss.
    """
    if not active():
        return dict(batch)
    rows = {key: value.tensor_split(world_size())[rank()] for key, value in batch.items()}
    if rows["input_ids"].shape[0] == 0:
        rows = {key: value[:1] for key, value in batch.items()}
        rows["labels"] = torch.full_like(rows["labels"], IGNORE)
    return rows


def all_sum(value: torch.Tensor) -> torch.Tensor:
    """The sum of `value` over ranks (a new tensor); `value` itself in one process."""
    if not active():
        return value
    total = value.detach().clone()
    dist.all_reduce(total)
    return total


def sum_float(value: float, device: torch.device) -> float:
    """The sum of a Python float over ranks, in float64; `value` itself in one process."""
    if not active():
        return value
    return all_sum(torch.tensor(value, dtype=torch.float64, device=device)).item()


def full_state(model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> tuple[dict, dict]:
    """Model and optimizer state dicts as one process would have them, on rank 0 (empty on the others).

    Called on every rank (the shards are gathered); the optimizer's state is keyed by parameter index.
    """
    if not active():
        return model.state_dict(), optimizer.state_dict()
    options = StateDictOptions(full_state_dict=True, cpu_offload=True)
    model_state, optimizer_state = get_state_dict(model, optimizer, options=options)
    return (model_state, _by_index(optimizer_state)) if is_main() else ({}, {})


def resume_state(folder: Path) -> dict[str, Any] | None:
    """The latest checkpoint in `folder` (None if there is none) with its "path", its RNG states restored here.

    With several processes rank 0 reads it and broadcasts everything but the model and optimizer tensors, which
    `load_state` broadcasts into the shards; the other ranks get "model" and "optimizer" as None.
    """
    if not active():
        return _read_latest(folder)
    state = _read_latest(folder) if is_main() else None
    light = [None if state is None else {k: v for k, v in state.items() if k not in ("model", "optimizer")}]
    dist.broadcast_object_list(light, src=0)
    if light[0] is None:
        return None
    if not is_main():
        set_rng_state(light[0]["rng"])
        return {**light[0], "model": None, "optimizer": None}
    return state


def load_state(model: torch.nn.Module, optimizer: torch.optim.Optimizer, state: Mapping[str, Any]) -> None:
    """Load the "model" and "optimizer" of a `resume_state` into the (sharded) model and optimizer."""
    if not active():
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        return
    model_state, optimizer_state = {}, {}
    if is_main():
        model_state, optimizer_state = state["model"], _by_name(state["optimizer"], model, optimizer)
    # Two calls, not set_state_dict: that one skips the model on ranks given an empty model state (it takes them
    # for optimizer-only loads), so rank 0 would wait forever in the model's broadcast.
    options = StateDictOptions(full_state_dict=True, broadcast_from_rank0=True)
    set_model_state_dict(model, model_state, options=options)
    set_optimizer_state_dict(model, optimizer, optimizer_state, options=options)


def save_pretrained(model: torch.nn.Module, folder: Path) -> None:
    """`model.save_pretrained(folder)`, of the gathered full weights by rank 0 when sharded; all ranks return
    once the folder is written."""
    if not active():
        model.save_pretrained(folder)
        return
    options = StateDictOptions(full_state_dict=True, cpu_offload=True)
    weights = get_model_state_dict(model, options=options)  # on every rank; filled on rank 0 only
    if is_main():
        model.save_pretrained(folder, state_dict=weights)
    dist.barrier()


def _read_latest(folder: Path) -> dict[str, Any] | None:
    path = latest_checkpoint(folder)
    return None if path is None else {**load_checkpoint(path), "path": str(path)}


def _by_index(state: Mapping[str, Any]) -> dict[str, Any]:
    """An optimizer state keyed by parameter name (torch.distributed.checkpoint) keyed by index instead, as
    `Optimizer.state_dict()`: the names are numbered in the order of the param groups."""
    index: dict[str, int] = {}
    groups = []
    for group in state["param_groups"]:
        ids = [index.setdefault(name, len(index)) for name in group["params"]]
        groups.append({**group, "params": ids})
    return {"state": {index[name]: value for name, value in state["state"].items()}, "param_groups": groups}


def _by_name(state: Mapping[str, Any], model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """The inverse of `_by_index` for `optimizer` over `model`'s parameters."""
    names = {id(p): name for name, p in model.named_parameters()}
    order = [names[id(p)] for group in optimizer.param_groups for p in group["params"]]
    groups = [{**group, "params": [order[i] for i in group["params"]]} for group in state["param_groups"]]
    return {"state": {order[int(i)]: value for i, value in state["state"].items()}, "param_groups": groups}
