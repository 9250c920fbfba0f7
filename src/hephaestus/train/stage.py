"""The train stage: continual pre-training stage I (the mixture) and II (seed agent data), then
instruction tuning stage III, each one run of the loop over WS/pack/stage<N> into WS/train/stage<N>/.

Stage II starts from stage I's final model and stage III from stage II's, unless a model is named.
Validation loss is reported on every WS/pack/valid/<kind> set. A stage resumes from its latest
checkpoint when re-run with the same settings; `restart` starts it over.

Under `torchrun --nproc-per-node N -m hephaestus.cli train …` every process runs the stage on its share of each
batch (see hephaestus.train.distributed); rank 0 alone records the stage, prints and writes.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

from rich.console import Console
from transformers.utils import logging as transformers_logging

from hephaestus.pack.packer import PackedDataset
from hephaestus.pack.tokenizer import load_tokenizer
from hephaestus.train import distributed
from hephaestus.train.bench import bfcl_probe
from hephaestus.train.loop import TrainConfig, train
from hephaestus.train.model import build_model, count_parameters
from hephaestus.train.settings import STAGES, StageSettings, TrainSettings
from hephaestus.workspace import Workspace, WorkspaceError

transformers_logging.disable_progress_bar()  # our own progress lines say what happens


def starting_model(workspace: Workspace, settings: TrainSettings, stage: int, model: str | None) -> str:
    """What a stage starts from: the named model, else the previous stage's final model."""
    if model is not None or stage == 1:
        return model or settings.model
    previous = workspace.stage_dir("train") / f"stage{stage - 1}" / "final"
    if not (previous / "config.json").exists():
        raise WorkspaceError(f"{previous}: stage {stage - 1} has no final model; train it first or name --model")
    return str(previous)


def train_stage(workspace: Workspace, settings: TrainSettings, stage: int, *, model: str | None = None,
                restart: bool = False, console: Console | None = None) -> dict[str, Any]:
    console = console or Console(stderr=True)
    main = distributed.is_main()
    if not main:  # the other ranks of a torchrun job stay silent, here and in the caller
        console.quiet = True
    if stage not in STAGES:
        raise WorkspaceError(f"stage must be one of {STAGES}, not {stage}")
    pack_dir = workspace.stage_dir("pack")
    data_dir = pack_dir / f"stage{stage}"
    if not (data_dir / "pack.json").exists():
        raise WorkspaceError(f"{data_dir}: no packed data for stage {stage}; run `hephaestus pack` first"
                             + (" (stage III needs trajectories with messages)" if stage == 3 else ""))
    manifest = json.loads((pack_dir / "manifest.json").read_text())
    start = starting_model(workspace, settings, stage, model)
    name = f"train/stage{stage}"
    stage_settings = settings.stages.get(stage, StageSettings())
    config = {"settings": dataclasses.asdict(settings), "stage": stage, "model": start,
              "pack": manifest["tokenizer"]["fingerprint"]}
    if main:  # the others never touch the stage folder; train() syncs them with rank 0
        workspace.begin_stage(name, config, restart=restart)
    data = PackedDataset(data_dir)
    valid = {p.name: PackedDataset(p) for p in sorted((pack_dir / "valid").glob("*")) if (p / "pack.json").exists()}
    net = build_model(start, manifest["tokenizer"]["vocab_size"], data.seq_len, seed=settings.seed,
                      attn_implementation=settings.attention)
    console.print(f"train: stage {stage} from {start}: {count_parameters(net):,} parameters, "
                  f"{len(data):,} sequences of {data.seq_len} tokens, {stage_settings.steps} steps", highlight=False)
    out = workspace.stage_dir(name)
    run = TrainConfig(out_dir=out, steps=stage_settings.steps, batch_size=settings.batch_size,
                      grad_accum=settings.grad_accum, lr=stage_settings.lr, min_lr=stage_settings.min_lr,
                      warmup_steps=stage_settings.warmup_steps, schedule=stage_settings.schedule, seed=settings.seed,
                      compile=settings.compile, activation_checkpointing=settings.activation_checkpointing,
                      eval_every=settings.eval_every, eval_batches=settings.eval_batches,
                      checkpoint_every=settings.checkpoint_every, resume=True)
    tokenizer = Path(manifest["tokenizer"]["path"])
    probes = {}
    if settings.bench_items:
        probe, line = bfcl_probe(load_tokenizer(tokenizer), data.seq_len, settings.bench_items, settings.batch_size)
        console.print(f"train: {line}", highlight=False)
        probes = {"bfcl": probe} if probe is not None else {}
    last = train(net, data, run, valid=valid, probes=probes)
    for file in tokenizer.glob("*.json") if main else ():  # the final model loads with its tokenizer
        shutil.copy2(file, out / "final" / file.name)
    return {"stage": stage, "model": str(out / "final"), "start": start, "last": last,
            "metrics": str(out / "metrics.jsonl")}
