"""The curate stage's per-shard steps: normalise, quality filters, decontamination, dedup signatures."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pyarrow as pa

from hephaestus.curate.benchmarks import load_benchmark_file, load_bfcl
from hephaestus.curate.clean import RULES_BY_KIND, normalise, quality_reason
from hephaestus.curate.decontam import NgramIndex
from hephaestus.curate.dedup import exact_key
from hephaestus.curate.minhash import MinHasher, band_hashes, lsh_params
from hephaestus.steps import AttributeSink, Drop, MapStep, ScoreStep, Step


@dataclass(frozen=True)
class BenchmarkFile:
    """An evaluation set the user names for decontamination."""

    path: str
    name: str | None = None
    fields: tuple[str, ...] = ("text",)


@dataclass(frozen=True)
class CurateSettings:
    quality: bool = True
    decontaminate: bool = True
    bfcl: bool = True
    benchmark_files: tuple[BenchmarkFile, ...] = ()
    ngram: int = 13
    near_threshold: float = 0.65
    num_perm: int = 128
    shingle: int = 5
    max_chars: int = 1_000_000


@lru_cache(maxsize=2)
def benchmark_index(settings: CurateSettings) -> NgramIndex:
    """Built once per worker process (about a second for BFCL), shared by all its shards."""
    texts: dict[str, list[str]] = dict(load_bfcl()) if settings.bfcl else {}
    for entry in settings.benchmark_files:
        texts.update(load_benchmark_file(entry.path, entry.name, list(entry.fields)))
    return NgramIndex(texts, n=settings.ngram)


def normalise_row(row: dict[str, Any], max_chars: int) -> dict[str, Any] | Drop:
    """Prose is fully normalised, code and API docs keep their indentation, trajectories stay as rendered
    (their text must match the chat template's loss spans)."""
    kind, text = row["kind"], row["text"]
    if kind == "text":
        text = normalise(text)
    elif kind in ("code", "tool_doc"):
        text = normalise(text, keep_indentation=True)
    if not text.strip():
        return Drop("empty_after_normalise")
    if len(text) > max_chars:
        return Drop("too_long", f"{len(text):,} characters")
    return {**row, "text": text}


class CurateSteps:
    """Step factory for the first phase; picklable, so worker processes build their own steps."""

    def __init__(self, settings: CurateSettings) -> None:
        self.settings = settings

    def __call__(self, sink: AttributeSink) -> list[Step]:
        settings = self.settings
        steps: list[Step] = [MapStep("normalise", lambda row: normalise_row(row, settings.max_chars))]
        if settings.decontaminate and (settings.bfcl or settings.benchmark_files):  # first: counts per benchmark
            index = benchmark_index(settings)
            steps.append(MapStep("decontaminate", lambda row: _decontaminate(row, index)))
        if settings.quality:
            steps.append(MapStep("quality", _quality))
        hasher = MinHasher(settings.num_perm, settings.shingle)
        bands, rows = lsh_params(settings.near_threshold, settings.num_perm)
        steps.append(ScoreStep("dedup", lambda batch: _dedup_columns(batch, hasher, bands, rows), sink))
        return steps


def _quality(row: dict[str, Any]) -> dict[str, Any] | Drop:
    reason = quality_reason(row["text"], RULES_BY_KIND[row["kind"]])
    return row if reason is None else Drop(f"quality:{reason}")


def _decontaminate(row: dict[str, Any], index: NgramIndex) -> dict[str, Any] | Drop:
    hits = index.check(row["text"])
    return row if not hits else Drop(f"contaminated:{hits[0]}", f"overlaps {', '.join(hits)}")


def dedup_group(kind: str, source: str) -> str:
    """Duplicates are looked for within a group: the kind, except that code-to-text pairs form their own
    group, since a pair is derived from (and mostly contained in) a code file that is kept too."""
    return "code-pairs" if source.startswith("code-pairs:") else kind


def _dedup_columns(batch: pa.RecordBatch, hasher: MinHasher, bands: int, rows: int) -> dict[str, pa.Array]:
    texts = batch.column("text").to_pylist()
    signatures = hasher.signatures(texts)
    hashes = band_hashes(signatures, bands, rows)
    flat = pa.array(hashes.reshape(-1), type=pa.uint64())
    return {
        "group": pa.array([dedup_group(kind, source) for kind, source in zip(
            batch.column("kind").to_pylist(), batch.column("source").to_pylist(), strict=True)]),
        "exact_key": pa.array([exact_key(text) for text in texts]),
        "bands": pa.FixedSizeListArray.from_arrays(flat, bands),
        "chars": pa.array(np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))),
    }
