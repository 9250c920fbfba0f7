"""JSON-schema helpers shared by the API-doc sources: `$ref` inlining with cycle and size limits,
the function schema of one operation and its plain-text rendering."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

# a lookup maps a $ref to (name, target), or to a note saying why it stays unresolved
Lookup = Callable[[str], tuple[str, Any] | str]
MAX_REF_DEPTH = 8  # nested expansions before a ref is left as {"$ref_truncated": name}
MAX_NODES = 2_000  # objects built by one resolve() before further refs are truncated
FIELD_DEPTH = 2  # nesting levels of object fields shown in the text
ENUM_SHOWN = 12
# what malformed input raises while one operation is converted; it becomes one Rejected entry
CONVERSION_ERRORS = (AttributeError, KeyError, TypeError, ValueError, RecursionError)


class RefResolver:
    """Inline `$ref`s through a lookup; a ref inside its own expansion becomes {"$ref_cycle": name}."""

    def __init__(self, lookup: Lookup) -> None:
        self.lookup = lookup
        self._nodes = 0

    def resolve(self, node: Any) -> Any:
        """A copy of `node` with every resolvable `$ref` replaced by its (recursively resolved) target."""
        self._nodes = 0
        return self._walk(node, ())

    def deref(self, node: Any) -> Any:
        """Follow `$ref`s at the top of `node` only (for parameter, body and response objects)."""
        for _ in range(MAX_REF_DEPTH):
            ref = node.get("$ref") if isinstance(node, dict) else None
            found = self.lookup(ref) if isinstance(ref, str) else None
            if not isinstance(found, tuple):
                break
            node = found[1]
        return node

    def _walk(self, node: Any, stack: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [self._walk(value, stack) for value in node]
        if not isinstance(node, dict):
            return node
        self._nodes += 1
        ref = node.get("$ref")
        if not isinstance(ref, str):
            return {key: self._walk(value, stack) for key, value in node.items()}
        siblings = {key: self._walk(value, stack) for key, value in node.items() if key != "$ref"}
        found = self.lookup(ref)
        if isinstance(found, str):
            return {"$ref": ref, "$comment": found, **siblings}
        name, target = found
        if ref in stack:
            return {"$ref_cycle": name, **siblings}
        if len(stack) >= MAX_REF_DEPTH or self._nodes > MAX_NODES:
            return {"$ref_truncated": name, **siblings}
        resolved = self._walk(target, (*stack, ref))
        return {**resolved, **siblings} if isinstance(resolved, dict) else resolved


def pointer_lookup(document: Any) -> Lookup:
    """Lookup of local JSON-pointer refs (`#/components/schemas/X`); named schemas get a `title`."""

    def lookup(ref: str) -> tuple[str, Any] | str:
        if not ref.startswith("#"):
            return "external reference, not resolved"
        node, name = document, "root"
        for part in ref[1:].split("/")[1:]:
            name = unquote(part).replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and name in node:
                node = node[name]
            elif isinstance(node, list) and name.isdigit() and int(name) < len(node):
                node = node[int(name)]
            else:
                return "local reference not found"
        if isinstance(node, dict) and "title" not in node and ("/schemas/" in ref or "/definitions/" in ref):
            node = {"title": name, **node}
        return name, node

    return lookup


@dataclass(frozen=True)
class Param:
    """One named input of an operation: where it goes (path, query, header, ...) and its schema."""

    name: str
    location: str
    schema: dict[str, Any]
    required: bool = False


@dataclass(frozen=True)
class Body:
    """The request body of an operation."""

    schema: dict[str, Any]
    required: bool = False
    media_type: str | None = None


def function_schema(name: str, description: str, params: list[Param], body: Body | None, merge_body: bool) -> dict:
    """The JSON function schema; an object body's properties join the parameters when `merge_body`
    and no name clashes, otherwise the body is one parameter named `body`."""
    properties = {p.name: p.schema for p in params}
    required = [p.name for p in params if p.required]
    if body is not None:
        fields = body.schema.get("properties")
        if merge_body and isinstance(fields, dict) and fields and not fields.keys() & properties.keys():
            properties.update(fields)
            required += [r for r in body.schema.get("required") or [] if r in fields and r not in required]
        else:
            key = "body" if "body" not in properties else "request_body"
            properties[key] = body.schema
            required += [key] if body.required else []
    parameters: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        parameters["required"] = required
    return {"name": name, "description": description, "parameters": parameters}


def type_label(schema: Any) -> str:
    """A short readable type: `string (date-time)`, `array of Pet`, `one of: a, b`."""
    if not isinstance(schema, dict):
        return "any"
    for marker in ("$ref_cycle", "$ref_truncated"):
        if marker in schema:
            return str(schema[marker])
    if isinstance(schema.get("$ref"), str):
        return schema["$ref"].rsplit("/", 1)[-1]
    kind = schema.get("type") or ("object" if "properties" in schema else None)
    if isinstance(kind, list):
        kind = " | ".join(map(str, kind))
    if kind == "array":
        return f"array of {type_label(schema.get('items'))}"
    for combinator in ("oneOf", "anyOf", "allOf"):
        if isinstance(schema.get(combinator), list) and not kind:
            return f"{combinator} " + " | ".join(type_label(s) for s in schema[combinator])
    title = schema.get("title") if kind in (None, "object") else None
    label = str(title or kind or "any")
    if schema.get("format"):
        label += f" ({schema['format']})"
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        shown = ", ".join(map(str, enum[:ENUM_SHOWN])) + (", ..." if len(enum) > ENUM_SHOWN else "")
        label += f", one of: {shown}"
    return label


def one_line(text: Any) -> str:
    return " ".join(str(text or "").split())


def field_lines(schema: Any, indent: str = "", depth: int = 0, max_depth: int = FIELD_DEPTH) -> list[str]:
    """Bullet lines for an object schema's properties, nested objects indented below their field."""
    if depth > max_depth:
        return []
    fields, required = _object_fields(schema)
    lines = []
    for name, sub in fields.items():
        lines.append(_bullet(indent, name, [type_label(sub)], name in required, sub))
        lines += field_lines(sub, indent + "  ", depth + 1, max_depth)
    return lines


def _object_fields(schema: Any) -> tuple[dict[str, Any], set[str]]:
    """Properties and required names of an object schema (or an array's items), `allOf` parts merged."""
    if isinstance(schema, dict) and schema.get("type") == "array":
        schema = schema.get("items")
    if not isinstance(schema, dict):
        return {}, set()
    fields: dict[str, Any] = {}
    required = set(schema["required"]) if isinstance(schema.get("required"), list) else set()
    for part in schema.get("allOf") if isinstance(schema.get("allOf"), list) else []:
        part_fields, part_required = _object_fields(part)
        fields.update(part_fields)
        required |= part_required
    if isinstance(schema.get("properties"), dict):
        fields.update(schema["properties"])
    return fields, {str(name) for name in required}


def _bullet(indent: str, name: str, facts: list[str], required: bool, schema: Any) -> str:
    description = one_line(schema.get("description")) if isinstance(schema, dict) else ""
    facts = [*facts, "required"] if required else facts
    return f"{indent}- {name} ({', '.join(facts)})" + (f": {description}" if description else "")


def render(
    header: list[tuple[str, Any]],
    description: str,
    params: list[Param],
    body: Body | None,
    results: list[str],
    results_title: str = "Responses",
) -> str:
    """The deterministic text of one operation: header lines, description, inputs and result lines."""
    lines = [f"{key}: {one_line(value)}" for key, value in header if value]
    if description.strip():
        lines += ["", re.sub(r"\n{3,}", "\n\n", description.strip())]
    if params:
        lines += ["", "Parameters:"]
        for p in params:
            facts = [p.location, type_label(p.schema)] if p.location else [type_label(p.schema)]
            lines.append(_bullet("", p.name, facts, p.required, p.schema))
            lines += field_lines(p.schema, "  ", 1)
    if body is not None:
        facts = ", ".join(f for f in (body.media_type, "required" if body.required else "") if f)
        lines += ["", f"Request body: {type_label(body.schema)}" + (f" ({facts})" if facts else "")]
        lines += field_lines(body.schema)
    if results:
        lines += ["", f"{results_title}:", *results]
    return "\n".join(lines)
