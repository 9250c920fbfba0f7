"""The training loop: AdamW, gradient accumulation and clipping, LR schedule, document masking, evaluation,
JSONL metrics and checkpoints that resume exactly."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from transformers import PreTrainedModel

from hephaestus.pack.packer import PackedDataset
from hephaestus.train import distributed
from hephaestus.train.bench import Probe
from hephaestus.train.checkpoint import save_checkpoint
from hephaestus.train.data import IGNORE, Batches, sequential_batches
from hephaestus.train.masking import attention_inputs
from hephaestus.train.schedule import Schedule
from hephaestus.train.throughput import flops_per_token, format_duration, measure_peak_flops


@dataclass
class TrainConfig:
    """Settings of one training run; `steps` counts optimizer steps of batch_size × grad_accum sequences.

    batch_size is global: under torchrun each of the N processes trains on its 1/N share of every batch.
    """

    out_dir: Path
    steps: int
    batch_size: int = 8
    grad_accum: int = 1
    lr: float = 3e-4
    min_lr: float = 3e-5
    warmup_steps: int = 0
    schedule: str = "cosine"
    decay_fraction: float = 0.1
    weight_decay: float = 0.1
    betas: tuple[float, float] = (0.9, 0.95)
    grad_clip: float = 1.0  # 0: no clipping (the norm is still logged)
    seed: int = 0
    shuffle: bool = True
    document_masking: bool = True
    compile: bool = False
    activation_checkpointing: bool = False  # recompute each layer's activations in the backward pass
    device: str | None = None  # default: cuda if available, else cpu
    log_every: int = 10
    eval_every: int = 0  # 0: evaluate after the last step only
    eval_batches: int = 20
    checkpoint_every: int = 0  # 0: no checkpoints
    keep_checkpoints: int = 2
    resume: bool = False

    def schedule_fn(self) -> Schedule:
        return Schedule(self.lr, self.steps, self.warmup_steps, self.min_lr, self.schedule, self.decay_fraction)


def token_loss(model: torch.nn.Module, batch: Mapping[str, torch.Tensor], document_masking: bool) -> torch.Tensor:
    """Summed next-token cross-entropy over the batch's trained labels (IGNORE elsewhere)."""
    masking = attention_inputs(model.config, batch["position_ids"], model.dtype) if document_masking else {}
    logits = model(input_ids=batch["input_ids"], use_cache=False, **masking).logits
    targets = batch["labels"][:, 1:].flatten()
    return F.cross_entropy(logits[:, :-1].flatten(0, 1).float(), targets, ignore_index=IGNORE, reduction="sum")


@torch.no_grad()
def evaluate(model: torch.nn.Module, data: PackedDataset, config: TrainConfig, device: torch.device) -> float:
    """Mean loss per trained token over the first `eval_batches` batches of `data` (shared out over the ranks)."""
    model.eval()
    total, count = 0.0, 0
    for batch in sequential_batches(data, config.batch_size, config.eval_batches):
        with _autocast(device):
            total += token_loss(model, _to(distributed.local_rows(batch), device), config.document_masking).item()
        count += int((batch["labels"][:, 1:] != IGNORE).sum())
    model.train()
    return distributed.sum_float(total, device) / max(count, 1)


def train(
    model: PreTrainedModel,
    data: PackedDataset,
    config: TrainConfig,
    valid: Mapping[str, PackedDataset] | None = None,
    on_step: Callable[[dict[str, Any]], None] | None = None,
    probes: Mapping[str, Probe] | None = None,
) -> dict[str, Any]:
    """Train `model` on `data`, writing out_dir/metrics.jsonl, out_dir/checkpoints/ and out_dir/final/.

    With `config.resume` it continues from the latest checkpoint (if any) exactly as if never stopped. Every
    step's record (step, loss, lr, grad_norm, tokens_per_s, mfu, eta_s, and valid/<name> for every validation
    set and probe such as the benchmark loss, when evaluated) goes to the JSONL file and to `on_step`; the last
    record is returned.

    Under torchrun with several processes (see hephaestus.train.distributed) the model is sharded with FSDP2,
    every rank trains on its share of each batch and gets the same records, and rank 0 alone prints and writes.
    """
    with distributed.session(config.device) as device:
        return _train(model, data, config, device, valid or {}, on_step, probes or {})


def _train(
    model: PreTrainedModel,
    data: PackedDataset,
    config: TrainConfig,
    device: torch.device,
    valid: Mapping[str, PackedDataset],
    on_step: Callable[[dict[str, Any]], None] | None,
    probes: Mapping[str, Probe],
) -> dict[str, Any]:
    out, main = Path(config.out_dir), distributed.is_main()
    if main:
        out.mkdir(parents=True, exist_ok=True)
    flops = flops_per_token(model, data.seq_len)
    peak = measure_peak_flops(device) * distributed.world_size()
    if config.activation_checkpointing:
        model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
    model = distributed.shard(model.to(device).train(), device)
    torch.manual_seed(config.seed)
    decay = [p for p in model.parameters() if p.requires_grad and p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.dim() < 2]
    groups = [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    optimizer = torch.optim.AdamW(groups, lr=config.lr, betas=config.betas, fused=device.type == "cuda")
    schedule = config.schedule_fn()
    batches = Batches(data, config.batch_size, config.seed, config.shuffle)
    metrics, step = out / "metrics.jsonl", 0
    state = distributed.resume_state(out / "checkpoints") if config.resume else None
    if state is not None:
        if state["schedule"] != dataclasses.asdict(schedule):
            raise ValueError(f"cannot resume {state['path']}: schedule {state['schedule']} != {schedule}")
        distributed.load_state(model, optimizer, state)
        batches.load_state_dict(state["data"])
        step = state["step"]
    if main:
        _keep_records(metrics, step)
    forward = torch.compile(model) if config.compile else model
    record: dict[str, Any] = {}
    run_started, first_step = time.perf_counter(), step
    while step < config.steps:
        started = time.perf_counter()
        lr = schedule(step)
        for group in optimizer.param_groups:
            group["lr"] = lr
        micro = [next(batches) for _ in range(config.grad_accum)]
        targets = max(1, sum(int((b["labels"][:, 1:] != IGNORE).sum()) for b in micro))
        loss = torch.zeros((), device=device)
        for batch in micro:
            with _autocast(device):
                part = token_loss(forward, _to(distributed.local_rows(batch), device), config.document_masking)
            (part / targets).backward()
            loss += part.detach()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip or math.inf)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        tokens = sum(b["input_ids"].numel() for b in micro)
        now = time.perf_counter()
        record = {"step": step, "loss": distributed.all_sum(loss).item() / targets, "lr": lr,
                  "grad_norm": grad_norm.item(), "tokens_per_s": tokens / (now - started),
                  "mfu": tokens * flops / (now - started) / peak,
                  "eta_s": (now - run_started) / (step - first_step) * (config.steps - step)}
        if (valid or probes) and (step == config.steps or (config.eval_every and step % config.eval_every == 0)):
            record.update({f"valid/{name}": evaluate(forward, ds, config, device) for name, ds in valid.items()})
            record.update({f"valid/{name}": _probe(model, probe, device) for name, probe in probes.items()})
        if main:
            with metrics.open("a") as file:
                file.write(json.dumps(record) + "\n")
            if step % max(config.log_every, 1) == 0 or step == config.steps:
                print(_progress(record, config.steps), flush=True)
        if config.checkpoint_every and step % config.checkpoint_every == 0:
            weights, moments = distributed.full_state(model, optimizer)  # gathered to rank 0 when sharded
            if main:
                state = {"model": weights, "optimizer": moments, "schedule": dataclasses.asdict(schedule),
                         "data": batches.state_dict()}
                save_checkpoint(out / "checkpoints", step, state, config.keep_checkpoints)
        if on_step is not None:
            on_step(record)
    distributed.save_pretrained(model, out / "final")
    return record


def _probe(model: torch.nn.Module, probe: Probe, device: torch.device) -> float:
    """A probe's value, in eval mode, on the model not compiled (its inputs vary in shape)."""
    model.eval()
    try:
        return probe(model, device)
    finally:
        model.train()


def _to(batch: Mapping[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {key: value.to(device, non_blocking=True) for key, value in batch.items()}


def _autocast(device: torch.device) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA; full precision elsewhere."""
    return torch.autocast("cuda", torch.bfloat16) if device.type == "cuda" else contextlib.nullcontext()


def _keep_records(metrics: Path, step: int) -> None:
    """Drop the metrics of steps after `step` (lost in a crash, about to be redone); all of them when step is 0."""
    lines = metrics.read_text().splitlines() if metrics.exists() and step else []
    metrics.write_text("".join(line + "\n" for line in lines if json.loads(line)["step"] <= step))


def _progress(record: Mapping[str, Any], steps: int) -> str:
    valid = " ".join(f"{k} {v:.4f}" for k, v in record.items() if k.startswith("valid/"))
    return (f"step {record['step']}/{steps} loss {record['loss']:.4f} lr {record['lr']:.2e} "
            f"grad {record['grad_norm']:.3f} {record['tokens_per_s']:,.0f} tok/s MFU {record['mfu']:.1%} "
            f"ETA {format_duration(record['eta_s'])} {valid}").rstrip()
