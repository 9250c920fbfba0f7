"""ReAct text: "Thought: / Action: / Action Input: / Observation:" steps (optionally numbered).

`parse_steps` turns such text into assistant turns (the thought as content, the action as a tool call)
and tool turns (the observation); other formats reuse it (ShareGPT/ToolLLaMA assistant turns).
The `react` format itself reads ReAct prompt files (ysymyth/ReAct prompts/*.json): an object of
prompt name -> few-shot text, each example starting with "Question:" or "Claim:"; each example is
one trajectory. An action written `Search[entity]` becomes a call with arguments {"input": entity},
and such actions are offered as tools with one string parameter `input`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from hephaestus.sources.trajectories.common import Context, Conversation, FormatError, Message, message, tool_call

LABEL = re.compile(r"^(Thought|Action Input|Action|Observation)(?: \d+)?:[ \t]?(.*)$")
BRACKET_ACTION = re.compile(r"^([A-Za-z_][\w.]*)\[(.*)\]$", re.S)
EXAMPLE_START = re.compile(r"^(?=(?:Question|Claim):)", re.M)
STEP_LINE = re.compile(r"^(?:Thought|Action)(?: \d+)?:", re.M)


def parse_steps(text: str) -> list[Message]:
    """Assistant and tool messages from ReAct text; unlabelled lines continue the field before them."""
    fields: list[list[str]] = []  # [label, text] in order of appearance
    for line in text.strip("\n").split("\n"):
        match = LABEL.match(line)
        if match:
            fields.append([match.group(1), match.group(2)])
        elif fields:
            fields[-1][1] += "\n" + line
        else:
            fields.append(["Thought", line])
    messages: list[Message] = []
    thought: list[str] = []
    call: list[str] = []  # [action, action input]
    for label, value in fields:
        if label == "Thought":
            if call:
                messages.append(_assistant(thought, call))
                thought, call = [], []
            thought.append(value.strip())
        elif label == "Action":
            if call:
                messages.append(_assistant(thought, call))
                thought = []
            call = [value.strip(), ""]
        elif label == "Action Input" and call:
            call[1] = value.strip()
        elif label == "Observation":
            name = None
            if thought or call:
                messages.append(_assistant(thought, call))
                name = messages[-1]["tool_calls"][0]["name"] if call else None
            messages.append(message("tool", value.strip(), name=name))
            thought, call = [], []
        else:
            thought.append(f"{label}: {value.strip()}")
    if thought or call:
        messages.append(_assistant(thought, call))
    return messages


def _assistant(thought: list[str], call: list[str]) -> Message:
    content = "\n".join(t for t in thought if t) or None
    if not call:
        return message("assistant", content)
    bracket = BRACKET_ACTION.match(call[0])
    if bracket and not call[1]:
        return message("assistant", content, [tool_call(bracket.group(1), {"input": bracket.group(2)})])
    return message("assistant", content, [tool_call(call[0], call[1])])


def bracket_tools(messages: list[Message]) -> list[dict[str, Any]]:
    """Schemas for the `Name[input]` actions used (calls whose only argument is `input`), in order of use."""
    calls = [call for m in messages for call in m["tool_calls"] or []]
    names = dict.fromkeys(call["name"] for call in calls if _only_input(call["arguments"]))
    parameters = {"type": "object", "properties": {"input": {"type": "string"}}, "required": ["input"]}
    return [{"name": n, "description": f"ReAct action {n}[input]", "parameters": parameters} for n in names]


def _only_input(arguments: str) -> bool:
    try:
        value = json.loads(arguments)
    except json.JSONDecodeError:
        return False
    return isinstance(value, dict) and list(value) == ["input"]


def detect(item: Any) -> bool:
    return (
        isinstance(item, dict)
        and bool(item)
        and all(isinstance(v, str) for v in item.values())
        and any(STEP_LINE.search(v) and EXAMPLE_START.search(v) for v in item.values())
    )


def split(item: Any) -> Iterator[tuple[str, Any]]:
    """One (prompt/index, {instruction, example}) per example of each prompt."""
    if not isinstance(item, dict):
        yield "", item
        return
    for key, prompt in item.items():
        if not isinstance(prompt, str):
            yield str(key), prompt
            continue
        instruction, *examples = EXAMPLE_START.split(prompt)
        if not examples:
            yield str(key), {"instruction": instruction, "example": None}
        for index, example in enumerate(examples):
            yield f"{key}/{index}", {"instruction": instruction, "example": example}


def normalise(item: Any, context: Context) -> Conversation:
    if not isinstance(item, dict) or not isinstance(item.get("example"), str):
        raise FormatError("missing_field", "no ReAct example (a block starting with 'Question:' or 'Claim:')")
    question, _, steps = item["example"].strip().partition("\n")
    instruction = str(item.get("instruction") or "").strip()
    messages = [message("system", instruction)] if instruction else []
    messages.append(message("user", question.strip()))
    turns = parse_steps(steps)
    if not turns:
        raise FormatError("missing_field", f"ReAct example {question[:60]!r} has no steps")
    messages += turns
    return Conversation(messages, bracket_tools(messages))
