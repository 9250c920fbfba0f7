"""Docs/s of `MinHasher.signatures` against datasketch's `MinHash.bulk` on real web text, in one run.

Both sides use 128 permutations and word 5-gram shingles. datasketch is timed twice: end to end
(lowercased `\\w+` words joined into 5-grams in Python, then `MinHash.bulk`) and `MinHash.bulk`
alone on shingles built beforehand. Each figure is the best of --repeats passes over the corpus, the
real documents repeated up to --docs. One process: numbers are per core.

    .venv/bin/python benchmarks/minhash_speed.py --docs 5000
"""

from __future__ import annotations

import argparse
import platform
import re
import time
from collections.abc import Callable
from pathlib import Path

from datasketch import MinHash

from hephaestus.curate.minhash import MinHasher
from hephaestus.io.readers import Rejected, iter_jsonl

REPO = Path(__file__).resolve().parents[1]
WORD = re.compile(r"\w+")


def real_texts(shared: Path, count: int) -> tuple[list[str], int]:
    """`count` text fields of the shared JSONL web text samples (cycled when there are fewer), and how many differ."""
    texts = []
    for path in sorted((shared / "webtext").rglob("*.jsonl*")):
        for item in iter_jsonl(str(path)):
            if not isinstance(item, Rejected) and isinstance(item[1], dict) and isinstance(item[1].get("text"), str):
                texts.append(item[1]["text"])
    distinct = list(dict.fromkeys(texts))
    return [distinct[i % len(distinct)] for i in range(count)], len(distinct)


def python_shingles(text: str, ngram: int) -> list[bytes]:
    words = WORD.findall(text.lower())
    return [" ".join(words[i:i + ngram]).encode() for i in range(max(1, len(words) - ngram + 1))]


def best_seconds(runs: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Best wall time of each run over `repeats` rounds; rounds interleave the runs so load spikes hit all alike."""
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(repeats):
        for name, run in runs.items():
            started = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--docs", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=1000, help="documents per MinHasher.signatures call")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    texts, distinct = real_texts(args.shared, args.docs)
    megabytes = sum(len(t.encode()) for t in texts) / 1e6
    hasher = MinHasher(num_perm=128, ngram=5)
    shingled = [python_shingles(t, 5) for t in texts]
    print(f"{len(texts):,} documents ({distinct:,} distinct), {megabytes:.1f} MB, "
          f"{sum(map(len, shingled)):,} shingles; {platform.processor() or platform.machine()}")
    seconds = best_seconds({
        "MinHasher.signatures": lambda: [hasher.signatures(texts[i:i + args.batch])
                                         for i in range(0, len(texts), args.batch)],
        "datasketch shingling + MinHash.bulk": lambda: MinHash.bulk((python_shingles(t, 5) for t in texts),
                                                                    num_perm=128),
        "datasketch MinHash.bulk (shingles given)": lambda: MinHash.bulk(shingled, num_perm=128),
    }, args.repeats)
    for name, best in seconds.items():
        print(f"{name:42s} {len(texts) / best:9,.0f} docs/s {megabytes / best:6.2f} MB/s")
    ours, theirs, bulk = seconds.values()
    print(f"ratio MinHasher / datasketch end to end: {theirs / ours:.2f}x; / MinHash.bulk alone: {bulk / ours:.2f}x")


if __name__ == "__main__":
    main()
