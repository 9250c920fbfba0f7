"""Benchmark loss while training: NLL per token of BFCL ground-truth calls after their questions and function
docs, in the format the evaluate stage uses (the paper's Figure 5 follows it against the tokens trained on).

The answers are tokenised once; at every validation point the probe runs the model over them (the first
`per_category` answered items of each AST category) and the loop records the result as `valid/bfcl`. Prompts
are cut from the left to `max_len`, the training sequence length, so the value equals the evaluate stage's
benchmark loss on those items whenever the model's positions are that long too (a fresh proxy's are).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from hephaestus.pack.tokenizer import TokenizerHandle

Probe = Callable[[torch.nn.Module, torch.device], float]


def bfcl_probe(tokenizer: TokenizerHandle, max_len: int, per_category: int, batch_size: int) -> tuple[Probe | None,
                                                                                                       str]:
    """The probe and a line saying what it measures, or None and why there is none."""
    try:
        from hephaestus.evaluate.bfcl_data import load_bfcl
        from hephaestus.evaluate.bfcl_prompt import reference_answer, render_prompt
        from hephaestus.evaluate.nll import answer_loss

        items = [item for item in load_bfcl(limit=per_category) if item.answer]
    except (ImportError, FileNotFoundError) as error:
        return None, f"no benchmark loss: BFCL data unavailable ({error}); install the `eval` extra"
    prompts = tokenizer.encode_batch([render_prompt(item, style="chat") for item in items])
    answers = tokenizer.encode_batch([reference_answer(item) for item in items])

    def probe(model: torch.nn.Module, device: torch.device) -> float:
        tally = answer_loss(model, prompts, answers, batch_size=batch_size, max_len=max_len, device=device,
                            pad_id=tokenizer.eos_id)
        return tally.nll_sum / max(1, tally.tokens)

    categories = len({item.category for item in items})
    return probe, f"benchmark loss (valid/bfcl): {len(items)} BFCL answers from {categories} categories"
