"""ToolAlpaca: one item per API, with its functions described in `Function_Description` (or
`Functions`): "summary\\nParameters: {json}\\nOutput: ...". The item splits into one trajectory per
instance: training data's `Instances` ({input, output, intermediate_steps: [[[action, action_input,
log], observation], ...]}) give full trajectories; evaluation data's `Instructions` with
`Golden_Answers` ([{Action, Action_Input}]) give the question and the reference calls.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from hephaestus.sources.trajectories.common import (
    Context,
    Conversation,
    FormatError,
    Message,
    message,
    require,
    tool_call,
)

TYPES = {"string", "integer", "number", "boolean", "array", "object", "str", "int", "float", "bool", "list", "dict"}


def detect(item: Any) -> bool:
    return (
        isinstance(item, dict)
        and ("Function_Description" in item or "Functions" in item)
        and ("Instances" in item or "Instructions" in item)
    )


def split(item: Any) -> Iterator[tuple[str, Any]]:
    """One (api/index, {api, instance | instruction + answer}) per instance or instruction."""
    name = str(item.get("Name", "")) if isinstance(item, dict) else ""
    instances = item.get("Instances") if isinstance(item, dict) else None
    instructions = item.get("Instructions") if isinstance(item, dict) else None
    if isinstance(instances, list) and instances:
        for index, instance in enumerate(instances):
            yield f"{name}/{index}", {"api": item, "instance": instance}
    elif isinstance(instructions, list) and instructions:
        answers = item.get("Golden_Answers")
        answers = answers if isinstance(answers, list) else []
        for index, instruction in enumerate(instructions):
            answer = answers[index] if index < len(answers) else None
            yield f"{name}/{index}", {"api": item, "instruction": instruction, "answer": answer}
    else:
        yield name, {"api": item}


def normalise(item: Any, context: Context) -> Conversation:
    api = require(item, "api", dict)
    functions = api.get("Function_Description") or api.get("Functions")
    if not isinstance(functions, Mapping):
        raise FormatError("missing_field", "item has no 'Function_Description'")
    tools = [_tool(name, text) for name, text in functions.items() if name != "components"]
    meta = {"api": api.get("Name"), "category": api.get("Category")}
    if "instance" in item:
        return Conversation(_instance(require(item, "instance", dict)), tools, meta)
    if item.get("answer") is None:
        raise FormatError("missing_field", "item has no 'Instances' and no 'Golden_Answers' for its instruction")
    answer = item["answer"] if isinstance(item["answer"], list) else [item["answer"]]
    calls = [tool_call(require(a, "Action", str, "answer"), a.get("Action_Input")) for a in answer]
    user = message("user", require(item, "instruction", str))
    return Conversation([user, message("assistant", None if calls else "", calls)], tools, meta)


def _instance(instance: dict[str, Any]) -> list[Message]:
    question = require(instance, "input", str).rsplit("\nHint: ", 1)[0]
    messages = [message("user", question)]
    for index, step in enumerate(instance.get("intermediate_steps") or []):
        try:
            (action, action_input, log), observation = step
        except (TypeError, ValueError):
            detail = f"intermediate_steps[{index}] is not [[action, input, log], observation]"
            raise FormatError("invalid_value", detail) from None
        thought = str(log).split("\nAction:", 1)[0].strip().removeprefix("Thought:").strip()
        messages.append(message("assistant", thought or None, [tool_call(action, action_input)]))
        messages.append(message("tool", str(observation), name=str(action)))
    messages.append(message("assistant", require(instance, "output", str)))
    return messages


def _tool(name: str, text: Any) -> dict[str, Any]:
    """A JSON schema from "summary\\nParameters: {param: "Required. type. description"}\\nOutput: ..."."""
    summary, _, rest = str(text).partition("\nParameters:")
    listing = rest.split("\nOutput:", 1)[0].strip()
    try:
        params = json.loads(listing) if listing else {}
    except json.JSONDecodeError:
        raise FormatError("invalid_json", f"parameters of {name} are not JSON: {listing[:80]!r}") from None
    properties, required = {}, []
    for param, spec in (params if isinstance(params, dict) else {}).items():
        spec = str(spec).strip()
        if spec.startswith("Required."):
            required.append(param)
            spec = spec.removeprefix("Required.").strip()
        kind, _, description = spec.partition(". ")
        if kind.strip(". ").lower() not in TYPES:
            kind, description = "string", spec
        properties[param] = {"type": kind.strip(". ").lower(), "description": description.strip()}
    parameters = {"type": "object", "properties": properties, "required": required}
    return {"name": name, "description": summary.strip(), "parameters": parameters}
