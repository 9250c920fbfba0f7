"""Negative log-likelihood of text under a causal LM: over packed held-out splits (validation, retention)
and over answers given their prompts (benchmark loss)."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from transformers import PreTrainedModel

from hephaestus.pack.packer import PackedDataset
from hephaestus.train.data import IGNORE, sequential_batches
from hephaestus.train.loop import token_loss


@dataclass
class LossTally:
    """Summed NLL over a number of scored tokens; `truncated` counts inputs cut to fit the model."""

    nll_sum: float = 0.0
    tokens: int = 0
    items: int = 0
    truncated: int = 0

    def as_dict(self) -> dict[str, float | int]:
        nll = self.nll_sum / self.tokens if self.tokens else math.nan
        return {"nll": nll, "perplexity": math.exp(min(nll, 700)) if self.tokens else math.nan,
                "tokens": self.tokens, "items": self.items, "truncated": self.truncated}


def autocast(device: torch.device) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA; full precision elsewhere (as in training)."""
    return torch.autocast("cuda", torch.bfloat16) if device.type == "cuda" else contextlib.nullcontext()


@torch.no_grad()
def pack_loss(model: PreTrainedModel, data: PackedDataset, *, batch_size: int, max_batches: int | None,
              device: torch.device) -> LossTally:
    """NLL per trained token over the first `max_batches` batches of a pack, with document masking."""
    tally = LossTally()
    for batch in sequential_batches(data, batch_size, max_batches):
        batch = {key: value.to(device) for key, value in batch.items()}
        with autocast(device):
            tally.nll_sum += token_loss(model, batch, document_masking=True).item()
        tally.tokens += int((batch["labels"][:, 1:] != IGNORE).sum())
        tally.items += len(batch["input_ids"])
    return tally


def _fit(prompt: list[int], answer: list[int], limit: int) -> tuple[list[int], list[int], bool]:
    """Cut the prompt from the left (then the answer from the right) so both fit in `limit` tokens."""
    if len(prompt) + len(answer) <= limit:
        return prompt, answer, False
    answer = answer[: limit - 1]
    return prompt[len(prompt) - (limit - len(answer)):], answer, True


@torch.no_grad()
def answer_loss(model: PreTrainedModel, prompts: Sequence[list[int]], answers: Sequence[list[int]], *,
                batch_size: int, max_len: int, device: torch.device, pad_id: int = 0) -> LossTally:
    """NLL of each answer's tokens given its prompt's, summed over all pairs (prompts cut from the left)."""
    tally = LossTally()
    for start in range(0, len(prompts), batch_size):
        pairs = [_fit(list(p), list(a), max_len) for p, a in
                 zip(prompts[start:start + batch_size], answers[start:start + batch_size], strict=True)]
        width = max(len(p) + len(a) for p, a, _ in pairs)
        ids = torch.full((len(pairs), width), pad_id, dtype=torch.long)
        labels = torch.full_like(ids, IGNORE)
        attention = torch.zeros_like(ids)
        for row, (prompt, answer, cut) in enumerate(pairs):
            sequence = torch.tensor(prompt + answer, dtype=torch.long)
            ids[row, : len(sequence)] = sequence
            labels[row, len(prompt): len(sequence)] = sequence[len(prompt):]
            attention[row, : len(sequence)] = 1
            tally.truncated += cut
        ids, labels, attention = ids.to(device), labels.to(device), attention.to(device)
        with autocast(device):
            logits = model(input_ids=ids, attention_mask=attention, use_cache=False).logits
        tally.nll_sum += F.cross_entropy(logits[:, :-1].flatten(0, 1).float(), labels[:, 1:].flatten(),
                                         ignore_index=IGNORE, reduction="sum").item()
        tally.tokens += int((labels[:, 1:] != IGNORE).sum())
        tally.items += len(pairs)
    return tally
