"""Global shuffle of a pack's sequences in bounded memory, in two passes over the disk.

Pass 1 reads the sequences in chunks and deals every chunk out evenly, at random, over K bucket files; pass 2
loads one bucket at a time, permutes it and appends it to the output. K is the smallest bucket count whose
buckets each fit in half of `memory_bytes`; the copies made while a chunk is dealt or a bucket is written fit in
the other half, so the heap stays under the budget. The disk needs room for the buckets and the output beside
the input. The order depends on the seed and on K, that is on the budget: the same input, seed and budget give
byte-identical output.

Position ids survive the shuffle: a sequence's segment starts (its first token, where a document running on
from the sequence before is cut, and every document start inside it) travel with it into the output's
docs.npy and doc_sources.npy, so output item j equals input item perm[j], position ids included. The output
is built in a temporary sibling folder renamed to `target` at the end.
"""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path

import numpy as np

from hephaestus.pack.packer import PackedDataset
from hephaestus.workspace import write_json_atomic


def shuffle_pack(source: str | Path, target: str | Path, seed: int, memory_bytes: int = 1 << 30,
                 drop_untrained: bool = False) -> dict[str, int]:
    """Write the sequences of pack `source` in a seeded random order to the new pack folder `target`;
    with `drop_untrained`, leave out sequences whose loss mask is all zero (instruction data: only prompts or
    tool outputs), which would cost a forward pass and teach nothing."""
    pack, target = PackedDataset(source), Path(target)
    if target.exists():
        raise FileExistsError(f"{target} exists: shuffle into a new folder")
    length = (pack.seq_len,)
    record = np.dtype([("tokens", pack.tokens.dtype, length), ("mask", np.uint8, length), ("segments", np.int32)])
    capacity = max(1, memory_bytes // (2 * record.itemsize))
    buckets = max(1, math.ceil(len(pack) / capacity))
    rng = np.random.default_rng(seed)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    tmp.mkdir(parents=True)
    try:
        chunk = buckets * max(1, capacity // buckets // 2)  # the chunk read + its records: half the budget
        sizes, segments = _deal(pack, tmp / "buckets", record, chunk, rng, buckets, drop_untrained)
        _collect(pack.seq_len, tmp, record, buckets, segments, rng)
        (tmp / "buckets").rmdir()
        kept = int(sizes.sum())
        shuffled = {"seed": seed, "buckets": buckets, "source": str(source), "dropped_untrained": len(pack) - kept}
        write_json_atomic(tmp / "pack.json", {**pack.meta, "sequences": kept, "segments": segments,
                                              "shuffle": shuffled})
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    stats = {"sequences": kept, "dropped_untrained": len(pack) - kept, "segments": segments, "buckets": buckets,
             "bucket_capacity": capacity}
    return {**stats, "largest_bucket": int(sizes.max(initial=0))}


def _deal(
    pack: PackedDataset, folder: Path, record: np.dtype, chunk: int, rng: np.random.Generator, buckets: int,
    drop_untrained: bool = False,
) -> tuple[np.ndarray, int]:
    """Pass 1: append each (kept) sequence, with its segments, to a random bucket; return bucket sizes and the
    segment count. `chunk` is a multiple of `buckets` and every chunk is dealt evenly, so no bucket exceeds
    ceil(len / buckets).
    """
    folder.mkdir()
    sizes = np.zeros(buckets, np.int64)
    segment_count = 0
    for start in range(0, len(pack), chunk):
        stop = min(start + chunk, len(pack))
        tokens, mask = pack.read_rows(start, stop)
        keep = mask.any(axis=1) if drop_untrained else np.ones(stop - start, bool)
        rows_kept = np.flatnonzero(keep)
        records = np.empty(rows_kept.size, record)
        records["tokens"], records["mask"] = (tokens[rows_kept], mask[rows_kept]) if drop_untrained else (tokens, mask)
        del tokens, mask
        sequence, offset, source = pack.segments(start, stop)
        kept_segment = keep[sequence - start]
        local = (np.cumsum(keep) - 1)[sequence[kept_segment] - start]  # each kept segment's row in `records`
        records["segments"] = np.bincount(local, minlength=rows_kept.size)
        bucket = (np.arange(rows_kept.size) % buckets)[rng.permutation(rows_kept.size)]
        segments = np.stack([offset[kept_segment], source[kept_segment]], axis=1).astype(np.int32)
        for suffix, rows, of_row in ((".rec", records, bucket), (".seg", segments, bucket[local])):
            order = np.argsort(of_row, kind="stable")
            edges = np.r_[0, np.cumsum(np.bincount(of_row, minlength=buckets))]
            for k in range(buckets):
                with open(folder / f"{k}{suffix}", "ab") as file:
                    rows[order[edges[k] : edges[k + 1]]].tofile(file)
        sizes += np.bincount(bucket, minlength=buckets)
        segment_count += len(local)
        del records  # before the next chunk is allocated
    return sizes, segment_count


def _collect(seq_len: int, tmp: Path, record: np.dtype, buckets: int, segments: int, rng: np.random.Generator) -> None:
    """Pass 2: permute each bucket in memory and append it, with its segment starts, to the output pack.

    The permuted bucket is written in eighths, so the copies add at most an eighth of a bucket to the memory.
    """
    docs = np.lib.format.open_memmap(tmp / "docs.npy", "w+", np.int64, (segments,))
    sources = np.lib.format.open_memmap(tmp / "doc_sources.npy", "w+", np.int32, (segments,))
    for name in ("tokens.bin", "mask.bin"):
        (tmp / name).write_bytes(b"")
    row = done = 0
    for k in range(buckets if segments else 0):
        paths = tmp / "buckets" / f"{k}.rec", tmp / "buckets" / f"{k}.seg"
        records, pairs = np.fromfile(paths[0], record), np.fromfile(paths[1], np.int32).reshape(-1, 2)
        order = rng.permutation(len(records))
        step = max(1, -(-len(order) // 8))
        for at in range(0, len(order), step):
            rows = order[at : at + step]
            for name, field in (("tokens.bin", "tokens"), ("mask.bin", "mask")):
                with open(tmp / name, "ab") as file:
                    records[field][rows].tofile(file)
        counts = records["segments"][order]
        first = (np.cumsum(records["segments"]) - records["segments"])[order]
        take = np.repeat(first - (np.cumsum(counts) - counts), counts) + np.arange(counts.sum())  # rows of `pairs`
        docs[done : done + take.size] = (row + np.repeat(np.arange(len(records)), counts)) * seq_len + pairs[take, 0]
        sources[done : done + take.size] = pairs[take, 1]
        row, done = row + len(records), done + take.size
        for path in paths:
            path.unlink()
        del records  # before the next bucket is loaded
    docs.flush()
    sources.flush()
