"""Token counts per source: exact, or estimated from a hash sample of documents with a stated error.

The estimate is a ratio estimator: tokens per character in the tokenised documents (each weighted by
one over its chance of being tokenised) times the source's total characters. The first `head`
documents of every source are always tokenised, so small sources come out exact; later ones are
tokenised when a hash of their text falls below `sample_rate`. The standard error is the usual
linearised one for a Bernoulli sample, sqrt((1 - f) / f² · Σ (t − R·c)²) scaled to the total characters.
Identical texts hash alike and are sampled together, so the error holds for deduplicated data (as `curate`
writes); duplicates widen the true error beyond the stated one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from hephaestus.mix.plan import hash_fraction

Encoder = Callable[[list[str]], list[list[int]]]


@dataclass(frozen=True)
class TokenCount:
    """Tokens of one source; `stderr` is the standard error of `tokens` (0 when `exact`)."""

    tokens: int
    exact: bool
    stderr: float
    documents: int
    characters: int
    sampled: int  # documents tokenised

    def interval(self, z: float = 1.96) -> tuple[float, float]:
        """Confidence interval for the true count, 95% by default."""
        return self.tokens - z * self.stderr, self.tokens + z * self.stderr

    def __add__(self, other: TokenCount) -> TokenCount:
        """Counts of disjoint parts of a source (e.g. shards) add; their errors add in quadrature."""
        return TokenCount(self.tokens + other.tokens, self.exact and other.exact, math.hypot(self.stderr, other.stderr),
                          self.documents + other.documents, self.characters + other.characters,
                          self.sampled + other.sampled)


@dataclass
class _Tally:
    documents: int = 0
    characters: int = 0
    head: int = 0  # documents tokenised for sure
    head_tokens: int = 0
    head_chars: int = 0
    tail: int = 0  # documents tokenised by the sample
    tail_tokens: int = 0
    tail_chars: int = 0
    tail_tt: int = 0  # Σ t², Σ t·c, Σ c² over the sampled documents
    tail_tc: int = 0
    tail_cc: int = 0

    def add(self, in_head: bool, tokens: int, chars: int) -> None:
        if in_head:
            self.head += 1
            self.head_tokens += tokens
            self.head_chars += chars
        else:
            self.tail += 1
            self.tail_tokens += tokens
            self.tail_chars += chars
            self.tail_tt += tokens * tokens
            self.tail_tc += tokens * chars
            self.tail_cc += chars * chars

    def count(self, rate: float) -> TokenCount:
        sampled = self.head + self.tail
        if sampled == self.documents:
            return TokenCount(self.head_tokens + self.tail_tokens, True, 0.0, self.documents, self.characters, sampled)
        chars = self.head_chars + self.tail_chars / rate
        if not chars:
            return TokenCount(0, False, math.inf, self.documents, self.characters, sampled)
        ratio = (self.head_tokens + self.tail_tokens / rate) / chars
        residuals = self.tail_tt - 2 * ratio * self.tail_tc + ratio * ratio * self.tail_cc
        stderr = math.sqrt((1 - rate) / rate**2 * max(residuals, 0.0)) * self.characters / chars
        return TokenCount(round(ratio * self.characters), False, stderr, self.documents, self.characters, sampled)


def count_tokens(
    texts_by_source: Iterable[tuple[str, str]],
    encode_batch: Encoder,
    sample_rate: float | None = None,
    seed: int = 0,
    *,
    head: int = 100,
    batch_size: int = 256,
) -> dict[str, TokenCount]:
    """Tokens per source of (source, text) pairs: exact with no sample_rate, else estimated from a sample."""
    if sample_rate is not None and not 0 < sample_rate <= 1:
        raise ValueError(f"sample_rate must be in (0, 1], not {sample_rate}")
    tallies: dict[str, _Tally] = {}
    pending: list[tuple[_Tally, bool, str]] = []

    def flush() -> None:
        encoded = encode_batch([text for _, _, text in pending])
        if len(encoded) != len(pending):
            raise ValueError(f"encode_batch returned {len(encoded)} encodings for {len(pending)} texts")
        for (tally, in_head, text), ids in zip(pending, encoded, strict=True):
            tally.add(in_head, len(ids), len(text))
        pending.clear()

    for source, text in texts_by_source:
        tally = tallies.setdefault(source, _Tally())
        tally.documents += 1
        tally.characters += len(text)
        in_head = sample_rate is None or tally.documents <= head
        if in_head or hash_fraction(text, seed) < sample_rate:
            pending.append((tally, in_head, text))
            if len(pending) >= batch_size:
                flush()
    if pending:
        flush()
    return {source: tally.count(sample_rate or 1.0) for source, tally in tallies.items()}
