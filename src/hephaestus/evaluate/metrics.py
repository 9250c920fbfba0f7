"""The evaluate stage's three measurements for one loaded model: held-out split losses, BFCL benchmark loss
(NLL of the ground-truth calls) and BFCL accuracy (greedy generation scored by the official AST checker)."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from rich.console import Console
from transformers import PreTrainedModel

from hephaestus.evaluate.bfcl_data import BfclItem
from hephaestus.evaluate.bfcl_prompt import pick_shots, reference_answer, render_prompt
from hephaestus.evaluate.bfcl_score import score_bfcl, write_item_results
from hephaestus.evaluate.generate import generate
from hephaestus.evaluate.models import max_positions
from hephaestus.evaluate.nll import answer_loss, pack_loss
from hephaestus.pack.packer import PackedDataset
from hephaestus.pack.tokenizer import TokenizerHandle
from hephaestus.workspace import Workspace

if TYPE_CHECKING:
    from hephaestus.evaluate.settings import EvalSettings


def split_losses(workspace: Workspace, model: PreTrainedModel, tokenizer: TokenizerHandle, settings: EvalSettings,
                 device: torch.device, notes: list[str]) -> dict[str, dict[str, Any]]:
    """NLL per kind on WS/pack/valid/<kind>, when the model reads the pack's tokens; else a note says why not."""
    pack_dir = workspace.stage_dir("pack")
    manifest_path = pack_dir / "manifest.json"
    if not manifest_path.is_file():
        notes.append(f"held-out splits: {manifest_path} not found (no pack stage)")
        return {}
    packed_with = json.loads(manifest_path.read_text())["tokenizer"]["fingerprint"]
    if packed_with != tokenizer.fingerprint:
        notes.append("held-out splits skipped: the model's tokenizer is not the one the pack was tokenised with")
        return {}
    losses = {}
    for folder in sorted((pack_dir / "valid").glob("*/pack.json")):
        data = PackedDataset(folder.parent)
        if data.seq_len > max_positions(model):
            notes.append(f"valid/{folder.parent.name} skipped: sequences of {data.seq_len} tokens exceed the model's "
                         f"{max_positions(model)} positions")
            continue
        tally = pack_loss(model, data, batch_size=settings.batch_size, max_batches=settings.valid_batches or None,
                          device=device)
        losses[folder.parent.name] = tally.as_dict()
    return losses


def bfcl_bench_loss(model: PreTrainedModel, tokenizer: TokenizerHandle, items: list[BfclItem],
                    settings: EvalSettings, device: torch.device) -> dict[str, dict[str, Any]]:
    """Per BFCL category: NLL of the ground-truth calls (our format) after the question and function docs."""
    by_category: dict[str, list[BfclItem]] = defaultdict(list)
    for item in items:
        if item.answer:
            by_category[item.category].append(item)
    losses = {}
    for category, group in by_category.items():
        prompts = tokenizer.encode_batch([render_prompt(item, style="chat") for item in group])
        answers = tokenizer.encode_batch([reference_answer(item) for item in group])
        tally = answer_loss(model, prompts, answers, batch_size=settings.batch_size, max_len=max_positions(model),
                            device=device, pad_id=tokenizer.eos_id)
        losses[f"bfcl/{category}"] = tally.as_dict()
    return losses


def bfcl_accuracy(model: PreTrainedModel, tokenizer: TokenizerHandle, items: list[BfclItem], settings: EvalSettings,
                  style: str, device: torch.device, out: Path, console: Console) -> dict[str, Any]:
    """Generate an answer to every question, score with the official AST checker; answers go to `out` (JSONL)."""
    prompts = []
    for item in items:
        shots = pick_shots(items, item, settings.shots) if style == "base" else ()
        prompts.append(render_prompt(item, style=style, shots=shots))
    console.print(f"eval: BFCL: generating {len(prompts):,} answers (greedy, ≤ {settings.max_new_tokens} tokens)",
                  highlight=False)
    texts = generate(model, tokenizer, prompts, batch_size=settings.batch_size,
                     max_new_tokens=settings.max_new_tokens, console=console)
    scored = score_bfcl(items, {item.id: text for item, text in zip(items, texts, strict=True)})
    write_item_results(({**result, "output": text} for result, text in zip(scored["items"], texts, strict=True)), out)
    return {"categories": scored["categories"], "summary": scored["summary"], "style": style,
            "shots": settings.shots if style == "base" else 0}
