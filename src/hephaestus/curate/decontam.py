"""Decontamination: find documents that share word n-grams with evaluation sets.

Words are the `\\w+` runs of the lowercased text after NFC and the removal of control and zero-width
characters: the word sequence of `clean.normalise(text)`, without its line-by-line cost. Each
benchmark text adds its n-grams (n=13 by default, as in GPT-3's decontamination). A text shorter than
n words but of at least `min_words` (8) adds its whole word sequence as one gram, so short BFCL
questions ("Calculate the factorial of 5 using math functions.") are still caught; shorter texts
("What is my first name?") would match ordinary prose and are not indexed. A document overlaps a
benchmark when it contains any of the benchmark's grams.

Hashing: each word gets its xxh3-64 hash; the gram of words w_i..w_{i+k-1} hashes to the polynomial
sum of w_{i+j} * P^(k-1-j) mod 2^64, so a document's grams of every length up to n come from n
vectorised NumPy steps. The grams of each length sit in one sorted uint64 array, with the benchmark of
each alongside. Every gram starts with min_words words, so a document is first screened on its
min_words-grams (a byte filter, then an exact lookup among the heads of all grams); only the few
positions that pass are looked up in the tables of longer grams.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import xxhash

from hephaestus.curate.clean import CONTROL

WORD = re.compile(r"\w+")
MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # odd, so multiplying by it is a bijection mod 2^64
FILTER_SLOTS_PER_HEAD = 32  # filter bytes per distinct gram head: about 3% of a document's words pass
MAX_FILTER_BITS = 26  # at most 64 MiB of filter, however large the benchmarks
NO_HASHES = np.zeros(0, dtype=np.uint64)


def words(text: str) -> list[str]:
    """The lowercased words that grams are made of (the same as those of the normalised text)."""
    return WORD.findall(CONTROL.sub("", unicodedata.normalize("NFC", text)).lower())


def word_hashes(text: str) -> np.ndarray:
    """xxh3-64 hash of each word of the text, as uint64."""
    return np.array([xxhash.xxh3_64_intdigest(word.encode()) for word in words(text)], dtype=np.uint64)


def gram_hashes(hashes: np.ndarray, lengths: Iterable[int]) -> Iterator[tuple[int, np.ndarray]]:
    """(k, hash of every k-word gram by start position) for each k of `lengths`, shortest first."""
    grams, k = hashes, 1
    for length in sorted(lengths):
        while k < length:
            grams = grams[:-1] * MULTIPLIER + hashes[k:]
            k += 1
        yield length, grams


def _distinct(values: np.ndarray) -> np.ndarray:
    """The sorted distinct values (np.unique hashes uint64 slowly in NumPy 2.4)."""
    values = np.sort(values)
    keep = np.ones(len(values), dtype=bool)
    keep[1:] = values[1:] != values[:-1]
    return values[keep]


@dataclass(frozen=True)
class BenchmarkStats:
    """How much of one benchmark is indexed: texts given, texts long enough to count, distinct grams."""

    texts: int
    indexed: int
    grams: int


class NgramIndex:
    """Word-gram hashes of named benchmarks, to tell which of them a document overlaps."""

    def __init__(self, benchmarks: Mapping[str, Sequence[str]], n: int = 13, min_words: int = 8) -> None:
        """Index the n-grams of each benchmark's texts; texts under min(min_words, n) words are left out."""
        if n < 1 or min_words < 1:
            raise ValueError(f"n and min_words must be positive, got n={n}, min_words={min_words}")
        self.n, self.min_words = n, min(min_words, n)
        self.names = list(benchmarks)
        self.stats: dict[str, BenchmarkStats] = {}
        parts: dict[int, list[tuple[np.ndarray, int]]] = defaultdict(list)
        heads: list[np.ndarray] = []
        for number, (name, texts) in enumerate(benchmarks.items()):
            indexed, grams, gram_heads = self._grams(texts)
            for length, hashes in grams.items():
                parts[length].append((hashes, number))
            heads.append(gram_heads)
            self.stats[name] = BenchmarkStats(len(texts), indexed, sum(map(len, grams.values())))
        self._tables: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for length, arrays in sorted(parts.items()):
            hashes = np.concatenate([a for a, _ in arrays])
            owners = np.concatenate([np.full(len(a), number, dtype=np.int32) for a, number in arrays])
            order = np.argsort(hashes, kind="stable")
            self._tables[length] = (hashes[order], owners[order])
        self._heads = _distinct(np.concatenate([NO_HASHES, *heads]))
        bits = min(MAX_FILTER_BITS, max(16, (FILTER_SLOTS_PER_HEAD * len(self._heads)).bit_length()))
        self._mask = np.uint64((1 << bits) - 1)
        self._filter = np.zeros(1 << bits, dtype=bool)
        self._filter[self._heads & self._mask] = True

    def _grams(self, texts: Sequence[str]) -> tuple[int, dict[int, np.ndarray], np.ndarray]:
        """Texts of at least min_words words, their distinct grams by length, and the hashes of the
        first min_words words of every gram (the heads that the filter holds), for all texts at once."""
        per_text = [word_hashes(text) for text in texts]
        counts = np.array([len(hashes) for hashes in per_text], dtype=np.int64)
        hashes = np.concatenate([NO_HASHES, *per_text])
        text_of = np.repeat(np.arange(len(counts)), counts)  # the text of each word
        gram_length = np.minimum(counts, self.n)[text_of]
        ends = np.cumsum(counts)[text_of]
        starts_gram = (np.arange(len(hashes)) + gram_length <= ends) & (counts >= self.min_words)[text_of]
        grams: dict[int, np.ndarray] = {}
        heads = [NO_HASHES]
        lengths = np.flatnonzero(np.bincount(gram_length[starts_gram], minlength=1)).tolist()
        for length, hashed in gram_hashes(hashes, {self.min_words, *lengths}):
            if length == self.min_words:  # the shortest, so it comes first
                head_of = hashed
            starts = np.flatnonzero(starts_gram & (gram_length == length))
            if len(starts):
                grams[length] = _distinct(hashed[starts])
                heads.append(head_of[starts])
        return int(np.count_nonzero(counts >= self.min_words)), grams, np.concatenate(heads)

    def _matches(self, hashes: np.ndarray) -> Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
        """(k, start of each matching k-gram, and its first and past-last rows in the k table), per k.

        Only the starts whose min_words-gram passes the filter are looked up: most documents have none."""
        candidates = np.zeros(0, dtype=np.intp)
        for length, grams in gram_hashes(hashes, {self.min_words, *self._tables}):  # min_words comes first
            if length == self.min_words:
                candidates = np.flatnonzero(self._filter[grams & self._mask])
                rows = np.minimum(np.searchsorted(self._heads, grams[candidates]), len(self._heads) - 1)
                candidates = candidates[self._heads[rows] == grams[candidates]]
            if not len(candidates):
                return
            if length in self._tables:
                table = self._tables[length][0]
                found = grams[candidates[candidates < len(grams)]]
                first, end = np.searchsorted(table, found, side="left"), np.searchsorted(table, found, side="right")
                hit = end > first
                yield length, candidates[: len(found)][hit], first[hit], end[hit]

    def check(self, text: str) -> list[str]:
        """Names of the benchmarks that share at least one gram with the text, in index order."""
        found: set[int] = set()
        for length, _, first, end in self._matches(word_hashes(text)):
            owners = self._tables[length][1]
            for row, stop in zip(first.tolist(), end.tolist(), strict=True):
                found.update(owners[row:stop].tolist())
        return [self.names[number] for number in sorted(found)]

    def contaminated_fraction(self, text: str) -> float:
        """Share of the text's words that lie inside a gram of any benchmark (0.0 for a wordless text)."""
        hashes = word_hashes(text)
        edges = np.zeros(len(hashes) + 1, dtype=np.int64)
        for length, starts, _, _ in self._matches(hashes):
            np.add.at(edges, starts, 1)
            np.add.at(edges, starts + length, -1)
        return float(np.count_nonzero(np.cumsum(edges[:-1]))) / max(1, len(hashes))


def removed_by_benchmark(index: NgramIndex, texts: Iterable[str]) -> dict[str, int]:
    """How many of the texts each benchmark flags, every benchmark listed; a text that overlaps two
    benchmarks counts for both."""
    counts = dict.fromkeys(index.names, 0)
    for text in texts:
        for name in index.check(text):
            counts[name] += 1
    return counts
