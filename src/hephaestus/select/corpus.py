"""What the select stage reads from WS/curate: seed agent records and the web corpus, by shard."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import xxhash

from hephaestus.run.record_job import record_files

SEED_KINDS = ("tool_doc", "trajectory")


@dataclass(frozen=True)
class CorpusSplit:
    """Which curated records are seeds (agent data) and which form the web corpus to select from."""

    seed_kinds: tuple[str, ...] = SEED_KINDS
    web_sources: tuple[str, ...] = ("*",)  # fnmatch patterns on the record source; kind must be text

    def is_web(self, table: pa.Table) -> pa.Array:
        kinds = pc.equal(table.column("kind"), "text")
        sources = table.column("source").to_pylist()
        matched = pa.array([any(fnmatch.fnmatchcase(s, p) for p in self.web_sources) for s in sources])
        return pc.and_(kinds, matched)

    def is_seed(self, table: pa.Table) -> pa.Array:
        return pc.is_in(table.column("kind"), value_set=pa.array(self.seed_kinds))


def curated_files(curate_dir: Path) -> list[Path]:
    return record_files(curate_dir)


def read_subset(files: Sequence[Path], which: str, split: CorpusSplit, columns: list[str],
                limit: int | None = None, seed: int = 0) -> pa.Table:
    """Seed (`which="seed"`) or web (`which="web"`) rows of the files, in file order; with `limit`, the `limit`
    rows of smallest id hash (the same sample as `hash_sample`). Rows that may belong to the sample are copied
    out of their batch (a slice would keep the whole batch alive) and pruned as they pile up, so memory holds
    about twice the sample, not the corpus."""
    parts: list[pa.Table] = []
    keys: list[np.ndarray] = []
    pending = 0
    threshold = np.iinfo(np.uint64).max
    for path in files:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=4096, columns=sorted({*columns, "kind", "source"})):
            table = pa.Table.from_batches([batch])
            table = table.filter(split.is_seed(table) if which == "seed" else split.is_web(table)).select(columns)
            if limit is None:
                parts.append(table)
                continue
            hashes = np.array([xxhash.xxh3_64_intdigest(i.encode(), seed=seed) for i in table.column("id").to_pylist()],
                              dtype=np.uint64)
            candidates = np.flatnonzero(hashes <= threshold)
            parts.append(table.take(pa.array(candidates, pa.int64())))  # a copy of the candidate rows only
            keys.append(hashes[candidates])
            pending += candidates.size
            if pending > 2 * limit:
                parts, keys, threshold = _smallest(parts, keys, limit)
                pending = limit
    if limit is not None and parts:
        parts, keys, _ = _smallest(parts, keys, limit)
    return pa.concat_tables(parts) if parts else pa.table({c: pa.array([], pa.string()) for c in columns})


def _smallest(parts: list[pa.Table], keys: list[np.ndarray], limit: int) -> tuple[list[pa.Table], list[np.ndarray],
                                                                                 np.uint64]:
    """The `limit` rows of smallest key among `parts`, in their original order, as one compact table."""
    table, key = pa.concat_tables(parts), np.concatenate(keys)
    keep = np.sort(np.argsort(key, kind="stable")[:limit])
    threshold = key[keep].max() if keep.size == limit else np.iinfo(np.uint64).max
    return [table.take(pa.array(keep, pa.int64()))], [key[keep]], threshold


def hash_sample(table: pa.Table, limit: int, seed: int = 0) -> pa.Table:
    """At most `limit` rows chosen by a hash of their id: the same rows whatever the file order."""
    if table.num_rows <= limit:
        return table
    keys = [xxhash.xxh3_64_intdigest(i.encode(), seed=seed) for i in table.column("id").to_pylist()]
    order = sorted(range(len(keys)), key=keys.__getitem__)[:limit]
    return table.take(pa.array(sorted(order)))


def has_web_rows(path: Path, split: CorpusSplit) -> bool:
    table = pq.read_table(path, columns=["kind", "source"])
    return bool(pc.any(split.is_web(table)).as_py())


def web_batches(path: Path, split: CorpusSplit, batch_rows: int = 1024) -> Iterator[pa.Table]:
    """The web rows of one curated file, in batches (bounded memory)."""
    parquet = pq.ParquetFile(path)
    for batch in parquet.iter_batches(batch_size=batch_rows):
        table = pa.Table.from_batches([batch])
        table = table.filter(split.is_web(table))
        if table.num_rows:
            yield table
