"""Packed training data: fixed-length token sequences in flat memmap files, with a loss-mask sidecar.

A pack folder holds
- ``tokens.bin``: the token stream, ``sequences × seq_len`` values, uint16 if ``vocab_size <= 65536`` else uint32;
- ``mask.bin``: one uint8 per token, 1 = train (the ``labels`` convention: the loss on predicting token t
  from the tokens before it counts where mask[t] is 1);
- ``docs.npy``: int64 stream offset of every segment start, ``doc_sources.npy``: int32 source id of every segment;
- ``pack.json``: seq_len, vocab_size, eos_id, dtype and counts, written last: a folder without it is incomplete.

Every document is followed by ``eos_id``, trained iff the document's last token is; documents run on across
sequence boundaries. Empty documents are skipped and counted. The tail that does not fill a sequence is padded
with EOS tokens of mask 0 that form a segment of their own, source ``PAD_SOURCE``: nothing is dropped.
Position ids restart at 0 at every segment start and at every sequence start.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hephaestus.workspace import write_json_atomic

FORMAT = "hephaestus-pack/1"
PAD_SOURCE = -1
_RAW = {".docs.raw": ("docs.npy", np.int64), ".doc_sources.raw": ("doc_sources.npy", np.int32)}
_FILES = ("tokens.bin", "mask.bin", *_RAW)


class PackFormatError(ValueError):
    """A pack folder whose files are missing or disagree with each other or with pack.json."""


def token_dtype(vocab_size: int) -> np.dtype:
    return np.dtype(np.uint16 if vocab_size <= 1 << 16 else np.uint32)


class PackWriter:
    """Streams documents into a new pack folder, holding at most `chunk_tokens` tokens in memory."""

    def __init__(
        self, folder: str | Path, seq_len: int, vocab_size: int, eos_id: int, chunk_tokens: int = 1 << 22
    ) -> None:
        if seq_len < 1 or not 0 <= eos_id < vocab_size <= 1 << 32:
            raise ValueError(f"need seq_len >= 1, 0 <= eos_id < vocab_size <= 2**32: {seq_len}, {eos_id}, {vocab_size}")
        self.folder = Path(folder)
        if (self.folder / "pack.json").exists():
            raise FileExistsError(f"{self.folder / 'pack.json'} exists: write a new pack to a new folder")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.seq_len, self.vocab_size, self.eos_id = seq_len, vocab_size, eos_id
        self._tokens = np.empty(chunk_tokens, token_dtype(vocab_size))
        self._mask = np.empty(chunk_tokens, np.uint8)
        self._fill = self._written = 0
        self._starts: list[int] = []
        self._sources: list[int] = []
        for name in _FILES:
            (self.folder / name).write_bytes(b"")
        self._counts = dict.fromkeys(("tokens", "documents", "empty_documents", "trained_tokens"), 0)

    def add(
        self, doc_tokens: Sequence[int] | np.ndarray, loss_mask: np.ndarray | None = None, source_id: int = 0
    ) -> None:
        """Append one document and its EOS; `loss_mask` (nonzero = train) defaults to all ones."""
        tokens = np.asarray(doc_tokens)
        mask = np.ones(tokens.shape, np.uint8) if loss_mask is None else (np.asarray(loss_mask) != 0).view(np.uint8)
        if tokens.ndim != 1 or mask.shape != tokens.shape:
            raise ValueError(f"need 1-D tokens and a loss mask of the same shape; got {tokens.shape} and {mask.shape}")
        if not tokens.size:
            self._counts["empty_documents"] += 1
            return
        if tokens.dtype.kind not in "iu" or tokens.min() < 0 or tokens.max() >= self.vocab_size:
            raise ValueError(f"tokens must be integers in [0, {self.vocab_size}): {tokens.dtype}, {tokens.min()}..")
        if not 0 <= source_id < 1 << 31:
            raise ValueError(f"source_id must be in [0, 2**31); got {source_id}")
        self._start_segment(source_id)
        self._append(tokens, mask)
        self._append(np.array([self.eos_id]), mask[-1:])
        self._counts["tokens"] += tokens.size + 1
        self._counts["documents"] += 1
        self._counts["trained_tokens"] += int(mask.sum()) + int(mask[-1])

    def close(self) -> dict[str, int]:
        """Pad the last sequence, write docs.npy, doc_sources.npy and pack.json; return the counts."""
        padding = -(self._written + self._fill) % self.seq_len
        if padding:
            self._start_segment(PAD_SOURCE)
            self._append(np.full(padding, self.eos_id), np.zeros(padding, np.uint8))
        self._flush()
        for raw, (name, dtype) in _RAW.items():
            segments = (self.folder / raw).stat().st_size // np.dtype(dtype).itemsize
            out = np.lib.format.open_memmap(self.folder / name, "w+", dtype, (segments,))
            if segments:
                out[:] = np.memmap(self.folder / raw, dtype, "r")
            out.flush()
            (self.folder / raw).unlink()
        counts = {
            **self._counts, "sequences": self._written // self.seq_len, "padded_tokens": padding, "segments": segments
        }
        meta = {"format": FORMAT, "seq_len": self.seq_len, "vocab_size": self.vocab_size, "eos_id": self.eos_id}
        write_json_atomic(self.folder / "pack.json", {**meta, "dtype": self._tokens.dtype.name, **counts})
        return counts

    def _start_segment(self, source_id: int) -> None:
        self._starts.append(self._written + self._fill)
        self._sources.append(source_id)

    def _append(self, tokens: np.ndarray, mask: np.ndarray) -> None:
        done = 0
        while done < tokens.size:
            take = min(tokens.size - done, self._tokens.size - self._fill)
            self._tokens[self._fill : self._fill + take] = tokens[done : done + take]
            self._mask[self._fill : self._fill + take] = mask[done : done + take]
            self._fill += take
            done += take
            if self._fill == self._tokens.size:
                self._flush()

    def _flush(self) -> None:
        chunks = {
            "tokens.bin": self._tokens[: self._fill],
            "mask.bin": self._mask[: self._fill],
            ".docs.raw": np.array(self._starts, np.int64),
            ".doc_sources.raw": np.array(self._sources, np.int32),
        }
        for name, chunk in chunks.items():
            with open(self.folder / name, "ab") as file:
                chunk.tofile(file)
        self._written += self._fill
        self._fill = 0
        self._starts.clear()
        self._sources.clear()


class PackedDataset:
    """Memmap reader of a pack folder; item i is sequence i as (tokens int64, loss mask bool, position ids int64)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        meta_path = self.folder / "pack.json"
        if not meta_path.is_file():
            raise PackFormatError(f"{meta_path} is missing: not a pack folder, or its PackWriter was not closed")
        self.meta: dict[str, Any] = json.loads(meta_path.read_text())
        if self.meta.get("format") != FORMAT:
            raise PackFormatError(f"{meta_path}: format {self.meta.get('format')!r}, expected {FORMAT!r}")
        self.seq_len: int = self.meta["seq_len"]
        rows = self.meta["sequences"]
        self.tokens = self._open("tokens.bin", np.dtype(self.meta["dtype"]), rows)
        self.mask = self._open("mask.bin", np.dtype(np.uint8), rows)
        self.docs = self._load("docs.npy", np.int64)
        self.doc_sources = self._load("doc_sources.npy", np.int32)
        total = rows * self.seq_len
        if rows and not (self.docs[0] == 0 and self.docs[-1] < total and np.all(self.docs[1:] > self.docs[:-1])):
            raise PackFormatError(f"{self.folder / 'docs.npy'}: offsets must rise strictly from 0 to below {total}")

    def __len__(self) -> int:
        return len(self.tokens)

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        starts = self.document_boundaries(i)
        i = range(len(self))[i]
        positions = np.arange(self.seq_len) - np.repeat(starts, np.diff(starts, append=self.seq_len))
        return np.array(self.tokens[i], np.int64), np.array(self.mask[i], bool), positions

    def __reduce__(self) -> tuple[type, tuple[Path]]:
        return PackedDataset, (self.folder,)  # pickles as its folder (DataLoader workers), not as its memmaps

    def document_boundaries(self, i: int) -> np.ndarray:
        """Offsets in sequence i where position ids restart: 0 and every document start inside it."""
        i = range(len(self))[i]
        return self.segments(i, i + 1)[1]

    def segments(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(sequence, offset in it, source id) of every segment of sequences start..stop-1, in stream order.

        A segment begins at each document start and at each sequence start (where a document runs on from the
        sequence before, it is counted again with that document's source).
        """
        first = np.arange(start, stop, dtype=np.int64)
        covering = np.searchsorted(self.docs, first * self.seq_len, side="right") - 1
        lo, hi = np.searchsorted(self.docs, [start * self.seq_len, stop * self.seq_len])
        inner = np.asarray(self.docs[lo:hi])
        inside = inner % self.seq_len != 0
        sequence = np.concatenate([first, inner[inside] // self.seq_len])
        offset = np.concatenate([np.zeros_like(first), inner[inside] % self.seq_len])
        source = np.concatenate([self.doc_sources[covering], self.doc_sources[lo:hi][inside]])
        order = np.lexsort((offset, sequence))
        return sequence[order], offset[order], source[order]

    def read_rows(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """Copies of the tokens and loss mask of sequences start..stop-1, read with plain file reads: unlike
        slices of the memmaps, they leave no file pages mapped into this process once dropped."""
        rows = max(0, min(stop, len(self)) - start)
        return tuple(  # type: ignore[return-value]
            np.fromfile(self.folder / name, array.dtype, rows * self.seq_len,
                        offset=start * self.seq_len * array.dtype.itemsize).reshape(rows, self.seq_len)
            for name, array in (("tokens.bin", self.tokens), ("mask.bin", self.mask)))

    def _open(self, name: str, dtype: np.dtype, rows: int) -> np.ndarray:
        path = self.folder / name
        expected = rows * self.seq_len * dtype.itemsize
        found = path.stat().st_size if path.is_file() else None
        if found != expected:
            raise PackFormatError(
                f"{path}: expected {expected} bytes ({rows} sequences × {self.seq_len} tokens × {dtype.itemsize} B, "
                f"per pack.json), found {'no file' if found is None else f'{found} bytes'}"
            )
        return np.memmap(path, dtype, "r", shape=(rows, self.seq_len)) if rows else np.empty((0, self.seq_len), dtype)

    def _load(self, name: str, dtype: type[np.integer]) -> np.ndarray:
        path = self.folder / name
        try:
            values = np.load(path, mmap_mode="r")
        except (OSError, ValueError) as error:
            raise PackFormatError(f"{path}: cannot be read as .npy ({error})") from error
        expected = (self.meta["segments"],)
        if values.dtype != dtype or values.shape != expected:
            raise PackFormatError(f"{path}: {values.dtype} {values.shape}, expected {np.dtype(dtype)} {expected}")
        return values
