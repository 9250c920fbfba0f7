"""The one record format every stage reads and writes: an Arrow schema, a builder and a validator."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import xxhash

KINDS = ("tool_doc", "trajectory", "code", "text")
ROLES = ("system", "user", "assistant", "tool")

TOOL_CALL_TYPE = pa.struct([("id", pa.string()), ("name", pa.string()), ("arguments", pa.string())])
MESSAGE_TYPE = pa.struct(
    [
        ("role", pa.string()),
        ("content", pa.string()),
        ("tool_calls", pa.list_(TOOL_CALL_TYPE)),
        ("name", pa.string()),
    ]
)
RECORD_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("tools", pa.list_(pa.string())),
        pa.field("messages", pa.list_(MESSAGE_TYPE)),
        pa.field("meta", pa.string()),
    ]
)


class RecordError(ValueError):
    """A record that does not fit the schema; the message says which field and why."""


def normalise_payload(text: str) -> str:
    """NFC, unified newlines and stripped ends: what the record id hashes."""
    return unicodedata.normalize("NFC", text.replace("\r\n", "\n")).strip()


def record_id(source: str, text: str) -> str:
    """Stable content hash of a record: xxh3-128 of its source and normalised text."""
    return xxhash.xxh3_128_hexdigest(source.encode() + b"\x00" + normalise_payload(text).encode())


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def make_record(
    source: str,
    kind: str,
    text: str,
    *,
    tools: Iterable[Mapping[str, Any] | str] | None = None,
    messages: Iterable[Mapping[str, Any]] | None = None,
    meta: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Build one validated record; tool schemas and meta may be given as dicts (stored as JSON)."""
    record = {
        "id": record_id(source, text),
        "source": source,
        "kind": kind,
        "text": text,
        "tools": None if tools is None else [t if isinstance(t, str) else _dumps(t) for t in tools],
        "messages": None if messages is None else [_message(m) for m in messages],
        "meta": None if meta is None else _dumps(dict(meta)),
    }
    validate_record(record)
    return record


def _message(message: Mapping[str, Any]) -> dict[str, Any]:
    calls = message.get("tool_calls")
    return {
        "role": message.get("role"),
        "content": message.get("content"),
        "tool_calls": None if not calls else [_tool_call(c) for c in calls],
        "name": message.get("name"),
    }


def _tool_call(call: Mapping[str, Any]) -> dict[str, Any]:
    arguments = call.get("arguments", {})
    return {
        "id": call.get("id"),
        "name": call.get("name"),
        "arguments": arguments if isinstance(arguments, str) else _dumps(arguments),
    }


def validate_record(record: Mapping[str, Any]) -> None:
    """Raise RecordError naming the field when a record breaks the schema's rules."""
    for field in ("id", "source", "kind", "text"):
        if not isinstance(record.get(field), str) or not record[field]:
            raise RecordError(f"field {field!r} must be a non-empty string")
    if record["kind"] not in KINDS:
        raise RecordError(f"kind {record['kind']!r} is not one of {', '.join(KINDS)}")
    for i, tool in enumerate(record.get("tools") or []):
        if not isinstance(_json_object(tool, f"tools[{i}]"), dict):
            raise RecordError(f"tools[{i}] must be a JSON object")
    for i, message in enumerate(record.get("messages") or []):
        if message.get("role") not in ROLES:
            raise RecordError(f"messages[{i}].role {message.get('role')!r} is not one of {', '.join(ROLES)}")
        for j, call in enumerate(message.get("tool_calls") or []):
            if not call.get("name"):
                raise RecordError(f"messages[{i}].tool_calls[{j}] has no name")
    if record.get("meta") is not None and not isinstance(_json_object(record["meta"], "meta"), dict):
        raise RecordError("meta must be a JSON object")


def _json_object(text: Any, where: str) -> Any:
    if not isinstance(text, str):
        raise RecordError(f"{where} must be a JSON string")
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise RecordError(f"{where} is not valid JSON: {error}") from None


def records_to_table(records: list[Mapping[str, Any]]) -> pa.Table:
    """Validate records and build a table of RECORD_SCHEMA."""
    for i, record in enumerate(records):
        try:
            validate_record(record)
        except RecordError as error:
            raise RecordError(f"record {i}: {error}") from None
    return pa.Table.from_pylist(list(records), schema=RECORD_SCHEMA)


def validate_table(table: pa.Table) -> pa.Table:
    """Check a table against RECORD_SCHEMA: field names and types, required strings, known kinds."""
    if not table.schema.equals(RECORD_SCHEMA, check_metadata=False):
        try:
            table = table.select(RECORD_SCHEMA.names).cast(RECORD_SCHEMA)
        except (KeyError, pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
            raise RecordError(f"table does not match the record schema: {error}") from None
    for field in ("id", "source", "kind", "text"):
        column = table.column(field)
        bad = pc.or_kleene(pc.is_null(column), pc.equal(pc.utf8_length(column), 0))
        if pc.any(bad).as_py():
            row = pc.index(bad, True).as_py()
            raise RecordError(f"record {row}: field {field!r} must be a non-empty string")
    unknown = pc.invert(pc.is_in(table.column("kind"), value_set=pa.array(KINDS)))
    if pc.any(unknown).as_py():
        row = pc.index(unknown, True).as_py()
        raise RecordError(f"record {row}: kind {table.column('kind')[row].as_py()!r} is not one of {', '.join(KINDS)}")
    return table
