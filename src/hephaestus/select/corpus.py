"""What the select stage reads from WS/curate: seed agent records and the web corpus, by shard."""

from __future__ import annotations

import fnmatch
import heapq
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

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
    """Seed (`which="seed"`) or web (`which="web"`) rows of the files; with `limit`, the `limit` rows of
    smallest id hash (the same sample as `hash_sample`), kept while streaming so memory stays bounded."""
    kept: list[tuple[int, int, pa.Table]] = []  # max-heap by hash through negation: (-hash, order, row)
    tables = []
    order = 0
    for path in files:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=4096, columns=sorted({*columns, "kind", "source"})):
            table = pa.Table.from_batches([batch])
            table = table.filter(split.is_seed(table) if which == "seed" else split.is_web(table)).select(columns)
            if limit is None:
                tables.append(table)
                continue
            for i, row_id in enumerate(table.column("id").to_pylist()):
                key = xxhash.xxh3_64_intdigest(row_id.encode(), seed=seed)
                if len(kept) < limit:
                    heapq.heappush(kept, (-key, order, table.slice(i, 1)))
                elif -kept[0][0] > key:
                    heapq.heapreplace(kept, (-key, order, table.slice(i, 1)))
                order += 1
    if limit is not None:
        tables = [row for _, _, row in sorted(kept, key=lambda entry: entry[1])]
    return pa.concat_tables(tables) if tables else pa.table({c: pa.array([], pa.string()) for c in columns})


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
