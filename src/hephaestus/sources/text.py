"""General text (the general and web corpus) from JSONL, JSON, Parquet and plain-text files.

Options: `field` (the text field of JSON/Parquet rows, default "text"), `name` (the record source,
default `text:<file stem>`, e.g. `web:c4-sample`), `split` for plain text: `file` (one document per
file, the default), `paragraph` (blank-line separated) or `line`; `each_value` (a JSON file holding
one object whose values are the rows, e.g. `{title: {title, extract}}`). Like every file source it also
takes `limit`: at most this many items from each file (a limited file is read whole, not split).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

from hephaestus.io.parquet import iter_batches, row_group_count
from hephaestus.io.readers import (
    DEFAULT_MAX_RECORD_BYTES,
    Location,
    Rejected,
    decode_utf8,
    iter_json_document,
    iter_jsonl,
    read_whole,
)
from hephaestus.records import make_record
from hephaestus.sources.base import FileSource, Item, ShardTask, SpecError

PLAIN_SUFFIXES = (".txt", ".md", ".text")
KEPT_FIELDS = ("id", "url", "title", "date", "domain", "license")
ROW_GROUPS_PER_TASK = 8


class TextSource(FileSource):
    name = "text"
    summary = "general text from JSONL / JSON / Parquet / plain-text files"
    extensions = (".jsonl", ".ndjson", ".json", ".parquet", *PLAIN_SUFFIXES)
    splittable = True

    def __init__(self, arg: str, **options: Any) -> None:
        super().__init__(arg, **options)
        if options.get("split", "file") not in ("file", "paragraph", "line"):
            raise SpecError(f"text: split must be file, paragraph or line, not {options['split']!r}")
        self.field = str(options.get("field", "text"))
        self.each_value = bool(options.get("each_value", False))

    def plan(self, workers: int) -> list[ShardTask]:
        tasks: list[ShardTask] = []
        for task in super().plan(workers):
            if task.path.lower().endswith(".parquet") and self.limit is None:
                groups = row_group_count(task.path)
                step = max(1, min(ROW_GROUPS_PER_TASK, math.ceil(groups / max(1, workers))))
                tasks += [ShardTask(self.name, task.path, s, min(s + step, groups)) for s in range(0, groups, step)]
            else:
                tasks.append(task)
        return tasks

    def source_name(self, path: str) -> str:
        stem = path.rstrip("/").rsplit("/", 1)[-1].split(".", 1)[0]
        return str(self.options.get("name") or f"text:{stem}")

    def read_file(self, task: ShardTask) -> Iterator[Item]:
        lower = task.path.lower()
        for suffix in (".gz", ".zst", ".bz2", ".xz"):
            lower = lower.removesuffix(suffix)
        if lower.endswith(".parquet"):
            yield from self._read_parquet(task)
        elif lower.endswith(PLAIN_SUFFIXES):
            yield from self._read_plain(task)
        else:
            rows = iter_json_document(task.path) if lower.endswith(".json") else iter_jsonl(
                task.path, task.start, task.end)
            for row in rows:
                if isinstance(row, Rejected):
                    yield row
                elif self.each_value and isinstance(row[1], dict):
                    for index, value in enumerate(row[1].values()):
                        yield self._from_row(task.path, Location(task.path, item=index), value)
                else:
                    yield self._from_row(task.path, *row)

    def _from_row(self, path: str, where: Location, row: Any) -> Item:
        if not isinstance(row, dict):
            return Rejected("not_an_object", where, f"expected a JSON object, got {type(row).__name__}", str(row))
        text = row.get(self.field)
        if not isinstance(text, str):
            found = ", ".join(sorted(row)[:10])
            return Rejected("missing_field", where, f"no string field {self.field!r} (fields: {found})", str(row))
        meta = {key: row[key] for key in KEPT_FIELDS if isinstance(row.get(key), str | int | float)}
        return self._record(path, where, text, meta)

    def _record(self, path: str, where: Location, text: str, meta: dict[str, Any] | None = None) -> Item:
        if not text.strip():
            return Rejected("empty_text", where, "document text is empty", text)
        position = {k: v for k, v in (("line", where.line), ("offset", where.offset), ("item", where.item)) if
                    v is not None}
        return make_record(self.source_name(path), "text", text, meta={"path": path, **position, **(meta or {})})

    def _read_parquet(self, task: ShardTask) -> Iterator[Item]:
        groups = range(task.start, task.end) if task.end is not None else None
        index = 0
        try:
            batches = iter_batches(task.path, groups)
            for batch in batches:
                for row in batch.to_pylist():
                    yield self._from_row(task.path, Location(task.path, item=index, offset=task.start), row)
                    index += 1
        except OSError as error:  # pyarrow raises ArrowInvalid (an OSError subclass) on corrupt files
            yield Rejected("invalid_parquet", Location(task.path), str(error))

    def _read_plain(self, task: ShardTask) -> Iterator[Item]:
        data = read_whole(task.path, DEFAULT_MAX_RECORD_BYTES * 4)
        if isinstance(data, Rejected):
            yield data
            return
        text = decode_utf8(data, Location(task.path))
        if isinstance(text, Rejected):
            yield text
            return
        split = self.options.get("split", "file")
        if split == "file":
            yield self._record(task.path, Location(task.path, line=1), text)
            return
        pattern = r"\n[ \t]*\n" if split == "paragraph" else r"\n"
        line = 1
        for piece in re.split(f"({pattern})", text):
            if piece.strip() and not re.fullmatch(pattern, piece):
                yield self._record(task.path, Location(task.path, line=line + _leading_newlines(piece)),
                                   piece.strip("\n"))
            line += piece.count("\n")


def _leading_newlines(piece: str) -> int:
    return len(piece) - len(piece.lstrip("\n"))
