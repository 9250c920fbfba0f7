"""Google API discovery documents (google-api-python-client's cache): one tool_doc per method."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hephaestus.io.readers import Location, Rejected
from hephaestus.records import make_record
from hephaestus.sources.apischema import (
    CONVERSION_ERRORS,
    Body,
    Param,
    RefResolver,
    field_lines,
    function_schema,
    render,
)
from hephaestus.sources.base import Item, SpecError

# discovery schema keys that mean the same in JSON schema
SCHEMA_KEYS = ("type", "format", "description", "enum", "default", "pattern", "readOnly", "deprecated", "$ref")


def discovery_documents(directory: Path) -> dict[str, str]:
    """'name.version' -> path of every discovery document in the cache folder."""
    return {p.name.removesuffix(".json"): str(p) for p in sorted(directory.glob("*.json")) if p.name != "index.json"}


def select_documents(directory: Path, wanted: list[str] | None) -> list[str]:
    """Paths of the wanted documents: `drive.v3` exactly; `drive`, or every API when `wanted` is
    None, in the newest stable version of each family (`admin.directory_v1` and `admin.reports_v1`
    are two families; `drive.v2` and `drive.v3` one)."""
    documents = discovery_documents(directory)
    best: dict[tuple[str, str], str] = {}
    for key in sorted(documents, key=_version_rank):
        name, _, version = key.partition(".")
        best[(name, re.sub(r"v\d.*$", "", version).rstrip("_"))] = key
    if wanted is None:
        return [documents[key] for key in sorted(best.values())]
    chosen: list[str] = []
    for entry in wanted:
        family = [entry] if entry in documents else sorted(k for (name, _), k in best.items() if name == entry)
        if not family:
            raise SpecError(f"google-api: no discovery document for {entry!r} (give a name like drive or drive.v3)")
        chosen += [documents[key] for key in family]
    return list(dict.fromkeys(chosen))


def _version_rank(key: str) -> tuple[bool, tuple[int, ...], str]:
    """Stable versions above alpha/beta ones, then by version numbers: v1 < v1.4 < v2."""
    version = key.partition(".")[2]
    return not re.search(r"alpha|beta", version), tuple(int(n) for n in re.findall(r"\d+", version)), key


def method_records(doc: dict[str, Any], path: str) -> Iterator[Item]:
    """One tool_doc per method of a discovery document (resources nested), or a Rejected for one."""
    schemas = doc.get("schemas") or {}
    converted: dict[str, dict[str, Any]] = {}

    def lookup(name: str) -> tuple[str, Any] | str:
        if name not in schemas:
            return "schema not found"
        if name not in converted:
            converted[name] = {"title": name, **discovery_schema(schemas[name])}
        return name, converted[name]

    resolver = RefResolver(lookup)
    for index, method in enumerate(_methods(doc)):
        try:
            yield _record(doc, method, resolver, path)
        except CONVERSION_ERRORS as error:
            detail = f"{method.get('id') if isinstance(method, dict) else method!r}: {type(error).__name__}: {error}"
            yield Rejected("bad_method", Location(path, item=index), detail)


def _methods(resource: dict[str, Any]) -> Iterator[Any]:
    yield from (resource.get("methods") or {}).values()
    for sub in (resource.get("resources") or {}).values():
        if isinstance(sub, dict):
            yield from _methods(sub)


def _record(doc: dict[str, Any], method: dict[str, Any], resolver: RefResolver, path: str) -> dict[str, Any]:
    api = f"{doc.get('name')}.{doc.get('version')}"
    declared = method.get("parameters") or {}
    order = [*(n for n in method.get("parameterOrder") or [] if n in declared), *declared]
    params = [_param(name, declared[name]) for name in dict.fromkeys(order)]
    request = (method.get("request") or {}).get("$ref")
    body = Body(resolver.resolve({"$ref": request}), True) if request else None
    description = str(method.get("description") or "").strip()
    tool = function_schema(method["id"], description, params, body, merge_body=False)
    header = [
        ("API", f"{doc.get('title') or doc.get('name')} ({api})"),
        ("Base URL", f"{doc.get('rootUrl', '')}{doc.get('servicePath', '')}" or doc.get("baseUrl")),
        ("Method", method["id"]),
        ("HTTP", f"{method.get('httpMethod', '')} {method.get('path', '')}".strip()),
        ("Media upload", "supported" if method.get("supportsMediaUpload") else ""),
        ("Deprecated", "yes" if method.get("deprecated") else ""),
    ]
    response = (method.get("response") or {}).get("$ref")
    results = field_lines(resolver.resolve({"$ref": response}), max_depth=0) if response else []
    text = render(header, description, params, body, results, f"Returns {response}")
    meta = {"api": doc.get("title"), "name": doc.get("name"), "version": doc.get("version"), "method": method["id"]}
    meta |= {"http_method": method.get("httpMethod"), "path": method.get("path"), "scopes": method.get("scopes")}
    return make_record(f"google-api:{api}", "tool_doc", text, tools=[tool], meta={**meta, "document": path})


def _param(name: str, spec: dict[str, Any]) -> Param:
    return Param(name, str(spec.get("location", "query")), discovery_schema(spec), spec.get("required") is True)


def discovery_schema(node: dict[str, Any]) -> dict[str, Any]:
    """A discovery schema or parameter as JSON schema: `required: true` on properties gathered into
    `required`, `repeated` parameters as arrays; `$ref: Name` kept for the resolver."""
    schema = {key: node[key] for key in SCHEMA_KEYS if key in node}
    properties = node.get("properties")
    if isinstance(properties, dict):
        schema["properties"] = {name: discovery_schema(sub) for name, sub in properties.items()}
        if required := [name for name, sub in properties.items() if sub.get("required") is True]:
            schema["required"] = required
    if isinstance(node.get("items"), dict):
        schema["items"] = discovery_schema(node["items"])
    if isinstance(node.get("additionalProperties"), dict):
        schema["additionalProperties"] = discovery_schema(node["additionalProperties"])
    if node.get("repeated") is True:
        description = schema.pop("description", None)
        schema = {"type": "array", "items": schema, **({"description": description} if description else {})}
    return schema
