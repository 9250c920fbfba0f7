"""APIGen / xLAM function calling: {"query", "tools", "answers"} where tools and answers are JSON text
(tools [{name, description, parameters: {param: {type, description, default}}}], answers
[{name, arguments}]). Hammer's SFT files hold the same data inside an instruction prompt
({"instruction", "input", "output"}: tools between [BEGIN/END OF AVAILABLE TOOLS], the query between
[BEGIN/END OF QUERY], the answer list in a ``` block); they are read into the same shape.

The user turn is the query; the assistant turn makes the answer's calls. An empty answer list (the
query needs no or no available tool) gives an empty assistant turn: the model ends without a call.
"""

from __future__ import annotations

import json
import re
from typing import Any

from hephaestus.sources.trajectories.common import (
    Context,
    Conversation,
    FormatError,
    json_value,
    message,
    require,
    tool_call,
    tool_schemas,
)

HAMMER_TOOLS = re.compile(r"\[BEGIN OF AVAILABLE TOOLS\]\n?(.*?)\n?\[END OF AVAILABLE TOOLS\]", re.S)
HAMMER_QUERY = re.compile(r"\[BEGIN OF QUERY\]\n?(.*?)\n?\[END OF QUERY\]", re.S)
FENCE = re.compile(r"^```\w*\n?|\n?```$")


def detect(item: Any) -> bool:
    if not isinstance(item, dict):
        return False
    return {"query", "tools", "answers"} <= set(item) or "[BEGIN OF AVAILABLE TOOLS]" in str(item.get("instruction"))


def normalise(item: Any, context: Context) -> Conversation:
    if "query" in item or "instruction" not in item:
        query = require(item, "query", str)
        tools = tool_schemas(require(item, "tools", (str, list)))
        answers: Any = json_value(require(item, "answers", (str, list)), "answers")
    else:
        query, tools, answers = _hammer(item)
    if not isinstance(answers, list):
        raise FormatError("invalid_value", "answers is not a list of calls")
    calls = [tool_call(require(a, "name", str, "answer"), a.get("arguments")) for a in answers]
    messages = [message("user", query), message("assistant", None if calls else "", calls)]
    meta = {"id": item["id"]} if isinstance(item.get("id"), str | int) else {}
    return Conversation(messages, tools, meta)


def _hammer(item: dict[str, Any]) -> tuple[str, list[dict[str, Any]], Any]:
    """Query, tools and answer list of a Hammer prompt item."""
    prompt = require(item, "instruction", str) + str(item.get("input") or "")
    tools_text, query = HAMMER_TOOLS.search(prompt), HAMMER_QUERY.search(prompt)
    if tools_text is None or query is None:
        raise FormatError("missing_field", "instruction lacks the AVAILABLE TOOLS or QUERY section")
    output = FENCE.sub("", require(item, "output", str).strip()).strip()
    try:
        answers = json.loads(output)
    except json.JSONDecodeError:
        raise FormatError("invalid_json", f"output is not a JSON list of calls: {output[:80]!r}") from None
    return query.group(1).strip(), tool_schemas(tools_text.group(1)), answers
