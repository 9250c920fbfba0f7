"""Models to train: fresh Llama-style proxies by size name, or a local Hugging Face checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import torch
from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM, PreTrainedModel


class ProxySize(NamedTuple):
    hidden: int
    layers: int
    heads: int
    intermediate: int


# Llama-style shapes for scaling studies; the names count non-embedding parameters (head_dim 64).
PROXY_SIZES: dict[str, ProxySize] = {
    "tiny": ProxySize(128, 4, 2, 384),  # about 0.8M: for CPU smoke runs such as the quickstart
    "10m": ProxySize(256, 12, 4, 688),
    "30m": ProxySize(384, 16, 6, 1024),
    "100m": ProxySize(640, 20, 10, 1728),
    "400m": ProxySize(1024, 32, 16, 2816),
    "1b": ProxySize(2048, 20, 32, 5632),
}


def build_model(
    spec: str | Path,
    vocab_size: int,
    max_positions: int,
    dtype: torch.dtype = torch.float32,
    seed: int = 0,
    attn_implementation: str = "sdpa",
) -> PreTrainedModel:
    """A fresh proxy (`spec` in PROXY_SIZES) or the checkpoint in folder `spec`, checked against the data.

    `vocab_size` is the tokenizer's and `max_positions` the packed sequence length; a checkpoint whose embedding
    or position range is too small for them, or an attention implementation this machine lacks, raises
    ValueError, before any training starts.
    """
    try:
        return _build(spec, vocab_size, max_positions, dtype, seed, attn_implementation)
    except ImportError as error:  # e.g. flash_attention_2 without the flash-attn package
        raise ValueError(f"attention {attn_implementation!r} cannot be used here: {error}") from error


def _build(spec: str | Path, vocab_size: int, max_positions: int, dtype: torch.dtype, seed: int,
           attn_implementation: str) -> PreTrainedModel:
    if str(spec) in PROXY_SIZES:
        size = PROXY_SIZES[str(spec)]
        config = LlamaConfig(
            vocab_size=vocab_size,
            hidden_size=size.hidden,
            num_hidden_layers=size.layers,
            num_attention_heads=size.heads,
            num_key_value_heads=size.heads,
            intermediate_size=size.intermediate,
            max_position_embeddings=max_positions,
            use_cache=False,
        )
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return proxy(config, dtype, attn_implementation)
    path = Path(spec)
    if not (path / "config.json").is_file():
        known = ", ".join(PROXY_SIZES)
        raise ValueError(f"model {str(spec)!r} is neither a proxy size ({known}) nor a folder with config.json")
    model = AutoModelForCausalLM.from_pretrained(
        path, local_files_only=True, dtype=dtype, attn_implementation=attn_implementation
    )
    check_fits(model, vocab_size, max_positions)
    model.config.use_cache = False
    return model


def proxy(config: LlamaConfig, dtype: torch.dtype, attn_implementation: str) -> LlamaForCausalLM:
    """A freshly initialised LlamaForCausalLM of `config` (seed the torch RNG first for a reproducible init)."""
    config._attn_implementation = attn_implementation
    return LlamaForCausalLM(config).to(dtype)


def check_fits(model: PreTrainedModel, vocab_size: int, seq_len: int) -> None:
    """Raise ValueError if the model cannot embed `vocab_size` token ids or attend over `seq_len` positions."""
    rows = model.get_input_embeddings().num_embeddings
    if vocab_size > rows:
        raise ValueError(f"tokenizer vocabulary ({vocab_size}) is larger than the model's embedding ({rows} rows)")
    limit = getattr(model.config, "max_position_embeddings", None)
    if limit is not None and seq_len > limit:
        raise ValueError(f"sequence length {seq_len} exceeds the model's max_position_embeddings ({limit})")


def count_parameters(model: torch.nn.Module, embeddings: bool = True) -> int:
    """Number of distinct parameters; with `embeddings=False`, input and output embeddings are left out."""
    params = {id(p): p for p in model.parameters()}
    if not embeddings and isinstance(model, PreTrainedModel):
        for module in (model.get_input_embeddings(), model.get_output_embeddings()):
            if module is not None:
                params.pop(id(module.weight), None)
    return sum(p.numel() for p in params.values())
