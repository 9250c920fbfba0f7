"""Near-duplicate clusters and survivors: planted duplicates at known Jaccard, components, determinism."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_minhash import mutate, real_docs, zipf_docs

from hephaestus.curate.dedup import choose_survivors, duplicate_clusters, exact_duplicates, exact_key
from hephaestus.curate.minhash import MinHasher, band_hashes, jaccard, lsh_params, shingles


def planted_pairs(docs: list[str], seed: int) -> dict[str, float]:
    """Plant one variant per document at a Jaccard drawn from [0.2, 1]; cluster everything with the
    default LSH settings; return recall (J >= 0.8), false merges (J < 0.5) and merges of distinct originals."""
    rng = np.random.default_rng(seed)
    variants = [mutate(d, t, rng) for d, t in zip(docs, rng.uniform(0.2, 1.0, len(docs)), strict=True)]
    truth = np.array([jaccard(shingles(d), shingles(v)) for d, v in zip(docs, variants, strict=True)])
    texts = docs + variants
    ids = [f"doc-{i:05d}" for i in rng.permutation(len(texts))]
    labels = duplicate_clusters(ids, band_hashes(MinHasher().signatures(texts), *lsh_params()))
    merged = labels[:len(docs)] == labels[len(docs):]
    assert (truth >= 0.8).sum() > 30 and (truth < 0.5).sum() > 30
    return {"recall": merged[truth >= 0.8].mean(), "false_merges": merged[truth < 0.5].mean(),
            "originals_merged": len(docs) - len(np.unique(labels[:len(docs)]))}


def test_planted_near_duplicates_in_real_text(shared_data: Path) -> None:
    result = planted_pairs(real_docs(shared_data), seed=11)
    assert result["recall"] >= 0.95
    assert result["false_merges"] <= 0.05
    assert result["originals_merged"] == 0


def test_planted_near_duplicates_in_builtin_text() -> None:
    result = planted_pairs(zipf_docs(200, np.random.default_rng(1)), seed=2)
    assert result["recall"] >= 0.95
    assert result["false_merges"] <= 0.05
    assert result["originals_merged"] == 0


def bands_of(pairs: list[tuple[int, int]], n: int, bands: int = 3) -> np.ndarray:
    """Band hashes where each listed pair shares one band bucket and nothing else collides."""
    hashes = np.arange(n * bands, dtype=np.uint64).reshape(n, bands) + np.uint64(1000)
    for band, (a, b) in enumerate(pairs):
        hashes[b, band % bands] = hashes[a, band % bands]
    return hashes


def test_chains_join_into_one_cluster() -> None:
    ids = ["b", "c", "a", "x", "y"]
    labels = duplicate_clusters(ids, bands_of([(0, 1), (1, 2), (3, 4)], n=5))  # b~c, c~a: one cluster of three
    assert labels.tolist() == [2, 2, 2, 3, 3]  # labelled by the row of the smallest id
    assert choose_survivors(ids, labels).tolist() == [False, False, True, True, False]
    assert (choose_survivors(ids, labels) == (labels == np.arange(5))).all()


def test_long_chain_across_bands() -> None:
    n = 1000
    ids = [f"id{i:04d}" for i in range(n)]
    labels = duplicate_clusters(ids, bands_of([(i, i + 1) for i in range(n - 1)], n=n, bands=4))
    assert (labels == 0).all()


def test_survivors_do_not_depend_on_input_order() -> None:
    rng = np.random.default_rng(0)
    n = 500
    ids = np.array([f"r{i:04d}" for i in rng.permutation(n)])
    hashes = rng.integers(0, 40, size=(n, 4)).astype(np.uint64) + (np.arange(4, dtype=np.uint64) << np.uint64(8))
    priority = rng.integers(0, 3, n).astype(float)
    priority[::7] = np.nan
    expected = None
    for _ in range(5):
        order = rng.permutation(n)
        labels = duplicate_clusters(ids[order], hashes[order])
        keep = choose_survivors(ids[order], labels, priority[order])
        groups = {frozenset(ids[order][labels == label]) for label in np.unique(labels)}
        assert keep.sum() == len(groups)
        result = (groups, frozenset(ids[order][keep]))
        assert expected is None or result == expected
        expected = result


def test_survivor_prefers_priority_then_smallest_id() -> None:
    ids = ["d", "b", "c", "a", "e"]
    clusters = np.array([0, 0, 0, 1, 1])
    assert choose_survivors(ids, clusters).tolist() == [False, True, False, True, False]
    priority = [1.0, 0.5, 1.0, np.nan, 0.0]
    assert choose_survivors(ids, clusters, priority).tolist() == [False, False, True, False, True]
    with pytest.raises(ValueError, match="5 ids but 4"):
        choose_survivors(ids, clusters[:4])


def test_exact_duplicates_keep_the_smallest_id() -> None:
    texts = ["Hello  world\r\n", "hello world", "Hello world", "Other\u200b text", "Other text", "Cafe\u0301"]
    keys = [exact_key(t) for t in texts]
    assert keys[0] == keys[2] != keys[1] and keys[3] == keys[4] and keys[5] == exact_key("Café")
    ids = ["z", "m", "a", "q", "p", "k"]
    assert exact_duplicates(ids, keys).tolist() == [False, True, True, False, True, True]
    order = [5, 3, 1, 0, 4, 2]
    assert exact_duplicates([ids[i] for i in order], [keys[i] for i in order]).tolist() == [
        True, False, True, False, True, True]
    assert exact_duplicates(ids, keys, priority=[2, 0, 1, 0, 0, 0]).tolist() == [True, True, False, False, True, True]


def test_shapes_are_checked_and_empty_input_works() -> None:
    with pytest.raises(ValueError, match="shape"):
        duplicate_clusters(["a", "b"], np.zeros((3, 2), dtype=np.uint64))
    assert duplicate_clusters([], np.zeros((0, 4), dtype=np.uint64)).shape == (0,)
    assert choose_survivors([], np.array([], dtype=np.int64)).shape == (0,)
