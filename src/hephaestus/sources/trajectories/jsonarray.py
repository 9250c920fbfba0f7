"""The elements of a top-level JSON array, read one at a time without holding the document whole.

`iter_json_document` reads a JSON file at most 64 MiB big; benchmark files shipped as one pretty-printed
array can be larger (ComplexFuncBench in NESTFUL form is 104 MB). This reader decodes such an array
element by element from a bounded buffer. Like every reader it never raises on bad content: a file that
is not an array, an element over `max_item_bytes` or invalid JSON ends the file with a `Rejected`
(after the elements before it), since there is no telling where the next element would start.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from typing import Any

from hephaestus.io.readers import DEFAULT_MAX_RECORD_BYTES, Location, Rejected, open_binary

CHUNK = 1 << 20
WHITESPACE = " \t\n\r"
LONGEST_TOKEN = 10  # "-Infinity": an element or error this close to the buffer's end may be cut short


class _Buffer:
    """Decoded text of a file, read on demand; `text[pos:]` is what has not been consumed yet."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.text = ""
        self.pos = 0
        self.eof = False
        self.read_bytes = 0

    def fill(self, at_least: int = 0) -> None:
        """Read at least `at_least` more bytes (or up to the end), dropping the consumed text."""
        data = self.handle.read(max(CHUNK, at_least))
        self.read_bytes += len(data)
        self.eof = not data
        self.text = self.text[self.pos :] + self.decoder.decode(data, final=self.eof)
        self.pos = 0

    def skip_space(self) -> str:
        """The next non-blank character (consumed only in part: it stays at `pos`), "" at the end."""
        while True:
            while self.pos < len(self.text) and self.text[self.pos] in WHITESPACE:
                self.pos += 1
            if self.pos < len(self.text) or self.eof:
                return self.text[self.pos : self.pos + 1]
            self.fill()


def iter_json_array(
    path: str, max_item_bytes: int = DEFAULT_MAX_RECORD_BYTES
) -> Iterator[tuple[Location, Any] | Rejected]:
    """Yield (Location(path, item=i), element) for each element of the file's top-level array."""
    with open_binary(path) as handle:
        yield from _elements(path, _Buffer(handle), max_item_bytes)


def _elements(path: str, buffer: _Buffer, max_item_bytes: int) -> Iterator[tuple[Location, Any] | Rejected]:
    decoder = json.JSONDecoder()
    try:
        if buffer.skip_space() != "[":
            yield Rejected("invalid_json", Location(path), "expected a JSON array", buffer.text[:4096])
            return
        buffer.pos += 1
        index = 0
        while True:
            where = Location(path, item=index)
            char = buffer.skip_space()
            if char == "]":
                break
            if index:
                if char != ",":
                    yield Rejected("invalid_json", where, f"expected ',' or ']' after item {index - 1}, not {char!r}")
                    return
                buffer.pos += 1
                buffer.skip_space()
            while True:
                try:
                    value, end = decoder.raw_decode(buffer.text, buffer.pos)
                    if end <= len(buffer.text) - LONGEST_TOKEN or buffer.eof:  # "1." may be "1.5"
                        break
                except json.JSONDecodeError as error:
                    if buffer.eof or not _truncated(error, len(buffer.text)):
                        raw = buffer.text[buffer.pos : buffer.pos + 4096]
                        yield Rejected("invalid_json", where, f"{error.msg} in item {index}", raw)
                        return
                pending = len(buffer.text) - buffer.pos
                if pending > max_item_bytes:
                    detail = f"item {index} exceeds {max_item_bytes:,} characters"
                    yield Rejected("too_large", where, detail, buffer.text[buffer.pos : buffer.pos + 4096])
                    return
                buffer.fill(pending)  # doubles the text held: a big item is retried O(log size) times
            yield where, value
            buffer.pos = end
            index += 1
        buffer.pos += 1  # the closing bracket
        if buffer.skip_space():
            yield Rejected("invalid_json", Location(path), "extra data after the top-level array")
    except UnicodeDecodeError as error:
        yield Rejected("invalid_utf8", Location(path), f"invalid UTF-8 near byte {buffer.read_bytes}: {error.reason}")


def _truncated(error: json.JSONDecodeError, held: int) -> bool:
    """Whether the error may come from the element going on past the text held (else it is invalid)."""
    return error.msg.startswith("Unterminated string") or error.pos >= held - LONGEST_TOKEN
