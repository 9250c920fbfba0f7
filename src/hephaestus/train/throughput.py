"""Training throughput: model FLOPs per token, the device's measured matmul peak, MFU and time left.

FLOPs per token follow the usual convention (PaLM, appendix B): 6·N for the weights (forward and backward)
with N the non-embedding parameters plus the output projection (which multiplies even when tied to the input
embedding, whose lookup costs nothing), plus the causal attention term 6·L·d·T (half of 12·L·d·T, as a causal
mask computes half the score matrix). Document masking saves more, but MFU counts the causal term, as is usual.
"""

from __future__ import annotations

import time

import torch
from transformers import PreTrainedModel

from hephaestus.train.model import count_parameters


def flops_per_token(model: PreTrainedModel, seq_len: int) -> float:
    """Training FLOPs per token of a causal LM on sequences of `seq_len` (6·N plus the causal attention term)."""
    matmul_params = count_parameters(model, embeddings=False)
    output = model.get_output_embeddings()
    if output is not None:
        matmul_params += output.weight.numel()
    config = model.config
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    return 6.0 * matmul_params + 6.0 * config.num_hidden_layers * config.num_attention_heads * head_dim * seq_len


def measure_peak_flops(device: torch.device, repeats: int = 10) -> float:
    """Measured dense matmul FLOP/s of one device in the training precision: bf16 on CUDA, fp32 on CPU."""
    size, dtype = (8192, torch.bfloat16) if device.type == "cuda" else (1024, torch.float32)
    a = torch.full((size, size), 0.5, device=device, dtype=dtype)  # no random numbers: the RNG stays untouched
    b = torch.full((size, size), 0.25, device=device, dtype=dtype)
    for _ in range(2):  # warm-up: kernels chosen, clocks up
        a @ b
    _synchronize(device)
    started = time.perf_counter()
    for _ in range(repeats):
        a @ b
    _synchronize(device)
    return 2.0 * size**3 * repeats / (time.perf_counter() - started)


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def format_duration(seconds: float) -> str:
    """`1h02m`, `3m05s` or `42s`."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
