"""Code-to-text pairs from Python source, parsed with `ast` (the code is never imported or run).

For every function or method with a docstring, the pair's text is the docstring as a plain-language
header, a blank line, then the function's source (decorators and signature included) with the
docstring statement taken out and the indentation removed.
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass

Function = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass(frozen=True)
class CodePair:
    qualname: str  # as Python spells it: `Class.method`, `outer.<locals>.inner`
    line: int  # 1-based first line of the function (its first decorator)
    text: str


def code_pairs(source: str) -> list[CodePair]:
    """The docstring/code pairs of a Python file; none when it does not parse."""
    source = source.replace("\r\n", "\n").replace("\r", "\n")
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return []
    lines = source.split("\n")
    return [pair for qualname, node in _functions(tree, "") if (pair := _pair(qualname, node, lines))]


def _functions(node: ast.AST, prefix: str) -> Iterator[tuple[str, Function]]:
    """Functions in the statement blocks under `node`, with their qualified names."""
    for block in ("body", "orelse", "finalbody", "handlers", "cases"):
        for child in getattr(node, block, ()):
            if isinstance(child, Function):
                yield prefix + child.name, child
                yield from _functions(child, f"{prefix}{child.name}.<locals>.")
            elif isinstance(child, ast.ClassDef):
                yield from _functions(child, f"{prefix}{child.name}.")
            else:
                yield from _functions(child, prefix)  # functions under if/try/with/match blocks


def _pair(qualname: str, node: Function, lines: list[str]) -> CodePair | None:
    docstring = ast.get_docstring(node)
    if not docstring or not docstring.strip() or len(node.body) < 2:
        return None  # undocumented, or nothing but the docstring
    doc = node.body[0]
    first, last = lines[doc.lineno - 1].encode(), lines[doc.end_lineno - 1].encode()  # offsets are in bytes
    after = last[doc.end_col_offset :].strip()
    if first[: doc.col_offset].strip() or (after and not after.startswith(b"#")):
        return None  # the docstring shares a line with other code
    start = min([d.lineno for d in node.decorator_list] + [node.lineno])
    body = lines[doc.end_lineno : node.end_lineno]
    while body and not body[0].strip():
        body.pop(0)
    code = textwrap.dedent("\n".join(lines[start - 1 : doc.lineno - 1] + body)).rstrip()
    return CodePair(qualname, start, f"{docstring.strip()}\n\n{code}")
