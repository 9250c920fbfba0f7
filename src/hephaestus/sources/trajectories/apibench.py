"""Gorilla APIBench: {"code", "api_call", "provider", "api_data"} per line (API-Pack's
final_dataset files share the shape).

`code` holds the instruction and the reference output, either as "###Instruction: ...\\n###Output:
<<<domain>>>: ... <<<api_call>>>: ... <<<explanation>>>: ... <<<code>>>: ..." or as a Python-like dict
text ("{'Instruction': ..., 'Output': {..., 'explanation': ..., 'code': ...}}", torchhub_train). The
API's documentation (`api_data`) becomes the one tool; the user turn is the instruction; the assistant
turn is the explanation and a code block: the reference code, else the <<<api_call>>> section, else the
item's `api_call` (fenced in <<<lang>>>, default python). APIBench answers are code written against
the API, not JSON calls, so the assistant turn is text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from hephaestus.sources.trajectories.common import Context, Conversation, FormatError, message, require

INSTRUCTION = re.compile(
    r"^\s*(?:###\s*Instruction:|\{'Instruction':)\s*(.*?)(?:\n\s*###\s*Output:|,\s*'Output':|$)", re.S
)
SECTION = re.compile(r"<<<(\w+)>>>:\s*(.*?)\s*(?=<<<\w+>>>:|$)", re.S)
DICT_EXPLANATION = re.compile(r"'explanation':\s*(['\"])(.*?)\1,\s*'code'", re.S)
DICT_CODE = re.compile(r"'code':\s*(['\"])(.*)\1\s*\}+\s*$", re.S)


def detect(item: Any) -> bool:
    return isinstance(item, dict) and isinstance(item.get("api_data"), dict) and "code" in item


def normalise(item: Any, context: Context) -> Conversation:
    code = require(item, "code", str)
    api = require(item, "api_data", dict)
    instruction = INSTRUCTION.search(code)
    if instruction is None or not instruction.group(1).strip():
        raise FormatError("missing_field", "code has no '###Instruction:' / 'Instruction' before the output")
    sections = dict(SECTION.findall(code))
    explanation = sections.get("explanation") or _group(DICT_EXPLANATION, code)
    program = sections.get("code") or _group(DICT_CODE, code) or sections.get("api_call")
    program = program or str(item.get("api_call") or api.get("api_call") or "")
    if not program:
        raise FormatError("missing_field", "item has neither reference code nor an api_call")
    block = f"```{sections.get('lang') or 'python'}\n{program}\n```"
    reply = f"{explanation}\n\n{block}" if explanation else block
    messages = [message("user", instruction.group(1).strip()), message("assistant", reply)]
    meta = {key: api.get(key) for key in ("domain", "framework", "api_name") if isinstance(api.get(key), str)}
    return Conversation(messages, [_tool(api, item)], meta)


def _group(pattern: re.Pattern[str], text: str) -> str:
    found = pattern.search(text)
    return found.group(2).strip() if found else ""


def _tool(api: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    """The API's documentation as a schema; api_arguments may be a map, a list of names or a string."""
    arguments = api.get("api_arguments")
    if isinstance(arguments, Mapping):
        properties = {str(k): {"description": str(v)} for k, v in arguments.items()}
    elif isinstance(arguments, list):
        properties = {str(a): {} for a in arguments}
    else:
        properties = {}
    name = api.get("api_name") or item.get("api_call") or api.get("api_call")
    if not isinstance(name, str) or not name:
        raise FormatError("missing_field", "api_data has no 'api_name'")
    description = api.get("description") or api.get("api_description") or api.get("functionality") or ""
    tool: dict[str, Any] = {"name": name, "description": str(description)}
    call = api.get("api_call") or item.get("api_call")
    if isinstance(call, str) and call:
        tool["api_call"] = call
    tool["parameters"] = {"type": "object", "properties": properties}
    return tool
