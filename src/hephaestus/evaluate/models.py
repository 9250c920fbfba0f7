"""What the evaluate stage scores: local Hugging Face checkpoints with their tokenizers, found by path or
as the final models of a workspace's training stages."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, PreTrainedModel

from hephaestus.pack.tokenizer import TokenizerHandle, load_tokenizer
from hephaestus.workspace import Workspace, WorkspaceError


@dataclass(frozen=True)
class EvalTarget:
    """A checkpoint folder to evaluate and the label its results are filed under."""

    path: Path
    label: str
    instruction_tuned: bool


def label_for(path: Path) -> str:
    """`stage3` for WS/train/stage3/final, else the checkpoint folder's name."""
    return path.parent.name if path.name == "final" and path.parent.name.startswith("stage") else path.name


def find_targets(workspace: Workspace, models: list[str] | None = None, labels: list[str] | None = None,
                 chat: bool | None = None) -> list[EvalTarget]:
    """The named checkpoints, or else every trained stage's final model (stage 3 counts as instruction-tuned)."""
    if models:
        paths = [Path(model) for model in models]
    else:
        paths = sorted(p.parent for p in workspace.stage_dir("train").glob("stage*/final/config.json"))
        if not paths:
            raise WorkspaceError(f"{workspace.stage_dir('train')}: no trained model; run `hephaestus train` "
                                 "or name one with --model")
    if labels and len(labels) != len(paths):
        raise WorkspaceError(f"{len(labels)} labels for {len(paths)} models")
    targets = []
    for i, path in enumerate(paths):
        if not (path / "config.json").is_file():
            raise WorkspaceError(f"{path}: not a Hugging Face checkpoint folder (no config.json)")
        label = labels[i] if labels else label_for(path)
        tuned = chat if chat is not None else label_for(path) == "stage3"
        targets.append(EvalTarget(path, label, tuned))
    duplicates = {t.label for t in targets if [u.label for u in targets].count(t.label) > 1}
    if duplicates:
        raise WorkspaceError(f"two models share the label(s) {', '.join(sorted(duplicates))}; pass --label")
    return targets


def load_checkpoint(target: EvalTarget, device: torch.device) -> tuple[PreTrainedModel, TokenizerHandle]:
    """The model (eval mode, on `device`) and the tokenizer saved beside it."""
    try:
        tokenizer = load_tokenizer(target.path)
    except (OSError, ValueError) as error:
        raise WorkspaceError(f"{target.path}: no usable tokenizer beside the model ({error})") from error
    model = AutoModelForCausalLM.from_pretrained(target.path, local_files_only=True)
    rows = model.get_input_embeddings().num_embeddings
    if tokenizer.vocab_size > rows:
        raise WorkspaceError(f"{target.path}: tokenizer has {tokenizer.vocab_size} ids, the model embeds {rows}")
    return model.to(device).eval(), tokenizer


def max_positions(model: PreTrainedModel, default: int = 4096) -> int:
    return int(getattr(model.config, "max_position_embeddings", None) or default)
