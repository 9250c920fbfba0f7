"""Python annotations and docstring type phrases as JSON-schema fragments, best effort.

Anything that cannot be mapped gives `{}` (any value), never an error.
"""

from __future__ import annotations

import ast
import collections.abc as abc
import enum
import math
import os
import pathlib
import re
import types
import typing
from typing import Any

NOT_JSON = object()

_ARRAY_CLASSES = (list, tuple, set, frozenset, abc.Sequence, abc.Set)
_ARRAY_ORIGINS = (abc.Iterable, abc.Iterator, abc.Collection, abc.Generator)
_STRING_CLASSES = (str, bytes, bytearray, os.PathLike, pathlib.PurePath)
# docstring words (lower case, last dotted part) -> JSON-schema type
_WORDS = {
    "int": "integer", "integer": "integer", "float": "number", "number": "number", "real": "number",
    "str": "string", "string": "string", "bytes": "string", "path": "string", "pathlike": "string",
    "bool": "boolean", "boolean": "boolean", "none": "null", "nonetype": "null",
    "list": "array", "tuple": "array", "set": "array", "sequence": "array", "iterable": "array", "array": "array",
    "dict": "object", "mapping": "object",
}  # fmt: skip


def to_json(value: Any) -> Any:
    """`value` as plain JSON (tuples become lists, enum members their values), or NOT_JSON."""
    if isinstance(value, enum.Enum):
        return to_json(value.value)
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else NOT_JSON
    if isinstance(value, list | tuple):
        items = [to_json(v) for v in value]
        return NOT_JSON if any(i is NOT_JSON for i in items) else items
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        items = {k: to_json(v) for k, v in value.items()}
        return NOT_JSON if any(i is NOT_JSON for i in items.values()) else items
    return NOT_JSON


def annotation_schema(annotation: Any) -> dict[str, Any]:
    """JSON schema of a type annotation: builtins, typing generics, unions, Literal and Enum."""
    if isinstance(annotation, str):
        return type_name_schema(annotation)
    if annotation is None or annotation is type(None):
        return {"type": "null"}
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return annotation_schema(args[0])
    if origin in (typing.Union, types.UnionType):
        return union_schema([annotation_schema(a) for a in args])
    if origin is typing.Literal:
        return literal_schema(args)
    cls = origin or annotation
    if not isinstance(cls, type):
        return {}
    if issubclass(cls, enum.Enum):
        return literal_schema([member.value for member in cls])
    if issubclass(cls, bool):
        return {"type": "boolean"}
    if issubclass(cls, int):
        return {"type": "integer"}
    if issubclass(cls, float):
        return {"type": "number"}
    if issubclass(cls, _STRING_CLASSES):
        return {"type": "string"}
    if issubclass(cls, abc.Mapping):
        values = annotation_schema(args[1]) if len(args) == 2 else {}
        return {"type": "object", **({"additionalProperties": values} if values else {})}
    if issubclass(cls, _ARRAY_CLASSES) or cls in _ARRAY_ORIGINS:
        homogeneous = len(args) == 1 or (len(args) == 2 and args[1] is Ellipsis)
        items = annotation_schema(args[0]) if homogeneous and cls is not abc.Generator else {}
        return {"type": "array", **({"items": items} if items else {})}
    return {}


def union_schema(schemas: list[dict[str, Any]]) -> dict[str, Any]:
    """Merge alternatives: a type list when all are plain types, else anyOf; any unknown one gives {}."""
    if not schemas or any(not s for s in schemas):
        return {}
    if all(set(s) == {"type"} for s in schemas):
        merged: list[str] = []
        for schema in schemas:
            for name in schema["type"] if isinstance(schema["type"], list) else [schema["type"]]:
                if name not in merged:
                    merged.append(name)
        return {"type": merged[0] if len(merged) == 1 else merged}
    return {"anyOf": schemas}


def literal_schema(values: typing.Iterable[Any]) -> dict[str, Any]:
    """An enum of JSON values with their types; {} when a value has no JSON form."""
    plain = [to_json(v) for v in values]
    if not plain or any(v is NOT_JSON or isinstance(v, list | dict) for v in plain):
        return {}
    kinds = union_schema([annotation_schema(type(v)) for v in plain])
    return {**kinds, "enum": plain}


def type_name_schema(text: str) -> dict[str, Any]:
    """JSON schema of a docstring type phrase: `int`, `str, optional`, `list of str`, `int or None`,
    `Optional[int]`, `{'a', 'b'}` (NumPy choices)."""
    text = re.sub(r",\s*(optional|default)\b.*$", "", text.strip(), flags=re.IGNORECASE).strip()
    parts = _split_top(text, ("|", " or "))
    if len(parts) > 1:
        return union_schema([type_name_schema(p) for p in parts])
    if text.startswith("{") and text.endswith("}"):
        try:
            return literal_schema(ast.literal_eval(f"[{text[1:-1]}]"))
        except (ValueError, SyntaxError):
            return {}
    generic = re.fullmatch(r"([\w.]+)\s*\[(.*)\]", text)
    if generic:
        name, args = generic[1].rsplit(".", 1)[-1], _split_top(generic[2], (",",))
        if name == "Optional":
            return union_schema([type_name_schema(args[0]), {"type": "null"}])
        if name == "Union":
            return union_schema([type_name_schema(a) for a in args])
        outer, inner = _word_type(name), type_name_schema(args[0])
    else:
        of = re.fullmatch(r"(\w+)\s+of\s+(.+)", text)
        outer, inner = (_word_type(of[1]), type_name_schema(of[2])) if of else (_word_type(text), {})
    if outer is None:
        return {}
    return {"type": outer, **({"items": inner} if outer == "array" and inner else {})}


def _word_type(word: str) -> str | None:
    match = re.match(r"[\w.]+", word.strip())
    return _WORDS.get(match[0].rsplit(".", 1)[-1].lower()) if match else None


def _split_top(text: str, separators: tuple[str, ...]) -> list[str]:
    """Split on separators outside brackets and braces."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(text):
        if text[i] in "[({":
            depth += 1
        elif text[i] in "])}":
            depth -= 1
        elif depth == 0 and (sep := next((s for s in separators if text.startswith(s, i)), None)):
            parts.append(text[start:i].strip())
            start = i = i + len(sep)
            continue
        i += 1
    parts.append(text[start:].strip())
    return [p for p in parts if p]
