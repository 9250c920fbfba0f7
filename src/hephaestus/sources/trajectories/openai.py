"""OpenAI chat format: {"messages": [...], "tools": [...]} with `tool_calls`, legacy `function_call`,
role "function", and content given as a string or as parts (OpenAI's {"type": "text", "text"} or
LLaMA-Factory's {"type": "text"|"reasoning"|"tool_call", "value"})."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hephaestus.sources.trajectories.common import (
    Context,
    Conversation,
    FormatError,
    Message,
    json_value,
    message,
    require,
    tool_call,
    tool_schemas,
)

ROLES = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "tool": "tool",
    "function": "tool",
    "ipython": "tool",
}


def detect(item: Any) -> bool:
    return isinstance(item, dict) and isinstance(item.get("messages"), list)


def normalise(item: Any, context: Context) -> Conversation:
    messages = normalise_messages(require(item, "messages", list))
    tools = tool_schemas(item.get("tools") or item.get("functions") or [])
    meta = {"id": item["id"]} if isinstance(item.get("id"), str | int) else {}
    return Conversation(messages, tools, meta)


def normalise_messages(raw: list[Any]) -> list[Message]:
    """Messages of the OpenAI shape (also ToolBench's train_messages); a tool reply without a name
    takes it from the call it answers (by tool_call_id, else the oldest unanswered call)."""
    names_by_id: dict[str, str] = {}
    pending: list[str] = []  # names of calls not yet answered, in order
    messages = []
    for index, entry in enumerate(raw):
        where = f"messages[{index}]"
        role = ROLES.get(require(entry, "role", str, where))
        if role is None:
            raise FormatError("invalid_value", f"{where} has unknown role {entry['role']!r}")
        content, calls = _content(entry.get("content"), where)
        calls += [_call(call, f"{where}.tool_calls") for call in entry.get("tool_calls") or []]
        if isinstance(entry.get("function_call"), Mapping):
            calls.append(_call(entry["function_call"], f"{where}.function_call"))
        name = entry.get("name") if isinstance(entry.get("name"), str) else None
        if role == "tool":
            name = name or names_by_id.get(str(entry.get("tool_call_id"))) or (pending[0] if pending else None)
            if name in pending:
                pending.remove(name)
        if calls:
            pending = [call["name"] for call in calls]
            names_by_id.update({call["id"]: call["name"] for call in calls if call["id"]})
        messages.append(message(role, content, calls, name))
    if not messages:
        raise FormatError("missing_field", "messages is empty")
    return messages


def _call(call: Any, where: str) -> Message:
    if not isinstance(call, Mapping):
        raise FormatError("invalid_value", f"{where} entry is not an object")
    function = call["function"] if isinstance(call.get("function"), Mapping) else call
    return tool_call(function.get("name"), function.get("arguments"), call.get("id"))


def _content(content: Any, where: str) -> tuple[str | None, list[Message]]:
    """Text of a message's content (reasoning parts wrapped in <think> tags) and calls among its parts."""
    if content is None or isinstance(content, str):
        return content, []
    if not isinstance(content, list):
        raise FormatError("invalid_value", f"{where}.content is a {type(content).__name__}")
    reasoning, texts, calls = [], [], []
    for part in content:
        kind = part.get("type") if isinstance(part, Mapping) else None
        value = part.get("text", part.get("value")) if isinstance(part, Mapping) else None
        if kind == "text" and isinstance(value, str):
            texts.append(value)
        elif kind == "reasoning" and isinstance(value, str):
            reasoning.append(f"<think>\n{value}\n</think>")
        elif kind == "tool_call":
            call = json_value(value, f"{where} tool_call part")
            calls.append(_call(call, f"{where} tool_call part"))
        else:
            raise FormatError("unsupported", f"{where} has a content part of type {kind!r}")
    return "\n\n".join(reasoning + texts) or None, calls
