"""Records/s of `collect` on real web text, with 1 and with N worker processes, in one run.

The corpus is the JSONL web text of ../shared/data/webtext repeated up to --megabytes, written as
several files (each gets its own shards) plus one big file (split into byte ranges).

    .venv/bin/python benchmarks/collect_throughput.py --megabytes 400 --workers 2
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import tempfile
import time
from pathlib import Path

from rich.console import Console

from hephaestus.collect import collect
from hephaestus.io.readers import Rejected, iter_jsonl
from hephaestus.sources.text import TextSource
from hephaestus.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]


def real_lines(shared: Path) -> list[bytes]:
    """Every JSON line with a text field from the shared web text samples."""
    lines = []
    for path in sorted((shared / "webtext").rglob("*.jsonl*")):
        for item in iter_jsonl(str(path)):
            if not isinstance(item, Rejected) and isinstance(item[1], dict) and isinstance(item[1].get("text"), str):
                lines.append(json.dumps({"text": item[1]["text"]}, ensure_ascii=False).encode() + b"\n")
    return lines


def build_corpus(folder: Path, lines: list[bytes], megabytes: int, files: int) -> int:
    """Write `files` small files and one big file, together about `megabytes`; return the line count."""
    folder.mkdir(parents=True)
    target = megabytes * 1024 * 1024
    per_small = target // 2 // files
    count = 0
    handles = [(folder / f"part-{i:03d}.jsonl").open("wb") for i in range(files)]
    big = (folder / "big.jsonl").open("wb")
    written = [0] * (files + 1)
    index = 0
    while sum(written) < target:
        slot = index % (files + 1)
        if slot < files and written[slot] >= per_small:
            slot = files
        handle = handles[slot] if slot < files else big
        line = lines[index % len(lines)]
        handle.write(line)
        written[slot] += len(line)
        index += 1
        count += 1
    for handle in [*handles, big]:
        handle.close()
    return count


def measure(corpus: Path, workers: int, scratch: Path) -> dict[str, float]:
    ws = scratch / f"ws-{workers}"
    started = time.perf_counter()
    summary = collect([TextSource(str(corpus))], Workspace(ws), workers=workers, console=Console(quiet=True))
    seconds = time.perf_counter() - started
    shutil.rmtree(ws)
    return {"workers": workers, "records": summary["records_out"], "seconds": round(seconds, 2),
            "records_per_s": round(summary["records_out"] / seconds), "mb_in_per_s":
            round(summary["bytes_in"] / 1e6 / seconds, 1), "shards": summary["shards"]}


def corpus_arguments(parser: argparse.ArgumentParser, megabytes: int) -> None:
    """The options of the benchmarks that build a web corpus from the shared samples (see `build_corpus`)."""
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--megabytes", type=int, default=megabytes, help="corpus size in MiB of JSONL")
    parser.add_argument("--files", type=int, default=8, help="small JSONL files beside the one big file")
    parser.add_argument("--workers", type=int, default=2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    corpus_arguments(parser, megabytes=400)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        lines = real_lines(args.shared)
        count = build_corpus(scratch / "corpus", lines, args.megabytes, args.files)
        print(f"corpus: {count:,} documents ({len(lines):,} distinct real lines), {args.megabytes} MB, "
              f"{args.files} files + 1 big file; {platform.processor() or platform.machine()}")
        results = [measure(scratch / "corpus", 1, scratch), measure(scratch / "corpus", args.workers, scratch)]
    for result in results:
        print(json.dumps(result))
    ratio = results[1]["records_per_s"] / results[0]["records_per_s"]
    print(f"speed-up of {args.workers} workers over 1: {ratio:.2f}x")


if __name__ == "__main__":
    main()
