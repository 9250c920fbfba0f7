"""Parquet (zstd) in and out for record tables, written atomically."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from hephaestus.records import RECORD_SCHEMA, validate_table

ROW_GROUP_ROWS = 8192


class RecordWriter:
    """Buffers validated records and writes them to one Parquet file, renamed into place on close.

    Nothing is written when no record arrives, so an empty shard leaves no file behind.
    """

    def __init__(self, path: Path, schema: pa.Schema = RECORD_SCHEMA, batch_rows: int = ROW_GROUP_ROWS) -> None:
        self.path = path
        self.schema = schema
        self.batch_rows = batch_rows
        self.rows = 0
        self._pending: list[Mapping[str, Any]] = []
        self._tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        self._writer: pq.ParquetWriter | None = None

    def add(self, record: Mapping[str, Any]) -> None:
        self._pending.append(record)
        if len(self._pending) >= self.batch_rows:
            self._write_pending()

    def add_table(self, table: pa.Table) -> None:
        self._write(validate_table(table) if self.schema is RECORD_SCHEMA else table.cast(self.schema))

    def _write_pending(self) -> None:
        if self._pending:
            table = pa.Table.from_pylist(self._pending, schema=self.schema)
            if self.schema is RECORD_SCHEMA:
                validate_table(table)  # rows were validated one by one when made; this checks columns
            self._pending = []
            self._write(table)

    def _write(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(self._tmp, self.schema, compression="zstd")
        self._writer.write_table(table, row_group_size=self.batch_rows)
        self.rows += table.num_rows

    def close(self) -> int:
        """Finish the file and move it into place; return its size in bytes (0 when empty)."""
        self._write_pending()
        if self._writer is None:
            self.path.unlink(missing_ok=True)
            return 0
        self._writer.close()
        os.replace(self._tmp, self.path)
        return self.path.stat().st_size

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._tmp.unlink(missing_ok=True)


def row_group_count(path: str) -> int:
    with fsspec.open(path, "rb") as handle:
        return pq.ParquetFile(handle).num_row_groups


def iter_batches(path: str, row_groups: range | None = None, columns: list[str] | None = None,
                 batch_rows: int = ROW_GROUP_ROWS) -> Iterator[pa.RecordBatch]:
    """Stream record batches of a Parquet file (optionally only some row groups) in bounded memory."""
    with fsspec.open(path, "rb") as handle:
        parquet = pq.ParquetFile(handle)
        groups = list(row_groups) if row_groups is not None else None
        yield from parquet.iter_batches(batch_size=batch_rows, row_groups=groups, columns=columns)


def read_records(paths: list[Path] | list[str]) -> pa.Table:
    """Read whole record files into one table (for small outputs and tests)."""
    tables = [pq.read_table(p) for p in paths]
    return pa.concat_tables(tables) if tables else RECORD_SCHEMA.empty_table()
