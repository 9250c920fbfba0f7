"""MinHash signatures: their Jaccard estimates against the truth and datasketch, their invariances, LSH bands."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from datasketch import MinHash

from hephaestus.curate.minhash import DEFAULT_THRESHOLD, MinHasher, band_hashes, jaccard, lsh_params, shingles


def zipf_docs(count: int, rng: np.random.Generator) -> list[str]:
    """Built-in stand-in for prose: Zipf-distributed words of a random 5,000-word vocabulary."""
    vocabulary = ["".join(rng.choice(list("etaoinshrdlucmfw"), rng.integers(2, 9))) for _ in range(5000)]
    ranks = np.minimum(rng.zipf(1.3, size=count * 400), 5000) - 1
    return [" ".join(vocabulary[r] for r in ranks[i * 400:i * 400 + rng.integers(150, 400)]) for i in range(count)]


def real_docs(shared: Path, min_words: int = 100) -> list[str]:
    """Distinct DCLM web documents with at least `min_words` words."""
    texts = [json.loads(line)["text"] for path in sorted((shared / "webtext" / "dclm").glob("*.jsonl"))
             for line in path.open(encoding="utf-8")]
    return [t for t in dict.fromkeys(texts) if len(t.split()) >= min_words]


def mutate(text: str, target: float, rng: np.random.Generator, ngram: int = 5) -> str:
    """Replace random words with new ones, as many as leave about `target` Jaccard between the 5-gram sets."""
    words = text.split()
    fraction = 1 - (2 * target / (1 + target)) ** (1 / ngram)  # kept shingles ~ (1 - f)^n, J = kept / (2 - kept)
    for i in rng.choice(len(words), round(fraction * len(words)), replace=False):
        words[i] = f"novel{rng.integers(1 << 40):x}"
    return " ".join(words)


def check_estimates(docs: list[str], rng: np.random.Generator) -> None:
    hasher = MinHasher()
    variants = [mutate(d, t, rng) for d, t in zip(docs, rng.uniform(0.1, 1.0, len(docs)), strict=True)]
    signatures = hasher.signatures(docs + variants)
    ours, theirs, truth = [], [], []
    for i, (doc, variant) in enumerate(zip(docs, variants, strict=True)):
        a, b = shingles(doc), shingles(variant)
        truth.append(jaccard(a, b))
        ours.append(np.mean(signatures[i] == signatures[len(docs) + i]))
        sketches = [MinHash(num_perm=128, seed=1), MinHash(num_perm=128, seed=1)]
        for sketch, shingle_set in zip(sketches, (a, b), strict=True):
            sketch.update_batch([s.encode() for s in shingle_set])
        theirs.append(sketches[0].jaccard(sketches[1]))
    ours, theirs, truth = map(np.array, (ours, theirs, truth))
    assert truth.min() < 0.3 and truth.max() > 0.9  # the pairs span the range
    assert np.abs(ours - truth).max() < 0.2
    assert abs(np.mean(ours - truth)) < 0.015  # unbiased
    assert np.mean(np.abs(ours - truth)) < 0.04
    assert np.mean(np.abs(ours - truth)) < np.mean(np.abs(theirs - truth)) + 0.01  # as good as datasketch
    assert np.mean(np.abs(ours - theirs)) < 0.06


def test_estimates_track_true_jaccard_and_datasketch_on_builtin_text() -> None:
    rng = np.random.default_rng(3)
    check_estimates(zipf_docs(80, rng), rng)


def test_estimates_track_true_jaccard_and_datasketch_on_real_text(shared_data: Path) -> None:
    rng = np.random.default_rng(5)
    check_estimates(real_docs(shared_data)[:150], rng)


def test_signatures_see_normalised_lowercased_words() -> None:
    hasher = MinHasher(num_perm=64)
    same = ["Hello, World!  Café au lait\tis here.", "hello world cafe\u0301 AU LAIT is here",
            "hello\u200b world café au lait -- is here"]
    signatures = hasher.signatures([*same, "hello world café au lait is there"])
    assert signatures.shape == (4, 64) and signatures.dtype == np.uint32
    assert (signatures[:3] == signatures[0]).all()
    assert 0 < np.mean(signatures[3] == signatures[0]) < 1


def test_signatures_do_not_depend_on_the_batch() -> None:
    docs = [*zipf_docs(30, np.random.default_rng(0)), "short doc", "", "!!!", "???"]
    hasher = MinHasher()
    together = hasher.signatures(docs)
    assert (together == np.vstack([hasher.signatures(docs[:7]), hasher.signatures(docs[7:])])).all()
    assert (together[-4:] == np.vstack([hasher.signatures([d]) for d in docs[-4:]])).all()
    assert (together == MinHasher(seed=42).signatures(docs)).all()
    assert not (together == MinHasher(seed=7).signatures(docs)).all()
    assert MinHasher().signatures([]).shape == (0, 128)
    assert len({row.tobytes() for row in together[-4:]}) == 4  # short and wordless texts stay apart


def test_short_documents_are_one_shingle() -> None:
    assert shingles("One two three", ngram=5) == {"one two three"}
    assert shingles("a b c d e f") == {"a b c d e", "b c d e f"}
    assert shingles("...") == {"..."}
    hasher = MinHasher()
    a, b, c = hasher.signatures(["a b c", "A b c.", "a b d"])
    assert (a == b).all() and np.mean(a == c) < 0.05


def test_lsh_params_follow_datasketch() -> None:
    from datasketch import MinHashLSH

    assert lsh_params() == lsh_params(DEFAULT_THRESHOLD, 128) == (16, 8)
    lsh = MinHashLSH(threshold=0.8, num_perm=256, weights=(0.3, 0.7))
    assert lsh_params(0.8, 256, 0.3, 0.7) == (lsh.b, lsh.r)


def test_band_hashes_equal_exactly_when_band_rows_are_equal() -> None:
    signatures = np.arange(4 * 12, dtype=np.uint32).reshape(4, 12)
    signatures[1, :3] = signatures[0, :3]  # band 0 shared by rows 0 and 1
    signatures[2, 3:6] = signatures[0, 3:6]  # band 1 shared by rows 0 and 2
    signatures[3, 3:6] = signatures[0, :3]  # row 3's band 1 holds row 0's band 0 values
    hashes = band_hashes(signatures, bands=4, rows=3)
    assert hashes.shape == (4, 4) and hashes.dtype == np.uint64
    assert hashes[0, 0] == hashes[1, 0] and hashes[0, 1] == hashes[2, 1]
    assert hashes[3, 1] != hashes[0, 0]  # the band index is mixed in
    assert len(np.unique(hashes)) == 16 - 2
    with pytest.raises(ValueError, match="need 15 permutations"):
        band_hashes(signatures, bands=5, rows=3)
