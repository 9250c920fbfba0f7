"""PackWriter and PackedDataset: the stream is the documents joined by EOS, masks align, positions restart."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from hephaestus.pack.packer import PAD_SOURCE, PackedDataset, PackFormatError, PackWriter

EOS = 0


def random_docs(rng: np.random.Generator, count: int, seq_len: int, vocab: int) -> list[np.ndarray]:
    """Documents of 0 to 3 × seq_len tokens, about one in eight empty."""
    lengths = np.where(rng.random(count) < 0.125, 0, rng.integers(1, 3 * seq_len, count))
    return [rng.integers(1, vocab, n) for n in lengths]


def stream(pack: PackedDataset, item: int) -> np.ndarray:
    """Field `item` of every sequence (0 tokens, 1 mask, 2 positions), concatenated."""
    return np.concatenate([pack[i][item] for i in range(len(pack))])


@pytest.mark.parametrize("chunk_tokens", [7, 1 << 22])
def test_stream_is_the_documents_joined_by_eos_then_padding(tmp_path: Path, chunk_tokens: int) -> None:
    rng = np.random.default_rng(0)
    docs = random_docs(rng, 300, seq_len=32, vocab=500)
    writer = PackWriter(tmp_path / "p", seq_len=32, vocab_size=500, eos_id=EOS, chunk_tokens=chunk_tokens)
    for i, doc in enumerate(docs):
        writer.add(doc if i % 2 else doc.tolist(), source_id=i)
    counts = writer.close()

    kept = [(i, doc) for i, doc in enumerate(docs) if doc.size]
    joined = np.concatenate([np.append(doc, EOS) for _, doc in kept])
    pad = -joined.size % 32
    pack = PackedDataset(tmp_path / "p")
    assert np.array_equal(stream(pack, 0), np.append(joined, np.full(pad, EOS)))
    assert np.array_equal(stream(pack, 1), np.arange(joined.size + pad) < joined.size)
    expected = {"tokens": joined.size, "documents": len(kept), "empty_documents": len(docs) - len(kept),
                "sequences": (joined.size + pad) // 32, "padded_tokens": pad, "trained_tokens": joined.size}
    assert {key: counts[key] for key in expected} == expected and len(pack) == expected["sequences"]
    starts = np.cumsum([0] + [doc.size + 1 for _, doc in kept])
    assert np.array_equal(pack.docs, starts if pad else starts[:-1])
    assert pack.doc_sources.tolist() == [i for i, _ in kept] + [PAD_SOURCE] * bool(pad)
    assert pack[0][0].dtype == np.int64 and pack[-1][0].size == 32


def test_token_dtype_is_uint16_up_to_65536_then_uint32(tmp_path: Path) -> None:
    for vocab, dtype in ((65536, np.uint16), (65537, np.uint32)):
        writer = PackWriter(tmp_path / str(vocab), seq_len=4, vocab_size=vocab, eos_id=vocab - 1)
        writer.add([vocab - 2, 3, vocab - 1])
        writer.close()
        assert (tmp_path / str(vocab) / "tokens.bin").stat().st_size == 4 * np.dtype(dtype).itemsize
        assert PackedDataset(tmp_path / str(vocab))[0][0].tolist() == [vocab - 2, 3, vocab - 1, vocab - 1]


def test_mask_sidecar_is_aligned_and_eos_follows_the_last_token(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    docs = [doc for doc in random_docs(rng, 200, seq_len=16, vocab=300) if doc.size]
    masks = [rng.random(doc.size) < 0.5 for doc in docs]
    writer = PackWriter(tmp_path / "p", seq_len=16, vocab_size=300, eos_id=EOS, chunk_tokens=5)
    for doc, mask in zip(docs, masks, strict=True):
        writer.add(doc, mask.astype(np.uint8) if doc.size % 2 else mask)
    counts = writer.close()
    pack = PackedDataset(tmp_path / "p")
    expected = np.concatenate([np.append(mask, mask[-1]) for mask in masks])
    mask = stream(pack, 1)
    assert np.array_equal(mask[: expected.size], expected) and not mask[expected.size :].any()
    assert counts["trained_tokens"] == expected.sum() == np.fromfile(tmp_path / "p" / "mask.bin", np.uint8).sum()
    assert np.array_equal(stream(pack, 0)[: expected.size], np.concatenate([np.append(d, EOS) for d in docs]))


def test_read_rows_copies_the_same_rows_as_the_memmaps(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    writer = PackWriter(tmp_path / "p", seq_len=8, vocab_size=70_000, eos_id=EOS)
    for doc in random_docs(rng, 50, seq_len=8, vocab=70_000):
        writer.add(doc, (doc % 3 == 0).astype(np.uint8))
    writer.close()
    pack = PackedDataset(tmp_path / "p")
    for start, stop in ((0, 1), (3, 9), (len(pack) - 2, len(pack) + 5), (len(pack), len(pack) + 1)):
        tokens, mask = pack.read_rows(start, stop)
        assert tokens.dtype == np.uint32 and not any(isinstance(a, np.memmap) for a in (tokens, tokens.base))
        assert np.array_equal(tokens, pack.tokens[start:stop]) and np.array_equal(mask, pack.mask[start:stop])


def test_position_ids_restart_at_every_document_and_sequence_start(tmp_path: Path) -> None:
    writer = PackWriter(tmp_path / "p", seq_len=8, vocab_size=50, eos_id=EOS)
    for doc in ([1, 2], [3, 4, 5, 6, 7, 8, 9, 10, 11], [12]):
        writer.add(doc)
    writer.close()
    pack = PackedDataset(tmp_path / "p")
    assert [pack[i][2].tolist() for i in range(2)] == [
        [0, 1, 2, 0, 1, 2, 3, 4],  # [1 2 EOS] [3 4 5 6 7 …
        [0, 1, 2, 3, 4, 0, 1, 0],  # … 8 9 10 11 EOS] [12 EOS] [padding]
    ]
    assert [pack.document_boundaries(i).tolist() for i in range(2)] == [[0, 3], [0, 5, 7]]
    assert [part.tolist() for part in pack.segments(0, 2)] == [[0, 0, 1, 1, 1], [0, 3, 0, 5, 7], [0, 0, 0, 0, -1]]


def test_position_ids_match_document_starts_on_random_documents(tmp_path: Path) -> None:
    writer = PackWriter(tmp_path / "p", seq_len=64, vocab_size=1000, eos_id=EOS)
    for doc in random_docs(np.random.default_rng(2), 400, seq_len=64, vocab=1000):
        writer.add(doc)
    writer.close()
    pack = PackedDataset(tmp_path / "p")
    restarts = np.zeros(len(pack) * 64, bool)
    restarts[pack.docs] = restarts[::64] = True
    positions = stream(pack, 2)
    assert np.array_equal(positions == 0, restarts)
    assert np.all(positions[~restarts] == positions[np.flatnonzero(~restarts) - 1] + 1)


def test_reader_names_the_file_that_disagrees(tmp_path: Path) -> None:
    writer = PackWriter(tmp_path / "p", seq_len=8, vocab_size=50, eos_id=EOS)
    writer.add(list(range(1, 30)))
    writer.close()
    tokens = tmp_path / "p" / "tokens.bin"
    tokens.write_bytes(tokens.read_bytes()[:-3])
    with pytest.raises(PackFormatError, match=r"tokens\.bin: expected 64 bytes .* found 61 bytes"):
        PackedDataset(tmp_path / "p")
    tokens.unlink()
    with pytest.raises(PackFormatError, match=r"tokens\.bin: .* found no file"):
        PackedDataset(tmp_path / "p")
    (tmp_path / "p" / "pack.json").rename(tmp_path / "pack.json")
    with pytest.raises(PackFormatError, match=r"pack\.json is missing"):
        PackedDataset(tmp_path / "p")


def test_reader_checks_the_document_files(tmp_path: Path) -> None:
    writer = PackWriter(tmp_path / "p", seq_len=8, vocab_size=50, eos_id=EOS)
    writer.add(list(range(1, 30)))
    writer.close()
    np.save(tmp_path / "p" / "doc_sources.npy", np.zeros(2, np.int64))
    with pytest.raises(PackFormatError, match=r"doc_sources\.npy: int64 \(2,\), expected int32 \(2,\)"):
        PackedDataset(tmp_path / "p")
    np.save(tmp_path / "p" / "doc_sources.npy", np.zeros(2, np.int32))
    np.save(tmp_path / "p" / "docs.npy", np.array([0, 40]))
    with pytest.raises(PackFormatError, match=r"docs\.npy: offsets must rise"):
        PackedDataset(tmp_path / "p")


def test_writer_rejects_bad_input_and_an_existing_pack(tmp_path: Path) -> None:
    writer = PackWriter(tmp_path / "p", seq_len=8, vocab_size=50, eos_id=EOS)
    for doc, mask in (([1, 50], None), ([-1], None), ([1.5], None), ([1, 2], np.ones(3)), ([[1, 2]], None)):
        with pytest.raises(ValueError):
            writer.add(doc, mask)
    with pytest.raises(ValueError, match="source_id"):
        writer.add([1], source_id=-1)
    assert writer.close()["sequences"] == 0 and len(PackedDataset(tmp_path / "p")) == 0
    with pytest.raises(FileExistsError):
        PackWriter(tmp_path / "p", seq_len=8, vocab_size=50, eos_id=EOS)


def test_dataset_pickles_as_its_folder(tmp_path: Path) -> None:
    writer = PackWriter(tmp_path / "p", seq_len=8, vocab_size=50, eos_id=EOS)
    writer.add(list(range(1, 20)))
    writer.close()
    pack = PackedDataset(tmp_path / "p")
    data = pickle.dumps(pack)
    assert len(data) < 500 and all(np.array_equal(a, b) for a, b in zip(pickle.loads(data)[1], pack[1], strict=True))
