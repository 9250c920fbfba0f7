"""BFCL multi-turn and agentic items: {"id", "question": [turns], "involved_classes": [...]}.

The tools are the function docs of the involved classes (multi_turn_func_doc/<file>, found like the
answer file), less `excluded_function`. The ground truth is one list of Python calls per turn
(`cd(folder='document')`), read with `ast` and never run; positional arguments take the documented
parameter names in order. Each turn becomes its user message(s) then one assistant turn with that
turn's calls (an empty assistant turn where the truth has none); there are no tool results in BFCL's
data. Web-search items have final answers instead of calls: the first becomes the assistant's reply.
Simplification: functions held back until a later turn (`missed_function`) are listed from the start.
Memory items (class MemoryAPI) need a prerequisite conversation and a backend, and are rejected.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hephaestus.sources.trajectories.common import (
    Conversation,
    FormatError,
    Message,
    message,
    require,
    tool_schema,
)
from hephaestus.sources.trajectories.pycall import parameter_names, python_tool_call

# BFCL's fixed table of class -> function doc file (bfcl_eval constants); never taken from the data.
CLASS_DOCS = {
    "GorillaFileSystem": "gorilla_file_system.json",
    "MathAPI": "math_api.json",
    "MessageAPI": "message_api.json",
    "TwitterAPI": "posting_api.json",
    "TicketAPI": "ticket_api.json",
    "TradingBot": "trading_bot.json",
    "TravelAPI": "travel_booking.json",
    "VehicleControlAPI": "vehicle_control.json",
    "WebSearchAPI": "web_search.json",
}


def normalise(
    item: dict[str, Any], turns: list[list[Message]], truth: Any, docs: Callable[[str], list[dict[str, Any]]]
) -> Conversation:
    classes = require(item, "involved_classes", list)
    unknown = [c for c in classes if c not in CLASS_DOCS]
    if "MemoryAPI" in unknown:
        raise FormatError("unsupported", "memory items need a prerequisite conversation and a memory backend")
    if unknown:
        raise FormatError("unsupported", f"no function docs for class {', '.join(map(str, unknown))}")
    excluded = set(item.get("excluded_function") or [])
    tools = [tool_schema(doc) for c in classes for doc in docs(CLASS_DOCS[c]) if doc["name"] not in excluded]
    meta: dict[str, Any] = {"id": str(item["id"]), "answer": truth is not None, "classes": classes}
    if item.get("missed_function"):
        meta["missed_function"] = item["missed_function"]
    messages = [m for turn in turns for m in turn]
    if truth is None:
        return Conversation(messages, tools, meta)
    if not isinstance(truth, list):
        raise FormatError("invalid_value", "ground_truth is not a list")
    if all(isinstance(answer, str) for answer in truth):
        return Conversation([*messages, message("assistant", truth[0] if truth else "")], tools, meta)
    if len(truth) != len(turns) or not all(isinstance(calls, list) for calls in truth):
        raise FormatError("invalid_value", f"{len(turns)} question turns but {len(truth)} ground-truth turns")
    names = parameter_names(tools)
    messages = []
    for turn, calls in zip(turns, truth, strict=True):
        parsed = [python_tool_call(source, names) for source in calls]
        messages += [*turn, message("assistant", None if parsed else "", parsed)]
    return Conversation(messages, tools, meta)
