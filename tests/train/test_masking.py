"""Document masking: a packed document's logits do not depend on the documents packed before it."""

from __future__ import annotations

import shutil

import pytest
import torch
from transformers import LlamaConfig

from hephaestus.train.masking import attention_inputs, document_causal_mask
from hephaestus.train.model import proxy

LENGTHS = (5, 7, 4)  # documents A, B, C packed into one sequence of 16


def tiny(attn_implementation: str) -> torch.nn.Module:
    config = LlamaConfig(vocab_size=50, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=4, intermediate_size=128, max_position_embeddings=32)
    torch.manual_seed(0)
    return proxy(config, torch.float32, attn_implementation).eval()


def packed() -> tuple[torch.Tensor, torch.Tensor]:
    tokens = torch.randint(1, 50, (1, sum(LENGTHS)), generator=torch.Generator().manual_seed(1))
    positions = torch.cat([torch.arange(n) for n in LENGTHS])[None]
    return tokens, positions


def logits(model: torch.nn.Module, tokens: torch.Tensor, positions: torch.Tensor, masking: bool) -> torch.Tensor:
    extra = attention_inputs(model.config, positions, model.dtype) if masking else {}
    with torch.no_grad():
        return model(input_ids=tokens, use_cache=False, **extra).logits


def test_mask_is_block_diagonal_and_causal() -> None:
    mask = document_causal_mask(torch.tensor([[0, 1, 0, 1, 2]]))
    expected = torch.tensor([[1, 0, 0, 0, 0], [1, 1, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, 1, 1, 0], [0, 0, 1, 1, 1]])
    assert mask.shape == (1, 1, 5, 5)
    assert torch.equal(mask[0, 0], expected.bool())


NEEDS_COMPILER = pytest.mark.skipif(shutil.which("cc") is None, reason="flex attention compiles: needs a C compiler")


@pytest.mark.parametrize("implementation", ["sdpa", "eager", pytest.param("flex_attention", marks=NEEDS_COMPILER)])
def test_perturbing_a_document_leaves_the_next_ones_logits_unchanged(implementation: str) -> None:
    model = tiny(implementation)
    tokens, positions = packed()
    perturbed = tokens.clone()
    perturbed[0, : LENGTHS[0]] = (perturbed[0, : LENGTHS[0]] + 7) % 50
    after_a = slice(LENGTHS[0], None)
    masked, masked_perturbed = (logits(model, t, positions, masking=True) for t in (tokens, perturbed))
    assert not torch.allclose(masked[0, : LENGTHS[0]], masked_perturbed[0, : LENGTHS[0]])  # A itself changed
    assert torch.equal(masked[0, after_a], masked_perturbed[0, after_a])
    # B packed after A gives the logits of B alone
    b = slice(LENGTHS[0], LENGTHS[0] + LENGTHS[1])
    alone = logits(model, tokens[:, b], positions[:, b], masking=True)
    torch.testing.assert_close(masked[0, b], alone[0], atol=1e-5, rtol=1e-5)
    # control: without document masking, B and C see A
    plain, plain_perturbed = (logits(model, t, positions, masking=False) for t in (tokens, perturbed))
    assert (plain[0, after_a] - plain_perturbed[0, after_a]).abs().amax() > 1e-3


def test_other_implementations_get_position_ids_only_from_which_transformers_masks() -> None:
    model = tiny("sdpa")
    tokens, positions = packed()
    model.config._attn_implementation = "flash_attention_2"
    assert attention_inputs(model.config, positions, torch.float32) == {"position_ids": positions,
                                                                           "attention_mask": None}
    model.config._attn_implementation = "sdpa"  # what flash and flex get, checked on the CPU
    with torch.no_grad():
        implicit = model(input_ids=tokens, position_ids=positions, attention_mask=None, use_cache=False).logits
    torch.testing.assert_close(implicit, logits(model, tokens, positions, masking=True), atol=1e-5, rtol=1e-5)
