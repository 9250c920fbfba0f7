"""OpenAPI 3.0/3.1 and Swagger 2.0 specs, JSON or YAML: one `tool_doc` record per operation."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from datetime import date
from pathlib import PurePosixPath
from typing import Any

import yaml

from hephaestus.io.readers import COMPRESSED_SUFFIXES, Location, Rejected, decode_utf8, read_whole
from hephaestus.records import make_record
from hephaestus.sources.apischema import (
    CONVERSION_ERRORS,
    Body,
    Param,
    RefResolver,
    function_schema,
    one_line,
    pointer_lookup,
    render,
    type_label,
)
from hephaestus.sources.base import FileSource, Item, ShardTask

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# the keys of a Swagger 2 parameter that are no schema keywords
SWAGGER_PARAM_KEYS = {"name", "in", "description", "required", "allowEmptyValue", "collectionFormat"}
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the safe loader, in C when libyaml is there
MAX_BYTES = 64 * 1024 * 1024
MAX_YAML_NODES = 5_000_000  # YAML aliases can expand a small file into a huge tree


class OpenAPISource(FileSource):
    """`openapi:PATH`: a spec file, a directory of them or a glob."""

    name = "openapi"
    summary = "OpenAPI 3.x / Swagger 2.0 specs (JSON or YAML): one tool_doc per operation"
    extensions = (".json", ".yaml", ".yml")

    def read_file(self, task: ShardTask) -> Iterator[Item]:
        spec = load_spec(task.path, int(self.options.get("max_bytes", MAX_BYTES)))
        if isinstance(spec, Rejected):
            yield spec
            return
        api = Api(spec, task.path)
        operations = api.operations()
        if not operations:
            yield Rejected("no_operations", Location(task.path), "the spec defines no operations")
            return
        for index, (path, method, item) in enumerate(operations):
            try:
                yield api.record(path, method, item)
            except CONVERSION_ERRORS as error:
                detail = f"{method.upper()} {path}: {type(error).__name__}: {error}"
                yield Rejected("bad_operation", Location(task.path, item=index), detail)


class Api:
    """One parsed spec: what every operation's record shares."""

    def __init__(self, spec: dict[str, Any], path: str) -> None:
        self.spec, self.path = spec, path
        self.swagger = "swagger" in spec
        self.resolver = RefResolver(pointer_lookup(spec))
        info = spec.get("info") if isinstance(spec.get("info"), dict) else {}
        stem = PurePosixPath(path).name.split(".")[0]
        self.title = one_line(info.get("title")) or stem
        self.version = one_line(info.get("version"))
        self.source = f"openapi:{_slug(self.title) or _slug(stem) or 'spec'}"
        version = str(spec.get("swagger") or spec.get("openapi"))
        self.meta = {"api": self.title, "api_version": self.version, "spec": path, "spec_version": version}

    def operations(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(path, method, path item) of every operation, in document order."""
        found = []
        for path, raw in (self.spec.get("paths") or {}).items():
            item = self.resolver.deref(raw)
            if isinstance(item, dict) and not str(path).startswith("x-"):
                found += [(str(path), method, item) for method in item if method in METHODS]
        return found

    def base_url(self, op: dict[str, Any]) -> str:
        if self.swagger:
            schemes, host, base = self.spec.get("schemes"), self.spec.get("host"), self.spec.get("basePath") or ""
            scheme = schemes[0] if isinstance(schemes, list) and schemes else "https"
            return f"{scheme}://{host}{base}" if host else str(base)
        servers = op.get("servers") or self.spec.get("servers") or [{}]
        return str(servers[0].get("url") or "") if isinstance(servers[0], dict) else ""

    def record(self, path: str, method: str, item: dict[str, Any]) -> dict[str, Any]:
        op = item[method]
        params, body = self.inputs(item, op)
        raw_name = op.get("operationId") if isinstance(op.get("operationId"), str) else f"{method} {path}"
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", raw_name).strip("_") or method
        texts = (op.get("summary"), op.get("description"))
        description = "\n\n".join(dict.fromkeys(t.strip() for t in texts if isinstance(t, str) and t.strip()))
        tags = [str(t) for t in op.get("tags") or []]
        header = [
            ("API", f"{self.title} (version {self.version})" if self.version else self.title),
            ("Base URL", self.base_url(op)),
            ("Operation", f"{method.upper()} {path}"),
            ("Name", name),
            ("Tags", ", ".join(tags)),
            ("Deprecated", "yes" if op.get("deprecated") is True else ""),
        ]
        text = render(header, description, params, body, self.responses(op))
        tool = function_schema(name, description, params, body, merge_body=True)
        meta = {**self.meta, "method": method.upper(), "path": path, "operation_id": op.get("operationId")}
        return make_record(self.source, "tool_doc", text, tools=[tool], meta={**meta, "tags": tags})

    def inputs(self, item: dict[str, Any], op: dict[str, Any]) -> tuple[list[Param], Body | None]:
        """Path-level parameters overridden by the operation's, and the request body."""
        merged: dict[tuple[str, str], dict[str, Any]] = {}
        for raw in [*(item.get("parameters") or []), *(op.get("parameters") or [])]:
            param = self.resolver.deref(raw)
            merged[(str(param["name"]), str(param.get("in", "query")))] = param
        params, body = [], None
        for (name, where), param in merged.items():
            if where == "body":
                media = (op.get("consumes") or self.spec.get("consumes") or [None])[0]
                body = Body(self.schema(param.get("schema")), param.get("required") is True, media)
            else:
                params.append(
                    Param(name, where, self.param_schema(param), where == "path" or param.get("required") is True)
                )
        if isinstance(op.get("requestBody"), dict):
            request = self.resolver.deref(op["requestBody"])
            media, schema = _media_schema(request.get("content"))
            body = Body(self.schema(schema), request.get("required") is True, media)
        return params, body

    def schema(self, raw: Any) -> dict[str, Any]:
        schema = self.resolver.resolve(raw)
        return schema if isinstance(schema, dict) else {}

    def param_schema(self, param: dict[str, Any]) -> dict[str, Any]:
        if "schema" in param or "content" in param:  # OpenAPI 3
            schema = self.schema(param["schema"] if "schema" in param else _media_schema(param["content"])[1])
        else:  # Swagger 2: the schema keywords sit on the parameter itself
            schema = self.schema({k: v for k, v in param.items() if k not in SWAGGER_PARAM_KEYS})
            if schema.get("type") == "file":
                schema = {"type": "string", "format": "binary"}
        description = param.get("description")
        return {**schema, "description": description} if isinstance(description, str) and description else schema

    def responses(self, op: dict[str, Any]) -> list[str]:
        lines = []
        for code, raw in (op.get("responses") or {}).items():
            response = self.resolver.deref(raw)
            if not isinstance(response, dict):
                continue
            schema = response.get("schema") if self.swagger else _media_schema(response.get("content"))[1]
            label = f" ({type_label(self.resolver.deref(schema))})" if isinstance(schema, dict) else ""
            description = one_line(response.get("description"))
            lines.append(f"- {code}{label}" + (f": {description}" if description else ""))
        return lines


def _media_schema(content: Any) -> tuple[str | None, Any]:
    """The preferred media type of a `content` map (JSON first) and its schema."""
    if not isinstance(content, dict) or not content:
        return None, None
    media = sorted(content, key=lambda m: (m != "application/json", "json" not in m))[0]
    entry = content[media]
    return media, entry.get("schema") if isinstance(entry, dict) else None


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80]


class _TooLarge(Exception):
    pass


def load_spec(path: str, max_bytes: int) -> dict[str, Any] | Rejected:
    """Parse a spec file; a Rejected names the line of a syntax error, or says why it is no spec."""
    data = read_whole(path, max_bytes)
    if isinstance(data, Rejected):
        return data
    text = decode_utf8(data, Location(path))
    if isinstance(text, Rejected):
        return text
    name = path.lower()
    for suffix in COMPRESSED_SUFFIXES:
        name = name.removesuffix(suffix)
    yaml_like = name.endswith((".yaml", ".yml")) or not (name.endswith(".json") or text.lstrip().startswith("{"))
    doc = _parse_yaml(path, text, data) if yaml_like else _parse_json(path, text, data)
    if isinstance(doc, Rejected):
        return doc
    version = doc.get("openapi", doc.get("swagger")) if isinstance(doc, dict) else None
    if version is None or not str(version).startswith(("2", "3")):
        return Rejected("not_openapi", Location(path), "no 'openapi: 3.x' or 'swagger: 2.0' field", data[:4096])
    if not isinstance(doc.get("paths") or {}, dict):
        return Rejected("not_openapi", Location(path), "'paths' is not an object", data[:4096])
    return doc


def _parse_json(path: str, text: str, data: bytes) -> Any | Rejected:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        return Rejected(
            "invalid_json", Location(path, error.lineno), f"{error.msg} at column {error.colno}", data[:4096]
        )
    except RecursionError:
        return Rejected("invalid_json", Location(path), "nesting too deep", data[:4096])


def _parse_yaml(path: str, text: str, data: bytes) -> Any | Rejected:
    try:
        return _plain(yaml.load(text, Loader=SAFE_LOADER), itertools.count())
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = Location(path, mark.line + 1 if mark else None)
        return Rejected("invalid_yaml", where, one_line(error.problem or error.context or error), data[:4096])
    except yaml.YAMLError as error:
        return Rejected("invalid_yaml", Location(path), one_line(error), data[:4096])
    except (RecursionError, _TooLarge):
        detail = f"YAML aliases or nesting expand past {MAX_YAML_NODES:,} nodes"
        return Rejected("too_large", Location(path), detail, data[:4096])


def _plain(value: Any, counter: Iterator[int]) -> Any:
    """YAML values as JSON ones: string keys, ISO dates, lists for sets; bounded in total size."""
    if next(counter) > MAX_YAML_NODES:
        raise _TooLarge
    if isinstance(value, dict):
        return {str(key): _plain(item, counter) for key, item in value.items()}
    if isinstance(value, set):
        value = sorted(value, key=str)
    if isinstance(value, (list, tuple)):
        return [_plain(item, counter) for item in value]
    if isinstance(value, date):
        return value.isoformat()
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
