"""Docs/s of `curate` next to datatrove doing the same work on the same input, and peak memory of `curate`.

The work: Gopher quality filter and MinHash dedup (5-word shingles, 128 hashes in 16 bands of 8) of a JSONL
web-text corpus of --megabytes, with --workers processes on each side. Hephaestus runs in this interpreter,
each stage in its own process: collect (JSONL -> Parquet, timed apart) then curate with
`CurateSettings(decontaminate=False)`, i.e. `hephaestus curate --no-decontaminate` (normalise, quality
filters, exact + near dedup), called as the stage function rather than the CLI, whose import of every stage
(torch, transformers) is no part of curate. datatrove runs `benchmarks/datatrove_pipeline.py` in
--datatrove-python, a separate virtual environment (datatrove's pins conflict with ours), e.g.

    python3.11 -m venv /tmp/dt-venv
    /tmp/dt-venv/bin/pip install datatrove==0.10.1 spacy tokenizers orjson regex "xxhash<4"

(`spacy` is datatrove's English word tokenizer, used blank: nothing is downloaded at run time; `tokenizers` is
imported by `datatrove.pipeline.dedup`). --datatrove-tokenizer picks how datatrove splits words: `regex`,
Hephaestus's word pattern (same cost per word on both sides), and/or `spacy`, datatrove's default for English.

The corpus: `--corpus repeat` is `collect_throughput.build_corpus` over the real lines of
../shared/data/webtext repeated (about 1,000 distinct documents, so nearly everything is an exact
duplicate); `--corpus remix` (default) feeds the same `build_corpus` with new documents made of the real
paragraphs of those lines, each with as many paragraphs as a real document has, about 10% exact copies and
10% near copies (one paragraph replaced) of earlier documents, so dedup sees a realistic share of duplicates.
`build_corpus` writes --files files and one big file of half the corpus.

Each round runs both sides (their order alternates between rounds, the machine may be shared); peak
memory is sampled over the whole process tree of each command (see `TreeMemory`): summed RSS every 0.5 s
(shared pages counted once per process; a lower bound, spikes between samples are missed), summed PSS every 2 s
(shared pages split), and the summed per-process peaks (VmHWM) of processes alive together (an upper bound).
Memory figures are MiB. Prints one JSON line per run and a markdown table.

    .venv/bin/python benchmarks/curate_vs_datatrove.py --datatrove-python /tmp/dt-venv/bin/python
    .venv/bin/python benchmarks/curate_vs_datatrove.py --megabytes 2048 --skip-datatrove --rounds 1
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, overload

from collect_throughput import build_corpus, corpus_arguments, real_lines

REPO = Path(__file__).resolve().parents[1]
EXACT_COPIES = 0.1  # remix: share of documents that repeat an earlier one exactly
NEAR_COPIES = 0.1  # remix: share of documents that repeat an earlier one with one paragraph replaced


class RemixedLines(Sequence[bytes]):
    """JSON lines of new documents made of real paragraphs, document i the same on every call (seeded by i).

    Endless for `build_corpus`, which takes line `index % len(lines)`: no line comes round twice.
    """

    def __init__(self, lines: list[bytes], seed: int = 0) -> None:
        texts = [json.loads(line)["text"] for line in dict.fromkeys(lines)]
        paragraphs = [[p for p in text.split("\n") if p.strip()] for text in texts]
        self.pool = list(dict.fromkeys(p for doc in paragraphs for p in doc))
        self.sizes = [len(doc) for doc in paragraphs if doc]
        self.seed = seed

    def __len__(self) -> int:
        return 1 << 40

    @overload
    def __getitem__(self, index: int) -> bytes: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[bytes]: ...

    def __getitem__(self, index: int | slice) -> bytes | Sequence[bytes]:
        if isinstance(index, slice):
            raise TypeError("RemixedLines takes single indices")
        rng = random.Random(self.seed * 1_000_003 + index)
        draw = rng.random()
        if index and draw < EXACT_COPIES:
            paragraphs = self._fresh(rng.randrange(index))
        elif index and draw < EXACT_COPIES + NEAR_COPIES:
            paragraphs = self._fresh(rng.randrange(index))
            paragraphs[rng.randrange(len(paragraphs))] = self.pool[rng.randrange(len(self.pool))]
        else:
            paragraphs = self._fresh(index)
        return json.dumps({"text": "\n".join(paragraphs)}, ensure_ascii=False).encode() + b"\n"

    def _fresh(self, index: int) -> list[str]:
        """Document `index` as first drawn: as many random real paragraphs as a random real document has."""
        rng = random.Random(-(self.seed * 1_000_003 + index) - 1)
        return [self.pool[rng.randrange(len(self.pool))] for _ in range(rng.choice(self.sizes))]


class TreeMemory(threading.Thread):
    """Samples a process and all its descendants until stopped and keeps the peaks of: the summed RSS (every
    `interval` s; a lower bound of the true peak, short spikes between samples are missed), the summed PSS (every
    `pss_every` samples, from smaps_rollup, which costs more) and the summed VmHWM, each process's own peak RSS,
    of the processes alive together (an upper bound: their peaks need not coincide)."""

    def __init__(self, pid: int, interval: float = 0.5, pss_every: int = 4) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval, self.pss_every = pid, interval, pss_every
        self.peak_rss = self.peak_pss = self.peak_hwm = 0
        self.peak_processes = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        page = os.sysconf("SC_PAGE_SIZE")
        samples = 0
        while not self._stop_event.is_set():
            rss = pss = hwm = 0
            pids = self._tree()
            for pid in pids:
                try:
                    rss += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page
                    status = Path(f"/proc/{pid}/status").read_text()
                    hwm += int(status.split("VmHWM:", 1)[1].split()[0]) * 1024
                    if samples % self.pss_every == 0:
                        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                            if line.startswith("Pss:"):
                                pss += int(line.split()[1]) * 1024
                except (OSError, ValueError, IndexError):
                    continue  # the process ended meanwhile
            self.peak_rss, self.peak_pss = max(self.peak_rss, rss), max(self.peak_pss, pss)
            self.peak_hwm = max(self.peak_hwm, hwm)
            self.peak_processes = max(self.peak_processes, len(pids))
            samples += 1
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()

    def _tree(self) -> list[int]:
        children: dict[int, list[int]] = {}
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                try:
                    stat = Path(entry.path, "stat").read_text()
                except OSError:
                    continue
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry.name))
        tree, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            tree.append(pid)
            todo.extend(children.get(pid, []))
        return tree


def timed(command: list[str], log: Path) -> dict[str, Any]:
    """Run a command (stderr to `log`), timing it and sampling its process tree's memory; fail loudly."""
    started = time.perf_counter()
    with log.open("wb") as err:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err, cwd=REPO)
        memory = TreeMemory(process.pid)
        memory.start()
        stdout, _ = process.communicate()
        memory.stop()
    seconds = time.perf_counter() - started
    if process.returncode:
        tail = log.read_text(errors="replace")[-3000:]
        raise SystemExit(f"{' '.join(command)} exited {process.returncode}:\n{tail}")
    return {"seconds": seconds, "stdout": stdout.decode(), "peak_rss_mb": round(memory.peak_rss / 2**20),
            "peak_pss_mb": round(memory.peak_pss / 2**20), "peak_hwm_mb": round(memory.peak_hwm / 2**20),
            "peak_processes": memory.peak_processes}


COLLECT = """
from pathlib import Path
from rich.console import Console
from hephaestus.collect import collect
from hephaestus.sources.text import TextSource
from hephaestus.workspace import Workspace
collect([TextSource({corpus!r})], Workspace(Path({ws!r})), workers={workers}, console=Console(quiet=True))
"""
CURATE = """
from pathlib import Path
from rich.console import Console
from hephaestus.curate.stage import curate
from hephaestus.curate.steps import CurateSettings
from hephaestus.workspace import Workspace
curate(Workspace(Path({ws!r})), CurateSettings(decontaminate=False), workers={workers}, restart=True,
       console=Console(quiet=True))
"""


def curate_command(ws: Path, workers: int) -> list[str]:
    """`hephaestus curate -w WS --workers N --no-decontaminate --restart`, as the stage function itself:
    the CLI module imports every stage's dependencies (torch, transformers), which curate does not need."""
    return [sys.executable, "-c", CURATE.format(ws=str(ws), workers=workers)]


def run_ours(corpus: Path, docs: int, workers: int, scratch: Path, keep: bool) -> dict[str, Any]:
    """Hephaestus's collect then curate (no decontamination), each in its own process, timed and memory-sampled."""
    ws = scratch / "hephaestus-ws"
    shutil.rmtree(ws, ignore_errors=True)
    collect = timed([sys.executable, "-c", COLLECT.format(corpus=str(corpus), ws=str(ws), workers=workers)],
                    scratch / "collect.log")
    curate = timed(curate_command(ws, workers), scratch / "curate.log")
    return ours_result(ws, docs, workers, collect, curate, keep)


def ours_result(ws: Path, docs: int, workers: int, collect: dict[str, Any], curate: dict[str, Any],
                keep: bool) -> dict[str, Any]:
    """One JSON-able result of our side from the runs' timings and WS/curate/stats.json."""
    stats = json.loads((ws / "curate" / "stats.json").read_text())
    if stats["records_in"] != docs:
        raise SystemExit(f"curate read {stats['records_in']} records, the corpus has {docs}")
    drops = stats["drops"]
    quality = sum(count for reason, count in drops.items() if reason.startswith("quality:"))
    if not keep:
        shutil.rmtree(ws)
    total = collect["seconds"] + curate["seconds"]
    return {"tool": "hephaestus", "workers": workers, "docs_in": docs,
            "curate_seconds": round(curate["seconds"], 2), "collect_seconds": round(collect["seconds"], 2),
            "docs_per_s": round(docs / curate["seconds"], 1), "collect_curate_docs_per_s": round(docs / total, 1),
            "docs_after_filters": docs - quality - drops.get("empty_after_normalise", 0) - drops.get("too_long", 0),
            "docs_kept": stats["records_out"], "exact_duplicates": drops.get("exact_duplicate", 0),
            "near_duplicates": drops.get("near_duplicate", 0), "curate_peak_rss_mb": curate["peak_rss_mb"],
            "curate_peak_pss_mb": curate["peak_pss_mb"], "curate_peak_hwm_mb": curate["peak_hwm_mb"],
            "curate_peak_processes": curate["peak_processes"],
            "collect_peak_rss_mb": collect["peak_rss_mb"]}


def run_datatrove(python: str, corpus: Path, docs: int, workers: int, tokenizer: str, repetition: bool,
                  scratch: Path, keep: bool) -> dict[str, Any]:
    """`datatrove_pipeline.py` in datatrove's interpreter: quality filter then the four MinHash stages."""
    work = scratch / f"datatrove-{tokenizer}"
    shutil.rmtree(work, ignore_errors=True)
    command = [python, str(REPO / "benchmarks" / "datatrove_pipeline.py"), "--input", str(corpus), "--work",
               str(work), "--workers", str(workers), "--tokenizer", tokenizer,
               "--repetition" if repetition else "--no-repetition"]
    run = timed(command, scratch / f"datatrove-{tokenizer}.log")
    inner = json.loads(run["stdout"].strip().splitlines()[-1])
    if inner["docs_in"] != docs:
        raise SystemExit(f"datatrove read {inner['docs_in']} documents, the corpus has {docs}")
    if not keep:
        shutil.rmtree(work)
    return {"tool": f"datatrove ({tokenizer})", "workers": workers, "docs_in": docs,
            "seconds": round(run["seconds"], 2), "docs_per_s": round(docs / run["seconds"], 1),
            "stage_seconds": inner["stage_seconds"], "docs_after_filters": inner["docs_after_filters"],
            "docs_kept": inner["docs_kept"], "repetition_filter": repetition, "peak_rss_mb": run["peak_rss_mb"],
            "peak_pss_mb": run["peak_pss_mb"], "peak_hwm_mb": run["peak_hwm_mb"]}


def table(rounds: list[list[dict[str, Any]]]) -> str:
    """Markdown: one row per run, ratios of ours to each datatrove run of the same round."""
    lines = ["| round | tool | seconds | docs/s | ours / it (curate) | ours / it (collect+curate) | after filters "
             "| kept | peak MiB: RSS / PSS / sum of VmHWM |", "|---|---|---|---|---|---|---|---|---|"]
    for number, runs in enumerate(rounds, 1):
        ours = next(r for r in runs if r["tool"] == "hephaestus")
        for run in runs:
            if run is ours:
                lines.append(f"| {number} | hephaestus curate (collect apart: {ours['collect_seconds']} s) | "
                             f"{ours['curate_seconds']} | {ours['docs_per_s']:,} | | | {ours['docs_after_filters']:,} "
                             f"| {ours['docs_kept']:,} | {ours['curate_peak_rss_mb']:,} / "
                             f"{ours['curate_peak_pss_mb']:,} / {ours['curate_peak_hwm_mb']:,} |")
                continue
            curate = ours["docs_per_s"] / run["docs_per_s"]
            both = ours["collect_curate_docs_per_s"] / run["docs_per_s"]
            lines.append(f"| {number} | {run['tool']} | {run['seconds']} | {run['docs_per_s']:,} | {curate:.2f}x | "
                         f"{both:.2f}x | {run['docs_after_filters']:,} | {run['docs_kept']:,} | "
                         f"{run['peak_rss_mb']:,} / {run['peak_pss_mb']:,} / {run['peak_hwm_mb']:,} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    corpus_arguments(parser, megabytes=200)
    parser.add_argument("--corpus", choices=("remix", "repeat"), default="remix")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--datatrove-python", default="/tmp/dt-venv/bin/python")
    parser.add_argument("--datatrove-tokenizer", nargs="+", choices=("regex", "spacy"), default=["regex"])
    parser.add_argument("--repetition", action=argparse.BooleanOptionalAction, default=True,
                        help="datatrove also runs GopherRepetitionFilter with the rules Hephaestus's filter has")
    parser.add_argument("--skip-datatrove", action="store_true", help="only Hephaestus (e.g. for peak memory)")
    parser.add_argument("--scratch", type=Path, help="folder for the corpus and outputs (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the outputs of each run")
    args = parser.parse_args()
    try:
        import hephaestus.curate.stage  # noqa: F401
    except ImportError:
        raise SystemExit("run this with the project's .venv/bin/python") from None
    with tempfile.TemporaryDirectory(dir=args.scratch) as tmp:
        scratch = Path(tmp)
        lines = real_lines(args.shared)
        source: Sequence[bytes] = RemixedLines(lines) if args.corpus == "remix" else lines
        started = time.perf_counter()
        docs = build_corpus(scratch / "corpus", source, args.megabytes, args.files)  # type: ignore[arg-type]
        print(f"corpus ({args.corpus}): {docs:,} documents, {args.megabytes} MB, {args.files} files + 1 big file, "
              f"built in {time.perf_counter() - started:.0f} s; {args.workers} workers; {os.cpu_count()} CPUs, "
              f"{platform.processor() or platform.machine()}", flush=True)
        rounds: list[list[dict[str, Any]]] = []
        for number in range(args.rounds):
            jobs: list[Any] = [lambda: run_ours(scratch / "corpus", docs, args.workers, scratch, args.keep)]
            if not args.skip_datatrove:
                jobs += [lambda t=t: run_datatrove(args.datatrove_python, scratch / "corpus", docs, args.workers, t,
                                                   args.repetition, scratch, args.keep)
                         for t in args.datatrove_tokenizer]
            if number % 2:
                jobs.reverse()
            runs = []
            for job in jobs:
                runs.append(job())
                print(json.dumps({"round": number + 1, "corpus": args.corpus, "megabytes": args.megabytes,
                                  **runs[-1]}), flush=True)
            rounds.append(runs)
    print()
    print(table(rounds))
    ours = [r["docs_per_s"] for runs in rounds for r in runs if r["tool"] == "hephaestus"]
    for tokenizer in [] if args.skip_datatrove else args.datatrove_tokenizer:
        theirs = [r["docs_per_s"] for runs in rounds for r in runs if r["tool"] == f"datatrove ({tokenizer})"]
        print(f"median docs/s: hephaestus curate {statistics.median(ours):,.0f}, datatrove ({tokenizer}) "
              f"{statistics.median(theirs):,.0f}; ratio {statistics.median(ours) / statistics.median(theirs):.2f}x")


if __name__ == "__main__":
    main()
