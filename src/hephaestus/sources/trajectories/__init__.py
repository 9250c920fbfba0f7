"""The `trajectories` source: public function-calling and tool-use data, as chat records.

Spec `trajectories:PATH` detects each item's format; `trajectories.FORMAT:PATH` (option `format`)
forces one. A reader module per format turns one parsed JSON item into a Conversation (messages +
tool schemas); the text is `render_chat(messages, tools).text` and the record's kind is "trajectory",
its source `trajectories:<format>:<file stem>`. Every item yields exactly one record or one Rejected
(a format with `split`, e.g. ToolAlpaca's one-item-per-API files, first breaks an item into the
items it holds). See docs/trajectories.md for each format's mapping.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, ClassVar

from hephaestus.chat_template import render_chat
from hephaestus.io.readers import Location, Rejected, iter_json_document, iter_jsonl
from hephaestus.records import make_record
from hephaestus.sources.base import FileSource, Item, ShardTask, SpecError
from hephaestus.sources.trajectories import (
    apibench,
    bfcl,
    glaive,
    nestful,
    openai,
    openfunctions,
    react,
    sharegpt,
    toolalpaca,
    toolbench,
    xlam,
)
from hephaestus.sources.trajectories.common import Context, Format, FormatError
from hephaestus.sources.trajectories.jsonarray import iter_json_array

# Detection order: formats recognised by distinctive keys first, the generic chat shapes
# (ShareGPT `conversations`, OpenAI `messages`) next, ReAct prompt files (an object of strings) last.
FORMATS: dict[str, Format] = {
    "toolbench": Format(toolbench.detect, toolbench.normalise),
    "bfcl": Format(bfcl.detect, bfcl.normalise),
    "openfunctions": Format(openfunctions.detect, openfunctions.normalise),
    "xlam": Format(xlam.detect, xlam.normalise),
    "toolalpaca": Format(toolalpaca.detect, toolalpaca.normalise, toolalpaca.split),
    "apibench": Format(apibench.detect, apibench.normalise),
    "nestful": Format(nestful.detect, nestful.normalise),
    "glaive": Format(glaive.detect, glaive.normalise),
    "sharegpt": Format(sharegpt.detect, sharegpt.normalise),
    "openai": Format(openai.detect, openai.normalise),
    "react": Format(react.detect, react.normalise, react.split),
}
RAW_LIMIT = 4096


def detect(item: Any) -> str | None:
    """The first format, in detection order, that recognises the item."""
    return next((name for name, fmt in FORMATS.items() if fmt.detect(item)), None)


class TrajectorySource(FileSource):
    """Tool-use trajectories in their public formats (.json, .jsonl), normalised to chat records."""

    name = "trajectories"
    summary = "function-calling and tool-use trajectories (OpenAI, ShareGPT, BFCL, ToolBench, xLAM, ...)"
    extensions: ClassVar[tuple[str, ...]] = (".json", ".jsonl")
    splittable: ClassVar[bool] = True

    def __init__(self, arg: str, **options: Any) -> None:
        super().__init__(arg, **options)
        self.format = str(options.get("format", "auto"))
        if self.format != "auto" and self.format not in FORMATS:
            raise SpecError(f"unknown trajectory format {self.format!r}; known: auto, {', '.join(FORMATS)}")

    def files(self) -> list[str]:
        """The files named; in a folder, BFCL `possible_answer/` files are skipped: they are read as the
        answers of their question files, not as trajectories of their own."""
        found = super().files()
        if len(found) == 1:
            return found
        return [path for path in found if "/possible_answer/" not in path] or found

    def read_file(self, task: ShardTask) -> Iterator[Item]:
        context = Context(task.path)
        for entry in _parsed(task):
            if isinstance(entry, Rejected):
                yield entry
                continue
            where, value = entry
            name = detect(value) if self.format == "auto" else self.format
            if name is None:
                yield Rejected("unknown_format", where, f"no trajectory format recognises {_shape(value)}", _raw(value))
                continue
            yield from _read_item(name, value, where, context)


def _parsed(task: ShardTask) -> Iterator[tuple[Location, Any] | Rejected]:
    name = task.path.lower()
    for suffix in (".gz", ".zst", ".bz2", ".xz"):
        name = name.removesuffix(suffix)
    if name.endswith((".jsonl", ".ndjson")):
        return iter_jsonl(task.path, task.start, task.end)
    return _json_items(task.path)


def _json_items(path: str) -> Iterator[tuple[Location, Any] | Rejected]:
    """A JSON document's items; a top-level array too big to read whole is read element by element."""
    items = iter_json_document(path)
    first = next(items, None)
    if isinstance(first, Rejected) and first.reason == "too_large":
        yield from iter_json_array(path)
        return
    if first is not None:
        yield first
    yield from items


def _read_item(name: str, value: Any, where: Location, context: Context) -> Iterator[Item]:
    fmt = FORMATS[name]
    try:
        parts = list(fmt.split(value)) if fmt.split else [("", value)]
    except (ValueError, LookupError, TypeError, AttributeError) as error:
        yield Rejected("invalid_record", where, f"{name}: {type(error).__name__}: {error}", _raw(value))
        return
    for key, part in parts:
        yield _record(name, fmt, key, part, where, context)


def _record(name: str, fmt: Format, key: str, part: Any, where: Location, context: Context) -> Item:
    prefix = f"{name}: {key}: " if key else f"{name}: "
    try:
        conversation = fmt.normalise(part, context)
        if not conversation.messages:
            raise FormatError("missing_field", "no messages")
        text = render_chat(conversation.messages, conversation.tools).text
        meta = {"format": name, "path": context.path, **_location(where), **({"key": key} if key else {})}
        return make_record(
            f"trajectories:{name}:{_stem(context.path)}",
            "trajectory",
            text,
            tools=conversation.tools or None,
            messages=conversation.messages,
            meta={**meta, **conversation.meta},
        )
    except FormatError as error:
        return Rejected(error.reason, where, prefix + str(error), _raw(part))
    except (ValueError, LookupError, TypeError, AttributeError, RecursionError) as error:
        return Rejected("invalid_record", where, f"{prefix}{type(error).__name__}: {error}", _raw(part))


def _location(where: Location) -> dict[str, int]:
    fields = {"line": where.line, "item": where.item}
    if where.line is None:
        fields["offset"] = where.offset
    return {key: value for key, value in fields.items() if value is not None}


def _stem(path: str) -> str:
    name = path.rstrip("/").rsplit("/", 1)[-1]
    for suffix in (".gz", ".zst", ".bz2", ".xz", ".jsonl", ".ndjson", ".json"):
        name = name.removesuffix(suffix)
    return name


def _shape(value: Any) -> str:
    if isinstance(value, dict):
        keys = ", ".join(sorted(map(str, value))[:8])
        return f"an object with keys [{keys}{', ...' if len(value) > 8 else ''}]"
    return f"a JSON {type(value).__name__}"


def _raw(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, default=str)[:RAW_LIMIT]
    except (TypeError, ValueError, RecursionError):
        return repr(value)[:RAW_LIMIT]


__all__ = ["FORMATS", "TrajectorySource", "detect"]
