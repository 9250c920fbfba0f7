"""Gorilla OpenFunctions v1: {"question": str, "function": schema(s), "model_answer": "pkg.f(a=1)"}.

The schema's `api_call` is the name the answer calls, so it becomes the tool's name (the schema's own
`name`, a title such as "Coffee Shop Locator", is kept as `title`). The answer is a Python call read
with `ast`, never run; positional arguments take the schema's parameter names in order.
"""

from __future__ import annotations

from typing import Any

from hephaestus.sources.trajectories.common import (
    Context,
    Conversation,
    message,
    require,
    tool_schema,
)
from hephaestus.sources.trajectories.pycall import parameter_names, python_tool_call


def detect(item: Any) -> bool:
    return (
        isinstance(item, dict) and isinstance(item.get("question"), str) and {"function", "model_answer"} <= item.keys()
    )


def normalise(item: Any, context: Context) -> Conversation:
    question = require(item, "question", str)
    functions = require(item, "function", (dict, list))
    tools = [_tool(f) for f in (functions if isinstance(functions, list) else [functions])]
    answer = require(item, "model_answer", str)
    call = python_tool_call(answer, parameter_names(tools))
    messages = [message("user", question), message("assistant", None, [call])]
    return Conversation(messages, tools)


def _tool(function: Any) -> dict[str, Any]:
    if isinstance(function, dict) and isinstance(function.get("api_call"), str):
        rest = {key: value for key, value in function.items() if key not in ("api_call", "name")}
        function = {"name": function["api_call"], "title": function.get("name"), **rest}
    return tool_schema(function)
