"""shuffle_pack: a seeded permutation of whole sequences, positions and sources kept, in bounded buckets."""

from __future__ import annotations

import hashlib
import math
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from hephaestus.pack.packer import PackedDataset, PackWriter
from hephaestus.pack.shuffle import shuffle_pack

SEQ_LEN = 32


def write_pack(folder: Path, seq_len: int) -> Path:
    """A pack of 400 random masked documents of 0 to 3 × seq_len tokens from 7 sources."""
    rng = np.random.default_rng(0)
    writer = PackWriter(folder, seq_len=seq_len, vocab_size=70000, eos_id=0)
    for i in range(400):
        length = int(rng.integers(0, 3 * seq_len))
        writer.add(rng.integers(1, 70000, length), rng.random(length) < 0.7, source_id=i % 7)
    writer.close()
    return folder


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_pack(tmp_path_factory.mktemp("shuffle") / "packed", SEQ_LEN)


def fingerprints(folder: Path) -> list[str]:
    """Per sequence: a hash of its tokens, mask, position ids and segment sources."""
    pack = PackedDataset(folder)
    parts = [(*pack[i], pack.segments(i, i + 1)[2]) for i in range(len(pack))]
    return [hashlib.sha1(b"".join(part.tobytes() for part in sequence)).hexdigest() for sequence in parts]


def test_shuffle_is_a_permutation_of_whole_sequences(source: Path, tmp_path: Path) -> None:
    stats = shuffle_pack(source, tmp_path / "out", seed=1, memory_bytes=20_000)
    before, after = fingerprints(source), fingerprints(tmp_path / "out")
    assert len(before) == stats["sequences"] > 100 and sorted(before) == sorted(after)
    assert sum(a == b for a, b in zip(before, after, strict=True)) < len(before) // 10
    shuffled = PackedDataset(tmp_path / "out")
    assert shuffled.meta["shuffle"] == {"seed": 1, "buckets": stats["buckets"], "source": str(source),
                                        "dropped_untrained": 0}
    assert shuffled.meta["segments"] == stats["segments"] == len(shuffled.docs) and stats["buckets"] > 10
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_buckets_fit_the_memory_budget(source: Path, tmp_path: Path) -> None:
    record_bytes = SEQ_LEN * (4 + 1) + 4  # uint32 tokens, uint8 mask, int32 segment count
    for budget in (1_000, 10_000, 100_000, 1 << 30):
        stats = shuffle_pack(source, tmp_path / str(budget), seed=3, memory_bytes=budget)
        assert stats["bucket_capacity"] == max(1, budget // (2 * record_bytes))
        assert stats["buckets"] == math.ceil(stats["sequences"] / stats["bucket_capacity"])
        assert stats["largest_bucket"] <= stats["bucket_capacity"]
    assert stats["buckets"] == 1


def test_memory_stays_within_the_budget(tmp_path: Path) -> None:
    folder = write_pack(tmp_path / "packed", seq_len=256)
    data_bytes = sum((folder / name).stat().st_size for name in ("tokens.bin", "mask.bin"))
    tracemalloc.start()
    try:
        stats = shuffle_pack(folder, tmp_path / "out", seed=0, memory_bytes=200_000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert data_bytes > 700_000 and stats["buckets"] > 5 and peak < 200_000


def test_same_seed_same_bytes_other_seed_other_order(source: Path, tmp_path: Path) -> None:
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        shuffle_pack(source, tmp_path / name, seed=seed, memory_bytes=30_000)
    files = ("tokens.bin", "mask.bin", "docs.npy", "doc_sources.npy")
    assert all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files)
    assert (tmp_path / "a" / "tokens.bin").read_bytes() != (tmp_path / "c" / "tokens.bin").read_bytes()


def test_refuses_an_existing_target_and_shuffles_an_empty_pack(source: Path, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    with pytest.raises(FileExistsError):
        shuffle_pack(source, tmp_path / "out", seed=0)
    PackWriter(tmp_path / "empty", seq_len=8, vocab_size=10, eos_id=0).close()
    assert shuffle_pack(tmp_path / "empty", tmp_path / "empty-out", seed=0)["sequences"] == 0
    assert len(PackedDataset(tmp_path / "empty-out")) == 0


def test_drop_untrained_leaves_out_exactly_the_sequences_with_an_all_zero_mask(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    writer = PackWriter(tmp_path / "chat", seq_len=SEQ_LEN, vocab_size=500, eos_id=0)
    for i in range(120):  # long untrained stretches (prompts, tool outputs) between short trained answers
        prompt, answer = int(rng.integers(0, 3 * SEQ_LEN)), int(rng.integers(1, 6))
        writer.add(rng.integers(1, 500, prompt + answer), np.r_[np.zeros(prompt), np.ones(answer)], source_id=i % 3)
    writer.close()
    before, packed = fingerprints(tmp_path / "chat"), PackedDataset(tmp_path / "chat")
    trained = [fingerprint for i, fingerprint in enumerate(before) if packed.mask[i].any()]
    stats = shuffle_pack(tmp_path / "chat", tmp_path / "out", seed=0, memory_bytes=20_000, drop_untrained=True)
    after = PackedDataset(tmp_path / "out")
    assert 0 < stats["dropped_untrained"] == len(before) - len(trained) and stats["sequences"] == len(after)
    assert sorted(fingerprints(tmp_path / "out")) == sorted(trained)  # positions and sources travel intact
    assert all(after.mask[i].any() for i in range(len(after)))
    assert after.meta["shuffle"]["dropped_untrained"] == stats["dropped_untrained"]
