"""Export a pack to Megatron-LM's indexed dataset (`IndexedDataset`, formerly `MMapIndexedDataset`): `.bin` + `.idx`.

Every segment of the pack (a document with its EOS; after a shuffle, the part of a document inside one sequence)
becomes one Megatron sequence and one document, in stream order; padding segments are left out. Megatron packs
and shuffles by itself, and its format has no place for a loss mask: the mask is not exported, and the returned
`untrained_tokens` counts the mask-0 tokens that Megatron will train on.

`.bin` is the token stream. `.idx`, little-endian: magic b"MMIDIDX\\x00\\x00", u64 version 1, u8 dtype code
(uint16 = 8, int32 = 4; Megatron has no uint32, so larger vocabularies go as int32), u64 sequence count, u64
document index count, then int32 sequence lengths, int64 byte offsets of the sequences in `.bin`, and int64
document indices (the first sequence of each document, then the sequence count).
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from hephaestus.pack.packer import PAD_SOURCE, PackedDataset
from hephaestus.workspace import atomic_path

MAGIC = b"MMIDIDX\x00\x00"
DTYPE_CODES = {np.dtype(np.uint16): 8, np.dtype(np.int32): 4}
_CHUNK = 1 << 24


def write_megatron(folder: str | Path, out_prefix: str | Path) -> dict[str, int]:
    """Write `out_prefix`.bin and `out_prefix`.idx from the pack in `folder`; return the counts."""
    pack = PackedDataset(folder)
    stream = pack.tokens.reshape(-1)
    keep = np.asarray(pack.doc_sources) != PAD_SOURCE
    starts, ends = np.asarray(pack.docs)[keep], np.append(pack.docs[1:], stream.size)[keep]
    sizes = ends - starts
    dtype = np.dtype(np.uint16 if pack.tokens.dtype == np.uint16 else np.int32)
    breaks = np.flatnonzero(starts[1:] != ends[:-1]) + 1  # runs of adjacent kept segments are copied in one go
    runs = zip(starts[np.r_[0, breaks]], ends[np.r_[breaks - 1, sizes.size - 1]], strict=True) if sizes.size else ()
    with atomic_path(Path(f"{out_prefix}.bin")) as tmp, open(tmp, "wb") as file:
        for low, high in runs:
            for at in range(low, high, _CHUNK):
                stream[at : min(high, at + _CHUNK)].astype(dtype).tofile(file)
    with atomic_path(Path(f"{out_prefix}.idx")) as tmp, open(tmp, "wb") as file:
        file.write(MAGIC + struct.pack("<QBQQ", 1, DTYPE_CODES[dtype], sizes.size, sizes.size + 1))
        file.write(sizes.astype("<i4").tobytes())
        file.write(((np.cumsum(sizes) - sizes) * dtype.itemsize).astype("<i8").tobytes())
        file.write(np.arange(sizes.size + 1, dtype="<i8").tobytes())
    tokens = int(sizes.sum())
    return {"documents": int(sizes.size), "tokens": tokens, "untrained_tokens": tokens - pack.meta["trained_tokens"]}
