"""Peak memory and time of the corpus stages (collect, curate, select) on --megabytes of web text, each stage
run as its own `hephaestus` command and sampled over its whole process tree (`TreeMemory` of
curate_vs_datatrove.py: summed RSS, PSS and the summed per-process peaks, VmHWM, an upper bound).

The workspace holds real seed data (the Python standard library's API docs and botocore's S3, DynamoDB and
Lambda models) and the remixed real web text of curate_vs_datatrove.py, so curate decontaminates against
BFCL, dedups and filters, and select trains the fastText classifier, embeds seeds and web documents, streams
the web corpus past the seed index and draws the t-SNE. `--embedder hashing` (the default here) is the test
fallback embedder: it measures the streaming machinery, not the model; `--embedder default` runs
all-MiniLM-L6-v2, about 20 documents/s on 2 CPU cores (hours for 2 GB) and fast on a GPU.

    .venv/bin/python benchmarks/forge_memory.py --megabytes 2048
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from collect_throughput import build_corpus, corpus_arguments, real_lines
from curate_vs_datatrove import RemixedLines, timed

REPO = Path(__file__).resolve().parents[1]
SEEDS = ["python-api:json,re,pathlib,os,os.path,shutil,subprocess,logging,argparse,datetime,collections,itertools,"
         "functools,csv,sqlite3,urllib.parse,http.client,zipfile,tarfile,hashlib,random,statistics,string,uuid",
         "botocore:s3,dynamodb,lambda"]


def stage_commands(ws: Path, corpus: Path, workers: int, embedder: str) -> dict[str, list[str]]:
    hephaestus = [sys.executable, "-m", "hephaestus"]
    common = ["-w", str(ws)]
    return {
        "collect": [*hephaestus, "collect", *common, "--workers", str(workers), *SEEDS, f"text:{corpus}"],
        "curate": [*hephaestus, "curate", *common, "--workers", str(workers)],
        "select": [*hephaestus, "select", *common, "--embedder", embedder, "--max-seq-length", "256"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    corpus_arguments(parser, megabytes=200)
    parser.add_argument("--embedder", default="hashing")
    parser.add_argument("--scratch", type=Path, help="folder for the corpus and workspace (default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.scratch) as tmp:
        scratch = Path(tmp)
        started = time.perf_counter()
        docs = build_corpus(scratch / "corpus", RemixedLines(real_lines(args.shared)), args.megabytes, args.files)
        print(f"corpus: {docs:,} documents, {args.megabytes} MB, built in {time.perf_counter() - started:.0f} s; "
              f"{args.workers} workers; {os.cpu_count()} CPUs, {platform.processor() or platform.machine()}; "
              f"load {os.getloadavg()[0]:.1f}", flush=True)
        rows = []
        ws = scratch / "ws"
        for stage, command in stage_commands(ws, scratch / "corpus", args.workers, args.embedder).items():
            result = timed(command, scratch / f"{stage}.log")
            stats = json.loads((ws / stage / "stats.json").read_text())
            rows.append({"stage": stage, "seconds": round(result["seconds"], 1), "records_in": stats["records_in"],
                         "records_out": stats["records_out"], "peak_rss_mb": result["peak_rss_mb"],
                         "peak_pss_mb": result["peak_pss_mb"], "peak_hwm_mb": result["peak_hwm_mb"],
                         "processes": result["peak_processes"], "load": round(os.getloadavg()[0], 1)})
            print(json.dumps({"megabytes": args.megabytes, "embedder": args.embedder, **rows[-1]}), flush=True)
    print("\n| stage | s | records in | records out | peak RSS MB | peak PSS MB | summed VmHWM MB | processes |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row['stage']} | {row['seconds']:,.0f} | {row['records_in']:,} | {row['records_out']:,} | "
              f"{row['peak_rss_mb']:,} | {row['peak_pss_mb']:,} | {row['peak_hwm_mb']:,} | {row['processes']} |")


if __name__ == "__main__":
    main()
