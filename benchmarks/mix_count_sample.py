"""`hephaestus mix` with exact token counts against `--count-sample RATE`, side by side on one workspace.

Both runs are timed and memory-sampled over their process tree (`timed` of curate_vs_datatrove.py). The exact
run's per-document counts are kept, so the sampled run is judged on the truth: each source's estimate against
its exact count (in standard errors), and the stage I mixture it chose, re-counted with the exact per-document
tokens, against the target shares. The workspace needs a curated corpus (e.g. `forge_memory.py --scratch`).

    .venv/bin/python benchmarks/mix_count_sample.py --workspace WS --rate 0.05 --agent 0.36 --code 0
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from curate_vs_datatrove import timed


def exact_tokens(folder: Path) -> dict[str, int]:
    """id -> tokens (EOS included) from the exact run's attrs/tokens/*.parquet."""
    paths = sorted(folder.glob("*.parquet"))
    table = pa.concat_tables([pq.read_table(path, columns=["id", "tokens"]) for path in paths])
    return dict(zip(table.column("id").to_pylist(), table.column("tokens").to_pylist(), strict=True))


def true_shares(stage1: Path, tokens: dict[str, int], report: dict) -> dict[str, float]:
    """Group shares of the stage I mixture in exact tokens (a record appears once per copy)."""
    groups = {source: row["group"] for source, row in report["sources"].items()}
    taken: Counter[str] = Counter()
    for path in sorted(stage1.glob("*.parquet")):
        table = pq.read_table(path, columns=["id", "source"])
        for doc_id, source in zip(table.column("id").to_pylist(), table.column("source").to_pylist(), strict=True):
            taken[groups[source]] += tokens[doc_id]
    total = sum(taken.values())
    return {group: taken[group] / total for group in sorted(taken)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--rate", type=float, default=0.05)
    parser.add_argument("--agent", default="0.36")
    parser.add_argument("--code", default=None)
    args = parser.parse_args()
    shares = ["--agent", args.agent, *(["--code", args.code] if args.code is not None else [])]
    mix = [sys.executable, "-m", "hephaestus", "mix", "-w", str(args.workspace), "--restart", *shares]
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        exact = timed(mix, scratch / "exact.log")
        exact_report = json.loads((args.workspace / "mix" / "report.json").read_text())
        shutil.copytree(args.workspace / "mix" / "attrs" / "tokens", scratch / "tokens")
        sampled = timed([*mix, "--count-sample", str(args.rate)], scratch / "sampled.log")
        report = json.loads((args.workspace / "mix" / "report.json").read_text())
        tokens = exact_tokens(scratch / "tokens")
    rows = []
    for source, row in report["token_counts"]["sources"].items():
        truth = exact_report["sources"][source]["available_tokens"]
        z = (row["tokens"] - truth) / row["stderr"] if row["stderr"] else 0.0
        rows.append({"source": source, "exact": truth, "estimate": row["tokens"], "stderr": round(row["stderr"]),
                     "z": round(z, 2), "tokenised": row["tokenised"], "documents": row["documents"]})
    shares_true = true_shares(args.workspace / "mix" / "stage1", tokens, report)
    summary = {"rate": args.rate, "load": round(os.getloadavg()[0], 1),
               "exact": {k: exact[k] for k in ("seconds", "peak_rss_mb", "peak_pss_mb")},
               "sampled": {k: sampled[k] for k in ("seconds", "peak_rss_mb", "peak_pss_mb")},
               "speedup": round(exact["seconds"] / sampled["seconds"], 2),
               "target": {g: row["target_share"] for g, row in report["groups"].items()},
               "reported": {g: round(row["achieved_share"], 4) for g, row in report["groups"].items()},
               "true": {g: round(v, 4) for g, v in shares_true.items()},
               "exact_run": {g: round(row["achieved_share"], 4) for g, row in exact_report["groups"].items()}}
    print(json.dumps(summary))
    print("\n| source | exact tokens | estimate | s.e. | z | tokenised / documents |")
    print("|---|---:|---:|---:|---:|---:|")
    for row in sorted(rows, key=lambda r: -r["exact"]):
        print(f"| {row['source']} | {row['exact']:,} | {row['estimate']:,} | {row['stderr']:,} | {row['z']:+.2f} | "
              f"{row['tokenised']:,} / {row['documents']:,} |")


if __name__ == "__main__":
    main()
