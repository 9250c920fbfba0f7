"""The dedup reduce: exact then near duplicates over the signatures of every shard, within each kind.

Reads `WS/curate/attrs/dedup/<task>.parquet` (id, group, exact_key, bands, chars; one row per record
of the task's cleaned shard, in order) and writes `WS/curate/_dedup/drops.parquet` (task, row, id,
reason, kept) and `dedup.json` (counts, LSH parameters). Drops name rows, not ids, because two copies
of one record share an id. Within a group the longest document survives, then the smallest id, then
the earliest row (deterministic).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from hephaestus.curate.dedup import choose_survivors, duplicate_clusters, exact_duplicates
from hephaestus.workspace import atomic_path, write_json_atomic


def _survivor_of(ids: np.ndarray, groups: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """For each row, the id of the survivor of its group."""
    survivor_by_group = dict(zip(groups[keep].tolist(), ids[keep].tolist(), strict=True))
    return np.array([survivor_by_group[g] for g in groups.tolist()], dtype=object)


def find_duplicates(attrs_dir: Path, out_dir: Path, bands: int, rows: int) -> dict[str, Any]:
    """Decide every duplicate of the corpus; returns the summary also written to dedup.json."""
    files = sorted(attrs_dir.glob("*.parquet"))
    tables = []
    for file in files:
        part = pq.read_table(file)
        tables.append(part.append_column("task", pa.array([file.stem] * part.num_rows, pa.string()))
                      .append_column("row", pa.array(range(part.num_rows), pa.int64())))
    table = pa.concat_tables(tables) if tables else None
    drops: list[tuple[str, int, str, str, str]] = []
    summary: dict[str, Any] = {"documents": 0, "bands": bands, "rows": rows, "by_group": {}}
    if table is not None and table.num_rows:
        groups = np.asarray(table.column("group").to_pylist(), dtype=object)
        summary["documents"] = table.num_rows
        for group in sorted(set(groups.tolist())):
            part = table.take(pa.array(np.flatnonzero(groups == group)))
            summary["by_group"][group] = _dedup_group(part, drops)
    summary["exact_duplicates"] = sum(c["exact_duplicates"] for c in summary["by_group"].values())
    summary["near_duplicates"] = sum(c["near_duplicates"] for c in summary["by_group"].values())
    columns = list(zip(*drops, strict=True)) if drops else [[], [], [], [], []]
    table = pa.table({name: pa.array(values, kind) for name, values, kind in zip(
        ("task", "row", "id", "reason", "kept"), columns,
        (pa.string(), pa.int64(), pa.string(), pa.string(), pa.string()), strict=True)})
    with atomic_path(out_dir / "drops.parquet") as tmp:
        pq.write_table(table, tmp, compression="zstd")
    write_json_atomic(out_dir / "dedup.json", summary)
    return summary


def _dedup_group(part: pa.Table, drops: list[tuple[str, int, str, str, str]]) -> dict[str, int]:
    ids = np.asarray(part.column("id").to_pylist(), dtype=object)
    tasks = part.column("task").to_pylist()
    positions = part.column("row").to_pylist()
    chars = part.column("chars").to_numpy()
    keys = np.asarray(part.column("exact_key").to_pylist(), dtype=object)
    exact_keep = exact_duplicates(ids, keys, priority=chars)
    key_groups = np.unique(keys, return_inverse=True)[1].reshape(-1)
    exact_survivor = _survivor_of(ids, key_groups, exact_keep)
    for i in np.flatnonzero(~exact_keep).tolist():
        drops.append((tasks[i], positions[i], ids[i], "exact_duplicate", exact_survivor[i]))
    rest = np.flatnonzero(exact_keep)
    bands = np.asarray(part.column("bands").combine_chunks().flatten().to_numpy()).reshape(len(ids), -1)[rest]
    clusters = duplicate_clusters(ids[rest], bands)
    near_keep = choose_survivors(ids[rest], clusters, priority=chars[rest])
    near_survivor = _survivor_of(ids[rest], clusters, near_keep)
    for j in np.flatnonzero(~near_keep).tolist():
        i = int(rest[j])
        drops.append((tasks[i], positions[i], ids[i], "near_duplicate", near_survivor[j]))
    clusters_with_dups = len(set(clusters[~near_keep].tolist()))
    return {"documents": len(ids), "exact_duplicates": int((~exact_keep).sum()),
            "near_duplicates": int((~near_keep).sum()), "near_clusters": clusters_with_dups}


def load_drops(out_dir: Path, task: str) -> dict[int, str]:
    """Row position -> drop reason of one task's cleaned shard, for the final phase."""
    table = pq.read_table(out_dir / "drops.parquet", columns=["row", "reason"], filters=[("task", "=", task)])
    return dict(zip(table.column("row").to_pylist(), table.column("reason").to_pylist(), strict=True))


def dedup_report(out_dir: Path) -> dict[str, Any]:
    return json.loads((out_dir / "dedup.json").read_text())
