"""Token ids and loss masks of a conversation (trajectory or instruction data).

With template="hephaestus" (the default) the conversation is rendered by `render_chat`, the text every
stage uses, and a token is trained on (mask 1) iff its character span [start, end) shares at least one
character with a trained span (an assistant turn). A token straddling a span boundary is therefore
trained: e.g. when an assistant turn starts with two spaces, a byte-level BPE token "\\n " joins the
header's newline to the first space and is trained. It is the rule transformers applies to
`{% generation %}` blocks, so both templates mask alike.

With template="model" the tokenizer's own chat template renders the conversation through transformers'
`apply_chat_template`. A template with `{% generation %}` blocks masks them. Most templates have none; then each
assistant turn's span is found by rendering growing prefixes of the conversation: what the conversation up to
and including the turn adds to the conversation before it with the generation prompt (the assistant header),
that is the turn's content and its end-of-turn marker. A template that renders earlier turns differently once
later ones follow (some drop past reasoning) cannot be masked this way and is refused with a clear error.

The default stays "hephaestus": the evaluation prompts and parses tool calls in that format, so a model
instruction-tuned on another template would be asked and scored in a format it was not trained on.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hephaestus.chat_template import render_chat
from hephaestus.pack.tokenizer import TokenizerHandle

TEMPLATES = ("hephaestus", "model")
GENERATION_TAG = re.compile(r"\{%-?\s*generation\s*-?%\}")


def span_mask(offsets: Sequence[tuple[int, int]], spans: Sequence[tuple[int, int]], length: int) -> list[int]:
    """1 for each token whose [start, end) character range overlaps one of `spans` in a text of `length`."""
    if not offsets:
        return []
    trained = np.zeros(length, dtype=np.int64)
    for start, end in spans:
        trained[start:end] = 1
    before = np.concatenate(([0], np.cumsum(trained)))  # before[i]: trained characters in text[:i]
    starts, ends = np.asarray(offsets, dtype=np.int64).T
    return (before[ends] > before[starts]).astype(int).tolist()


def tokenize_chat(
    tokenizer: TokenizerHandle,
    messages: Sequence[Mapping[str, Any]],
    tools: Sequence[Mapping[str, Any] | str] | None = None,
    *,
    template: str = "hephaestus",
) -> tuple[list[int], list[int]]:
    """Token ids of a conversation and its loss mask (1: an assistant token to train on)."""
    if template == "hephaestus":
        rendered = render_chat(messages, tools)
        ids, offsets = tokenizer.encode_offsets(rendered.text)
        return ids, span_mask(offsets, rendered.trained_spans, len(rendered.text))
    if template != "model":
        raise ValueError(f"unknown template {template!r}; one of {', '.join(TEMPLATES)}")
    if tokenizer.chat_template is None:
        raise ValueError("the tokenizer has no chat template (tokenizer_config.json); use template='hephaestus'")
    converted = [hf_message(message) for message in messages]
    schemas = [hf_tool(tool) for tool in tools] if tools else None
    if not GENERATION_TAG.search(tokenizer.chat_template):
        return _masked_by_prefixes(tokenizer, converted, schemas)
    encoded = tokenizer.hf_tokenizer.apply_chat_template(
        converted, tools=schemas, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
    )
    return list(encoded["input_ids"]), list(encoded["assistant_masks"])


def _masked_by_prefixes(tokenizer: TokenizerHandle, messages: list[dict[str, Any]],
                        tools: list[dict[str, Any]] | None) -> tuple[list[int], list[int]]:
    """Ids and loss mask of a chat rendered by a template without generation blocks (see the module doc)."""

    def render(upto: int, prompt: bool) -> str:
        return tokenizer.hf_tokenizer.apply_chat_template(messages[:upto], tools=tools, tokenize=False,
                                                          add_generation_prompt=prompt)

    text, spans = render(len(messages), False), []
    for turn, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        before, after = render(turn, True), render(turn + 1, False)
        if not (after.startswith(before) and text.startswith(after)):
            raise ValueError(f"the tokenizer's chat template renders turn {turn} differently once later turns "
                             "follow, so its assistant tokens cannot be located; use template='hephaestus'")
        spans.append((len(before), len(after)))
    ids, offsets = tokenizer.encode_offsets(text)
    return ids, span_mask(offsets, spans, len(text))


def hf_message(message: Mapping[str, Any]) -> dict[str, Any]:
    """A record message in transformers' chat format: tool calls as {"type": "function", "function": {...}}
    with JSON arguments parsed; keys without a value dropped."""
    converted = {key: value for key, value in message.items() if value is not None and key != "tool_calls"}
    calls = message.get("tool_calls")
    if calls:
        converted["tool_calls"] = [_hf_call(call) for call in calls]
    return converted


def _hf_call(call: Mapping[str, Any]) -> dict[str, Any]:
    arguments = call.get("arguments") or {}
    if isinstance(arguments, str):
        with contextlib.suppress(json.JSONDecodeError):  # a non-JSON argument string stays verbatim
            arguments = json.loads(arguments)
    converted: dict[str, Any] = {"type": "function", "function": {"name": call["name"], "arguments": arguments}}
    if call.get("id"):
        converted["id"] = call["id"]
    return converted


def hf_tool(tool: Mapping[str, Any] | str) -> dict[str, Any]:
    """A tool schema (dict or JSON string) as transformers expects it: {"type": "function", "function": schema}."""
    schema = json.loads(tool) if isinstance(tool, str) else dict(tool)
    return schema if "function" in schema else {"type": "function", "function": schema}
