"""Documents/s of `NgramIndex.check` against all of BFCL on real web text, with 1 and N processes.

The documents are the JSONL web text and the BBC articles of ../shared/data/webtext, repeated
--copies times; --contaminate embeds a real BFCL question in that share of them (the slower path:
those documents reach the exact lookups), and the run checks that each of those is flagged.

    .venv/bin/python benchmarks/decontam_speed.py --workers 2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from hephaestus.curate.benchmarks import load_bfcl
from hephaestus.curate.decontam import NgramIndex, removed_by_benchmark, words
from hephaestus.io.readers import Rejected, iter_jsonl

REPO = Path(__file__).resolve().parents[1]
STATE: dict[str, Any] = {}  # each worker process's index and documents, copied once at start-up


def web_documents(shared: Path) -> list[str]:
    """Every text field of the JSONL web text, then every BBC article."""
    webtext = shared / "webtext"
    docs = [item[1]["text"] for path in sorted(webtext.rglob("*.jsonl*")) for item in iter_jsonl(str(path))
            if not isinstance(item, Rejected) and isinstance(item[1], dict) and isinstance(item[1].get("text"), str)]
    return docs + [path.read_text(encoding="utf-8") for path in sorted((webtext / "bbc-news-articles").rglob("*.txt"))]


def _start(index: NgramIndex, docs: list[str]) -> None:
    STATE.update(index=index, docs=docs)


def _count_flagged(part: tuple[int, int]) -> int:
    """How many of every `step`-th document from `first` on overlap a benchmark."""
    first, step = part
    return sum(1 for doc in STATE["docs"][first::step] if STATE["index"].check(doc))


def measure(index: NgramIndex, docs: list[str], workers: int, repeats: int) -> dict[str, float]:
    """Best of `repeats` passes over the documents; starting the workers and copying the index and
    the documents to them is not timed, so this is check() alone."""
    megabytes = sum(len(doc.encode()) for doc in docs) / 1e6
    parts = [(i, workers * 8) for i in range(workers * 8)]
    with ProcessPoolExecutor(workers, initializer=_start, initargs=(index, docs)) as pool:
        list(pool.map(time.sleep, [0.5] * workers))  # start every worker
        best, flagged = float("inf"), 0
        for _ in range(repeats):
            started = time.perf_counter()
            flagged = sum(pool.map(_count_flagged, parts))
            best = min(best, time.perf_counter() - started)
    return {"workers": workers, "docs": len(docs), "flagged": flagged, "seconds": round(best, 3),
            "docs_per_s": round(len(docs) / best), "mb_per_s": round(megabytes / best, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--copies", type=int, default=3)
    parser.add_argument("--contaminate", type=float, default=0.01)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n", type=int, default=13)
    args = parser.parse_args()

    started = time.perf_counter()
    benchmarks = load_bfcl()
    index = NgramIndex(benchmarks, n=args.n)
    built = time.perf_counter() - started
    print(f"index: {sum(len(t) for t in benchmarks.values()):,} BFCL texts, "
          f"{sum(s.indexed for s in index.stats.values()):,} indexed, "
          f"{sum(s.grams for s in index.stats.values()):,} grams, n={args.n}, built in {built:.2f} s")

    web = web_documents(args.shared)
    rng = random.Random(0)
    questions = [text for name, texts in benchmarks.items() if name != "bfcl:multi_turn_func_doc"
                 for text in texts if len(words(text)) >= index.min_words]
    docs = web * args.copies
    planted = rng.sample(range(len(docs)), int(args.contaminate * len(docs)))
    for i in planted:
        docs[i] += "\n\n" + rng.choice(questions)
    print(f"documents: {len(docs):,} ({len(web):,} real web texts x {args.copies}), "
          f"{sum(len(d.encode()) for d in docs) / 1e6:.1f} MB, {len(planted):,} with a BFCL question; "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs")

    missed = [i for i in planted if not index.check(docs[i])]
    print(f"planted questions missed: {len(missed)}; flagged web texts: "
          f"{sum(removed_by_benchmark(index, web).values())}")
    results = [measure(index, docs, 1, args.repeats), measure(index, docs, args.workers, args.repeats)]
    for result in results:
        print(json.dumps(result))
    print(f"speed-up of {args.workers} workers over 1: {results[1]['docs_per_s'] / results[0]['docs_per_s']:.2f}x")


if __name__ == "__main__":
    main()
