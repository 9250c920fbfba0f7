"""Tokens/s of `pack` (tokenise + pack stage-I text) next to datatrove's `DocumentTokenizer` on the same input.

The input: a JSONL web-text corpus of --megabytes, the documents of `curate_vs_datatrove.RemixedLines` (new
documents made of the real paragraphs of ../shared/data/webtext, about 10% exact and 10% near copies) dealt
round-robin over --files files of equal size. The tokenizer: one byte-level BPE of --vocab ids, trained here by
`hephaestus.pack.tokenizer.train_bpe` on the distinct real documents and saved as tokenizer.json; both sides
load that file. Both append EOS (<|endoftext|>) after every document and write uint16 token ids.

Hephaestus (this interpreter). Prepared once, untimed for the ratio but reported: `collect` of the corpus with a
text source (`TextSource`, --workers processes), its shards linked into WS/curate as they are (curate would drop
the corpus's copies; both sides must read the same documents), then `hephaestus mix --tokenizer TOK --agent 0
--code 0` (all text: stage1 holds every document once except the 2% hash-held-out `valid/text`). Timed, per
round, in a fresh process: `hephaestus.pack.stage.pack(WS, PackSettings(seq_len=--seq-len, shuffle=...),
restart=True)`, i.e. `hephaestus pack` (the CLI has no switch for the shuffle, a recipe's `pack.shuffle` has):
read WS/mix's Parquet, tokenise in batches of 1,024 documents (the Rust backend's `encode_batch_fast`, its own
threads), pack into seq_len sequences with the loss mask (mask.bin), the document index (docs.npy,
doc_sources.npy) and, with shuffle on, the global two-pass shuffle of the sequences (1 GiB budget, the
default); stage1 and valid/text both. The pack stage is one Python process (the tokenizer's Rust threads are its
only parallelism); the process's wall time includes the interpreter start and imports. The driver wraps
`hephaestus.pack.stage.shuffle_pack` to time the shuffle apart (reported as "of which shuffle").

datatrove (--datatrove-python, a separate virtual environment: its pins conflict with ours), e.g.

    python3.11 -m venv /tmp/dt-venv
    /tmp/dt-venv/bin/pip install datatrove==0.10.1 tokenizers==0.23.3 orjson

runs this file with --datatrove-side: `LocalPipelineExecutor(tasks=--datatrove-tasks, workers=--workers)` of
`JsonlReader(corpus) -> DocumentTokenizer(tokenizer.json, eos_token="<|endoftext|>", shuffle_documents=...)`
(batches of --datatrove-batch, by default datatrove's 10,000; its defaults otherwise: .ds token files with a
.ds.index of document ends, no loss file), and with shuffle on a second executor,
`DocumentTokenizerMerger(shuffle=True)` (datatrove's one task that shuffles across the tokenizer's files;
DocumentTokenizer alone only shuffles documents within each task's file).
datatrove stores a flat token stream and cuts sequences when reading it; Hephaestus writes the sequences,
padding only the last one. Timed: the whole process, interpreter start and imports included.

Tokens are counted as written: Hephaestus's `tokens` of every dataset in WS/pack/stats.json (documents + EOS,
the last sequence's padding excluded), datatrove's .ds bytes / 2; they must agree within --tolerance. Peak
memory is `curate_vs_datatrove.TreeMemory` over each command's process tree (MiB: summed RSS, summed PSS, summed
per-process peaks); `TreeCpu` samples the same tree for its anonymous RSS (without memmapped file pages) and
CPU seconds (user + system), so that tokens per CPU second can be compared too, which other jobs on a shared
machine disturb less than wall time. The two sides
alternate order between rounds. Prints one JSON line per run, a markdown table and the median ratio
ours/datatrove for each shuffle setting.

    .venv/bin/python benchmarks/pack_vs_datatrove.py --megabytes 200 --rounds 3
    .venv/bin/python benchmarks/pack_vs_datatrove.py --megabytes 2048 --skip-datatrove --rounds 1 --shuffle on
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
EOS = "<|endoftext|>"
OURS = "hephaestus pack"
TOKEN_BYTES = 2  # both sides store uint16 ids for a vocabulary of at most 65,536

def tree_cpu_class(base: type) -> type:
    """`TreeCpu`, built on `curate_vs_datatrove.TreeMemory` (imported lazily: datatrove's side lacks Hephaestus)."""

    class TreeCpu(base):  # type: ignore[misc, valid-type]
        """CPU seconds of a process tree: every process's last sampled utime + stime, summed; a lower bound (what a
        process spends after its last sample, at most `interval`, is missed). Also the peak of the summed anonymous
        resident memory (statm resident - shared: RSS without file-backed pages such as memmapped files, which the
        kernel can drop), with the wall-clock times of that peak and of the peak RSS."""

        def __init__(self, pid: int, interval: float = 0.25) -> None:
            super().__init__(pid, interval)
            self.cpu: dict[int, float] = {}
            self.peak_anon = self.peak_total = 0
            self.peak_anon_at = self.peak_total_at = 0.0

        def run(self) -> None:
            tick, page = os.sysconf("SC_CLK_TCK"), os.sysconf("SC_PAGE_SIZE")
            while not self._stop_event.is_set():
                anon = total = 0
                for pid in self._tree():
                    try:
                        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                        resident, shared = map(int, Path(f"/proc/{pid}/statm").read_text().split()[1:3])
                    except (OSError, ValueError):
                        continue
                    self.cpu[pid] = max(self.cpu.get(pid, 0.0), (int(fields[11]) + int(fields[12])) / tick)
                    anon, total = anon + (resident - shared) * page, total + resident * page
                if anon > self.peak_anon:
                    self.peak_anon, self.peak_anon_at = anon, time.time()
                if total > self.peak_total:
                    self.peak_total, self.peak_total_at = total, time.time()
                self._stop_event.wait(self.interval)

    return TreeCpu


def timed(command: list[str], log: Path) -> dict[str, Any]:
    """`curate_vs_datatrove.timed` plus the CPU seconds of the process tree."""
    from curate_vs_datatrove import TreeMemory

    started, epoch = time.perf_counter(), time.time()
    with log.open("wb") as err:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err, cwd=REPO)
        memory, cpu = TreeMemory(process.pid), tree_cpu_class(TreeMemory)(process.pid)
        memory.start()
        cpu.start()
        stdout, _ = process.communicate()
        memory.stop()
        cpu.stop()
    seconds = time.perf_counter() - started
    if process.returncode:
        tail = log.read_text(errors="replace")[-3000:]
        raise SystemExit(f"{' '.join(command)} exited {process.returncode}:\n{tail}")
    return {"seconds": seconds, "cpu_seconds": sum(cpu.cpu.values()), "stdout": stdout.decode(), "started": epoch,
            "peak_anon_mb": round(cpu.peak_anon / 2**20), "peak_anon_at_s": round(cpu.peak_anon_at - epoch, 1),
            "peak_rss_at_s": round(cpu.peak_total_at - epoch, 1),
            "peak_rss_mb": round(memory.peak_rss / 2**20), "peak_pss_mb": round(memory.peak_pss / 2**20),
            "peak_hwm_mb": round(memory.peak_hwm / 2**20), "peak_processes": memory.peak_processes}


PACK = """
import json, time
from pathlib import Path
from rich.console import Console
import hephaestus.pack.stage as stage
from hephaestus.pack.stage import PackSettings, pack
from hephaestus.workspace import Workspace
spans = []
def shuffle_pack(*args, _shuffle=stage.shuffle_pack, **kwargs):  # times the global shuffle apart
    started = time.time()
    try:
        return _shuffle(*args, **kwargs)
    finally:
        spans.append((started, time.time()))
stage.shuffle_pack = shuffle_pack
pack(Workspace(Path({ws!r})), PackSettings(seq_len={seq_len}, shuffle={shuffle}), restart=True,
     console=Console(quiet=True))
print(json.dumps(spans))
"""


# --- datatrove's side: runs in datatrove's interpreter and imports only datatrove and the standard library ---


def datatrove_side(corpus: Path, work: Path, tokenizer: Path, workers: int, tasks: int, batch: int,
                   shuffle: bool) -> dict[str, Any]:
    """JsonlReader -> DocumentTokenizer [-> DocumentTokenizerMerger], timed per executor; counts what was written."""
    from datatrove.executor.local import LocalPipelineExecutor
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.tokens.merger import DocumentTokenizerMerger
    from datatrove.pipeline.tokens.tokenizer import DocumentTokenizer

    stages = {"tokenize": LocalPipelineExecutor(
        pipeline=[JsonlReader(str(corpus), glob_pattern="*.jsonl", compression=None),
                  DocumentTokenizer(output_folder=str(work / "tokenized"), tokenizer_name_or_path=str(tokenizer),
                                    eos_token=EOS, shuffle_documents=shuffle, seed=0, batch_size=batch)],
        tasks=tasks, workers=workers, logging_dir=str(work / "logs" / "tokenize"))}
    if shuffle:
        stages["merge"] = LocalPipelineExecutor(
            pipeline=[DocumentTokenizerMerger(input_folder=str(work / "tokenized"), output_folder=str(work / "merged"),
                                              save_filename="merged", shuffle=True, seed=0, progress=False)],
            tasks=1, workers=1, logging_dir=str(work / "logs" / "merge"))
    seconds = {}
    for name, executor in stages.items():
        started = time.perf_counter()
        executor.run()
        seconds[name] = round(time.perf_counter() - started, 2)
    out = work / ("merged" if shuffle else "tokenized")
    tokens = sum(p.stat().st_size for p in out.glob("*.ds")) // TOKEN_BYTES
    documents = sum(p.stat().st_size for p in out.glob("*.ds.index")) // 8
    written = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
    return {"stage_seconds": seconds, "tokens": tokens, "documents": documents, "bytes_written": written,
            "files": len(list(out.glob("*.ds")))}


# --- the driver: runs in Hephaestus's interpreter ---


def write_corpus(folder: Path, source: Sequence[bytes], megabytes: int, files: int) -> tuple[int, int]:
    """Deal the lines of `source` round-robin over `files` JSONL files until about `megabytes` MiB; (lines, bytes)."""
    folder.mkdir(parents=True)
    handles = [(folder / f"part-{i:03d}.jsonl").open("wb") for i in range(files)]
    target, written, count = megabytes << 20, 0, 0
    while written < target:
        line = source[count]
        handles[count % files].write(line)
        written += len(line)
        count += 1
    for handle in handles:
        handle.close()
    return count, written


def train_tokenizer(lines: list[bytes], vocab: int, folder: Path) -> Path:
    """A byte-level BPE trained on the distinct real documents; returns the folder (tokenizer.json + config)."""
    from hephaestus.pack.tokenizer import train_bpe

    texts = [json.loads(line)["text"] for line in dict.fromkeys(lines)]
    train_bpe(texts, vocab, folder)
    return folder


def prepare_workspace(corpus: Path, tokenizer: Path, ws: Path, workers: int, scratch: Path) -> dict[str, Any]:
    """collect (text source) -> its shards as WS/curate -> `hephaestus mix` (all text); each timed apart."""
    from curate_vs_datatrove import COLLECT
    from hephaestus.run.record_job import record_files

    collect = timed([sys.executable, "-c", COLLECT.format(corpus=str(corpus), ws=str(ws), workers=workers)],
                    scratch / "collect.log")
    for path in record_files(ws / "collect"):
        target = ws / "curate" / path.relative_to(ws / "collect")
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(path, target)
    mix = timed([sys.executable, "-m", "hephaestus", "mix", "-w", str(ws), "--tokenizer", str(tokenizer),
                 "--agent", "0", "--code", "0"], scratch / "mix.log")
    return {"collect_seconds": round(collect["seconds"], 2), "collect_peak_rss_mb": collect["peak_rss_mb"],
            "mix_seconds": round(mix["seconds"], 2), "mix_peak_rss_mb": mix["peak_rss_mb"],
            "mix_peak_pss_mb": mix["peak_pss_mb"]}


def run_ours(ws: Path, seq_len: int, shuffle: bool, scratch: Path) -> dict[str, Any]:
    """The pack stage in a fresh process on the prepared workspace; counts from WS/pack/stats.json and pack.json."""
    shutil.rmtree(ws / "pack", ignore_errors=True)
    run = timed([sys.executable, "-c", PACK.format(ws=str(ws), seq_len=seq_len, shuffle=shuffle)],
                scratch / "pack.log")
    stats = json.loads((ws / "pack" / "stats.json").read_text())["datasets"]
    metas = [json.loads(p.read_text()) for p in (ws / "pack").glob("**/pack.json")]
    written = sum(p.stat().st_size for p in (ws / "pack").rglob("*") if p.is_file())
    tokens = sum(d["tokens"] for d in stats.values())
    spans = [(a - run["started"], b - run["started"]) for a, b in json.loads(run["stdout"].strip().splitlines()[-1])]
    stage = {"pack": json.loads((ws / "pack" / "stats.json").read_text())["wall_seconds"]}
    if spans:
        stage["of which shuffle"] = round(sum(b - a for a, b in spans), 2)
    return {"tool": OURS, "shuffle": shuffle, "seconds": round(run["seconds"], 2),
            "tokens": tokens, "tokens_per_s": round(tokens / run["seconds"]),
            "cpu_seconds": round(run["cpu_seconds"], 1), "tokens_per_cpu_s": round(tokens / run["cpu_seconds"]),
            "stage_seconds": stage, "shuffle_spans_s": [[round(a, 1), round(b, 1)] for a, b in spans],
            "peak_rss_at_s": run["peak_rss_at_s"], "peak_anon_mb": run["peak_anon_mb"],
            "peak_anon_at_s": run["peak_anon_at_s"],
            "documents": sum(d["documents"] for d in stats.values()),
            "sequences": sum(d["sequences"] for d in stats.values()),
            "padded_tokens": sum(m["padded_tokens"] for m in metas), "datasets": sorted(stats),
            "bytes_written": written, "peak_rss_mb": run["peak_rss_mb"], "peak_pss_mb": run["peak_pss_mb"],
            "peak_hwm_mb": run["peak_hwm_mb"]}


def run_datatrove(python: str, corpus: Path, tokenizer: Path, workers: int, tasks: int, batch: int, shuffle: bool,
                  scratch: Path) -> dict[str, Any]:
    """This file's --datatrove-side in datatrove's interpreter, timed and memory-sampled as a whole."""
    work = scratch / "datatrove"
    shutil.rmtree(work, ignore_errors=True)
    command = [python, str(Path(__file__).resolve()), "--datatrove-side", "--corpus", str(corpus), "--work",
               str(work), "--tokenizer-file", str(tokenizer), "--workers", str(workers), "--datatrove-tasks",
               str(tasks), "--datatrove-batch", str(batch), "--shuffle", "on" if shuffle else "off"]
    run = timed(command, scratch / "datatrove.log")
    inner = json.loads(run["stdout"].strip().splitlines()[-1])
    shutil.rmtree(work)
    name = "datatrove DocumentTokenizer" + (" + Merger" if shuffle else "")
    return {"tool": name, "shuffle": shuffle, "seconds": round(run["seconds"], 2), "tokens": inner["tokens"],
            "tokens_per_s": round(inner["tokens"] / run["seconds"]), "cpu_seconds": round(run["cpu_seconds"], 1),
            "tokens_per_cpu_s": round(inner["tokens"] / run["cpu_seconds"]), "batch_size": batch,
            "peak_anon_mb": run["peak_anon_mb"],
            "documents": inner["documents"],
            "stage_seconds": inner["stage_seconds"], "files": inner["files"],
            "bytes_written": inner["bytes_written"], "peak_rss_mb": run["peak_rss_mb"],
            "peak_pss_mb": run["peak_pss_mb"], "peak_hwm_mb": run["peak_hwm_mb"]}


def table(rounds: list[list[dict[str, Any]]]) -> str:
    """Markdown: one row per run; ratios of ours to datatrove's run of the same round and shuffle setting."""
    lines = ["| round | tool (stage seconds) | shuffle | load 1 min (start, end) | seconds | tokens/s | ours / dt "
             "| CPU s | tokens / CPU s | ours / dt (CPU) | peak MiB: RSS / anonymous / PSS |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for number, runs in enumerate(rounds, 1):
        for run in runs:
            pair = [r for r in runs if r["shuffle"] == run["shuffle"]]
            ours = next((r for r in pair if r["tool"] == OURS), None)
            theirs = next((r for r in pair if r["tool"] != OURS), None)
            wall = cpu = ""
            if run is ours and theirs:
                wall = f"{ours['tokens_per_s'] / theirs['tokens_per_s']:.2f}x"
                cpu = f"{ours['tokens_per_cpu_s'] / theirs['tokens_per_cpu_s']:.2f}x"
            stages = ", ".join(f"{k} {v}" for k, v in run["stage_seconds"].items())
            lines.append(f"| {number} | {run['tool']} ({stages}) | {'on' if run['shuffle'] else 'off'} | "
                         f"{run['load_start']}, {run['load_end']} | {run['seconds']} | "
                         f"{run['tokens_per_s'] / 1e6:.2f} M | {wall} | {run['cpu_seconds']} | "
                         f"{run['tokens_per_cpu_s'] / 1e6:.2f} M | {cpu} | "
                         f"{run['peak_rss_mb']:,} / {run['peak_anon_mb']:,} / {run['peak_pss_mb']:,} |")
    return "\n".join(lines)


def summary(rounds: list[list[dict[str, Any]]], shuffle: bool, with_datatrove: bool) -> str:
    """Medians over the rounds for one shuffle setting: tokens/s of each side and the per-round ratios."""
    ours = [r for runs in rounds for r in runs if r["shuffle"] == shuffle and r["tool"] == OURS]
    line = (f"shuffle {'on' if shuffle else 'off'}: {ours[0]['tokens']:,} tokens; median tokens/s {OURS} "
            f"{statistics.median(r['tokens_per_s'] for r in ours) / 1e6:.2f} M")
    if with_datatrove:
        theirs = [r for runs in rounds for r in runs if r["shuffle"] == shuffle and r["tool"] != OURS]
        wall = [o["tokens_per_s"] / t["tokens_per_s"] for o, t in zip(ours, theirs, strict=True)]
        cpu = [o["tokens_per_cpu_s"] / t["tokens_per_cpu_s"] for o, t in zip(ours, theirs, strict=True)]
        line += (f", {theirs[0]['tool']} {statistics.median(r['tokens_per_s'] for r in theirs) / 1e6:.2f} M; "
                 f"median ratio ours/datatrove {statistics.median(wall):.2f}x (rounds: "
                 f"{', '.join(f'{x:.2f}' for x in wall)}); per CPU second {statistics.median(cpu):.2f}x (rounds: "
                 f"{', '.join(f'{x:.2f}' for x in cpu)}); peak RSS / anonymous datatrove "
                 f"{max(r['peak_rss_mb'] for r in theirs):,} / {max(r['peak_anon_mb'] for r in theirs):,} MiB")
    return line + (f"; peak RSS / anonymous pack {max(r['peak_rss_mb'] for r in ours):,} / "
                   f"{max(r['peak_anon_mb'] for r in ours):,} MiB")


def check_counts(runs: list[dict[str, Any]], docs: int, tolerance: float) -> None:
    """Every run read every document, and the sides wrote the same number of tokens to within `tolerance`."""
    for run in runs:
        if run["documents"] != docs:
            raise SystemExit(f"{run['tool']} wrote {run['documents']:,} documents, the corpus has {docs:,}")
    tokens = [run["tokens"] for run in runs]
    if max(tokens) > (1 + tolerance) * min(tokens):
        raise SystemExit(f"token counts differ by more than {tolerance:.0%}: " +
                         ", ".join(f"{r['tool']} {r['tokens']:,}" for r in runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--megabytes", type=int, default=200, help="corpus size in MiB of JSONL")
    parser.add_argument("--files", type=int, default=8, help="JSONL files of equal size")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--datatrove-tasks", type=int, help="datatrove tasks (default: --workers)")
    parser.add_argument("--vocab", type=int, default=8192, help="vocabulary of the trained BPE (<= 65536)")
    parser.add_argument("--seq-len", type=int, default=2048)
    parser.add_argument("--shuffle", choices=("both", "on", "off"), default="both")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tolerance", type=float, default=0.03, help="largest relative token-count difference")
    parser.add_argument("--datatrove-python", default="/tmp/dt-venv/bin/python")
    parser.add_argument("--datatrove-batch", type=int, default=10_000,
                        help="DocumentTokenizer batch_size (default: datatrove's own default)")
    parser.add_argument("--skip-datatrove", action="store_true", help="only Hephaestus (e.g. for peak memory)")
    parser.add_argument("--scratch", type=Path, help="folder for the corpus and outputs (default: a temporary one)")
    parser.add_argument("--datatrove-side", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--tokenizer-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    tasks = args.datatrove_tasks or args.workers
    if args.datatrove_side:
        print(json.dumps(datatrove_side(args.corpus, args.work, args.tokenizer_file, args.workers, tasks,
                                        args.datatrove_batch, args.shuffle == "on")))
        return
    try:
        from collect_throughput import real_lines
        from curate_vs_datatrove import RemixedLines
    except ImportError:
        raise SystemExit("run this with the project's .venv/bin/python") from None
    settings = [False, True] if args.shuffle == "both" else [args.shuffle == "on"]
    with tempfile.TemporaryDirectory(dir=args.scratch) as tmp:
        scratch = Path(tmp)
        lines = real_lines(args.shared)
        started = time.perf_counter()
        docs, size = write_corpus(scratch / "corpus", RemixedLines(lines), args.megabytes, args.files)
        tokenizer = train_tokenizer(lines, args.vocab, scratch / "tokenizer")
        prep = prepare_workspace(scratch / "corpus", tokenizer, scratch / "ws", args.workers, scratch)
        print(f"corpus: {docs:,} documents, {size / 1e6:,.0f} MB in {args.files} files; BPE of {args.vocab:,} "
              f"ids on {len(set(lines)):,} real documents; prepared in {time.perf_counter() - started:.0f} s "
              f"({json.dumps(prep)}); {args.workers} workers, datatrove tasks {tasks}; {os.cpu_count()} CPUs, "
              f"{platform.processor() or platform.machine()}; load {os.getloadavg()[0]:.1f}", flush=True)
        rounds: list[list[dict[str, Any]]] = []
        for number in range(args.rounds):
            runs: list[dict[str, Any]] = []
            for shuffle in settings:
                jobs: list[Callable[[], dict[str, Any]]] = [
                    lambda s=shuffle: run_ours(scratch / "ws", args.seq_len, s, scratch)]
                if not args.skip_datatrove:
                    jobs.append(lambda s=shuffle: run_datatrove(args.datatrove_python, scratch / "corpus",
                                                                tokenizer / "tokenizer.json", args.workers, tasks,
                                                                args.datatrove_batch, s, scratch))
                if number % 2:
                    jobs.reverse()
                for job in jobs:
                    load = round(os.getloadavg()[0], 1)
                    runs.append({**job(), "load_start": load, "load_end": round(os.getloadavg()[0], 1)})
                    print(json.dumps({"round": number + 1, "megabytes": args.megabytes, **runs[-1]}), flush=True)
                check_counts([r for r in runs if r["shuffle"] == shuffle], docs, args.tolerance)
            rounds.append(runs)
    print()
    print(table(rounds))
    for shuffle in settings:
        print(summary(rounds, shuffle, not args.skip_datatrove))

if __name__ == "__main__":
    main()
