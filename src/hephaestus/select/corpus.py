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
    rows of smallest id hash (the same sample as `hash_sample`). With a limit, a first pass over the ids finds
    the hash of the last row in the sample and a second copies out only the rows up to it, so memory holds the
    sample and one batch, never the corpus."""
    cut = _sample_cut(files, which, split, limit, seed) if limit is not None else None
    parts: list[pa.Table] = []
    for path in files:
        for table in _rows(path, which, split, sorted({*columns, "id"})):
            if cut is not None:
                keys = _id_hashes(table, seed)
                take = (keys < cut[0]) | ((keys == cut[0]) & (np.cumsum(keys == cut[0]) <= cut[1]))
                cut = (cut[0], cut[1] - int(np.sum(take & (keys == cut[0]))))
                table = table.take(pa.array(np.flatnonzero(take), pa.int64()))  # a copy: the batch is let go
            parts.append(table.select(columns))
    return pa.concat_tables(parts) if parts else pa.table({c: pa.array([], pa.string()) for c in columns})


def _rows(path: Path, which: str, split: CorpusSplit, columns: list[str]) -> Iterator[pa.Table]:
    for batch in pq.ParquetFile(path).iter_batches(batch_size=4096, columns=sorted({*columns, "kind", "source"})):
        table = pa.Table.from_batches([batch])
        yield table.filter(split.is_seed(table) if which == "seed" else split.is_web(table)).select(columns)


def _id_hashes(table: pa.Table, seed: int) -> np.ndarray:
    return np.array([xxhash.xxh3_64_intdigest(i.encode(), seed=seed) for i in table.column("id").to_pylist()],
                    dtype=np.uint64)


def _sample_cut(files: Sequence[Path], which: str, split: CorpusSplit, limit: int, seed: int) -> tuple[np.uint64, int]:
    """The largest id hash in the sample of `limit` rows and how many rows with that hash it takes (the first ones
    in file order, as a stable sort would)."""
    keys = np.concatenate([_id_hashes(table, seed) for path in files for table in _rows(path, which, split, ["id"])]
                          or [np.zeros(0, np.uint64)])
    if keys.size <= limit:
        return np.iinfo(np.uint64).max, keys.size
    last = np.partition(keys, limit - 1)[limit - 1]
    return last, limit - int(np.sum(keys < last))


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
