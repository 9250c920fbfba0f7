"""Read JSONL (plain, .gz, .zst), JSON documents, Parquet and plain text through fsspec.

Readers never raise on bad content: they yield `Rejected` entries that name the file, the line or
byte offset, the reason and the raw bytes, so the caller can quarantine them and go on.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import fsspec

DEFAULT_MAX_RECORD_BYTES = 16 * 1024 * 1024
COMPRESSED_SUFFIXES = (".gz", ".zst", ".bz2", ".xz")


@dataclass(frozen=True)
class Location:
    """Where a record came from: a file and a line (1-based, when known) or a byte offset."""

    path: str
    line: int | None = None
    offset: int | None = None
    item: int | None = None

    def __str__(self) -> str:
        where = [self.path]
        if self.line is not None:
            where.append(f"line {self.line}")
        elif self.offset is not None:
            where.append(f"byte {self.offset}")
        if self.item is not None:
            where.append(f"item {self.item}")
        return ":".join(where[:1]) + (" (" + ", ".join(where[1:]) + ")" if len(where) > 1 else "")


@dataclass(frozen=True)
class Rejected:
    """A record or file that could not be turned into records, with the reason and raw bytes."""

    reason: str
    location: Location
    detail: str
    raw: bytes | str = b""
    size: int | None = None  # size of the whole input when `raw` holds only its head

    def message(self) -> str:
        return f"{self.location}: {self.reason}: {self.detail}"


def is_compressed(path: str) -> bool:
    return path.lower().endswith(COMPRESSED_SUFFIXES)


def open_binary(path: str) -> BinaryIO:
    """Open a local or remote file for reading, decompressing .gz/.zst/.bz2/.xz by suffix."""
    handle = fsspec.open(path, "rb", compression="infer").open()
    if is_compressed(path) and not isinstance(handle, io.BufferedIOBase | gzip.GzipFile):
        return io.BufferedReader(handle)  # zstd's reader has readinto() but no readline()
    return handle


def iter_lines(
    path: str, start: int = 0, end: int | None = None, max_bytes: int = DEFAULT_MAX_RECORD_BYTES
) -> Iterator[tuple[Location, bytes] | Rejected]:
    """Yield the lines whose first byte lies in [start, end), without their newline.

    Line numbers are known only when reading from the start of a file; ranged reads give offsets.
    Lines over `max_bytes` are rejected without being held in memory whole.
    """
    with open_binary(path) as handle:
        offset = start
        if start > 0:
            handle.seek(start - 1)
            offset = start - 1 + _skip_line(handle)
        line_no = 1 if start == 0 else None
        while end is None or offset < end:
            data = handle.readline(max_bytes + 1)
            if not data:
                break
            where = Location(path, line_no, offset)
            if len(data) > max_bytes and not data.endswith(b"\n"):
                size = len(data) + _skip_line(handle)
                yield Rejected("too_large", where, f"line of {size:,} bytes exceeds {max_bytes:,}", data[:4096], size)
                offset += size
            else:
                offset += len(data)
                if data.strip():
                    yield where, data.rstrip(b"\r\n")
            if line_no is not None:
                line_no += 1


def _skip_line(handle: BinaryIO, chunk: int = 1 << 20) -> int:
    """Consume the rest of the current line in bounded chunks; return how many bytes it had."""
    total = 0
    while True:
        data = handle.readline(chunk)
        total += len(data)
        if not data or data.endswith(b"\n"):
            return total


def decode_utf8(data: bytes, where: Location) -> str | Rejected:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        return Rejected("invalid_utf8", where, f"invalid UTF-8 at byte {error.start}", data[:4096], len(data))


def parse_json(data: bytes, where: Location) -> Any | Rejected:
    """Decode and parse one JSON value; a Rejected names the line and column of the error."""
    text = decode_utf8(data, where)
    if isinstance(text, Rejected):
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        return Rejected("invalid_json", where, f"{error.msg} at column {error.colno}", data[:4096], len(data))


def iter_jsonl(
    path: str, start: int = 0, end: int | None = None, max_bytes: int = DEFAULT_MAX_RECORD_BYTES
) -> Iterator[tuple[Location, Any] | Rejected]:
    """Yield (location, value) for each JSON line in the byte range, or Rejected entries."""
    for item in iter_lines(path, start, end, max_bytes):
        if isinstance(item, Rejected):
            yield item
            continue
        where, data = item
        value = parse_json(data, where)
        yield value if isinstance(value, Rejected) else (where, value)


def read_whole(path: str, max_bytes: int) -> bytes | Rejected:
    """Read a whole (possibly compressed) file, refusing empty files and ones over max_bytes."""
    where = Location(path)
    with open_binary(path) as handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        return Rejected("too_large", where, f"file exceeds {max_bytes:,} bytes", data[:4096], len(data))
    if not data.strip():
        return Rejected("empty_file", where, "file is empty", data[:4096])
    return data


def iter_json_document(
    path: str, max_bytes: int = 4 * DEFAULT_MAX_RECORD_BYTES
) -> Iterator[tuple[Location, Any] | Rejected]:
    """Yield the items of a JSON file: each element of a top-level array, the object itself, or
    each line when the file turns out to be JSON Lines under a .json name."""
    data = read_whole(path, max_bytes)
    if isinstance(data, Rejected):
        yield data
        return
    value = parse_json(data, Location(path))
    if isinstance(value, Rejected) and value.detail.startswith("Extra data"):
        yield from iter_jsonl(path, max_bytes=max_bytes)
        return
    if isinstance(value, Rejected):
        yield _with_line(value, data)
    elif isinstance(value, list):
        for index, element in enumerate(value):
            yield Location(path, item=index), element
    else:
        yield Location(path), value


def _with_line(rejected: Rejected, data: bytes) -> Rejected:
    """Add the line number of a whole-document JSON error, which json reports as 'line N'."""
    try:
        json.loads(data.decode("utf-8"))
    except json.JSONDecodeError as error:
        where = Location(rejected.location.path, error.lineno)
        return Rejected(rejected.reason, where, rejected.detail, rejected.raw, rejected.size)
    except UnicodeDecodeError:
        pass
    return rejected
