"""What every trajectory reader shares: the normalised conversation, the error it raises and helpers.

A reader turns one parsed JSON item into a `Conversation`: messages in the record schema's shape
(role system/user/assistant/tool, content, tool_calls [{id, name, arguments}], name) and tool schemas
({name, description, parameters}). Tool-call arguments are kept as a JSON string in the source's key
order, so the stored messages re-render to exactly the record's text.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

Message = dict[str, Any]
T = TypeVar("T")


class FormatError(ValueError):
    """An item a reader cannot normalise; `reason` becomes the reason of its `Rejected` entry."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


@dataclass
class Conversation:
    """One normalised trajectory: messages, the tool schemas offered, and format-specific meta."""

    messages: list[Message]
    tools: list[dict[str, Any]] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    """The file an item came from, with per-file caches a reader may fill (e.g. BFCL's answer file)."""

    path: str
    cache: dict[str, Any] = field(default_factory=dict)

    def memo(self, key: str, load: Callable[[], T]) -> T:
        if key not in self.cache:
            self.cache[key] = load()
        return self.cache[key]


@dataclass(frozen=True)
class Format:
    """A reader: `detect` recognises an item by its keys, `normalise` turns it into a Conversation;
    `split`, when given, breaks a container item (an API with many instructions) into (key, item) pairs."""

    detect: Callable[[Any], bool]
    normalise: Callable[[Any, Context], Conversation]
    split: Callable[[Any], Iterator[tuple[str, Any]]] | None = None


def require(item: Any, key: str, kind: type | tuple[type, ...], where: str = "item") -> Any:
    """item[key], checked to be present and of the expected type."""
    if not isinstance(item, Mapping):
        raise FormatError("invalid_value", f"{where} is a {type(item).__name__}, expected an object")
    if item.get(key) is None:
        raise FormatError("missing_field", f"{where} has no {key!r}")
    if not isinstance(item[key], kind):
        raise FormatError("invalid_value", f"{where}.{key} is a {type(item[key]).__name__}")
    return item[key]


def message(
    role: str, content: str | None = None, tool_calls: Sequence[Message] = (), name: str | None = None
) -> Message:
    return {"role": role, "content": content, "tool_calls": list(tool_calls) or None, "name": name}


def tool_call(name: Any, arguments: Any = None, call_id: Any = None) -> Message:
    """A tool call; arguments given as a JSON string are parsed, other strings are kept verbatim."""
    if not isinstance(name, str) or not name.strip():
        raise FormatError("invalid_value", f"tool call name {name!r} is not a non-empty string")
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError:
            return {"id": _id(call_id), "name": name.strip(), "arguments": arguments}
    text = json.dumps({} if arguments is None else arguments, ensure_ascii=False)
    return {"id": _id(call_id), "name": name.strip(), "arguments": text}


def _id(call_id: Any) -> str | None:
    return None if call_id is None else str(call_id)


def json_value(value: Any, where: str) -> Any:
    """A value that may arrive as JSON text (tools and answers often do), parsed."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as error:
        raise FormatError("invalid_json", f"{where} is not valid JSON: {error.msg} at column {error.colno}") from None


def tool_schema(tool: Any) -> dict[str, Any]:
    """An OpenAI/BFCL-style {name, description, parameters}; unwraps {"type": "function", "function": ...}
    and turns a bare {param: spec} map (xLAM, ToolBench) into an object schema."""
    tool = json_value(tool, "tool")
    if isinstance(tool, Mapping) and isinstance(tool.get("function"), Mapping):
        tool = tool["function"]
    if not isinstance(tool, Mapping) or not isinstance(tool.get("name"), str) or not tool["name"]:
        raise FormatError("invalid_value", f"tool schema without a name: {str(tool)[:120]}")
    schema = dict(tool)
    parameters = schema.get("parameters")
    if isinstance(parameters, Mapping) and parameters and all(isinstance(v, Mapping) for v in parameters.values()):
        schema["parameters"] = object_schema(parameters)
    return schema


def tool_schemas(tools: Any) -> list[dict[str, Any]]:
    tools = json_value(tools, "tools")
    if not isinstance(tools, list):
        raise FormatError("invalid_value", f"tools is a {type(tools).__name__}, expected a list")
    return [tool_schema(tool) for tool in tools]


def object_schema(properties: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON object schema from {param: spec}; a param is required unless its type says 'optional'."""
    required = [p for p, spec in properties.items() if "optional" not in str(_get(spec, "type")).lower()]
    return {"type": "object", "properties": dict(properties), "required": required}


def _get(spec: Any, key: str) -> Any:
    return spec.get(key) if isinstance(spec, Mapping) else None
