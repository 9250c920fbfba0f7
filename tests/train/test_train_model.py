"""build_model: proxies by size name, local checkpoints, and clear errors before training."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from hephaestus.train.model import PROXY_SIZES, build_model, count_parameters


def test_proxy_sizes_match_their_names() -> None:
    expected = {"tiny": 0.8e6, "10m": 10e6, "30m": 30e6, "100m": 100e6, "400m": 400e6, "1b": 1e9}
    assert set(PROXY_SIZES) == set(expected)
    for name, size in expected.items():
        with torch.device("meta"):
            model = build_model(name, vocab_size=32000, max_positions=2048)
        assert 0.9 * size < count_parameters(model, embeddings=False) < 1.1 * size
        embeddings = count_parameters(model) - count_parameters(model, embeddings=False)
        assert embeddings == 2 * 32000 * model.config.hidden_size


def test_proxy_init_is_seeded_and_checkpoint_round_trips(tmp_path: Path) -> None:
    first, second = (build_model("10m", 300, 64, seed=3) for _ in range(2))
    assert all(torch.equal(a, b) for a, b in zip(first.parameters(), second.parameters(), strict=True))
    first.save_pretrained(tmp_path / "ckpt")
    loaded = build_model(tmp_path / "ckpt", vocab_size=300, max_positions=64)
    assert all(torch.equal(a, b) for a, b in zip(first.parameters(), loaded.parameters(), strict=True))
    with pytest.raises(ValueError, match="max_position_embeddings"):
        build_model(tmp_path / "ckpt", vocab_size=300, max_positions=65)
    with pytest.raises(ValueError, match="vocabulary"):
        build_model(tmp_path / "ckpt", vocab_size=301, max_positions=64)


def test_unknown_spec_names_the_known_sizes(tmp_path: Path) -> None:
    for spec in ("7b", tmp_path):
        with pytest.raises(ValueError, match="10m, 30m, 100m, 400m, 1b"):
            build_model(spec, vocab_size=300, max_positions=64)


def test_attention_implementation_is_used_or_refused_with_one_line() -> None:
    assert build_model("tiny", 300, 64, attn_implementation="eager").config._attn_implementation == "eager"
    from transformers.utils import is_flash_attn_2_available

    if is_flash_attn_2_available():
        pytest.skip("flash-attn is installed here")
    with pytest.raises(ValueError, match=r"attention 'flash_attention_2' cannot be used here: .*FlashAttention2"):
        build_model("tiny", 300, 64, attn_implementation="flash_attention_2")
