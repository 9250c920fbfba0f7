"""The pack stage: tokenise the mix stage's datasets and write shuffled, packed token shards.

For every dataset of WS/mix (stage1, stage2, stage3, valid/<kind>) this writes WS/pack/<dataset>/:
`tokens.bin`, `mask.bin` (loss mask), `docs.npy`, `doc_sources.npy`, `pack.json` (see packer.py), and
WS/pack/manifest.json with the tokenizer fingerprint, seed, counts per source and the mix report.
Plain documents train on every token. Stage III (instruction data) renders trajectories through the
chat template with loss only on assistant turns and tool calls; in stages I and II a trajectory is
pre-training text and trains on every token. Training sets are globally shuffled (two passes on disk);
validation sets keep their order.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
from rich.console import Console

from hephaestus.pack.chat_tokens import tokenize_chat
from hephaestus.pack.megatron import write_megatron
from hephaestus.pack.packer import PackWriter
from hephaestus.pack.shuffle import shuffle_pack
from hephaestus.pack.tokenizer import TokenizerHandle, load_tokenizer
from hephaestus.workspace import Workspace, WorkspaceError, write_json_atomic

STAGE = "pack"
INSTRUCTION_DATASET = "stage3"


@dataclass(frozen=True)
class PackSettings:
    seq_len: int = 2048
    seed: int = 0
    shuffle: bool = True
    shuffle_memory_bytes: int = 1 << 30
    chat_template: str = "hephaestus"  # or "model": the tokenizer's own template (needs {% generation %})
    megatron: bool = False
    batch_docs: int = 1024


def datasets(mix_dir: Path) -> list[str]:
    """The mix stage's datasets that hold records: stage1..3 and valid/<kind>."""
    names = [n for n in ("stage1", "stage2", "stage3") if any((mix_dir / n).glob("*.parquet"))]
    return names + sorted(f"valid/{p.name}" for p in (mix_dir / "valid").glob("*") if any(p.glob("*.parquet")))


def pack(workspace: Workspace, settings: PackSettings, *, restart: bool = False,
         console: Console | None = None) -> dict[str, Any]:
    console = console or Console(stderr=True)
    mix_dir = workspace.stage_dir("mix")
    if not (mix_dir / "report.json").exists():
        raise WorkspaceError(f"{mix_dir}: no mixture; run `hephaestus mix` first")
    upstream = json.loads((mix_dir / "run.json").read_text())["config_hash"]
    workspace.begin_stage(STAGE, {"settings": dataclasses.asdict(settings), "mix": upstream}, restart=restart)
    tokenizer = load_tokenizer(mix_dir / "tokenizer")
    stage_dir = workspace.stage_dir(STAGE)
    started = time.monotonic()
    report = json.loads((mix_dir / "report.json").read_text())
    sources = {source: i for i, source in enumerate(sorted(report["sources"]))}  # stable across resumes
    results = {}
    for name in datasets(mix_dir):
        marker = stage_dir / "_done" / f"{name.replace('/', '__')}.json"
        if not marker.exists():
            console.print(f"pack: {name}")
            write_json_atomic(marker, _pack_dataset(mix_dir / name, stage_dir, name, tokenizer, settings, sources))
        results[name] = json.loads(marker.read_text())
    if (stage_dir / "_raw").exists() and not any((stage_dir / "_raw").rglob("*.bin")):
        shutil.rmtree(stage_dir / "_raw")
    manifest = {
        "tokenizer": {"path": str(mix_dir / "tokenizer"), "fingerprint": tokenizer.fingerprint,
                      "vocab_size": tokenizer.vocab_size, "eos_id": tokenizer.eos_id},
        "seq_len": settings.seq_len, "seed": settings.seed, "datasets": results,
        "sources": sources, "mix": report,
    }
    write_json_atomic(stage_dir / "manifest.json", manifest)
    summary = {"datasets": {n: {k: r[k] for k in ("documents", "tokens", "sequences", "trained_tokens")}
                            for n, r in results.items()}, "wall_seconds": round(time.monotonic() - started, 3)}
    write_json_atomic(stage_dir / "stats.json", summary)
    return summary


def _pack_dataset(folder: Path, stage_dir: Path, name: str, tokenizer: TokenizerHandle, settings: PackSettings,
                  sources: dict[str, int]) -> dict[str, Any]:
    started = time.monotonic()
    final = stage_dir / name
    raw = stage_dir / "_raw" / name if settings.shuffle and not name.startswith("valid/") else final
    for leftover in (raw, final):
        if leftover.exists():
            shutil.rmtree(leftover)  # an interrupted earlier attempt
    writer = PackWriter(raw, settings.seq_len, tokenizer.vocab_size, tokenizer.eos_id)
    tokens_by_source: Counter[str] = Counter()
    for path in sorted(folder.glob("*.parquet")):
        for batch in pq.ParquetFile(path).iter_batches(batch_size=settings.batch_docs):
            rows = batch.to_pylist()
            for row, (ids, mask) in zip(rows, _tokenise(rows, tokenizer, name, settings), strict=True):
                source_id = sources.setdefault(row["source"], len(sources))
                writer.add(np.asarray(ids, dtype=np.int64), mask, source_id)
                tokens_by_source[row["source"]] += len(ids) + 1
    counts = writer.close()
    if raw != final:
        counts["shuffle"] = shuffle_pack(raw, final, settings.seed, settings.shuffle_memory_bytes,
                                         drop_untrained=name == INSTRUCTION_DATASET)
        counts["sequences"] = counts["shuffle"]["sequences"]
        shutil.rmtree(raw)
    if settings.megatron:
        counts["megatron"] = write_megatron(final, final / "megatron")
    write_json_atomic(final / "sources.json", {"ids": sources, "tokens": dict(tokens_by_source)})
    empty = counts["empty_documents"]
    stats = {"records_in": counts["documents"] + empty, "records_out": counts["documents"], "records_rejected": empty,
             "drops": {"empty_document": empty} if empty else {}, "samples": {}, "bytes_in": 0,
             "bytes_out": sum(p.stat().st_size for p in final.rglob("*") if p.is_file()),
             "seconds": round(time.monotonic() - started, 3)}  # the shape `hephaestus status` sums
    return {**counts, **stats, "tokens_by_source": dict(tokens_by_source)}


def _tokenise(rows: list[dict[str, Any]], tokenizer: TokenizerHandle, name: str,
              settings: PackSettings) -> list[tuple[list[int], np.ndarray | None]]:
    """Token ids and loss masks: chat-rendered with assistant-only loss for instruction data, plain otherwise."""
    if name != INSTRUCTION_DATASET:
        return [(ids, None) for ids in tokenizer.encode_batch([row["text"] for row in rows])]
    out = []
    for row in rows:
        tools = [json.loads(tool) for tool in row["tools"] or []]
        ids, mask = tokenize_chat(tokenizer, row["messages"], tools, template=settings.chat_template)
        out.append((ids, np.asarray(mask, dtype=np.uint8)))
    return out
