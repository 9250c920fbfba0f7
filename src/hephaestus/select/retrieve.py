"""Exact cosine retrieval of the seed (agent) documents nearest to each web document, with faiss.

A `SeedIndex` holds unit-norm seed vectors in a flat inner-product index (inner product = cosine), one
source label per seed, and the name of the embedder that made them. Queries from another embedder or of
another dimension are refused. `stream_neighbours` embeds and searches a web corpus one chunk at a time,
so time grows linearly with the corpus and memory stays bounded. Saved as faiss + .npy + JSON, never pickle.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from hephaestus.select.embed import Embedder

FORMAT = "hephaestus-seed-index/1"
INDEX_FILE, SOURCES_FILE, META_FILE = "seeds.faiss", "sources.npy", "meta.json"
NORM_TOLERANCE = 1e-2  # float16 and bf16 vectors are unit only to about 1e-3


@dataclass(frozen=True)
class SeedNeighbours:
    """Per query: the best and the mean top-k cosine similarity to the seeds, and the nearest seed."""

    max_similarity: np.ndarray
    mean_similarity: np.ndarray
    nearest_row: np.ndarray
    nearest_source: np.ndarray


def _unit_rows(vectors: np.ndarray, what: str) -> np.ndarray:
    """`vectors` as C-contiguous float32 rows, checked to be L2-normalised (or all zero)."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.ndim != 2:
        raise ValueError(f"{what} must be a 2-D array (rows of vectors), got shape {vectors.shape}")
    norms = np.linalg.norm(vectors, axis=1)
    bad = ~((np.abs(norms - 1) <= NORM_TOLERANCE) | (norms == 0))
    if bad.any():
        raise ValueError(f"{what} must be L2-normalised: row {int(np.argmax(bad))} has norm {norms[bad][0]:.4f}")
    return vectors


class SeedIndex:
    """Seed vectors in a faiss IndexFlatIP, with their source labels and the embedder's name."""

    def __init__(self, index: faiss.Index, sources: Sequence[str] | np.ndarray, embedder_name: str) -> None:
        self.index = index
        self.sources = np.asarray(sources, dtype=str)
        self.embedder_name = embedder_name
        if index.ntotal != len(self.sources):
            raise ValueError(f"{index.ntotal} seed vectors but {len(self.sources)} source labels")

    @classmethod
    def build(cls, vectors: np.ndarray, sources: Sequence[str], embedder_name: str) -> SeedIndex:
        """Index unit-norm seed `vectors` (one row per label in `sources`)."""
        vectors = _unit_rows(vectors, "seed vectors")
        if len(vectors) == 0:
            raise ValueError("no seed vectors to index")
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(vectors)
        return cls(index, sources, embedder_name)

    @classmethod
    def from_texts(cls, embedder: Embedder, texts: Sequence[str], sources: Sequence[str]) -> SeedIndex:
        """Embed seed `texts` with `embedder` and index them."""
        return cls.build(embedder.encode(texts), sources, embedder.name)

    @property
    def dim(self) -> int:
        return int(self.index.d)

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def check(self, dim: int, embedder_name: str | None) -> None:
        """Raise ValueError unless queries of `dim` from `embedder_name` (None: unknown) fit this index."""
        if dim != self.dim or embedder_name not in (None, self.embedder_name):
            raise ValueError(
                f"query vectors have dimension {dim} from embedder {embedder_name or '(not given)'!r}, but the seed "
                f"index has dimension {self.dim} from embedder {self.embedder_name!r}: embed queries with the "
                "index's embedder or rebuild the index"
            )

    def search(
        self, query_vectors: np.ndarray, k: int, embedder_name: str | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Cosine similarities (n, k) of each query's k nearest seeds, best first, and those seeds' rows (n, k)."""
        queries = _unit_rows(query_vectors, "query vectors")
        self.check(queries.shape[1], embedder_name)
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        similarities, rows = self.index.search(queries, min(k, len(self)))
        return similarities, rows

    def top_k_attributes(self, query_vectors: np.ndarray, k: int, embedder_name: str | None = None) -> SeedNeighbours:
        """Per query: max similarity, mean of the top-k similarities, and the nearest seed's row and source."""
        similarities, rows = self.search(query_vectors, k, embedder_name)
        return SeedNeighbours(
            max_similarity=similarities[:, 0],
            mean_similarity=similarities.mean(axis=1),
            nearest_row=rows[:, 0],
            nearest_source=self.sources[rows[:, 0]],
        )

    def save(self, folder: str | Path) -> Path:
        """Write the index, the labels and a JSON header (format, embedder, dim, count) into `folder`."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        faiss.write_index(self.index, str(folder / INDEX_FILE))
        np.save(folder / SOURCES_FILE, self.sources, allow_pickle=False)
        meta = {"format": FORMAT, "embedder": self.embedder_name, "dim": self.dim, "count": len(self)}
        (folder / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> SeedIndex:
        """Read an index written by `save`, checking that its parts agree."""
        folder = Path(folder)
        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT:
            raise ValueError(f"{folder / META_FILE}: format {meta.get('format')!r} is not {FORMAT!r}")
        index = faiss.read_index(str(folder / INDEX_FILE))
        if index.d != meta["dim"] or index.ntotal != meta["count"]:
            raise ValueError(
                f"{folder}: index holds {index.ntotal}×{index.d}, header says {meta['count']}×{meta['dim']}"
            )
        return cls(index, np.load(folder / SOURCES_FILE, allow_pickle=False), meta["embedder"])


def stream_neighbours(
    index: SeedIndex, embedder: Embedder, texts: Iterable[str], k: int, chunk_size: int = 4096
) -> Iterator[SeedNeighbours]:
    """Embed and search `texts` `chunk_size` at a time, yielding one `SeedNeighbours` per chunk, in order."""
    index.check(embedder.dim, embedder.name)
    iterator = iter(texts)
    while chunk := list(itertools.islice(iterator, chunk_size)):
        yield index.top_k_attributes(embedder.encode(chunk), k, embedder.name)
