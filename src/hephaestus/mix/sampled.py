"""Mixing on token counts estimated from a sample (`count_sample_rate`): the mix stage tokenises a hash sample
of the documents instead of all of them, and documents enter the mixture by a hash of their id at the plan's
rates. Shares then hit their targets in expectation, not to the token; the report states the estimates and
their standard errors, and the pack stage's manifest has the exact tokens that were packed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from hephaestus.mix.count import TokenCount, count_tokens
from hephaestus.mix.plan import RETRIEVED, SourceTokens, copies, group_of, hash_fraction, mixed_groups
from hephaestus.pack.tokenizer import TokenizerHandle
from hephaestus.workspace import write_json_atomic


def estimate_sources(files: Mapping[str, Path], held: Mapping[str, np.ndarray], tokenizer: TokenizerHandle,
                     rate: float, seed: int, cache: Path) -> tuple[list[SourceTokens], dict[str, TokenCount]]:
    """Estimated tokens per source over the training documents (not held out), with the EOS the packer adds
    after each document (exact, so it carries no error); cached in `cache`."""
    if cache.exists():
        saved = json.loads(cache.read_text())
    else:
        groups: dict[str, str] = {}
        counts = count_tokens(_training_texts(files, held, groups), tokenizer.encode_batch, rate, seed)
        saved = {source: {"group": groups[source], **count.__dict__} for source, count in sorted(counts.items())}
        write_json_atomic(cache, saved)
    estimates = {source: TokenCount(**{k: v for k, v in row.items() if k != "group"}) for source, row in saved.items()}
    sources = [SourceTokens(source, row["group"], row["tokens"] + row["documents"], row["documents"])
               for source, row in saved.items()]
    return sources, estimates


def _training_texts(files: Mapping[str, Path], held: Mapping[str, np.ndarray],
                    groups: dict[str, str]) -> Iterator[tuple[str, str]]:
    """(source, text) of every training document; fills `groups` and checks that each source has one."""
    for task, path in files.items():
        at = 0
        for batch in pq.ParquetFile(path).iter_batches(batch_size=1024, columns=["kind", "source", "text"]):
            rows = zip(batch.column("kind").to_pylist(), batch.column("source").to_pylist(),
                       batch.column("text").to_pylist(), strict=True)
            for i, (kind, source, text) in enumerate(rows, start=at):
                group = groups.setdefault(source, group_of(kind, source))
                if group != group_of(kind, source):
                    raise mixed_groups(source, group, group_of(kind, source))
                if not held[task][i]:
                    yield source, text
            at += batch.num_rows


def hashed_copies(keys: pa.Table, held: np.ndarray, rates: Mapping[str, float], seed: int) -> np.ndarray:
    """Copies of every document of one file (`keys`: its id and source columns): by a hash of the id."""
    pairs = zip(keys.column("id").to_pylist(), keys.column("source").to_pylist(), strict=True)
    return np.array([0 if out else copies(doc_id, rates.get(source, 0.0), seed)
                     for out, (doc_id, source) in zip(held.tolist(), pairs, strict=True)], dtype=np.int64)


def hashed_replay(keys: pa.Table, held: np.ndarray, groups: Mapping[str, str], rate: float, seed: int) -> np.ndarray:
    """Which text and code documents of one file stage II replays: those whose id hash falls below `rate`."""
    pairs = zip(keys.column("id").to_pylist(), keys.column("source").to_pylist(), strict=True)
    return np.array([not out and groups[source] in ("text", "code") and hash_fraction(doc_id, seed + 2) < rate
                     for out, (doc_id, source) in zip(held.tolist(), pairs, strict=True)], dtype=bool)


def replay_rate(sources: list[SourceTokens], share: float) -> float:
    """The hash rate at which text and code documents are replayed in stage II to make `share` of its tokens."""
    seed_tokens = sum(s.tokens for s in sources if s.group == "agent" and s.source != RETRIEVED)
    general = sum(s.tokens for s in sources if s.group in ("text", "code"))
    return min(1.0, share / (1 - share) * seed_tokens / general) if general else 0.0
