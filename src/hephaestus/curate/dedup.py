"""Exact and near-duplicate grouping over arrays gathered from every shard, and one survivor per group.

The caller concatenates ids, exact keys and LSH band hashes (`minhash.band_hashes`) of all shards
and calls these once: memory is the band hashes (n x bands x 8 bytes) plus a few arrays of n.
Survivors do not depend on the input order: within a group the row with the highest priority
wins (a missing priority, NaN, is the lowest), then the smallest id, then the earliest row
(rows tie that far only when their ids are equal, that is when they are the same record).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xxhash

from hephaestus.curate.clean import normalise


def exact_key(text: str) -> str:
    """xxh3-128 hex digest of `clean.normalise(text)`: texts that differ only in spacing,
    control characters or Unicode composition share a key."""
    return xxhash.xxh3_128_hexdigest(normalise(text).encode())


def _ranks(values: Sequence | np.ndarray) -> np.ndarray:
    """Dense rank of each value in sorted order (equal values share a rank)."""
    return np.unique(np.asarray(values), return_inverse=True)[1].reshape(-1)


def choose_survivors(ids: Sequence[str] | np.ndarray, clusters: np.ndarray,
                     priority: Sequence[float] | np.ndarray | None = None) -> np.ndarray:
    """Boolean keep mask with one row per cluster label: highest priority, then smallest id, then earliest."""
    clusters = np.asarray(clusters)
    if len(clusters) != len(ids):
        raise ValueError(f"{len(ids)} ids but {len(clusters)} cluster labels")
    keys = [_ranks(ids), clusters] if priority is None else [_ranks(ids), -np.asarray(priority, float), clusters]
    order = np.lexsort(keys)  # stable: the last key sorts first, the row order breaks the remaining ties
    grouped = clusters[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = grouped[1:] != grouped[:-1]
    keep = np.zeros(len(order), dtype=bool)
    keep[order[first]] = True
    return keep


def exact_duplicates(ids: Sequence[str] | np.ndarray, keys: Sequence | np.ndarray,
                     priority: Sequence[float] | np.ndarray | None = None) -> np.ndarray:
    """Boolean keep mask with one survivor per distinct key (see `exact_key`), chosen as in `choose_survivors`."""
    return choose_survivors(ids, _ranks(keys), priority)


def _flatten(parent: np.ndarray) -> None:
    """Point every node straight at its root, in place (pointer jumping)."""
    while True:
        grand = parent[parent]
        if np.array_equal(grand, parent):
            return
        parent[:] = grand


def _union(parent: np.ndarray, u: np.ndarray, v: np.ndarray) -> None:
    """Join the sets of u[i] and v[i] for all i; a root stays the smallest node of its set."""
    while u.size:
        _flatten(parent)
        ru, rv = parent[u], parent[v]
        apart = ru != rv
        u, v = np.minimum(ru[apart], rv[apart]), np.maximum(ru[apart], rv[apart])
        np.minimum.at(parent, v, u)  # hook each larger root under the smallest root it meets


def duplicate_clusters(ids: Sequence[str] | np.ndarray, band_hashes: np.ndarray) -> np.ndarray:
    """Near-duplicate cluster label per row: rows equal in any band are joined, transitively.

    A label is the row index of the cluster member with the smallest id, so a row that meets no
    other is labelled with its own index and, without priorities, `labels == arange(n)` marks
    the survivors `choose_survivors` picks. Work is a sort per band: O(n log n * bands).
    """
    band_hashes = np.asarray(band_hashes)
    if band_hashes.ndim != 2 or len(band_hashes) != len(ids):
        raise ValueError(f"band hashes must have shape ({len(ids)}, bands), not {band_hashes.shape}")
    by_id = np.argsort(np.asarray(ids), kind="stable")  # nodes are id ranks: a root is the smallest id
    rank = np.empty(len(ids), dtype=np.int64)
    rank[by_id] = np.arange(len(ids))
    parent = np.arange(len(ids))
    for band in range(band_hashes.shape[1]):
        column = np.ascontiguousarray(band_hashes[:, band])
        order = np.argsort(column)
        ordered = column[order]
        bucket_start = np.ones(len(order), dtype=bool)
        bucket_start[1:] = ordered[1:] != ordered[:-1]
        head = order[np.maximum.accumulate(np.where(bucket_start, np.arange(len(order)), 0))]
        member = ~bucket_start  # join every later member of a bucket to the bucket's first
        _union(parent, rank[head[member]], rank[order[member]])  # leaves parent flat
    return by_id[parent[rank]]
