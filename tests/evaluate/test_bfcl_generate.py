"""generate: greedy and batched with left padding, stopping at stop strings, within max_new_tokens and positions."""

from __future__ import annotations

import io

import pytest
import torch
from rich.console import Console

from hephaestus.evaluate.bfcl_data import load_bfcl
from hephaestus.evaluate.bfcl_prompt import reference_answer, render_prompt
from hephaestus.evaluate.generate import generate
from hephaestus.pack.tokenizer import TokenizerHandle, train_bpe
from hephaestus.train.model import build_model

POSITIONS = 96


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    items = load_bfcl(["simple_python"], limit=12)
    tokenizer = train_bpe([render_prompt(i) + reference_answer(i) for i in items], 512, tmp_path_factory.mktemp("bpe"))
    model = build_model("tiny", tokenizer.vocab_size, POSITIONS, seed=0)
    with torch.no_grad():  # a fresh model's outputs are near-uniform: scale its head so greedy text varies
        model.lm_head.weight.normal_(0.0, 1.0, generator=torch.Generator().manual_seed(0))
    questions = [f"<|im_start|>user\n{i.messages[0]['content']}<|im_end|>\n<|im_start|>assistant\n" for i in items[:3]]
    return model, tokenizer, questions, render_prompt(items[5])


def greedy(model, tokenizer: TokenizerHandle, ids: list[int], steps: int) -> str:
    """Reference decoding: one full forward pass per new token, no cache, no padding."""
    ids = list(ids)
    new: list[int] = []
    with torch.no_grad():
        for _ in range(steps):
            token = int(model(torch.tensor([ids + new])).logits[0, -1].argmax())
            if token == tokenizer.eos_id:
                break
            new.append(token)
    return tokenizer.decode(new)


def test_batched_generation_is_greedy_and_equals_one_prompt_at_a_time(setup):
    model, tokenizer, questions, _ = setup
    assert len({len(ids) for ids in tokenizer.encode_batch(questions)}) > 1  # padding is needed
    calls = []
    batched = generate(model, tokenizer, questions, batch_size=2, max_new_tokens=8, stop=(),
                       progress=lambda done, total: calls.append((done, total)))
    assert calls == [(2, 3), (3, 3)]
    assert batched == [generate(model, tokenizer, [q], max_new_tokens=8, stop=())[0] for q in questions]
    assert batched == [greedy(model, tokenizer, ids, 8) for ids in tokenizer.encode_batch(questions)]
    assert len(set(batched)) > 1 and all(batched)
    assert model.training  # left as it was found


def middle_stop(text: str) -> str:
    """Two characters from the middle of `text` (not a partly decoded character)."""
    starts = [k for k in range(len(text) // 2, len(text) - 1) if "\ufffd" not in text[k:k + 2]]
    return text[starts[0]:starts[0] + 2] if starts else "<never>"


def test_output_stops_before_the_first_stop_string_and_within_max_new_tokens(setup):
    model, tokenizer, questions, _ = setup
    full = generate(model, tokenizer, questions, max_new_tokens=10, stop=())
    stops = ("<never>", *(middle_stop(text) for text in full))
    cut = generate(model, tokenizer, questions, max_new_tokens=10, stop=stops)
    for text, short in zip(full, cut, strict=True):
        assert short == text[:min(text.index(stop) for stop in stops if stop in text)]
    assert sum(len(short) < len(text) for text, short in zip(full, cut, strict=True)) >= 2
    assert all(stop not in short for stop in stops for short in cut)
    fewer = generate(model, tokenizer, questions, max_new_tokens=3, stop=())
    assert all(text.startswith(s) and len(s) < len(text) for s, text in zip(fewer, full, strict=True))
    assert fewer[0] == greedy(model, tokenizer, tokenizer.encode_batch(questions[:1])[0], 3)


def test_long_prompts_are_cut_from_the_left_and_counted(setup):
    model, tokenizer, questions, long_prompt = setup
    ids = tokenizer.encode_batch([long_prompt])[0]
    assert len(ids) > POSITIONS
    notes = io.StringIO()
    out = generate(model, tokenizer, [long_prompt, questions[0]], max_new_tokens=6, stop=(),
                   console=Console(file=notes, width=200))
    first = tokenizer.encode_batch(questions[:1])[0]
    assert out == [greedy(model, tokenizer, ids[-(POSITIONS - 6):], 6), greedy(model, tokenizer, first, 6)]
    assert "1 of 2 prompts cut from the left to their last 90 tokens" in notes.getvalue()
    with pytest.raises(ValueError, match="no room"):
        generate(model, tokenizer, questions, max_new_tokens=POSITIONS)
