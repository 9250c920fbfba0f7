"""The select stage: find agent-like documents in the web corpus (the paper's section 4.2).

1. Train the fastText agent classifier: seed agent records vs general text (`classifier.json`).
2. Embed the seeds and index them (`index/`).
3. Stream every curated web shard past classifier and index: attributes `attrs/select/<task>.parquet`
   (agent_score, similarity = best cosine to a seed, similarity_topk = mean of the top k, nearest_source).
4. Resolve the selection rule (percentiles over the whole corpus) and write the chosen documents as
   records of kind `text` from source `web:retrieved` (`retrieved/<task>.parquet`), scores in meta.
5. Figures: t-SNE and composition (WS/figures/).
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console

from hephaestus.io.parquet import RecordWriter
from hephaestus.run.local import Outcome
from hephaestus.run.record_job import task_name
from hephaestus.run.summary import summarise
from hephaestus.select.corpus import CorpusSplit, curated_files, has_web_rows, read_subset, web_batches
from hephaestus.select.rule import parse_rule
from hephaestus.select.scoring import Scorer, train_or_load
from hephaestus.select.settings import SelectSettings
from hephaestus.select.tsne import write_figures
from hephaestus.stats import ShardStats, check
from hephaestus.workspace import Workspace, WorkspaceError, atomic_path

STAGE = "select"
RETRIEVED_SOURCE = "web:retrieved"


def select(workspace: Workspace, settings: SelectSettings, *, restart: bool = False,
           console: Console | None = None) -> dict[str, Any]:
    console = console or Console(stderr=True)
    rule = parse_rule(settings.rule)  # a bad rule fails before any work
    curate_dir = workspace.stage_dir("curate")
    files = curated_files(curate_dir)
    if not files:
        raise WorkspaceError(f"{curate_dir}: no curated records; run `hephaestus curate` first")
    upstream = json.loads((curate_dir / "run.json").read_text())["config_hash"]
    workspace.begin_stage(STAGE, {"settings": dataclasses.asdict(settings), "curate": upstream}, restart=restart)
    stage_dir = workspace.stage_dir(STAGE)
    split = CorpusSplit(settings.seed_kinds, settings.web_sources)
    started = time.monotonic()
    seeds = read_subset(files, "seed", split, ["id", "source", "text"])
    web_files = [path for path in files if has_web_rows(path, split)]
    if seeds.num_rows < 10 or not web_files:
        raise WorkspaceError(f"{curate_dir}: select needs seed agent records ({', '.join(split.seed_kinds)}; found "
                             f"{seeds.num_rows}) and web text records (found {len(web_files)} files)")
    scorer = train_or_load(stage_dir, settings, seeds, lambda: read_subset(
        web_files, "web", split, ["id", "text"], limit=settings.max_train_per_class), console)
    names = {path: task_name(path, curate_dir) for path in web_files}
    for path in web_files:
        if not (stage_dir / "attrs" / "select" / f"{names[path]}.parquet").exists():
            _score_file(path, names[path], scorer, split, stage_dir, settings)
    attrs = pa.concat_tables([pq.read_table(stage_dir / "attrs" / "select" / f"{names[p]}.parquet")
                              for p in web_files])
    values = {name: attrs.column(name).to_numpy() for name in ("agent_score", "similarity", "similarity_topk")}
    resolved = rule.resolve(values)
    kept = attrs.filter(pa.array(resolved.mask(values)))  # only the chosen rows become Python objects
    scores = {row["id"]: row for row in kept.to_pylist()}
    chosen = set(scores)
    for path in web_files:
        if not workspace.is_done(STAGE, names[path]):
            _write_retrieved(workspace, path, names[path], split, scores)
    figures = write_figures(workspace, files, scorer, scorer.seeds, attrs, chosen, settings, console)
    groups = {names[p]: p.relative_to(curate_dir).parts[0] for p in web_files}
    extra = {"rule": str(resolved), "classifier": scorer.metrics, "embedder": scorer.embedder.name,
             "seeds_indexed": scorer.seeds.num_rows, "figures": figures}
    outcomes: list[Outcome] = []
    return summarise(workspace, STAGE, groups, outcomes, time.monotonic() - started, extra)


def _score_file(path: Path, task: str, scorer: Scorer, split: CorpusSplit, stage_dir: Path,
                settings: SelectSettings) -> None:
    parts = [scorer.attributes(batch) for batch in web_batches(path, split, settings.batch_rows)]
    with atomic_path(stage_dir / "attrs" / "select" / f"{task}.parquet") as tmp:
        pq.write_table(pa.concat_tables(parts), tmp, compression="zstd")


def _write_retrieved(workspace: Workspace, path: Path, task: str, split: CorpusSplit,
                     scores: dict[str, dict[str, Any]]) -> None:
    from hephaestus.records import make_record

    stats = ShardStats(task)
    stats.bytes_in = path.stat().st_size
    writer = RecordWriter(workspace.stage_dir(STAGE) / "retrieved" / f"{task}.parquet")
    for batch in web_batches(path, split):
        for row in batch.select(["id", "source", "text", "meta"]).to_pylist():
            chosen = scores.get(row["id"])
            if chosen is None:
                stats.reject("not_selected", row["id"])
                continue
            meta = {"origin_source": row["source"], "origin_id": row["id"],
                    **{k: chosen[k] for k in ("agent_score", "similarity", "similarity_topk", "nearest_source")}}
            writer.add(make_record(RETRIEVED_SOURCE, "text", row["text"], meta=meta))
            stats.accept()
    stats.bytes_out = writer.close()
    result = stats.to_dict()
    check(result)
    workspace.mark_done(STAGE, task, result)
