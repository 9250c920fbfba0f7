"""Steps map an iterator of Arrow record batches to another; three helpers cover most of them.

- `MapStep`: row -> row, or a `Drop` with a reason.
- `ScoreStep`: computes attribute columns for a batch and hands them to an attribute sink keyed by
  `id` (side files `attrs/<name>/<shard>.parquet`), passing the batch through unchanged.
- `FilterStep`: keeps rows by a boolean mask; every dropped row is counted under its reason.

A step is picklable; `setup()` loads models lazily, once per worker, before the first batch.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from hephaestus.stats import ShardStats

Batches = Iterator[pa.RecordBatch]


@dataclass(frozen=True)
class Drop:
    """A row a step refuses, and why (the reason is a short snake_case name)."""

    reason: str
    detail: str = ""


class Step(ABC):
    name: str = "step"

    def setup(self) -> None:  # noqa: B027 - optional hook, most steps need no setup
        """Load what the step needs (models, tables); called once per worker."""

    @abstractmethod
    def __call__(self, batches: Batches, stats: ShardStats) -> Batches:
        """Transform a stream of batches, counting drops in `stats`."""


def _describe(row: dict[str, Any]) -> str:
    text = str(row.get("text") or "")[:120].replace("\n", " ")
    return f"{row.get('id', '?')}: {text}"


class MapStep(Step):
    """Apply `fn` to each row; a returned `Drop` removes the row and counts its reason."""

    def __init__(self, name: str, fn: Callable[[dict[str, Any]], dict[str, Any] | Drop]) -> None:
        self.name = name
        self.fn = fn

    def __call__(self, batches: Batches, stats: ShardStats) -> Batches:
        for batch in batches:
            kept = []
            for row in batch.to_pylist():
                result = self.fn(row)
                if isinstance(result, Drop):
                    stats.drop(result.reason, f"{_describe(row)} {result.detail}".strip())
                else:
                    kept.append(result)
            if kept:
                yield pa.RecordBatch.from_pylist(kept, schema=batch.schema)


class AttributeSink(ABC):
    @abstractmethod
    def write(self, name: str, ids: pa.Array, columns: dict[str, pa.Array]) -> None:
        """Store attribute columns for the rows with these ids."""


class ScoreStep(Step):
    """Compute attribute columns with `score(batch) -> {column: array}` and send them to the sink."""

    def __init__(self, name: str, score: Callable[[pa.RecordBatch], dict[str, pa.Array]], sink: AttributeSink) -> None:
        self.name = name
        self.score = score
        self.sink = sink

    def __call__(self, batches: Batches, stats: ShardStats) -> Batches:
        for batch in batches:
            columns = self.score(batch)
            for column, values in columns.items():
                if len(values) != batch.num_rows:
                    raise ValueError(f"{self.name}: attribute {column!r} has {len(values)} values for "
                                     f"{batch.num_rows} rows")
            self.sink.write(self.name, batch.column("id"), columns)
            yield batch


class FilterStep(Step):
    """Keep rows where `keep(batch)` is true; `reason` names the drops (a callable may vary it per row)."""

    def __init__(self, name: str, keep: Callable[[pa.RecordBatch], pa.Array],
                 reason: str | Callable[[pa.RecordBatch, int], str] | None = None) -> None:
        self.name = name
        self.keep = keep
        self.reason = reason or name

    def __call__(self, batches: Batches, stats: ShardStats) -> Batches:
        for batch in batches:
            mask = pc.fill_null(self.keep(batch), False)
            dropped = pc.indices_nonzero(pc.invert(mask)).to_pylist()
            for index in dropped:
                reason = self.reason(batch, index) if callable(self.reason) else self.reason
                stats.drop(reason, _describe(batch.slice(index, 1).to_pylist()[0]))
            if len(dropped) < batch.num_rows:
                yield batch.filter(mask) if dropped else batch


def run_steps(batches: Iterable[pa.RecordBatch], steps: list[Step], stats: ShardStats) -> Batches:
    """Chain steps over input batches; counts every input row in, every output row out."""

    def counted(source: Iterable[pa.RecordBatch]) -> Batches:
        for batch in source:
            stats.records_in += batch.num_rows
            yield batch

    stream: Batches = counted(batches)
    for step in steps:
        step.setup()
        stream = step(stream, stats)
    for batch in stream:
        stats.records_out += batch.num_rows
        stats.maybe_flush()
        yield batch
