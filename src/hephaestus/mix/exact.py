"""Token-exact selection for the stage I mixture, on the per-document token counts of every input file.

Memory grows with the number of documents (ids, sources and counts), never with their text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from itertools import pairwise

import numpy as np
import pyarrow as pa

from hephaestus.mix.plan import RETRIEVED, SourceTokens, hash_fraction, mixed_groups
from hephaestus.mix.tokens import COUNTS_SCHEMA


def held_out(ids: pa.ChunkedArray | pa.Array, seed: int, fraction: float) -> np.ndarray:
    """Which documents are held out for validation: a fixed hash fraction of every kind."""
    return np.array([hash_fraction(i, seed + 1) < fraction for i in ids.to_pylist()], dtype=bool)


def source_tokens(counts: Mapping[str, pa.Table], held: Mapping[str, np.ndarray]) -> list[SourceTokens]:
    """Tokens and documents per source over the training documents (not held out), sorted by source."""
    tables = [counts[task].filter(pa.array(~held[task])).select(["source", "group", "tokens"]) for task in counts]
    table = pa.concat_tables(tables).group_by(["source", "group"]).aggregate([("tokens", "sum"), ("tokens", "count")])
    rows = sorted(table.to_pylist(), key=lambda row: row["source"])
    for before, after in pairwise(rows):
        if before["source"] == after["source"]:
            raise mixed_groups(before["source"], before["group"], after["group"])
    return [SourceTokens(r["source"], r["group"], r["tokens_sum"], r["tokens_count"]) for r in rows]


def exact_copies(counts: Mapping[str, pa.Table], held: Mapping[str, np.ndarray], rates: Mapping[str, float],
                 seed: int) -> dict[str, np.ndarray]:
    """Copies of every document of every file (row-aligned with its counts table; 0 for held-out ones):
    floor(rate), plus one for the documents first in a seeded hash order until the source's fractional quota
    of tokens is met. What a source takes too many or too few (less than a document) is carried over to the
    next source of its group, in source order, so each group's total is met to within one document, not one
    per source."""
    table, train, keys = _stacked(counts, held, seed)
    encoded = table.column("source").combine_chunks().dictionary_encode()
    codes, tokens = encoded.indices.to_numpy(), table.column("tokens").to_numpy()
    groups = table.column("group").to_numpy(zero_copy_only=False)
    copies = np.zeros(len(tokens), np.int64)
    owed: dict[str, float] = {}  # per group: tokens asked for so far minus tokens taken
    for code, source in sorted(enumerate(encoded.dictionary.to_pylist()), key=lambda pair: pair[1]):
        rows = np.flatnonzero((codes == code) & train)
        if not rows.size:
            continue
        rate, group = rates.get(source, 0.0), groups[rows[0]]
        whole = math.floor(rate)
        order = rows[np.argsort(keys[rows], kind="stable")]
        quota = (rate - whole) * int(tokens[rows].sum()) + owed.get(group, 0.0) if rate > whole else 0.0
        extra = _fill(tokens[order], quota)
        copies[order] = whole + extra
        owed[group] = quota - int((extra * tokens[order]).sum()) if rate > whole else owed.get(group, 0.0)
    return _by_task(counts, copies)


def exact_replay(counts: Mapping[str, pa.Table], held: Mapping[str, np.ndarray], share: float,
                 seed: int) -> dict[str, np.ndarray]:
    """Which text and code documents stage II replays beside the seed agent data, so that they make `share` of
    its tokens: the first in a seeded hash order until that quota is met (to within one document), or all of
    them when they do not suffice."""
    table, train, keys = _stacked(counts, held, seed + 2)
    groups, sources = np.array(table.column("group").to_pylist()), np.array(table.column("source").to_pylist())
    tokens = table.column("tokens").to_numpy()
    seeds = train & (groups == "agent") & (sources != RETRIEVED)
    pool = np.flatnonzero(train & np.isin(groups, ["text", "code"]))
    order = pool[np.argsort(keys[pool], kind="stable")]
    flags = np.zeros(len(tokens), bool)
    flags[order] = _fill(tokens[order], share / (1 - share) * int(tokens[seeds].sum())).astype(bool)
    return _by_task(counts, flags)


def _stacked(counts: Mapping[str, pa.Table], held: Mapping[str, np.ndarray],
             seed: int) -> tuple[pa.Table, np.ndarray, np.ndarray]:
    """All files' counts as one table, with which rows train and every row's seeded hash in [0, 1)."""
    tasks = list(counts)
    if not tasks:
        return COUNTS_SCHEMA.empty_table(), np.zeros(0, bool), np.zeros(0)
    table = pa.concat_tables([counts[task].select(["id", "source", "group", "tokens"]) for task in tasks])
    keys = np.concatenate([np.array([hash_fraction(i, seed) for i in counts[task].column("id").to_pylist()])
                           for task in tasks])
    return table, ~np.concatenate([held[task] for task in tasks]), keys


def _by_task(counts: Mapping[str, pa.Table], values: np.ndarray) -> dict[str, np.ndarray]:
    edges = np.cumsum([0, *(table.num_rows for table in counts.values())])
    return {task: values[edges[i] : edges[i + 1]] for i, task in enumerate(counts)}


def _fill(tokens: np.ndarray, quota: float) -> np.ndarray:
    """1 for each document (in order) taken while taking it brings the total closer to `quota`, else 0."""
    taken, picks = 0, np.zeros(len(tokens), np.int64)
    for i, count in enumerate(tokens.tolist()):
        if taken + count / 2 <= quota:
            picks[i] = 1
            taken += count
    return picks
