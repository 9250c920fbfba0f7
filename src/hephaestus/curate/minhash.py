"""MinHash signatures of word n-gram shingles, and the LSH bands that make near-duplicates meet.

Words are the lowercased runs of word characters (Unicode letters, digits, underscore) of the NFC
text without control or zero-width characters; a document shorter than `ngram` words is one
shingle (one with no word at all is its whole lowercased text). Each word is hashed with xxh3-64
and an n-gram's hash mixes its words' hashes in order, for every document of a batch at once.
Permutation k maps a shingle hash x to (a_k * x + b_k) mod (2^31 - 1) for all k in one broadcast
product, and a signature is the column-wise minimum over the document's shingles.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from itertools import chain

import numpy as np
import xxhash

from hephaestus.curate.clean import CONTROL

MERSENNE = np.uint64((1 << 31) - 1)
WORD = re.compile(r"\w+")
DEFAULT_THRESHOLD = 0.65  # 128 permutations: 16 bands x 8 rows; pairs meet with p 0.95 at J 0.8, 0.06 at J 0.5
CHUNK = 2048  # shingles per broadcast block: 128 x 2048 x 8 bytes stays in cache
_MIX_SEED = np.uint64(0x9E3779B97F4A7C15)


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser: an avalanching bijection of uint64 values."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _tokens(texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """The tokens of every document, concatenated, and how many each document has (always >= 1)."""
    cleaned = (CONTROL.sub("", unicodedata.normalize("NFC", text)).lower() for text in texts)
    per_doc = [WORD.findall(text) or [text] for text in cleaned]  # no word: the whole text is one token
    return list(chain.from_iterable(per_doc)), np.fromiter(map(len, per_doc), dtype=np.int64, count=len(per_doc))


def shingles(text: str, ngram: int = 5) -> set[str]:
    """The shingle set MinHasher sees for one text, as space-joined words (for checks, not speed)."""
    words = _tokens([text])[0]
    return {" ".join(words[i:i + ngram]) for i in range(max(1, len(words) - ngram + 1))}


def jaccard(a: set[str], b: set[str]) -> float:
    """Jaccard similarity of two shingle sets (1.0 for two empty sets)."""
    return len(a & b) / len(a | b) if a or b else 1.0


class MinHasher:
    """MinHash signatures with `num_perm` permutations of word `ngram` shingles; `seed` fixes the permutations."""

    def __init__(self, num_perm: int = 128, ngram: int = 5, seed: int = 42) -> None:
        rng = np.random.default_rng(seed)
        self.num_perm, self.ngram = num_perm, ngram
        self.a = rng.integers(1, MERSENNE, num_perm, dtype=np.uint64)
        self.b = rng.integers(0, MERSENNE, num_perm, dtype=np.uint64)

    def shingle_hashes(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Every document's shingle hashes (uint64 below 2^31 - 1), concatenated, and the count per document."""
        tokens, words_per_doc = _tokens(texts)
        words = np.fromiter(map(xxhash.xxh3_64_intdigest, map(str.encode, tokens)), dtype=np.uint64, count=len(tokens))
        per_doc = np.maximum(words_per_doc - self.ngram + 1, 1)
        doc = np.repeat(np.arange(len(texts)), per_doc)
        first_word = np.cumsum(words_per_doc) - words_per_doc
        first_shingle = np.cumsum(per_doc) - per_doc
        start = first_word[doc] + np.arange(len(doc)) - first_shingle[doc]
        width = np.minimum(words_per_doc, self.ngram)[doc]
        hashes = np.full(len(doc), _MIX_SEED)
        for k in range(self.ngram):  # fold the n words in order; short documents stop early
            mixed = _mix(hashes ^ words[np.minimum(start + k, len(words) - 1)])
            hashes = np.where(k < width, mixed, hashes)
        return hashes % MERSENNE, per_doc

    def signatures(self, texts: Sequence[str]) -> np.ndarray:
        """MinHash signatures, shape (len(texts), num_perm), uint32 values below 2^31 - 1."""
        hashes, per_doc = self.shingle_hashes(texts)
        bounds = np.concatenate([[0], np.cumsum(per_doc)])
        out = np.full((self.num_perm, len(texts)), np.iinfo(np.uint32).max, dtype=np.uint32)
        block = np.empty((self.num_perm, min(CHUNK, len(hashes))), dtype=np.uint64)  # permutations x shingles
        spare = np.empty_like(block)
        a, b = self.a[:, None], self.b[:, None]
        for lo in range(0, len(hashes), CHUNK):  # blocks of shingles; a document may span blocks
            hi = min(lo + CHUNK, len(hashes))
            v, t = block[:, :hi - lo], spare[:, :hi - lo]
            np.multiply(a, hashes[lo:hi], out=v)
            v += b  # <= p(p - 1): one Mersenne fold leaves it below 2p, one subtraction makes it the residue
            np.right_shift(v, np.uint64(31), out=t)
            v &= MERSENNE
            v += t
            np.subtract(v, MERSENNE, out=t)  # where v < p this wraps round to a huge value and v stays
            np.minimum(v, t, out=v)
            first, last = np.searchsorted(bounds, [lo, hi - 1], side="right") - 1
            starts = np.maximum(bounds[first:last + 1], lo) - lo
            out[:, first:last + 1] = np.minimum(out[:, first:last + 1], np.minimum.reduceat(v, starts, axis=1))
        return np.ascontiguousarray(out.T)


@lru_cache(maxsize=64)
def lsh_params(threshold: float = DEFAULT_THRESHOLD, num_perm: int = 128, false_positive_weight: float = 0.5,
               false_negative_weight: float = 0.5) -> tuple[int, int]:
    """(bands, rows) minimising the weighted false positive and negative areas, by datasketch's own search."""
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, weights=(false_positive_weight, false_negative_weight))
    return lsh.b, lsh.r


def band_hashes(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """One uint64 hash per (document, band) of that band's `rows` values, the band index mixed in: shape (n, bands)."""
    if bands * rows > signatures.shape[1]:
        raise ValueError(f"{bands} bands x {rows} rows need {bands * rows} permutations, have {signatures.shape[1]}")
    hashes = np.repeat(_mix(np.arange(bands, dtype=np.uint64) + _MIX_SEED)[None, :], len(signatures), axis=0)
    for row in range(rows):  # column band * rows + row of every band at once
        hashes = _mix(hashes ^ signatures[:, row:bands * rows:rows].astype(np.uint64))
    return hashes
