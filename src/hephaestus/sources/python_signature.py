"""Signatures of Python callables: from `inspect`, or from the call lines old-style builtins put at the
top of their docstring (`date(year, month, day) --> date object`)."""

from __future__ import annotations

import ast
import inspect
import itertools
import re
from typing import Any

VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def signature_of(obj: Any, drop_first: bool = False) -> inspect.Signature | None:
    """inspect's signature, None when it has none; `drop_first` removes an unbound method's `self`.

    Optional parameters named `_x` are implementation details (json's `_w=<...>`) and are dropped.
    """
    try:
        try:
            signature = inspect.signature(obj, eval_str=True)
        except Exception:  # string annotations naming what only type checkers import
            signature = inspect.signature(obj)
    except (ValueError, TypeError):
        return None
    params = list(signature.parameters.values())
    if drop_first and params and params[0].kind not in (*VARIADIC, inspect.Parameter.KEYWORD_ONLY):
        params = params[1:]
    params = [p for p in params if not (p.name.startswith("_") and p.default is not inspect.Parameter.empty)]
    return signature.replace(parameters=params)


def split_call_lines(doc: str, short_name: str) -> tuple[list[str], str]:
    """The leading `short_name(...)` lines of a docstring, and the rest of it."""
    lines = doc.splitlines()
    calls = list(itertools.takewhile(lambda line: re.match(rf"{re.escape(short_name)}\(.*\)", line), lines))
    return calls, "\n".join(lines[len(calls) :]).strip()


def call_signature(line: str) -> inspect.Signature | None:
    """The signature in a call line `name(a, b=1) -> x`, when its argument list parses as Python."""
    match = re.match(r"[\w.]+(\(.*\))\s*(?:-+>.*)?$", line)
    try:
        function = ast.parse(f"def _{match[1]}: pass").body[0] if match else None
    except (SyntaxError, ValueError):
        return None
    if not isinstance(function, ast.FunctionDef):
        return None
    args, kind = function.args, inspect.Parameter
    positional = [*args.posonlyargs, *args.args]
    defaults = [None] * (len(positional) - len(args.defaults)) + args.defaults
    params = [
        _parameter(a, kind.POSITIONAL_ONLY if i < len(args.posonlyargs) else kind.POSITIONAL_OR_KEYWORD, d)
        for i, (a, d) in enumerate(zip(positional, defaults, strict=True))
    ]
    params += [_parameter(args.vararg, kind.VAR_POSITIONAL, None)] if args.vararg else []
    params += [_parameter(a, kind.KEYWORD_ONLY, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)]
    params += [_parameter(args.kwarg, kind.VAR_KEYWORD, None)] if args.kwarg else []
    try:
        return inspect.Signature(params)
    except ValueError:  # duplicate names
        return None


class _Expression:
    """A default written as an expression, not a literal (`file=sys.stdout`): shown as written."""

    def __init__(self, source: str) -> None:
        self.source = source

    def __repr__(self) -> str:
        return self.source


def _parameter(arg: ast.arg, kind: inspect._ParameterKind, default: ast.expr | None) -> inspect.Parameter:
    value: Any = inspect.Parameter.empty
    if default is not None:
        try:
            value = ast.literal_eval(default)
        except ValueError:
            value = _Expression(ast.unparse(default))
    annotation = ast.unparse(arg.annotation) if arg.annotation else inspect.Parameter.empty
    return inspect.Parameter(arg.arg, kind, default=value, annotation=annotation)
