"""Report sections about the corpus: records through the stages, curation, composition (Figure 2a-c),
t-SNE (Figure 2d) and the agent classifier (Table 6). Each returns None when its stage has not run."""

from __future__ import annotations

from typing import Any

from hephaestus.report.layout import Figure, Section, Table, count, decimal, percent, read_json
from hephaestus.status import stage_progress
from hephaestus.workspace import Workspace

RECORD_STAGES = ("collect", "curate", "select", "mix")
EXAMPLE_CHARS = 140


def _example(samples: dict[str, list[str]], reason: str) -> str:
    first = (samples.get(reason) or [""])[0]
    line = first.splitlines()[0] if first else ""
    return line if len(line) <= EXAMPLE_CHARS else line[: EXAMPLE_CHARS - 1] + "…"


def pipeline_section(ws: Workspace) -> Section | None:
    """Records and bytes in and out of each record stage (as `hephaestus status` shows them)."""
    rows, drops = [], []
    stages = [s for s in RECORD_STAGES if (ws.stage_dir(s) / "run.json").exists()]
    for stage in stages:
        p = stage_progress(ws, stage)
        planned = p["shards_planned"] if p["shards_planned"] is not None else "?"
        kept = p["records_out"] / p["records_in"] if p["records_in"] else None
        rows.append([stage, f"{p['shards_done']}/{planned}", count(p["records_in"]), count(p["records_out"]),
                     count(p["records_rejected"]), percent(kept, 1), decimal(p["bytes_in"] / 1e6, 1),
                     decimal(p["bytes_out"] / 1e6, 1), decimal(p["task_seconds"], 1)])
        if stage != "curate":  # the curation section details its own drops
            drops += [[stage, reason, count(n), _example(p["samples"], reason)] for reason, n in p["drops"].items()]
    if not rows:
        return None
    section = Section("pipeline", "Records through the stages", sources=[f"{s}/_done/" for s in stages])
    section.tables.append(Table(["stage", "shards", "records in", "records out", "rejected", "kept", "MB in",
                                 "MB out", "task s"], rows, "Per stage, from the shards' done markers."))
    if drops:
        section.tables.append(Table(["stage", "reason", "records", "example"], drops, "Records dropped, by reason."))
    return section


def curation_section(ws: Workspace) -> Section | None:
    """Records in/out per source, drops by reason, exact and near dedup, decontamination per benchmark."""
    stats = read_json(ws.stage_dir("curate") / "stats.json")
    if not isinstance(stats, dict) or "records_in" not in stats:
        return None
    settings = ((read_json(ws.stage_dir("curate") / "run.json") or {}).get("config") or {}).get("settings") or {}
    section = Section("curation", "Curation", sources=["curate/stats.json", "curate/run.json"])
    total, dropped = stats["records_in"], stats["records_rejected"]
    section.text.append(f"{count(total)} records in, {count(stats['records_out'])} out, {count(dropped)} dropped "
                        f"({percent(dropped / total if total else None, 1)}).")
    section.tables.append(Table(["source", "records in", "records out", "dropped", "MB out"], [
        [name, count(s["records_in"]), count(s["records_out"]), count(s["records_rejected"]),
         decimal(s["bytes_out"] / 1e6, 2)] for name, s in (stats.get("by_source") or {}).items()], "By source."))
    section.tables.append(Table(["reason", "records", "of input", "example"], [
        [reason, count(n), percent(n / total if total else None), _example(stats.get("samples") or {}, reason)]
        for reason, n in sorted(stats["drops"].items(), key=lambda item: -item[1])], "Drops by reason."))
    dedup = stats.get("dedup") or {}
    if dedup:
        groups = dedup.get("by_group") or {}
        rows = [[g, count(d.get("documents")), count(d.get("exact_duplicates")), count(d.get("near_duplicates")),
                 count(d.get("near_clusters"))] for g, d in groups.items()]
        clusters = sum(d.get("near_clusters", 0) for d in groups.values())
        rows.append(["all", count(dedup.get("documents")), count(dedup.get("exact_duplicates")),
                     count(dedup.get("near_duplicates")), count(clusters)])
        threshold = settings.get("near_threshold")
        caption = "Deduplication: exact (hash) and near (MinHash LSH" + (
            f", Jaccard ≥ {threshold}" if threshold is not None else "") + ")."
        section.tables.append(Table(["group", "documents", "exact duplicates", "near duplicates", "near clusters"],
                                    rows, caption))
    section.tables.append(_decontamination(stats.get("decontamination") or {}, settings))
    return section


def _decontamination(removed: dict[str, Any], settings: dict[str, Any]) -> Table:
    benchmarks = (["BFCL"] if settings.get("bfcl") else []) + [
        b.get("name") or b.get("path", "?") for b in settings.get("benchmark_files") or [] if isinstance(b, dict)]
    if settings.get("decontaminate") is False or (settings and not benchmarks):
        caption = "Decontamination was off."
    else:
        caption = (f"Decontamination: records removed for sharing a {settings.get('ngram', 13)}-gram with a benchmark"
                   + (f" (checked: {', '.join(map(str, benchmarks))})" if benchmarks else "") + ".")
    rows = [[name, count(n)] for name, n in sorted(removed.items(), key=lambda item: -item[1])]
    return Table(["benchmark", "records removed"], rows or [["(none matched)", "0"]], caption)


def composition_section(ws: Workspace) -> Section | None:
    data = read_json(ws.root / "figures" / "composition.json")
    if not isinstance(data, dict):
        return None
    unit = data.get("unit", "records")
    section = Section("composition", "Corpus composition (Figure 2a–c)", sources=["figures/composition.json"])
    section.figures.append(Figure(ws.root / "figures" / "composition.png",
                                  f"Share of the corpus by kind (left) and seed data by source (right), in {unit}."))
    for key, caption, label in (("by_kind", "Corpus by kind.", "kind"),
                                ("by_source", "Seed data by source (largest first).", "source")):
        values = data.get(key) or {}
        total = sum(values.values()) or None
        section.tables.append(Table([label, unit, "share"], [[name, count(n), percent(n / total if total else None, 1)]
                                                              for name, n in values.items()], caption))
    return section


def tsne_section(ws: Workspace) -> Section | None:
    data = read_json(ws.root / "figures" / "tsne.json")
    if not isinstance(data, dict):
        return None
    section = Section("tsne", "Seed, retrieved and general data (Figure 2d)", sources=["figures/tsne.json"])
    section.figures.append(Figure(ws.root / "figures" / "tsne.png", "t-SNE of embedded documents: seed sources in "
                                                                    "colour, retrieved black, general grey."))
    distances = data.get("distances") or {}
    section.tables.append(Table(["from → to", "mean cosine distance to nearest"],
                                [[pair, decimal(value)] for pair, value in distances.items()], "Distance summary."))
    section.tables.append(Table(["group", "points"], [[g, count(n)] for g, n in (data.get("groups") or {}).items()],
                                "Points plotted per group."))
    retrieved, general = distances.get("retrieved→seed"), distances.get("general→seed")
    if isinstance(retrieved, int | float) and isinstance(general, int | float):
        verdict = "closer to" if retrieved < general else "no closer to"
        section.text.append(f"Retrieved documents lie {verdict} the seed data than general text does "
                            f"({decimal(retrieved)} vs {decimal(general)}; the paper's Figure 2d shows them closer).")
    return section


def classifier_section(ws: Workspace) -> Section | None:
    metrics = read_json(ws.stage_dir("select") / "classifier.json")
    if not isinstance(metrics, dict):
        return None
    section = Section("classifier", "Agent-data classifier (Table 6)",
                      sources=["select/classifier.json", "select/stats.json"])
    section.tables.append(Table(["model", "accuracy", "F1", "precision", "recall"], [
        ["fastText, held-out data", *(percent(metrics.get(k)) for k in ("accuracy", "f1", "precision", "recall"))]],
        f"Agent-relevant vs general text, threshold {metrics.get('threshold', '?')}."))
    counts = metrics.get("counts") or {}
    rows = [[split, count(c.get("agent")), count(c.get("general"))] for split, c in counts.items()
            if split in ("train", "held_out") and isinstance(c, dict)]
    section.tables.append(Table(["split", "agent", "general"], rows, "Training and held-out documents."))
    stats = read_json(ws.stage_dir("select") / "stats.json") or {}
    if "records_in" in stats:
        section.text.append(f"Selection scored {count(stats['records_in'])} web documents and kept "
                            f"{count(stats['records_out'])} as retrieved agent data (rule: {stats.get('rule', '?')}; "
                            f"embedder: {stats.get('embedder', '?')}; "
                            f"{count(stats.get('seeds_indexed'))} seeds indexed).")
    return section
