"""The chat template that renders trajectories to pre-training text.

The same function serves the collect stage (record `text`) and the pack stage (loss masks): it
returns the text together with the character spans a model is trained on, i.e. the assistant turns
and their tool calls. The format is ChatML with tools in the system turn and calls as JSON inside
`<tool_call>` tags, the convention of Qwen/Hermes-style function-calling models.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

TURN_START = "<|im_start|>"
TURN_END = "<|im_end|>"
TOOLS_HEADER = "You can call the following functions. Each is given as a JSON schema:"


@dataclass(frozen=True)
class RenderedChat:
    """Rendered conversation text and the [start, end) character spans to train on."""

    text: str
    trained_spans: tuple[tuple[int, int], ...]

    def trained_text(self) -> str:
        return "".join(self.text[start:end] for start, end in self.trained_spans)


def render_tool_call(call: Mapping[str, Any]) -> str:
    arguments = call.get("arguments") or "{}"
    if isinstance(arguments, str):
        with contextlib.suppress(json.JSONDecodeError):  # a non-JSON argument string stays verbatim
            arguments = json.loads(arguments)
    body = json.dumps({"name": call["name"], "arguments": arguments}, ensure_ascii=False)
    return f"<tool_call>\n{body}\n</tool_call>"


def _tool_line(tool: Mapping[str, Any] | str) -> str:
    if isinstance(tool, str):
        tool = json.loads(tool)
    return json.dumps(tool, ensure_ascii=False, sort_keys=True)


def _turn_body(message: Mapping[str, Any]) -> str:
    parts = [message["content"]] if message.get("content") else []
    parts += [render_tool_call(call) for call in message.get("tool_calls") or []]
    return "\n".join(parts)


def render_chat(
    messages: Sequence[Mapping[str, Any]], tools: Sequence[Mapping[str, Any] | str] | None = None
) -> RenderedChat:
    """Render messages (role, content, tool_calls, name) and tool schemas; deterministic."""
    pieces: list[str] = []
    spans: list[tuple[int, int]] = []
    length = 0

    def emit(piece: str, trained: bool = False) -> None:
        nonlocal length
        if trained and piece:
            spans.append((length, length + len(piece)))
        pieces.append(piece)
        length += len(piece)

    messages = list(messages)
    system = ""
    if messages and messages[0].get("role") == "system":
        system = messages.pop(0).get("content") or ""
    if tools:
        listing = "\n".join(_tool_line(tool) for tool in tools)
        system = f"{system}\n\n{TOOLS_HEADER}\n{listing}".strip()
    if system:
        emit(f"{TURN_START}system\n{system}{TURN_END}\n")
    for message in messages:
        role = message["role"]
        header = f"{TURN_START}{role}"
        if role == "tool" and message.get("name"):
            header += f" name={message['name']}"
        emit(header + "\n")
        emit(_turn_body(message) + TURN_END, trained=role == "assistant")
        emit("\n")
    return RenderedChat("".join(pieces), tuple(spans))
