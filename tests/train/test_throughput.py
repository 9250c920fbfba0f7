import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from hephaestus.train.throughput import flops_per_token, format_duration, measure_peak_flops


def _llama(tie: bool) -> LlamaForCausalLM:
    config = LlamaConfig(vocab_size=1000, hidden_size=64, num_hidden_layers=3, num_attention_heads=4,
                         num_key_value_heads=2, intermediate_size=160, tie_word_embeddings=tie)
    return LlamaForCausalLM(config)


@pytest.mark.parametrize("tie", [False, True])
def test_flops_count_every_matmul_and_the_causal_attention(tie: bool) -> None:
    model = _llama(tie)
    per_layer = 64 * 64 * 2 + 2 * 64 * 32 + 3 * 64 * 160  # q and o; k and v (2 of 4 heads); gate, up, down
    norms = (2 * 3 + 1) * 64  # counted in N as usual (Kaplan et al.), though they do no matmul
    matmuls = 3 * per_layer + 1000 * 64  # the output projection computes even when tied to the input embedding
    assert flops_per_token(model, seq_len=128) == 6 * (matmuls + norms) + 6 * 3 * 64 * 128
    assert flops_per_token(model, seq_len=256) - flops_per_token(model, seq_len=128) == 6 * 3 * 64 * 128


def test_measured_peak_is_a_plausible_cpu_rate() -> None:
    before = torch.random.get_rng_state()
    peak = measure_peak_flops(torch.device("cpu"), repeats=2)
    assert 1e8 < peak < 1e14
    assert torch.equal(torch.random.get_rng_state(), before)


def test_durations_read_naturally() -> None:
    assert [format_duration(s) for s in (0, 42.4, 185, 3720, -1)] == ["0s", "42s", "3m05s", "1h02m", "0s"]
