"""Document masking for packed sequences: no token attends to a token of another document.

A packed sequence holds several documents; its position ids restart at 0 at every document start. For the
"sdpa" and "eager" attention implementations the model gets an explicit 4-D block-diagonal causal mask built
from them; for the others ("flash_attention_*", "flex_attention", …) it gets the position ids alone with no
attention mask, from which Transformers derives the same per-document attention (varlen or packed block mask).
"""

from __future__ import annotations

import torch
from transformers import PretrainedConfig


def document_ids(position_ids: torch.Tensor) -> torch.Tensor:
    """[batch, seq] index of the document each token belongs to, counting the restarts of the position ids."""
    return (position_ids == 0).cumsum(-1)


def document_causal_mask(position_ids: torch.Tensor) -> torch.Tensor:
    """[batch, 1, seq, seq] bool mask, True where query q may attend to key k: k <= q in the same document."""
    docs = document_ids(position_ids)
    seq = position_ids.shape[-1]
    causal = torch.ones(seq, seq, dtype=torch.bool, device=position_ids.device).tril()
    return (causal & (docs[:, :, None] == docs[:, None, :]))[:, None]


def attention_inputs(config: PretrainedConfig, position_ids: torch.Tensor, dtype: torch.dtype) -> dict:
    """Keyword arguments for a Hugging Face causal LM's forward that confine attention to each document."""
    implementation = config._attn_implementation
    if implementation not in ("sdpa", "eager"):
        return {"position_ids": position_ids, "attention_mask": None}
    mask = document_causal_mask(position_ids)
    if implementation == "eager":  # eager attention adds the mask to the scores
        mask = torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(~mask, torch.finfo(dtype).min)
    return {"position_ids": position_ids, "attention_mask": mask}
