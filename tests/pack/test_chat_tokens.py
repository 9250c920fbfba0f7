"""Loss masks of chats: decoding the masked tokens gives back exactly the assistant turns, nothing else."""

from __future__ import annotations

import itertools
import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest
from test_tokenizer import builtin_texts

from hephaestus.chat_template import render_chat
from hephaestus.io.readers import Rejected
from hephaestus.pack.chat_tokens import hf_message, hf_tool, span_mask, tokenize_chat
from hephaestus.pack.tokenizer import TokenizerHandle, load_tokenizer, train_bpe
from hephaestus.sources import parse_spec

TOOLS = [
    {"name": "get_weather", "description": "Weather now", "parameters": {"properties": {"city": {"type": "string"}}}},
    '{"name": "convert", "parameters": {"properties": {"celsius": {"type": "number"}}}}',
]
MESSAGES = [
    {"role": "system", "content": "You are a terse travel assistant."},
    {"role": "user", "content": "Weather in Paris and Zürich? Give °F too."},
    {
        "role": "assistant",
        "content": "Checking both cities.",
        "tool_calls": [
            {"id": "call_1", "name": "get_weather", "arguments": '{"city": "Paris"}'},
            {"id": "call_2", "name": "get_weather", "arguments": '{"city": "Zürich"}'},
        ],
    },
    {"role": "tool", "name": "get_weather", "content": '{"city": "Paris", "celsius": 21}'},
    {"role": "tool", "name": "get_weather", "content": '{"city": "Zürich", "celsius": 17}'},
    {"role": "assistant", "content": None, "tool_calls": [{"name": "convert", "arguments": '{"celsius": 21}'}]},
    {"role": "tool", "name": "convert", "content": "{\"fahrenheit\": 69.8}"},
    {"role": "assistant", "content": "Paris: 21 °C (69.8 °F). Zürich: 17 °C."},
]
GENERATION_TEMPLATE = r"""
{%- if tools %}{{ '<|im_start|>system\n' + (tools | tojson) + '<|im_end|>\n' }}{% endif %}
{%- for message in messages %}
{{- '<|im_start|>' + message.role + '\n' }}
{%- if message.role == 'assistant' %}
{%- generation %}
{{- message.content or '' }}
{%- for call in message.tool_calls or [] %}{{ '<tool_call>' + (call.function | tojson) + '</tool_call>' }}{% endfor %}
{{- '<|im_end|>' }}
{%- endgeneration %}
{{- '\n' }}
{%- else %}{{ message.content + '<|im_end|>\n' }}{% endif %}
{%- endfor %}"""


@pytest.fixture(scope="module")
def bpe(tmp_path_factory: pytest.TempPathFactory) -> TokenizerHandle:
    return train_bpe(builtin_texts(), 2048, tmp_path_factory.mktemp("bpe"))


def runs(tokenizer: TokenizerHandle, ids: Sequence[int], mask: Sequence[int], trained: bool) -> list[str]:
    """Decoded text of each maximal run of tokens whose mask is `trained`."""
    pairs = itertools.groupby(zip(ids, mask, strict=True), key=lambda pair: pair[1] == trained)
    return [tokenizer.decode([token for token, _ in run]) for keep, run in pairs if keep]


def check_masks_exactly_the_trained_spans(tokenizer: TokenizerHandle, messages: list, tools: list | None) -> str:
    rendered = render_chat(messages, tools)
    ids, mask = tokenize_chat(tokenizer, messages, tools)
    assert tokenizer.decode(ids) == rendered.text
    bounds = [0, *itertools.chain.from_iterable(rendered.trained_spans), len(rendered.text)]
    pieces = [rendered.text[start:end] for start, end in itertools.pairwise(bounds)]
    assert runs(tokenizer, ids, mask, True) == pieces[1::2]  # the trained spans, one run each
    assert runs(tokenizer, ids, mask, False) == [piece for piece in pieces[::2] if piece]
    for message in messages:
        if message["role"] != "assistant" and message.get("content"):
            assert not any(message["content"] in run for run in runs(tokenizer, ids, mask, True))
    return rendered.text


def test_hand_written_tool_trajectory_trains_exactly_the_assistant_turns(bpe: TokenizerHandle):
    text = check_masks_exactly_the_trained_spans(bpe, MESSAGES, TOOLS)
    trained = runs(bpe, *tokenize_chat(bpe, MESSAGES, TOOLS), True)
    assert trained[0].startswith("Checking both cities.\n<tool_call>\n") and trained[-1].endswith("°C.<|im_end|>")
    assert "You are a terse" in text and len(trained) == 3


def test_real_glaive_trajectories_train_exactly_the_assistant_turns(bpe: TokenizerHandle, shared_data: Path):
    source = parse_spec(f"trajectories:{shared_data}/llama-factory/glaive_toolcall_en_demo.json")
    records = [item for item in itertools.islice(source.read(source.plan(1)[0]), 25) if not isinstance(item, Rejected)]
    assert any(message["tool_calls"] for record in records for message in record["messages"])
    for record in records:
        text = check_masks_exactly_the_trained_spans(bpe, record["messages"], record["tools"])
        assert text == record["text"]


def test_a_token_straddling_a_span_boundary_is_trained():
    offsets = [(0, 3), (3, 6), (6, 9), (9, 12), (12, 12), (12, 15)]
    assert span_mask(offsets, [(4, 9)], 15) == [0, 1, 1, 0, 0, 0]  # overlap, inside, touching, empty, outside
    assert span_mask(offsets, [(0, 1), (14, 15)], 15) == [1, 0, 0, 0, 0, 1]
    assert span_mask([], [(0, 1)], 1) == []


def test_straddling_newline_of_the_assistant_header_is_trained(bpe: TokenizerHandle):
    messages = [{"role": "user", "content": "Indent it."}, {"role": "assistant", "content": "    indented"}]
    ids, mask = tokenize_chat(bpe, messages)
    assert runs(bpe, ids, mask, True) == ["\n    indented<|im_end|>"]  # byte-level BPE joins "\n" to the spaces


@pytest.fixture(scope="module")
def templated(bpe: TokenizerHandle, tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("transformers")
    folder = bpe.save(tmp_path_factory.mktemp("templated"))
    config = {"eos_token": "<|endoftext|>", "chat_template": GENERATION_TEMPLATE}
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    return folder


def test_model_template_masks_its_generation_blocks(templated: Path):
    tokenizer = load_tokenizer(templated)
    assert tokenizer.chat_template == GENERATION_TEMPLATE
    ids, mask = tokenize_chat(tokenizer, MESSAGES, TOOLS, template="model")
    weather = '<tool_call>{"name": "get_weather", "arguments": {"city": "%s"}}</tool_call>'
    assert runs(tokenizer, ids, mask, True) == [
        "Checking both cities." + weather % "Paris" + weather % "Zürich" + "<|im_end|>",
        '<tool_call>{"name": "convert", "arguments": {"celsius": 21}}</tool_call><|im_end|>',
        "Paris: 21 °C (69.8 °F). Zürich: 17 °C.<|im_end|>",
    ]
    untrained = "".join(runs(tokenizer, ids, mask, False))
    assert untrained.startswith('<|im_start|>system\n[{"type": "function", "function": {"name": "get_weather"')
    assert '{"city": "Paris", "celsius": 21}' in untrained and "Weather in Paris and Zürich?" in untrained


PLAIN_TEMPLATE = (GENERATION_TEMPLATE.replace("{%- generation %}", "").replace("{%- endgeneration %}", "")
                  + "{%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")


def with_template(folder: Path, template: str, target: Path) -> TokenizerHandle:
    shutil.copytree(folder, target)
    config = json.loads((target / "tokenizer_config.json").read_text())
    (target / "tokenizer_config.json").write_text(json.dumps({**config, "chat_template": template}))
    return load_tokenizer(target)


def test_model_template_without_generation_blocks_is_masked_by_rendering_prefixes(templated: Path, tmp_path: Path):
    generation = load_tokenizer(templated)
    expected = runs(generation, *tokenize_chat(generation, MESSAGES, TOOLS, template="model"), True)
    tokenizer = with_template(templated, PLAIN_TEMPLATE, tmp_path / "plain")
    ids, mask = tokenize_chat(tokenizer, MESSAGES, TOOLS, template="model")
    assert tokenizer.decode(ids) == tokenizer.hf_tokenizer.apply_chat_template(
        [hf_message(m) for m in MESSAGES], tools=[hf_tool(t) for t in TOOLS], tokenize=False)
    assert runs(tokenizer, ids, mask, True) == [turn + "\n" for turn in expected]  # and the newline after each


def test_model_template_that_rewrites_earlier_turns_is_refused(templated: Path, bpe: TokenizerHandle, tmp_path: Path):
    rewriting = PLAIN_TEMPLATE.replace("{{- message.content or '' }}",
                                       "{{- (message.content or '') if loop.last else '[earlier turn]' }}")
    assert rewriting != PLAIN_TEMPLATE
    tokenizer = with_template(templated, rewriting, tmp_path / "rewriting")
    with pytest.raises(ValueError, match=r"renders turn 2 differently.*template='hephaestus'"):
        tokenize_chat(tokenizer, MESSAGES, TOOLS, template="model")
    with pytest.raises(ValueError, match="has no chat template"):
        tokenize_chat(bpe, MESSAGES, TOOLS, template="model")
    with pytest.raises(ValueError, match="unknown template"):
        tokenize_chat(bpe, MESSAGES, TOOLS, template="chatml")


def test_messages_and_tools_convert_to_the_transformers_format():
    assert hf_message(MESSAGES[5]) == {
        "role": "assistant",
        "tool_calls": [{"type": "function", "function": {"name": "convert", "arguments": {"celsius": 21}}}],
    }
    assert hf_message(MESSAGES[2])["tool_calls"][1]["id"] == "call_2"
    assert hf_tool(TOOLS[1]) == {"type": "function", "function": json.loads(TOOLS[1])}
    assert hf_tool(hf_tool(TOOLS[0])) == hf_tool(TOOLS[0])
