"""ShareGPT: {"conversations": [{"from", "value"}], "system"?, "tools"?} as LLaMA-Factory uses it.

Roles: human/user -> user, gpt/assistant -> assistant, system -> system, function_call -> an assistant
call (a JSON object or list of {name, arguments}), observation/function/tool -> tool (named after the
call it answers). Assistant turns written in ReAct ("Thought: ... Action: f Action Input: {...}", as in
ToolBench's ToolLLaMA training file) become calls too; ToolLLaMA's API list, appended to the system
turn as a Python literal, becomes the tool schemas.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from typing import Any

from hephaestus.sources.trajectories import react
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

USER, ASSISTANT, SYSTEM = {"human", "user"}, {"gpt", "assistant", "chatgpt", "model"}, {"system"}
CALL, TOOL = {"function_call"}, {"observation", "function", "tool"}
REACT_ACTION = re.compile(r"^Action:.*\n(?:.*\n)*?Action Input:", re.M)
TOOLLLAMA_APIS = "Specifically, you have access to the following APIs:"


def detect(item: Any) -> bool:
    return isinstance(item, dict) and isinstance(item.get("conversations"), list)


def normalise(item: Any, context: Context) -> Conversation:
    turns = require(item, "conversations", list)
    if not turns:
        raise FormatError("missing_field", "conversations is empty")
    tools = tool_schemas(item.get("tools") or [])
    messages: list[Message] = []
    if isinstance(item.get("system"), str) and item["system"].strip():
        messages.append(message("system", item["system"]))
    pending: list[str] = []  # names of calls not yet answered, in order
    for index, turn in enumerate(turns):
        where = f"conversations[{index}]"
        role = require(turn, "from", str, where)
        value = turn.get("value")
        if not isinstance(value, str):
            raise FormatError("missing_field", f"{where} has no string 'value'")
        if role in USER:
            messages.append(message("user", value))
        elif role in SYSTEM:
            content, listed = _toolllama_tools(value)
            tools = tools or listed
            messages.append(message("system", content))
        elif role in ASSISTANT:
            messages += react.parse_steps(value) if REACT_ACTION.search(value) else [message("assistant", value)]
        elif role in CALL:
            calls = json_value(value, f"{where}.value")
            calls = [_call(c, where) for c in (calls if isinstance(calls, list) else [calls])]
            messages.append(message("assistant", None, calls))
        elif role in TOOL:
            messages.append(message("tool", value, name=pending.pop(0) if pending else None))
            continue
        else:
            raise FormatError("invalid_value", f"{where} has unknown role {role!r}")
        pending = [call["name"] for call in messages[-1]["tool_calls"] or []]
    meta = {"id": item["id"]} if isinstance(item.get("id"), str | int) else {}
    return Conversation(messages, tools, meta)


def _call(call: Any, where: str) -> Message:
    if not isinstance(call, Mapping):
        raise FormatError("invalid_value", f"{where} function_call is not an object")
    return tool_call(call.get("name"), call.get("arguments"))


def _toolllama_tools(system: str) -> tuple[str, list[dict[str, Any]]]:
    """ToolLLaMA's system turn without its API listing, and the listing as tool schemas."""
    head, marker, listing = system.partition(TOOLLLAMA_APIS)
    if not marker:
        return system, []
    try:
        apis = ast.literal_eval(listing.strip())
    except (ValueError, SyntaxError, TypeError, RecursionError):
        return system, []
    return (head.rstrip(), tool_schemas(apis)) if isinstance(apis, list) else (system, [])
