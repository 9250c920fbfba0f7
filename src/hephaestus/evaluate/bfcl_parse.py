"""Model output to function calls in the AST checker's format `[{name: {argument: value}}]`.

Our format is one `<tool_call>\\n{"name": ..., "arguments": {...}}\\n</tool_call>` block per call; text after
the first TURN_END is ignored, and text without a call is no call ([]). Output that starts with `[` is read
as BFCL's prompting format `[f(a=1), g(b=2)]` by bfcl-eval's own decoder (the Java and JavaScript
decoders in those categories). Java and JavaScript arguments are strings of source text: a JSON scalar
there (`5`, `true`) is turned into its source text ("5", "true"); strings, lists and objects are left to the
checker. Output that cannot be read raises CallParseError with the reason.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

from hephaestus.chat_template import TURN_END
from hephaestus.evaluate.bfcl_values import scalar_source

TOOL_CALL = re.compile(r"<tool_call>(.*?)</tool_call>", re.DOTALL)
# bfcl-eval's Python decoder evaluates arithmetic arguments (`a=2*3`) with eval: numbers and these operators only
# (no **, <<: their results grow exponentially in the length of the text)
SAFE_ARITHMETIC = (ast.BinOp, ast.UnaryOp, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.UAdd,
                   ast.USub)


class CallParseError(ValueError):
    """Model output that has a call which cannot be read; the message says why."""


def parse_calls(text: str, language: str = "python") -> list[dict[str, dict[str, Any]]]:
    """The calls in `text` (a model's answer) for a category of `language` (python, java or javascript)."""
    text = text.split(TURN_END, 1)[0]
    if "<tool_call>" in text:
        calls = [_json_call(body) for body in TOOL_CALL.findall(text)]
        if text.count("<tool_call>") != len(calls):
            raise CallParseError("a <tool_call> without its closing </tool_call>")
    elif text.strip("`\n ").startswith("["):
        calls = _python_list(text, language)
    else:
        return []
    if language in ("java", "javascript"):
        calls = [{name: {k: _source_text(v) for k, v in args.items()}} for call in calls for name, args in call.items()]
    return calls


def _json_call(body: str) -> dict[str, dict[str, Any]]:
    try:
        call = json.loads(body)
    except json.JSONDecodeError as error:
        raise CallParseError(f"tool call is not JSON: {error}") from None
    if not isinstance(call, dict) or not isinstance(call.get("name"), str) or not call["name"]:
        raise CallParseError("tool call has no function name")
    arguments = call.get("arguments", {})
    if isinstance(arguments, str):  # some models write the arguments as a JSON string
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError as error:
            raise CallParseError(f"tool call arguments are not JSON: {error}") from None
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        raise CallParseError(f"tool call arguments are a {type(arguments).__name__}, not an object")
    return {call["name"]: arguments}


def _python_list(text: str, language: str) -> list[dict[str, dict[str, Any]]]:
    """`[f(a=1), ...]` read by bfcl-eval's decoder for the language."""
    from bfcl_eval.constants.enums import ReturnFormat
    from bfcl_eval.model_handler.utils import default_decode_ast_prompting

    if language == "python":
        _check_safe(text.strip("`\n "))
    try:
        calls = default_decode_ast_prompting(text, ReturnFormat(language))
    except CallParseError:
        raise
    except Exception as error:  # the decoder raises SyntaxError, AssertionError, ValueError, ...
        raise CallParseError(f"not a list of calls: {type(error).__name__}: {error}") from None
    if not isinstance(calls, list) or not all(
        isinstance(call, dict) and len(call) == 1 and isinstance(next(iter(call.values())), dict) for call in calls
    ):
        raise CallParseError("not a list of calls")
    return calls


def _check_safe(text: str) -> None:
    """Refuse arguments that bfcl-eval's decoder would eval unless they are plain arithmetic on numbers."""
    try:
        tree = ast.parse(text if text.startswith("[") else f"[{text}]", mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
        raise CallParseError(f"not a list of calls: {type(error).__name__}: {error}") from None
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp | ast.Lambda) and not all(_arithmetic(inner) for inner in ast.walk(node)):
            raise CallParseError("an argument is an expression other than arithmetic on numbers")


def _arithmetic(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return type(node.value) in (int, float)
    return isinstance(node, SAFE_ARITHMETIC)


def _source_text(value: Any) -> Any:
    """A JSON scalar as Java/JavaScript source text; strings, lists and objects as they are."""
    text = scalar_source(value)
    return value if text is None else text
