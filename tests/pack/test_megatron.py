"""write_megatron: Megatron-LM's .bin/.idx read back by an independent reader give the packed documents."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from hephaestus.pack.megatron import write_megatron
from hephaestus.pack.packer import PackWriter
from hephaestus.pack.shuffle import shuffle_pack

EOS = 1


def read_megatron(prefix: Path) -> tuple[int, list[np.ndarray], np.ndarray]:
    """dtype code, the sequences, and the document indices of a Megatron indexed dataset."""
    index = Path(f"{prefix}.idx").read_bytes()
    assert index[:9] == b"MMIDIDX\x00\x00" and struct.unpack_from("<Q", index, 9) == (1,)
    code, sequences, documents = struct.unpack_from("<BQQ", index, 17)
    sizes = np.frombuffer(index, "<i4", sequences, 34)
    pointers = np.frombuffer(index, "<i8", sequences, 34 + 4 * sequences)
    doc_index = np.frombuffer(index, "<i8", documents, 34 + 12 * sequences)
    assert len(index) == 34 + 12 * sequences + 8 * documents
    dtype = {8: np.uint16, 4: np.int32}[code]
    data = Path(f"{prefix}.bin").read_bytes()
    assert len(data) == sizes.sum() * np.dtype(dtype).itemsize
    sequences = [np.frombuffer(data, dtype, size, pointer) for size, pointer in zip(sizes, pointers, strict=True)]
    return code, sequences, doc_index


def write_pack(folder: Path, vocab: int) -> list[np.ndarray]:
    """Pack random documents (some empty, some longer than a sequence) with half-masked tokens; return the documents."""
    rng = np.random.default_rng(vocab)
    docs = [rng.integers(2, vocab, n) for n in rng.integers(0, 50, 120)]
    writer = PackWriter(folder, seq_len=16, vocab_size=vocab, eos_id=EOS)
    for doc in docs:
        writer.add(doc, np.arange(doc.size) % 2)
    writer.close()
    return [doc for doc in docs if doc.size]


@pytest.mark.parametrize(("vocab", "code"), [(65536, 8), (100_000, 4)])
def test_round_trip_gives_one_sequence_per_document(tmp_path: Path, vocab: int, code: int) -> None:
    docs = write_pack(tmp_path / "pack", vocab)
    counts = write_megatron(tmp_path / "pack", tmp_path / "mega" / "train")
    found_code, sequences, doc_index = read_megatron(tmp_path / "mega" / "train")
    assert found_code == code and doc_index.tolist() == list(range(len(docs) + 1))
    assert len(sequences) == len(docs) and all(
        np.array_equal(seq, np.append(doc, EOS)) for seq, doc in zip(sequences, docs, strict=True)
    )
    tokens = sum(doc.size + 1 for doc in docs)
    trained = sum(doc.size // 2 + (doc.size - 1) % 2 for doc in docs)  # odd offsets, and the EOS after an odd last
    assert counts == {"documents": len(docs), "tokens": tokens, "untrained_tokens": tokens - trained}


def test_shuffled_pack_exports_its_segments_without_padding(tmp_path: Path) -> None:
    docs = write_pack(tmp_path / "pack", 5000)
    shuffle_pack(tmp_path / "pack", tmp_path / "shuffled", seed=2, memory_bytes=2000)
    write_megatron(tmp_path / "shuffled", tmp_path / "train")
    _, sequences, _ = read_megatron(tmp_path / "train")
    assert all(0 < seq.size <= 16 for seq in sequences)
    exported = np.sort(np.concatenate(sequences))
    assert np.array_equal(exported, np.sort(np.concatenate([np.append(doc, EOS) for doc in docs])))
