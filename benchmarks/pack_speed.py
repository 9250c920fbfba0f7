"""Tokens/s of PackWriter, shuffle_pack and write_megatron, and items/s of PackedDataset, on random tokens.

Documents are slices of one random token array with log-normal lengths (median ~450 tokens, some longer than a
sequence); every fourth carries a random loss mask, as chat documents do. Tokenisation is not timed. Each
figure is the best of --repeats runs; one process, so the figures are per core. Files live in --tmp (the page
cache holds them at this size, so the disk is barely touched).

    .venv/bin/python benchmarks/pack_speed.py --tokens 50000000
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from hephaestus.pack.megatron import write_megatron
from hephaestus.pack.packer import PackedDataset, PackWriter
from hephaestus.pack.shuffle import shuffle_pack


def best(run: Callable[[Path], object], repeats: int, root: Path) -> tuple[float, object]:
    """Best wall time of `run(fresh_folder)` over `repeats` runs, and the last run's result."""
    seconds, result = float("inf"), None
    for attempt in range(repeats):
        folder = root / f"run{attempt}"
        started = time.perf_counter()
        result = run(folder)
        seconds = min(seconds, time.perf_counter() - started)
        shutil.rmtree(folder, ignore_errors=True)
        for leftover in root.glob(f"run{attempt}.*"):
            leftover.unlink()
    return seconds, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=50_000_000)
    parser.add_argument("--seq-len", type=int, default=4096)
    parser.add_argument("--vocab", type=int, default=50_257, help="above 65536 the pack stores uint32")
    parser.add_argument("--memory-mib", type=int, default=64, help="shuffle memory budget")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tmp", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    tokens = rng.integers(1, args.vocab, args.tokens, dtype=np.int64)
    lengths = np.clip(rng.lognormal(6.1, 1.0, args.tokens // 100).astype(np.int64), 1, 8 * args.seq_len)
    ends = np.cumsum(lengths)
    ends = ends[ends <= args.tokens]
    masks = {i: rng.random(int(n)) < 0.6 for i, n in enumerate(lengths[: ends.size]) if i % 4 == 0}

    def pack(folder: Path) -> dict[str, int]:
        writer = PackWriter(folder, args.seq_len, args.vocab, eos_id=0)
        for i, (start, end) in enumerate(zip(np.r_[0, ends[:-1]], ends, strict=True)):
            writer.add(tokens[start:end], masks.get(i), source_id=i % 3)
        return writer.close()

    root = Path(tempfile.mkdtemp(dir=args.tmp, prefix="pack_speed-"))
    try:
        pack_s, counts = best(pack, args.repeats, root)
        pack(root / "packed")
        budget = args.memory_mib << 20
        shuffle_s, shuffled = best(lambda out: shuffle_pack(root / "packed", out, 0, budget), args.repeats, root)
        megatron_s, _ = best(lambda out: write_megatron(root / "packed", out), args.repeats, root)
        dataset = PackedDataset(root / "packed")
        picks = rng.integers(0, len(dataset), 2000)
        started = time.perf_counter()
        for i in picks:
            dataset[int(i)]
        read_s = time.perf_counter() - started
    finally:
        shutil.rmtree(root)

    total = counts["tokens"]
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"{total:,} tokens in {counts['documents']:,} documents -> {counts['sequences']:,} sequences of "
          f"{args.seq_len}; shuffle buckets {shuffled['buckets']} of <= {shuffled['bucket_capacity']} sequences")
    print("| step | seconds | tokens/s |\n|---|---|---|")
    steps = {"PackWriter.add + close": pack_s, "shuffle_pack": shuffle_s, "write_megatron": megatron_s}
    for name, seconds in steps.items():
        print(f"| {name} | {seconds:.2f} | {total / seconds / 1e6:.1f} M |")
    print(f"PackedDataset[i], random i: {len(picks) / read_s:,.0f} items/s")


if __name__ == "__main__":
    main()
