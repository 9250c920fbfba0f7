"""The mix stage's tokenizer and exact token counts per document (`attrs/tokens/<task>.parquet`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console

from hephaestus.mix.plan import group_of, hash_fraction
from hephaestus.pack.tokenizer import TokenizerHandle, load_tokenizer, train_bpe
from hephaestus.workspace import atomic_path

COUNTS_SCHEMA = pa.schema({"id": pa.string(), "source": pa.string(), "group": pa.string(), "tokens": pa.int64()})
PAPER_SHARES = {"agent": 0.36, "text": 0.32, "code": 0.32}  # about 36% agent data, text and code balanced


@dataclass(frozen=True)
class MixSettings:
    tokenizer: str | None = None  # a local tokenizer.json or Hugging Face folder; None trains a BPE
    vocab_size: int = 8192
    tokenizer_sample_docs: int = 20_000
    shares: dict[str, float] = field(default_factory=lambda: dict(PAPER_SHARES))
    total_tokens: int | None = None  # None: as many as the shares allow without repeating a group
    max_epochs: float = 4.0
    on_shortfall: str = "keep_total"
    count_sample_rate: float | None = None  # None: tokenise every document (token-exact mixture)
    stage2_replay: float = 0.0  # share of stage II tokens replayed from the text and code sources
    seed: int = 0
    valid_fraction: float = 0.02


def _sample_texts(files: list[Path], limit: int) -> Iterator[str]:
    """A hash sample of about `limit` documents over all files, for training a tokenizer."""
    total = sum(pq.read_metadata(path).num_rows for path in files)
    rate = min(1.0, limit / max(1, total))
    for path in files:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=1024, columns=["id", "text"]):
            for doc_id, text in zip(batch.column("id").to_pylist(), batch.column("text").to_pylist(), strict=True):
                if hash_fraction(doc_id, 7) < rate:
                    yield text


def tokenizer_for(folder: Path, settings: MixSettings, files: list[Path], console: Console) -> TokenizerHandle:
    """The workspace tokenizer: saved in `folder` the first time, loaded from there afterwards."""
    if (folder / "tokenizer.json").exists():
        return load_tokenizer(folder)
    if settings.tokenizer:
        tokenizer = load_tokenizer(settings.tokenizer)
        tokenizer.save(folder)
        console.print(f"mix: tokenizer from {settings.tokenizer} ({tokenizer.vocab_size:,} tokens)")
        return tokenizer
    console.print(f"mix: training a byte-level BPE tokenizer of {settings.vocab_size:,} tokens on the corpus")
    return train_bpe(_sample_texts(files, settings.tokenizer_sample_docs), settings.vocab_size, folder)


def token_counts(path: Path, tokenizer: TokenizerHandle, out: Path) -> pa.Table:
    """id, source, group and tokens (with the EOS the packer adds) of every record of one file; cached."""
    if out.exists():
        return pq.read_table(out)
    parts = []
    for batch in pq.ParquetFile(path).iter_batches(batch_size=1024, columns=["id", "kind", "source", "text"]):
        tokens = [len(ids) + 1 for ids in tokenizer.encode_batch(batch.column("text").to_pylist())]
        groups = [group_of(k, s) for k, s in zip(batch.column("kind").to_pylist(), batch.column("source").to_pylist(),
                                                 strict=True)]
        parts.append(pa.table({"id": batch.column("id"), "source": batch.column("source"), "group": pa.array(groups),
                               "tokens": pa.array(tokens, pa.int64())}))
    counts = pa.concat_tables(parts).combine_chunks() if parts else COUNTS_SCHEMA.empty_table()
    with atomic_path(out) as tmp:
        pq.write_table(counts, tmp, compression="zstd")
    return counts
