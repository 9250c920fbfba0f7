"""Berkeley Function Calling Leaderboard (BFCL) question files, with their ground truth.

A question item is {"id", "question": [[messages of turn 1], ...], "function": [schemas]}. The ground
truth lives in a `possible_answer/` folder holding a file of the same name, next to the question file
or one or two folders up (BFCL's unused_datasets/question/ -> unused_datasets/possible_answer/), and is
matched by id: [{function: {param: [accepted values]}}] (the executable categories: Python calls). The
assistant turn calls each function with the first accepted value of each parameter; a parameter whose
accepted values include "" is optional and left out. Without an answer file or an entry for the id
(the irrelevance categories have none) the record is the question and tools alone, meta answer=false.
Multi-turn items (`involved_classes` instead of `function`) are read by `bfcl_multi_turn`.
"""

from __future__ import annotations

import posixpath
from typing import Any

import fsspec

from hephaestus.io.readers import Rejected, iter_json_document
from hephaestus.sources.trajectories import bfcl_multi_turn
from hephaestus.sources.trajectories.common import (
    Context,
    Conversation,
    FormatError,
    Message,
    message,
    require,
    tool_call,
    tool_schema,
)
from hephaestus.sources.trajectories.pycall import parameter_names, python_tool_call

ANSWER_FOLDER = "possible_answer"
DOC_FOLDER = "multi_turn_func_doc"


def detect(item: Any) -> bool:
    return (
        isinstance(item, dict)
        and "id" in item
        and "question" in item
        and ("function" in item or "involved_classes" in item)
    )


def normalise(item: Any, context: Context) -> Conversation:
    qid = str(require(item, "id", (str, int)))
    question = turns(require(item, "question", (list, str)))
    truth = _answers(context).get(qid)
    if "function" not in item:
        return bfcl_multi_turn.normalise(item, question, truth, lambda name: _docs(context, name))
    functions = require(item, "function", (list, dict))
    tools = [tool_schema(f) for f in (functions if isinstance(functions, list) else [functions])]
    messages = [m for turn in question for m in turn]
    if truth is not None:
        messages.append(answer_turn(truth, tools))
    return Conversation(messages, tools, {"id": qid, "answer": truth is not None})


def turns(question: Any) -> list[list[Message]]:
    """The question's turns: a string, a list of messages, or a list of turns of messages."""
    if isinstance(question, str):
        return [[message("user", question)]]
    if question and all(isinstance(m, dict) for m in question):
        question = [question]
    result = []
    for index, turn in enumerate(question):
        if not isinstance(turn, list):
            raise FormatError("invalid_value", f"question[{index}] is not a list of messages")
        result.append([_message(m, f"question[{index}]") for m in turn])
    return result


def _message(entry: Any, where: str) -> Message:
    role = require(entry, "role", str, where)
    if role not in ("system", "user", "assistant"):
        raise FormatError("invalid_value", f"{where} has role {role!r}")
    return message(role, require(entry, "content", str, where))


def answer_turn(truth: Any, tools: list[dict[str, Any]]) -> Message:
    """The assistant turn for [{function: {param: [accepted values]}}, ...] or, in the executable
    categories, for a list of Python calls."""
    if isinstance(truth, list) and all(isinstance(call, str) for call in truth):
        names = parameter_names(tools)
        calls = [python_tool_call(source, names) for source in truth]
    elif isinstance(truth, list) and all(isinstance(call, dict) for call in truth):
        calls = [tool_call(name, resolve(params)) for call in truth for name, params in call.items()]
    else:
        raise FormatError("invalid_value", "ground_truth is neither [{function: {param: [values]}}] nor [calls]")
    return message("assistant", None if calls else "", calls)


def resolve(value: Any) -> Any:
    """A concrete value from BFCL's accepted-value lists: dicts are resolved key by key, optional
    keys (accepted values include "") are dropped, and each key takes its first accepted value."""
    if isinstance(value, dict):
        return {key: resolve(_first(v)) for key, v in value.items() if not (isinstance(v, list) and "" in v)}
    if isinstance(value, list):
        return [resolve(v) if isinstance(v, dict) else v for v in value]
    return value


def _first(values: Any) -> Any:
    return values[0] if isinstance(values, list) and values else values


def companion(path: str, folder: str, name: str) -> str | None:
    """`folder/name` in the question file's folder or in one of the two folders above, if it exists."""
    fs, local = fsspec.core.url_to_fs(path)
    directory = posixpath.dirname(local)
    parent = posixpath.dirname(directory)
    for base in (directory, parent, posixpath.dirname(parent)):
        candidate = posixpath.join(base, folder, name)
        if fs.isfile(candidate):
            return fs.unstrip_protocol(candidate)
    return None


def _load(path: str | None, key: str) -> list[dict[str, Any]]:
    entries = [] if path is None else iter_json_document(path)
    return [
        value
        for entry in entries
        if not isinstance(entry, Rejected)
        for value in [entry[1]]
        if isinstance(value, dict) and key in value
    ]


def _answers(context: Context) -> dict[str, Any]:
    def load() -> dict[str, Any]:
        path = companion(context.path, ANSWER_FOLDER, posixpath.basename(context.path))
        return {str(entry["id"]): entry.get("ground_truth") for entry in _load(path, "id")}

    return context.memo("bfcl.answers", load)


def _docs(context: Context, name: str) -> list[dict[str, Any]]:
    def load() -> list[dict[str, Any]]:
        path = companion(context.path, DOC_FOLDER, name)
        if path is None:
            raise FormatError("missing_file", f"no {DOC_FOLDER}/{name} beside {context.path}")
        return _load(path, "name")

    return context.memo(f"bfcl.docs.{name}", load)
