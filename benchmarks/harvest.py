"""How much each seed source harvests from real inputs, and how fast `collect` runs it on N workers.

    .venv/bin/python benchmarks/harvest.py --workers 2

Sources: Python stdlib docstrings (the default module list), the shared OpenAPI samples, every AWS
model in botocore and every Google discovery document, and every trajectory sample in ../shared/data
(records counted per detected format).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
from rich.console import Console

from hephaestus.collect import collect
from hephaestus.sources import parse_spec
from hephaestus.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]
TRAJECTORY_SAMPLES = ["gorilla/bfcl", "gorilla/apibench", "gorilla/openfunctions", "toolalpaca/eval_real.json",
                      "toolalpaca/eval_simulated.json", "toolbench/data_example/answer", "llama-factory", "hammer",
                      "fireact", "react", "api-pack"]


def run(name: str, specs: list[str], workers: int, scratch: Path) -> dict:
    ws = Workspace(scratch / name.replace(" ", "-"))
    started = time.perf_counter()
    summary = collect([parse_spec(s) for s in specs], ws, workers=workers, console=Console(quiet=True))
    seconds = time.perf_counter() - started
    formats: Counter[str] = Counter()
    for path in (ws.root / "collect").rglob("*.parquet"):
        formats.update(s.split(":")[1] for s in pq.read_table(path, columns=["source"]).column("source").to_pylist()
                       if s.startswith("trajectories:"))
    return {"name": name, "records": summary["records_out"], "rejected": summary["records_rejected"],
            "drops": summary["drops"], "seconds": round(seconds, 2),
            "records_per_s": round(summary["records_out"] / seconds), **({"formats": dict(formats)} if formats else {})}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    shared = args.shared
    jobs = [
        ("python stdlib (default list)", ["python-api:"]),
        ("openapi (shared samples)", [f"openapi:{shared / 'openapi'}", f"openapi:{shared / 'restgpt'}"]),
        ("botocore (all services)", ["botocore:*"]),
        ("google discovery (all)", ["google-api:*"]),
        ("trajectories (shared samples)", [f"trajectories:{shared / p}" for p in TRAJECTORY_SAMPLES]),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for name, specs in jobs:
            print(json.dumps(run(name, specs, args.workers, Path(tmp))), flush=True)


if __name__ == "__main__":
    main()
