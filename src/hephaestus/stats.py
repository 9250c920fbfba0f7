"""Per-shard stage statistics: records and bytes in and out, drops by reason with samples, time.

The invariant every stage keeps, and `check()` verifies: records in = records out + records rejected.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hephaestus.workspace import write_json_atomic

SAMPLES_PER_REASON = 3
FLUSH_SECONDS = 2.0


@dataclass
class ShardStats:
    """Counters of one shard task; flushed to a JSON file while running."""

    task_id: str
    records_in: int = 0
    records_out: int = 0
    records_rejected: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    drops: Counter[str] = field(default_factory=Counter)
    samples: dict[str, list[str]] = field(default_factory=dict)
    seconds: float = 0.0
    flush_path: Path | None = None
    _started: float = field(default_factory=time.monotonic, repr=False)
    _last_flush: float = field(default_factory=time.monotonic, repr=False)

    def accept(self, count: int = 1) -> None:
        self.records_in += count
        self.records_out += count

    def reject(self, reason: str, message: str) -> None:
        """An input that never became a record (counted in and rejected)."""
        self.records_in += 1
        self.drop(reason, message)

    def drop(self, reason: str, message: str) -> None:
        """A record already counted in that a step removes."""
        self.records_rejected += 1
        self.drops[reason] += 1
        kept = self.samples.setdefault(reason, [])
        if len(kept) < SAMPLES_PER_REASON:
            kept.append(message[:500])

    def maybe_flush(self) -> None:
        if self.flush_path is not None and time.monotonic() - self._last_flush >= FLUSH_SECONDS:
            self.flush(running=True)

    def flush(self, running: bool) -> None:
        if self.flush_path is not None:
            write_json_atomic(self.flush_path, self.to_dict(running=running))
            self._last_flush = time.monotonic()

    def to_dict(self, running: bool = False) -> dict[str, Any]:
        self.seconds = time.monotonic() - self._started
        return {
            "task_id": self.task_id,
            "running": running,
            "records_in": self.records_in,
            "records_out": self.records_out,
            "records_rejected": self.records_rejected,
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "drops": dict(sorted(self.drops.items())),
            "samples": dict(sorted(self.samples.items())),
            "seconds": round(self.seconds, 3),
        }


def check(stats: dict[str, Any]) -> None:
    """Raise AssertionError when the records in/out/rejected invariant does not hold."""
    if stats["records_in"] != stats["records_out"] + stats["records_rejected"]:
        raise AssertionError(f"records in {stats['records_in']} != out {stats['records_out']} + "
                             f"rejected {stats['records_rejected']} in {stats.get('task_id', 'stage')}")
    if sum(stats["drops"].values()) != stats["records_rejected"]:
        raise AssertionError(f"drops by reason do not add up to records rejected in {stats.get('task_id', 'stage')}")


def merge(shards: list[dict[str, Any]]) -> dict[str, Any]:
    """Sum shard stats into stage stats (samples: the first few per reason)."""
    total: dict[str, Any] = {key: 0 for key in ("records_in", "records_out", "records_rejected", "bytes_in",
                                                "bytes_out")}
    drops: Counter[str] = Counter()
    samples: dict[str, list[str]] = {}
    seconds = 0.0
    for shard in shards:
        for key in total:
            total[key] += shard[key]
        drops.update(shard["drops"])
        for reason, messages in shard["samples"].items():
            kept = samples.setdefault(reason, [])
            kept.extend(messages[: SAMPLES_PER_REASON - len(kept)])
        seconds += shard["seconds"]
    return {**total, "drops": dict(sorted(drops.items())), "samples": dict(sorted(samples.items())),
            "shards": len(shards), "running": sum(1 for s in shards if s.get("running")),
            "task_seconds": round(seconds, 3)}
