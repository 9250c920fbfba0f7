"""Ground-truth values as call arguments, in the form bfcl-eval's AST checker reads for each language.

A ground-truth parameter lists its acceptable values; the reference argument is the first one, and a
parameter whose first value is "" (may be omitted) is left out, unless the function requires it (then its
first other value, or ""); an optional parameter the function doc does not have is left out too (the checker
refuses it). Dict parameters list acceptable values per key, read the same way.

Python arguments are JSON values. Java and JavaScript arguments are strings of source text, as BFCL's
prompts ask ("... type parameter in string representation") and as the checker's type converters parse
them back: `42L` for a Java long, `new int[]{1, 2}`, `new HashMap<...>() {{ put(..); }}`, `[1, 2]` or
`{key: "v"}` in JavaScript. Strings stay unquoted at the top level and inside Java arrays (the checker
compares them unquoted), and are quoted inside Java lists and maps and JavaScript collections.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

DICT_TYPES = frozenset({"dict", "object", "HashMap", "Hashtable"})
LIST_TYPES = frozenset({"array", "list", "tuple", "Array", "ArrayList"})
JAVA_ARRAY_TYPES = {"integer": "int", "any": "Object"}  # other Java type names are written as they are


def first_choice(choices: Any) -> tuple[bool, Any]:
    """(present, value): a list of acceptable values gives its first, absent when that is "" (optional)."""
    if not isinstance(choices, list):
        return True, choices
    if not choices or choices[0] == "":
        return False, None
    return True, choices[0]


def _collapse(value: Any, schema: Mapping[str, Any]) -> Any:
    """A dict ground truth lists acceptable values per key (also in a list of dicts): keep the first of each."""
    kind = schema.get("type")
    if isinstance(value, dict) and kind in DICT_TYPES:
        return {key: choice for key, (present, choice) in ((k, first_choice(v)) for k, v in value.items()) if present}
    if isinstance(value, list) and kind in LIST_TYPES and (schema.get("items") or {}).get("type") in DICT_TYPES:
        return [_collapse(element, schema["items"]) for element in value]
    return value


def reference_arguments(function: Mapping[str, Any], truth: Mapping[str, Any], language: str) -> dict[str, Any]:
    """The arguments of one ground-truth call {param: [acceptable values]} to `function` (its doc) in `language`."""
    properties = (function.get("parameters") or {}).get("properties") or {}
    required = set((function.get("parameters") or {}).get("required") or ())
    arguments: dict[str, Any] = {}
    for name, choices in truth.items():
        optional = isinstance(choices, list) and "" in choices
        present, value = first_choice(choices)
        if name in required and not present and optional:
            present, value = True, next((choice for choice in choices if choice != ""), "")
        if not present or (optional and name not in properties):
            continue
        schema = properties.get(name) or {}
        value = _collapse(value, schema)
        if language == "java":
            value = java_source(value, schema)
        elif language == "javascript":
            value = js_source(value, schema)
        arguments[name] = value
    return arguments


def scalar_source(value: Any) -> str | None:
    """Java/JavaScript source text of a JSON scalar (true, false, null or a number); None for anything else."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return repr(value) if isinstance(value, int | float) else None


def java_source(value: Any, schema: Mapping[str, Any]) -> str:
    """Java source text of a value of the Java type `schema["type"]` (a string is taken as written)."""
    kind, item = schema.get("type"), schema.get("items") or {}
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float) and kind in ("long", "float"):
        return repr(value) + ("L" if kind == "long" else "f")
    if isinstance(value, list) and kind == "Array":
        name = item.get("type") or "Object"
        return f"new {JAVA_ARRAY_TYPES.get(name, name)}[]{{{', '.join(java_source(v, item) for v in value)}}}"
    if isinstance(value, list) and kind == "ArrayList":
        if not value:
            return "new ArrayList<>()"
        return f"new ArrayList<>(Arrays.asList({', '.join(_java_element(v, item) for v in value)}))"
    if isinstance(value, dict):
        puts = " ".join(f"put({json.dumps(str(k))}, {_java_element(v, {})});" for k, v in value.items())
        return f"new HashMap<String, Object>() {{{{ {puts} }}}}" if value else "new HashMap<>()"
    text = scalar_source(value)
    return json.dumps(value) if text is None else text


def _java_element(value: Any, schema: Mapping[str, Any]) -> str:
    if isinstance(value, str):
        return f"'{value}'" if schema.get("type") == "char" else json.dumps(value, ensure_ascii=False)
    return java_source(value, schema)


def js_source(value: Any, schema: Mapping[str, Any]) -> str:
    """JavaScript source text of a value of the type `schema["type"]` (a string is taken as written)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and schema.get("type") == "Bigint":
        return f"{int(value)}n"
    return _js_element(value)


def _js_element(value: Any) -> str:
    if (text := scalar_source(value)) is not None:
        return text
    if isinstance(value, list):
        return "[" + ", ".join(_js_element(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_js_element(v)}" for k, v in value.items()) + "}"
    return json.dumps(value, ensure_ascii=False)
