"""Python calls in ground truth (`pkg.f(1, b="x")`, BFCL and OpenFunctions), read with `ast`, never run."""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from typing import Any

from hephaestus.sources.trajectories.common import FormatError, Message, tool_call

_JSON_NAMES = {"true": True, "false": False, "null": None, "True": True, "False": False, "None": None}


def parameter_names(tools: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Each tool's parameter names in schema order, to name positional arguments by."""
    return {tool["name"]: list((tool.get("parameters") or {}).get("properties") or {}) for tool in tools}


def python_tool_call(source: Any, names: Mapping[str, Sequence[str]]) -> Message:
    """The tool call written as Python in `source`; `names` maps functions to their parameter names."""
    if not isinstance(source, str):
        raise FormatError("invalid_value", f"ground-truth call {source!r} is not a string")
    name, arguments = python_call(source, names.get(source.split("(", 1)[0].strip(), ()))
    return tool_call(name, arguments)


def python_call(source: str, positional: Sequence[str] = ()) -> tuple[str, dict[str, Any]]:
    """Name and arguments of one call written in Python (`pkg.f(1, b="x")`), read with `ast`, never run.

    Positional arguments take the names in `positional`; values must be literals (JSON's
    true/false/null are accepted too).
    """
    try:
        node = ast.parse(source.strip(), mode="eval").body
    except (SyntaxError, ValueError):
        raise FormatError("invalid_value", f"not a Python call: {source[:120]!r}") from None
    if not isinstance(node, ast.Call) or any(isinstance(a, ast.Starred) for a in node.args):
        raise FormatError("invalid_value", f"not a plain Python call: {source[:120]!r}")
    if len(node.args) > len(positional):
        raise FormatError("invalid_value", f"cannot name the positional arguments of {source[:120]!r}")
    pairs: list[tuple[str | None, ast.expr]] = list(zip(positional, node.args, strict=False))
    pairs += [(keyword.arg, keyword.value) for keyword in node.keywords]
    if any(name is None for name, _ in pairs):
        raise FormatError("invalid_value", f"**kwargs in {source[:120]!r}")
    return _dotted(node.func, source), {name: _literal(value, source) for name, value in pairs}


def _dotted(node: ast.expr, source: str) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value, source)}.{node.attr}"
    raise FormatError("invalid_value", f"cannot name the function called in {source[:120]!r}")


def _literal(node: ast.expr, source: str) -> Any:
    if isinstance(node, ast.Name) and node.id in _JSON_NAMES:
        return _JSON_NAMES[node.id]
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, RecursionError):
        raise FormatError("invalid_value", f"an argument of {source[:120]!r} is not a literal") from None
