"""NESTFUL sequences: {"input", "output": [{"name", "arguments", "label", "response"?}]}, tools in a spec file.

NESTFUL (IBM; the `nestful-wrapper` package's `data_v1/`) writes a task as the user's request and the
sequence of API calls that solves it; each call has a label (`var1`, `var2`, ...) and an argument that
reuses an earlier result is written as a reference `$var1.coordinates.latitude$`. Its ComplexFuncBench
file (`complexfuncbench/complexfuncbench-data.json`: 1,000 Booking.com tasks, 5,070 calls) also keeps
each call's recorded API `response`. The tools are the APIs of the spec file beside the data file
(`X-data.json` -> `X-spec.json`: [{name, description, query_parameters, host?, endpoint?, ...}]).

With responses, each call is an assistant turn followed by a tool turn holding the response as JSON,
and references are resolved to the values they stand for, as NESTFUL derived them: a call's result is
its response's first element (a list) or its `data` field (or first element of it), then the dotted
path is followed through objects. Without responses (NESTFUL's other files), all calls go in one
assistant turn and references stay in NESTFUL's `$varN.field$` notation. A last step named
`var_result` (NESTFUL's answer mapping) is not a call and is dropped. The tools offered are the spec's
APIs in the same endpoint folder (host and path less its last part: ComplexFuncBench's hotels, flights,
cars, taxi, attraction and meta domains) as an API the item calls; an API without an endpoint stands
alone. The data has no final answer: a conversation ends with the last response.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import fsspec

from hephaestus.io.readers import Rejected
from hephaestus.sources.trajectories.common import (
    Context,
    Conversation,
    FormatError,
    json_value,
    message,
    require,
    tool_call,
)
from hephaestus.sources.trajectories.jsonarray import iter_json_array

REFERENCE = re.compile(r"\$(?P<label>[^.$]+)(?:\.(?P<path>[^$]+))?\$")
ANSWER_STEP = "var_result"
SPEC_SUFFIX = re.compile(r"-data(?=\.json(?:\.(?:gz|zst|bz2|xz))?$)")
MISSING = object()


@dataclass(frozen=True)
class Catalog:
    """The spec file's APIs as tool schemas, in file order, and each API's endpoint folder."""

    tools: dict[str, dict[str, Any]]
    groups: dict[str, str]
    path: str | None = None
    error: str | None = None


def detect(item: Any) -> bool:
    if not isinstance(item, dict) or not isinstance(item.get("input"), str) or not isinstance(item.get("output"), list):
        return False
    return bool(item["output"]) and isinstance(item["output"][0], dict) and "name" in item["output"][0]


def normalise(item: Any, context: Context) -> Conversation:
    request = require(item, "input", str).strip()
    if not request:
        raise FormatError("missing_field", "input is empty")
    steps = require(item, "output", list)
    if steps and isinstance(steps[-1], Mapping) and steps[-1].get("name") == ANSWER_STEP:
        steps = steps[:-1]
    if not steps:
        raise FormatError("missing_field", "output has no calls")
    if item.get("errors"):
        raise FormatError("unsupported", "item carries NESTFUL error tags (a deliberately corrupted sequence)")
    catalog = context.memo("nestful_catalog", lambda: _catalog(context.path))
    if catalog.error:
        raise FormatError("invalid_value", catalog.error)
    names = [_step_name(step, index, catalog) for index, step in enumerate(steps)]
    responded = [isinstance(step, Mapping) and step.get("response") is not None for step in steps]
    meta: dict[str, Any] = {"calls": len(steps), "responses": any(responded)}
    if any(responded) and not all(responded):
        missing = ", ".join(str(i) for i, r in enumerate(responded) if not r)
        raise FormatError("missing_field", f"steps {missing} have no recorded response, the others do")
    messages = [message("user", request)]
    if not any(responded):
        pairs = enumerate(zip(steps, names, strict=True))
        calls = [tool_call(name, _arguments(step, index), _label(step)) for index, (step, name) in pairs]
        messages.append(message("assistant", None, calls))
    else:
        results: dict[str, Any] = {}
        resolved = 0
        for index, (step, name) in enumerate(zip(steps, names, strict=True)):
            arguments, count = _resolve(_arguments(step, index), results, f"output[{index}] ({name})")
            resolved += count
            label = _label(step)
            messages.append(message("assistant", None, [tool_call(name, arguments, label)]))
            response = step["response"]
            text = response if isinstance(response, str) else json.dumps(response, ensure_ascii=False)
            messages.append(message("tool", text, name=name))
            if label:
                results[label] = _result(response)
        meta["references"] = resolved
    return Conversation(messages, _offered(names, catalog), meta)


def _step_name(step: Any, index: int, catalog: Catalog) -> str:
    name = require(step, "name", str, f"output[{index}]").strip()
    if catalog.path and name not in catalog.tools:
        raise FormatError("invalid_value", f"output[{index}] calls {name!r}, which {catalog.path} does not describe")
    return name


def _arguments(step: Mapping[str, Any], index: int) -> dict[str, Any]:
    arguments = json_value(step.get("arguments", step.get("args", {})), f"output[{index}].arguments")
    if not isinstance(arguments, dict):
        raise FormatError("invalid_value", f"output[{index}].arguments is a {type(arguments).__name__}")
    return arguments


def _label(step: Mapping[str, Any]) -> str | None:
    label = step.get("label")
    return label if isinstance(label, str) and label else None


def _result(response: Any) -> Any:
    """What a reference to this call's label starts from (NESTFUL's step memory)."""
    if isinstance(response, str):
        try:
            response = json.loads(response)
        except json.JSONDecodeError:
            return response
    if isinstance(response, list):
        return response[0] if response else {}
    if isinstance(response, dict):
        data = response.get("data", response)
        return data[0] if isinstance(data, list) and data else data
    return response


def _resolve(value: Any, results: Mapping[str, Any], where: str) -> tuple[Any, int]:
    """The value with every whole-string reference replaced by what it refers to, and how many there were."""
    if isinstance(value, dict):
        pairs = [(key, _resolve(item, results, where)) for key, item in value.items()]
        return {key: item for key, (item, _) in pairs}, sum(count for _, (_, count) in pairs)
    if isinstance(value, list):
        items = [_resolve(item, results, where) for item in value]
        return [item for item, _ in items], sum(count for _, count in items)
    match = REFERENCE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        return value, 0
    found = results.get(match["label"], MISSING)
    for key in (match["path"] or "").split(".") if match["path"] else ():
        found = found.get(key, MISSING) if isinstance(found, Mapping) else MISSING
    if found is MISSING:
        raise FormatError("invalid_value", f"{where}: reference {value} is not in an earlier call's response")
    return found, 1


def _offered(names: list[str], catalog: Catalog) -> list[dict[str, Any]]:
    """The spec's APIs that share an endpoint folder with an API called (an API without one stands alone)."""
    groups = {catalog.groups.get(name) for name in names} - {None}
    return [tool for name, tool in catalog.tools.items() if name in names or catalog.groups.get(name) in groups]


def _catalog(path: str) -> Catalog:
    """The spec file beside a `-data.json` file, as tool schemas; empty when there is none."""
    folder, base = posixpath.split(path)
    spec_base = SPEC_SUFFIX.sub("-spec", base)
    if spec_base == base:
        return Catalog({}, {})
    spec = posixpath.join(folder, spec_base)
    fs, local = fsspec.core.url_to_fs(spec)
    if not fs.exists(local):
        return Catalog({}, {})
    tools: dict[str, dict[str, Any]] = {}
    groups: dict[str, str] = {}
    try:
        for entry in iter_json_array(spec):
            if isinstance(entry, Rejected):
                raise FormatError(entry.reason, f"spec file {spec_base}: {entry.detail}")
            where, api = entry
            name, schema = _tool(api, f"spec file {spec_base} item {where.item}")
            tools[name] = schema
            if isinstance(api.get("endpoint"), str) and "/" in api["endpoint"].strip("/"):
                groups[name] = f"{api.get('host') or ''}{api['endpoint'].rstrip('/').rsplit('/', 1)[0]}"
    except FormatError as error:
        return Catalog({}, {}, spec_base, str(error))
    return Catalog(tools, groups, spec_base)


def _tool(api: Any, where: str) -> tuple[str, dict[str, Any]]:
    """An API of the spec as {name, description, parameters}: an object schema of its query parameters."""
    name = require(api, "name", str, where).strip()
    parameters = api.get("query_parameters") or {}
    if not name or not isinstance(parameters, Mapping):
        raise FormatError("invalid_value", f"{where}: API without a name or with query_parameters not an object")
    properties: dict[str, Any] = {}
    required = []
    for param, spec in parameters.items():
        if not isinstance(spec, Mapping):
            raise FormatError("invalid_value", f"{where}: parameter {param!r} is not an object")
        prop = {key: spec[key] for key in ("type", "description") if spec.get(key) not in (None, "")}
        enum = spec.get("enum") or spec.get("allowed_values")
        default = spec.get("default", spec.get("default_value"))
        prop.update({"enum": enum} if enum else {})
        prop.update({"default": default} if default is not None else {})
        properties[str(param)] = prop
        if spec.get("required") is True:
            required.append(str(param))
    schema = {"name": name, "description": str(api.get("description") or "").strip()}
    schema["parameters"] = {"type": "object", "properties": properties, "required": required}
    return name, schema


__all__ = ["detect", "normalise"]
