"""Greedy batched generation from text prompts with a Hugging Face causal LM and our tokenizer.

Prompts are encoded without special tokens, cut from the left when they leave fewer than `max_new_tokens`
of the model's positions (a note counts them), left-padded with an attention mask, and sorted by length so
that a batch wastes little padding. Each answer ends at the eos token or just before the first stop string;
a sequence that has stopped no longer holds the batch back from finishing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from transformers import GenerationConfig, PreTrainedModel, StoppingCriteria, StoppingCriteriaList

from hephaestus.chat_template import TURN_END
from hephaestus.pack.tokenizer import TokenizerHandle


class StopStrings(StoppingCriteria):
    """Per sequence: done once the text generated after `prompt_len` contains one of `stops`."""

    def __init__(self, tokenizer: TokenizerHandle, stops: Sequence[str], prompt_len: int) -> None:
        self.tokenizer, self.stops, self.prompt_len = tokenizer, tuple(stops), prompt_len
        self.done: torch.Tensor | None = None

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: object) -> torch.BoolTensor:
        if self.done is None:
            self.done = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        for row in (~self.done).nonzero().flatten().tolist():
            text = self.tokenizer.decode(input_ids[row, self.prompt_len:].tolist())
            self.done[row] = any(stop in text for stop in self.stops)
        return self.done.clone()


def max_prompt_tokens(model: PreTrainedModel, max_new_tokens: int) -> int:
    """How many prompt tokens fit before `max_new_tokens` new ones in the model's positions."""
    positions = getattr(model.config, "max_position_embeddings", None)
    return positions - max_new_tokens if positions else 1 << 62


def generate(
    model: PreTrainedModel,
    tokenizer: TokenizerHandle,
    prompts: Sequence[str],
    *,
    batch_size: int = 8,
    max_new_tokens: int = 128,
    stop: Sequence[str] = (TURN_END,),
    console: Console | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[str]:
    """The greedy continuation of each prompt (in prompt order), without the stop string or eos token.

    `progress(done, total)` is called after each batch; a progress bar shows on a terminal `console`.
    """
    if batch_size < 1 or max_new_tokens < 1:
        raise ValueError(f"batch_size and max_new_tokens must be >= 1, got {batch_size} and {max_new_tokens}")
    console = console or Console(stderr=True)
    limit = max_prompt_tokens(model, max_new_tokens)
    if limit < 1:
        raise ValueError(f"max_new_tokens={max_new_tokens} leaves no room for a prompt in the model's positions")
    encoded = tokenizer.encode_batch(list(prompts))
    if any(not ids for ids in encoded):
        raise ValueError("cannot generate from an empty prompt")
    cut = sum(len(ids) > limit for ids in encoded)
    if cut:
        console.print(f"generate: {cut:,} of {len(encoded):,} prompts cut from the left to their last {limit:,} "
                      f"tokens (model positions minus max_new_tokens={max_new_tokens})", highlight=False)
    encoded = [ids[-limit:] for ids in encoded]
    order = sorted(range(len(encoded)), key=lambda i: (-len(encoded[i]), i))
    config = GenerationConfig(max_new_tokens=max_new_tokens, do_sample=False, num_beams=1, use_cache=True,
                              eos_token_id=tokenizer.eos_id, pad_token_id=tokenizer.eos_id)
    texts: list[str] = [""] * len(encoded)
    bar = Progress(TextColumn("[bold]generate"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=console, disable=not console.is_terminal)
    was_training = model.training
    model.eval()
    try:
        with bar, torch.inference_mode():
            task = bar.add_task("generate", total=len(order))
            for start in range(0, len(order), batch_size):
                batch = order[start:start + batch_size]
                outputs = _generate_batch(model, tokenizer, [encoded[i] for i in batch], config, stop)
                for i, text in zip(batch, outputs, strict=True):
                    texts[i] = text
                bar.update(task, advance=len(batch))
                if progress is not None:
                    progress(min(start + batch_size, len(order)), len(order))
    finally:
        model.train(was_training)
    return texts


def _generate_batch(model: PreTrainedModel, tokenizer: TokenizerHandle, batch: list[list[int]],
                    config: GenerationConfig, stop: Sequence[str]) -> list[str]:
    device = next(model.parameters()).device
    width = max(len(ids) for ids in batch)
    input_ids = torch.full((len(batch), width), tokenizer.eos_id, dtype=torch.long)
    attention_mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, ids in enumerate(batch):  # left padding: every prompt ends where generation starts
        input_ids[row, width - len(ids):] = torch.tensor(ids)
        attention_mask[row, width - len(ids):] = 1
    criteria = StoppingCriteriaList([StopStrings(tokenizer, stop, width)] if stop else [])
    out = model.generate(input_ids=input_ids.to(device), attention_mask=attention_mask.to(device),
                         generation_config=config, stopping_criteria=criteria)
    texts = []
    for row in out[:, width:].tolist():
        if tokenizer.eos_id in row:
            row = row[:row.index(tokenizer.eos_id)]
        text = tokenizer.decode(row)
        ends = [text.find(s) for s in stop if s in text]
        texts.append(text[:min(ends)] if ends else text)
    return texts
