"""Report sections about what was trained on and how training went: the mixture (target vs achieved), the
packed datasets and the training curves (Figure 5). Each returns None when its stage has not run."""

from __future__ import annotations

from pathlib import Path

from hephaestus.report.layout import MISSING, Figure, Section, Table, count, decimal, percent, read_json
from hephaestus.report.training import ROMAN, positions, read_curves, training_figure
from hephaestus.train.settings import STAGES
from hephaestus.workspace import Workspace


def _lr(value: object) -> str:
    return f"{value:.3g}" if isinstance(value, int | float) else MISSING


def _yes(value: object) -> str:
    return {True: "yes", False: "no"}.get(value, "?") if isinstance(value, bool) else "?"


def mix_section(ws: Workspace) -> Section | None:
    """Target vs achieved tokens and shares by group (agent / code / text) and by source, with shortfall notes."""
    report = read_json(ws.stage_dir("mix") / "report.json")
    if not isinstance(report, dict) or "groups" not in report:
        return None
    section = Section("mix", "Data mixture: target vs achieved", sources=["mix/report.json"])
    total = report.get("total") or {}
    section.text.append(f"Stage I mixture: {count(total.get('achieved_tokens'))} tokens taken for a target of "
                        f"{count(total.get('target_tokens'))} (the paper's optimum: about 36% agent data, "
                        "agent : text : code ≈ 1 : 1 : 1).")
    rows = []
    for group, g in report["groups"].items():
        delta = g.get("achieved_share", 0) - g.get("target_share", 0)
        rows.append([group, percent(g.get("target_share")), percent(g.get("achieved_share")), f"{100 * delta:+.2f}",
                     count(g.get("target_tokens")), count(g.get("achieved_tokens"))])
    section.tables.append(Table(["group", "target share", "achieved share", "Δ pp", "target tokens",
                                 "achieved tokens"], rows, "By group."))
    rows = []
    for source, s in sorted((report.get("sources") or {}).items(), key=lambda item: (item[1].get("group", ""),
                                                                                      item[0])):
        expected, achieved = s.get("expected_tokens"), s.get("achieved_tokens")
        short = (achieved - expected) / expected if expected and achieved is not None else None
        rows.append([source, s.get("group", ""), count(s.get("documents")), count(s.get("available_tokens")),
                     decimal(s.get("rate"), 3), count(expected), count(achieved), percent(s.get("achieved_share")),
                     f"{100 * short:+.1f}%" if short is not None else MISSING])
    section.tables.append(Table(["source", "group", "documents", "available tokens", "rate (epochs)",
                                 "planned tokens", "achieved tokens", "achieved share", "vs planned"], rows,
                                "By source: the plan's tokens (rate × available) and what sampling took."))
    notes = report.get("notes") or []
    section.notes.extend(notes or ["No source ran short: every group's target share was met by the plan."])
    section.notes.extend((report.get("token_counts") or {}).get("notes") or [])
    stage2 = report.get("stage2") or {}
    if stage2.get("replay_target_share"):
        section.text.append(f"Stage II replays {count(stage2.get('replay_tokens'))} tokens of text and code beside "
                            f"{count(stage2.get('seed_tokens'))} of seed agent data: "
                            f"{percent(stage2.get('replay_share'))} (target {percent(stage2['replay_target_share'])}).")
    return section


def pack_section(ws: Workspace) -> Section | None:
    manifest = read_json(ws.stage_dir("pack") / "manifest.json")
    if not isinstance(manifest, dict) or not manifest.get("datasets"):
        return None
    section = Section("pack", "Packed datasets", sources=["pack/manifest.json", "pack/run.json"])
    rows = []
    for name, d in manifest["datasets"].items():
        sequences, padded = d.get("sequences"), d.get("padded_tokens")
        slots = sequences * manifest["seq_len"] if isinstance(sequences, int) and manifest.get("seq_len") else None
        rows.append([name, count(d.get("documents")), count(sequences), count(d.get("tokens")),
                     count(d.get("trained_tokens")), count(padded), percent(padded / slots if slots and padded
                                                                             is not None else None, 2)])
    section.tables.append(Table(["dataset", "documents", "sequences", "tokens", "trained tokens", "padding",
                                 "padding share"], rows, "Datasets by stage and validation kind."))
    tokenizer = manifest.get("tokenizer") or {}
    settings = ((read_json(ws.stage_dir("pack") / "run.json") or {}).get("config") or {}).get("settings") or {}
    section.text.append(f"Sequences of {manifest.get('seq_len', '?')} tokens; tokenizer vocabulary "
                        f"{count(tokenizer.get('vocab_size'))}; chat template {settings.get('chat_template', '?')}; "
                        f"shuffled: {_yes(settings.get('shuffle'))}; "
                        f"Megatron export: {_yes(settings.get('megatron'))}.")
    return section


def training_section(ws: Workspace) -> Section | None:
    """Regenerates WS/figures/training.png from the metrics, and tabulates each stage and its validation losses."""
    curves = read_curves(ws)
    if not curves:
        return None
    path: Path = training_figure(curves, ws.root / "figures" / "training.png")
    unit = positions(curves)[0]
    section = Section("training", "Training (Figure 5)",
                      sources=[f"train/stage{c.stage}/metrics.jsonl" for c in curves] + ["figures/training.json"])
    section.figures.append(Figure(path, f"Training loss and validation loss per kind across the stages, by {unit} "
                                        "trained; dashed lines mark where a stage starts."))
    rows = []
    for curve in curves:
        plan = (curve.settings.get("stages") or {}).get(str(curve.stage)) or {}
        done, planned = curve.records[-1]["step"], plan.get("steps")
        speeds = [r["tokens_per_s"] for r in curve.records if isinstance(r.get("tokens_per_s"), int | float)]
        rows.append([curve.name, f"{done}/{planned}" if planned else str(done), _lr(plan.get("lr")),
                     count(curve.tokens_per_step and done * curve.tokens_per_step), decimal(curve.records[0]["loss"]),
                     decimal(curve.records[-1]["loss"]), count(sum(speeds) / len(speeds) if speeds else None)])
    section.tables.append(Table(["stage", "steps", "peak lr", "tokens", "first loss", "final loss", "tokens/s"],
                                rows, "Per stage (loss in nats per token)."))
    trained = {curve.stage for curve in curves}
    for stage in (s for s in STAGES if s not in trained):
        packed = (ws.stage_dir("pack") / f"stage{stage}" / "pack.json").exists()
        why = "." if packed else " (no packed data for it)."
        section.notes.append(f"Stage {ROMAN[stage]} has no metrics yet{why}")
    kinds = sorted({kind for curve in curves for kind in curve.valid()})
    if kinds:
        rows = [[kind, *(decimal(c.valid()[kind][-1][1]) if kind in c.valid() else MISSING for c in curves)]
                for kind in kinds]
        section.tables.append(Table(["validation set", *(f"after stage {ROMAN.get(c.stage, c.stage)}" for c in curves)],
                                    rows, "Last validation loss of each stage, per kind."))
    return section
