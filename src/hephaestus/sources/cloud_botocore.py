"""AWS service models (botocore `service-2.json[.gz]`): shapes as JSON schema, one tool_doc per operation."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from hephaestus.io.readers import Location, Rejected
from hephaestus.records import make_record
from hephaestus.sources.apischema import CONVERSION_ERRORS, Param, RefResolver, field_lines, function_schema, render
from hephaestus.sources.base import Item

MODEL_FILES = ("service-2.json", "service-2.json.gz")
SCALARS = {
    "string": "string",
    "integer": "integer",
    "long": "integer",
    "float": "number",
    "double": "number",
    "boolean": "boolean",
    "list": "array",
    "map": "object",
}
NUMBER_LIMITS = {"min": "minimum", "max": "maximum"}
LIMITS = {
    "string": {"min": "minLength", "max": "maxLength"},
    "list": {"min": "minItems", "max": "maxItems"},
    **dict.fromkeys(("integer", "long", "float", "double"), NUMBER_LIMITS),
}
BLOCK_TAGS = {"p", "br", "ul", "ol", "dl", "dt", "dd", "div", "pre", "note", "important", "h1", "h2", "h3", "h4"}


def latest_models(data_dir: Path) -> dict[str, str]:
    """Service name -> path of the model of its newest API version."""
    models = {}
    for service in sorted(p for p in data_dir.iterdir() if p.is_dir()):
        for version in sorted((p for p in service.iterdir() if p.is_dir()), reverse=True):
            found = [version / name for name in MODEL_FILES if (version / name).is_file()]
            if found:
                models[service.name] = str(found[0])
                break
    return models


def operation_records(model: dict[str, Any], path: str) -> Iterator[Item]:
    """One tool_doc per operation of a service model, or a Rejected for one that does not convert."""
    service = Path(path).parent.parent.name
    shapes = model.get("shapes") or {}
    converted: dict[str, dict[str, Any]] = {}

    def lookup(name: str) -> tuple[str, Any] | str:
        if name not in shapes:
            return "shape not found"
        if name not in converted:
            converted[name] = shape_schema(name, shapes[name])
        return name, converted[name]

    resolver = RefResolver(lookup)
    metadata = model.get("metadata") or {}
    for index, (name, op) in enumerate((model.get("operations") or {}).items()):
        try:
            yield _record(service, metadata, name, op, resolver, path)
        except CONVERSION_ERRORS as error:
            yield Rejected("bad_operation", Location(path, item=index), f"{name}: {type(error).__name__}: {error}")


def _record(service: str, metadata: dict, name: str, op: dict, resolver: RefResolver, path: str) -> dict[str, Any]:
    shape_of = {key: (op.get(key) or {}).get("shape") for key in ("input", "output")}
    inputs = resolver.resolve({"$ref": shape_of["input"]}) if shape_of["input"] else {}
    required = set(inputs.get("required") or [])
    params = [Param(n, "", s, n in required) for n, s in (inputs.get("properties") or {}).items()]
    description = html_text(op.get("documentation"))
    tool = function_schema(f"{service}.{name}", description, params, None, merge_body=False)
    http = op.get("http") or {}
    title = metadata.get("serviceFullName") or service
    header = [
        ("API", f"{title} ({service}, API version {metadata.get('apiVersion', '?')})"),
        ("Protocol", metadata.get("protocol")),
        ("Operation", name),
        ("HTTP", f"{http.get('method', '')} {http.get('requestUri', '')}".strip()),
        ("Errors", ", ".join(e["shape"] for e in op.get("errors") or [])),
        ("Deprecated", "yes" if op.get("deprecated") else ""),
    ]
    output = resolver.resolve({"$ref": shape_of["output"]}) if shape_of["output"] else {}
    results = field_lines(output, max_depth=0)
    text = render(header, description, params, None, results, f"Returns {shape_of['output']}")
    meta = {
        "service": service,
        "service_name": title,
        "api_version": metadata.get("apiVersion"),
        "protocol": metadata.get("protocol"),
        "operation": name,
        "http_method": http.get("method"),
        "request_uri": http.get("requestUri"),
        "model": path,
    }
    return make_record(f"botocore:{service}", "tool_doc", text, tools=[tool], meta=meta)


def shape_schema(name: str, shape: dict[str, Any]) -> dict[str, Any]:
    """One botocore shape as JSON schema; the shapes it names stay `{"$ref": shape}` for the resolver."""
    kind = shape.get("type")
    schema: dict[str, Any] = {"type": SCALARS[kind]} if kind in SCALARS else {}
    if shape.get("document"):
        schema = {}  # any JSON value
    elif kind == "structure":
        members = shape.get("members") or {}
        schema = {"title": name, "type": "object", "properties": {m: _member(s) for m, s in members.items()}}
        if required := [m for m in shape.get("required") or [] if m in members]:
            schema["required"] = required
        if shape.get("union"):
            schema.update(minProperties=1, maxProperties=1)
    elif kind == "list":
        schema["items"] = _member(shape["member"])
    elif kind == "map":
        schema["additionalProperties"] = _member(shape["value"])
    elif kind == "timestamp":
        schema = {"type": "string", "format": "date-time"}
    elif kind == "blob":
        schema = {"type": "string", "format": "binary" if shape.get("streaming") else "byte"}
    if kind == "string" and shape.get("enum"):
        schema["enum"] = list(shape["enum"])
    schema.update({key: shape[src] for src, key in LIMITS.get(kind, {}).items() if src in shape})
    if kind == "string" and shape.get("pattern"):
        schema["pattern"] = shape["pattern"]
    if description := html_text(shape.get("documentation")):
        schema["description"] = description
    return schema


def _member(member: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = {"$ref": member["shape"]}
    if description := html_text(member.get("documentation")):
        schema["description"] = description
    if member.get("deprecated"):
        schema["deprecated"] = True
    return schema


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.bullet = False  # the next text starts a list item

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in BLOCK_TAGS or tag == "li":
            self.parts.append("\n")
        self.bullet = self.bullet or tag == "li"

    def handle_endtag(self, tag: str) -> None:
        if tag in BLOCK_TAGS or tag == "li":
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        text = re.sub(r"\s+", " ", data)
        if self.bullet and text.strip():
            text, self.bullet = "- " + text.lstrip(), False
        self.parts.append(text)


def html_text(html: Any) -> str:
    """Botocore's HTML documentation as plain text: paragraphs and `- ` list items kept."""
    if not html:
        return ""
    parser = _TextParser()
    parser.feed(str(html))
    parser.close()
    lines = (line.strip() for line in "".join(parser.parts).split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
