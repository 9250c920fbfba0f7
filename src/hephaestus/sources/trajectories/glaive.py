"""Glaive function calling (glaive-function-calling-v2): {"system", "chat"} as plain text.

`system` is "SYSTEM: <prompt> -\\n{function schema}\\n\\n{function schema}..."; `chat` alternates
"USER:", "ASSISTANT:" and "FUNCTION RESPONSE:" turns, each assistant turn ending in <|endoftext|>.
An assistant turn "<functioncall> {"name": ..., "arguments": '{...}'}" is a call (the arguments are
JSON wrapped in single quotes, so the call is not itself JSON); a function response answers it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from hephaestus.sources.trajectories.common import (
    Context,
    Conversation,
    FormatError,
    Message,
    message,
    require,
    tool_call,
    tool_schema,
)

TURN = re.compile(r"^(USER|ASSISTANT|FUNCTION RESPONSE):[ \t]*", re.M)
CALL = re.compile(r"<functioncall>\s*(.*)$", re.S)
QUOTED_ARGUMENTS = re.compile(r"""^\{\s*"name"\s*:\s*"([^"]+)"\s*,\s*"arguments"\s*:\s*'(.*)'\s*\}$""", re.S)
END = "<|endoftext|>"


def detect(item: Any) -> bool:
    return isinstance(item, dict) and isinstance(item.get("chat"), str)


def normalise(item: Any, context: Context) -> Conversation:
    chat = require(item, "chat", str)
    prompt, tools = _system(str(item.get("system") or ""))
    messages = [message("system", prompt)] if prompt else []
    parts = TURN.split(chat)
    pending: str | None = None  # name of the call awaiting its response
    for role, text in zip(parts[1::2], parts[2::2], strict=True):
        text = text.replace(END, "").strip()
        if role == "USER":
            messages.append(message("user", text))
        elif role == "FUNCTION RESPONSE":
            messages.append(message("tool", text, name=pending))
            pending = None
        else:
            messages.append(_assistant(text))
            pending = messages[-1]["tool_calls"][0]["name"] if messages[-1]["tool_calls"] else None
    if not any(m["role"] != "system" for m in messages):
        raise FormatError("missing_field", "chat has no USER/ASSISTANT turns")
    return Conversation(messages, tools)


def _assistant(text: str) -> Message:
    found = CALL.search(text)
    if found is None:
        return message("assistant", text)
    body = found.group(1).strip()
    try:
        call = json.loads(body)
        name, arguments = call.get("name"), call.get("arguments")
    except (json.JSONDecodeError, AttributeError):
        quoted = QUOTED_ARGUMENTS.match(body)
        if quoted is None:
            raise FormatError("invalid_value", f"unreadable <functioncall>: {body[:80]!r}") from None
        name, arguments = quoted.groups()
    content = text[: found.start()].strip() or None
    return message("assistant", content, [tool_call(name, arguments)])


def _system(system: str) -> tuple[str, list[dict[str, Any]]]:
    """The system prompt and the function schemas that follow it as concatenated JSON objects."""
    system = system.strip().removeprefix("SYSTEM:").strip()
    start = system.find("{")
    if start < 0:
        return system, []
    prompt, listing, tools = system[:start].strip(), system[start:], []
    decoder, position = json.JSONDecoder(), 0
    while position < len(listing):
        try:
            schema, position = decoder.raw_decode(listing, position)
        except json.JSONDecodeError as error:
            raise FormatError("invalid_json", f"system functions are not JSON: {error.msg}") from None
        tools.append(tool_schema(schema))
        while position < len(listing) and listing[position].isspace():
            position += 1
    return prompt, tools
