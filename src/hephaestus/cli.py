"""The `hephaestus` command: one sub-command per stage, plus `run` for a whole recipe."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console

from hephaestus.config import RecipeError, load_recipe
from hephaestus.curate.benchmarks import BenchmarkError
from hephaestus.select.rule import RuleError
from hephaestus.sources import SOURCE_CLASSES, SpecError, parse_spec, source_class
from hephaestus.status import render_status
from hephaestus.workspace import ConfigChangedError, Workspace, WorkspaceError

app = typer.Typer(
    help="Hephaestus: forge an agent-oriented corpus and continually pre-train on it (arXiv 2502.06589).",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
)
console = Console(stderr=True)
WorkspaceOption = Annotated[Path, typer.Option("--workspace", "-w", help="Workspace folder (created if missing).")]
WorkersOption = Annotated[int, typer.Option("--workers", min=1, help="Worker processes; 1 runs in-process.")]
RestartOption = Annotated[bool, typer.Option("--restart", help="Discard this stage's earlier output and start over.")]


def fail(message: str) -> None:
    console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def first_line(error: Exception) -> str:
    """One line for an error: a settings model's first problem as `field: message`, else the first line."""
    if isinstance(error, ValidationError):
        problem = error.errors()[0]
        field = ".".join(str(part) for part in problem["loc"])
        return f"{field}: {problem['msg'].removeprefix('Value error, ')}" if field else problem["msg"]
    return str(error).splitlines()[0] if str(error) else type(error).__name__


@app.command()
def collect(
    specs: Annotated[list[str], typer.Argument(help="Sources as NAME[.FORMAT]:ARG, e.g. python-api:json,re "
                                               "openapi:specs/ trajectories:data.jsonl code:src/ text:web.jsonl")],
    workspace: WorkspaceOption,
    workers: WorkersOption = 2,
    restart: RestartOption = False,
) -> None:
    """Collect seed agent data and general text into WS/collect/<source>/*.parquet."""
    from hephaestus.collect import collect as run_collect

    try:
        sources = [parse_spec(spec) for spec in specs]
        summary = run_collect(sources, Workspace(workspace), workers=workers, restart=restart, console=console)
    except (SpecError, WorkspaceError) as error:
        fail(str(error))
    _report_stage("collect", summary)


@app.command()
def curate(
    workspace: WorkspaceOption,
    workers: WorkersOption = 2,
    restart: RestartOption = False,
    quality: Annotated[bool, typer.Option(help="Apply the heuristic quality filters.")] = True,
    decontaminate: Annotated[bool, typer.Option(help="Remove documents overlapping evaluation sets.")] = True,
    bfcl: Annotated[bool, typer.Option(help="Decontaminate against the BFCL data in bfcl-eval.")] = True,
    benchmark: Annotated[list[Path] | None, typer.Option(
        help="Another evaluation set (JSONL/JSON with a `text` field, or plain text); repeatable.")] = None,
    ngram: Annotated[int, typer.Option(min=1, help="Words per n-gram for decontamination.")] = 13,
    near_threshold: Annotated[float, typer.Option(min=0.05, max=0.99, help="Jaccard threshold of near dedup.")]
    = 0.65,
) -> None:
    """Clean, filter, decontaminate and deduplicate WS/collect into WS/curate."""
    from hephaestus.config import BenchmarkEntry, CurateConfig
    from hephaestus.curate.stage import curate as run_curate

    files = [BenchmarkEntry(path=str(p)) for p in benchmark or []]
    missing = [str(p) for p in benchmark or [] if not p.is_file()]
    if missing:
        fail(f"{missing[0]}: no such benchmark file")
    config = CurateConfig(quality=quality, decontaminate=decontaminate, bfcl=bfcl, benchmarks=files, ngram=ngram,
                          near_threshold=near_threshold)
    try:
        summary = run_curate(Workspace(workspace), config.settings(), workers=workers, restart=restart,
                             console=console)
    except (WorkspaceError, BenchmarkError) as error:
        fail(str(error))
    _report_stage("curate", summary)


@app.command("select")
def select_(
    workspace: WorkspaceOption,
    restart: RestartOption = False,
    rule: Annotated[str, typer.Option(help="Which web documents to keep: clauses ATTR OP VALUE|pNN joined by "
                                      "and/or over agent_score, similarity, similarity_topk.")]
    = "similarity >= p90 and agent_score >= 0.5",
    embedder: Annotated[str, typer.Option(help="'default' (all-MiniLM-L6-v2 from its pip package), a local "
                                          "sentence-transformers folder, or 'hashing' (a test fallback).")]
    = "default",
    k: Annotated[int, typer.Option(min=1, help="Seeds averaged in similarity_topk.")] = 5,
    max_seq_length: Annotated[int, typer.Option(min=8, help="Tokens embedded per document.")] = 256,
) -> None:
    """Score the web corpus (fastText agent classifier, similarity to seeds) and keep the agent-like part."""
    from hephaestus.config import SelectConfig
    from hephaestus.select.stage import select as run_select

    try:
        config = SelectConfig(rule=rule, embedder=embedder, k=k, max_seq_length=max_seq_length)
        summary = run_select(Workspace(workspace), config.settings(), restart=restart, console=console)
    except (WorkspaceError, ValueError, FileNotFoundError) as error:
        fail(first_line(error))
    _report_stage("select", summary)


@app.command("mix")
def mix_(
    workspace: WorkspaceOption,
    restart: RestartOption = False,
    tokenizer: Annotated[str | None, typer.Option(help="A local tokenizer.json or Hugging Face folder; "
                                                  "without it a byte-level BPE is trained on the corpus.")] = None,
    vocab_size: Annotated[int, typer.Option(min=300, help="Vocabulary of the trained BPE.")] = 8192,
    agent: Annotated[float, typer.Option(min=0, max=1, help="Share of agent data (the paper: about 0.36).")] = 0.36,
    code: Annotated[float | None, typer.Option(min=0, max=1, help="Share of code (default: half the rest).")]
    = None,
    total_tokens: Annotated[int | None, typer.Option(min=1, help="Token budget of stage I (default: as many as "
                                                     "the shares allow without repeats).")] = None,
    max_epochs: Annotated[float, typer.Option(min=1, help="Most times a source may be repeated.")] = 4.0,
    count_sample: Annotated[float | None, typer.Option(min=0, max=1, help="Estimate token counts from this "
                                                       "fraction of the documents (default: count all, exactly).")]
    = None,
    stage2_replay: Annotated[float, typer.Option(min=0, max=0.99, help="Share of stage II tokens replayed from "
                                                 "the text and code sources (against forgetting).")] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed of the hash sampling.")] = 0,
) -> None:
    """Count tokens, solve the agent/text/code mixture and write the stage I/II/III and validation datasets."""
    from hephaestus.config import MixConfig
    from hephaestus.mix.stage import mix as run_mix

    code_share = (1 - agent) / 2 if code is None else code
    try:
        config = MixConfig(tokenizer=tokenizer, vocab_size=vocab_size, total_tokens=total_tokens,
                           max_epochs=max_epochs, seed=seed, count_sample_rate=count_sample,
                           stage2_replay=stage2_replay,
                           shares={"agent": agent, "code": code_share, "text": 1 - agent - code_share})
        summary = run_mix(Workspace(workspace), config.settings(), restart=restart, console=console)
    except (WorkspaceError, ValueError, FileNotFoundError) as error:
        fail(first_line(error))
    _report_stage("mix", summary)


@app.command("pack")
def pack_(
    workspace: WorkspaceOption,
    restart: RestartOption = False,
    seq_len: Annotated[int, typer.Option(min=8, help="Tokens per packed sequence.")] = 2048,
    seed: Annotated[int, typer.Option(help="Seed of the global shuffle.")] = 0,
    megatron: Annotated[bool, typer.Option(help="Also write Megatron-LM .bin/.idx files.")] = False,
    chat_template: Annotated[str, typer.Option(help="'hephaestus' (ours, which eval prompts in) or 'model' (the "
                                               "tokenizer's own).")] = "hephaestus",
) -> None:
    """Tokenise and pack the mixture into shuffled token shards with loss masks (WS/pack)."""
    from hephaestus.config import PackConfig
    from hephaestus.pack.stage import pack as run_pack

    try:
        config = PackConfig(seq_len=seq_len, seed=seed, megatron=megatron, chat_template=chat_template)
        summary = run_pack(Workspace(workspace), config.settings(), restart=restart, console=console)
    except (WorkspaceError, ValueError) as error:
        fail(first_line(error))
    _report_stage("pack", summary)


@app.command("train")
def train_(
    workspace: WorkspaceOption,
    stage: Annotated[int, typer.Option(min=1, max=3, help="1: the mixture, 2: seed agent data, 3: instructions.")],
    config: Annotated[Path | None, typer.Option(help="A YAML file with the recipe's `train:` section.")] = None,
    model: Annotated[str | None, typer.Option(help="A proxy size (tiny, 10m, 30m, 100m, 400m, 1b) or a local "
                                              "Hugging Face checkpoint; stages 2 and 3 default to the previous "
                                              "stage's final model.")] = None,
    steps: Annotated[int | None, typer.Option(min=1, help="Optimizer steps of this stage.")] = None,
    restart: RestartOption = False,
) -> None:
    """Continually pre-train (stages 1, 2) or instruction-tune (stage 3) on WS/pack; resumes from checkpoints."""
    import yaml

    from hephaestus.config import TrainConfigSection
    from hephaestus.train.stage import train_stage

    try:
        section = yaml.safe_load(config.read_text()) if config else {}
        settings = TrainConfigSection.model_validate((section or {}).get("train", section) or {})
        if steps is not None:
            settings.stages[stage] = settings.stages[stage].model_copy(update={"steps": steps})
        result = train_stage(Workspace(workspace), settings.settings(), stage, model=model, restart=restart,
                             console=console)
    except (WorkspaceError, ValueError, FileNotFoundError, OSError, yaml.YAMLError) as error:
        fail(first_line(error))
    console.print(f"train: stage {stage} done: final model {result['model']}, metrics {result['metrics']}",
                  highlight=False)


@app.command("eval")
def eval_(
    workspace: WorkspaceOption,
    model: Annotated[list[Path] | None, typer.Option(
        help="A local Hugging Face checkpoint folder (repeatable); default: every trained stage's final model.")]
    = None,
    label: Annotated[list[str] | None, typer.Option(help="Name for each --model's results (repeatable).")] = None,
    chat: Annotated[bool | None, typer.Option(
        "--chat/--base", help="Prompt as an instruction-tuned (chat) or base (few-shot) model; default: chat for "
        "stage 3 models, base otherwise.", show_default=False)] = None,
    category: Annotated[list[str] | None, typer.Option(help="BFCL category (repeatable); default: all AST ones.")]
    = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Questions per BFCL category (the first N).")] = None,
    shots: Annotated[int, typer.Option(min=0, help="Worked examples before each question (base models).")] = 3,
    batch_size: Annotated[int, typer.Option(min=1, help="Sequences per forward pass.")] = 8,
    max_new_tokens: Annotated[int, typer.Option(min=1, help="Longest generated answer.")] = 256,
    bfcl: Annotated[bool, typer.Option(help="Generate and score BFCL answers.")] = True,
    bench_loss: Annotated[bool, typer.Option(help="NLL of BFCL answers and held-out agent data.")] = True,
    retention: Annotated[bool, typer.Option(help="Perplexity on held-out general text.")] = True,
    lm_eval_task: Annotated[list[str] | None, typer.Option(
        help="An lm-evaluation-harness task (repeatable; needs the lm-eval extra and the task's data on disk).")]
    = None,
    lm_eval_include: Annotated[list[Path] | None, typer.Option(help="A folder of lm-eval task YAML files.")] = None,
    lm_eval_limit: Annotated[int | None, typer.Option(min=1, help="Examples per lm-eval task.")] = None,
    restart: RestartOption = False,
) -> None:
    """Evaluate checkpoints: benchmark loss, BFCL accuracy (official AST checker) and retention perplexity."""
    from hephaestus.config import EvalConfig
    from hephaestus.evaluate.models import find_targets
    from hephaestus.evaluate.stage import evaluate

    try:
        config = EvalConfig(categories=category or list(EvalConfig().categories), limit=limit, shots=shots,
                            batch_size=batch_size, max_new_tokens=max_new_tokens, bfcl=bfcl, bench_loss=bench_loss,
                            retention=retention, lm_eval_tasks=lm_eval_task or [],
                            lm_eval_include=[str(p) for p in lm_eval_include or []], lm_eval_limit=lm_eval_limit)
        ws = Workspace(workspace)
        targets = find_targets(ws, [str(m) for m in model or []], label, chat)
        evaluate(ws, config.settings(), targets, restart=restart, console=console)
    except (WorkspaceError, ValueError, OSError) as error:
        fail(first_line(error))
    console.print(f"eval: results in {ws.stage_dir('eval')} (comparison.md compares them)", highlight=False)


@app.command()
def report(workspace: WorkspaceOption) -> None:
    """Write WS/report/index.html: one self-contained page with the corpus, mix, training and eval figures."""
    from hephaestus.report.html import build_report

    if not workspace.is_dir():
        fail(f"{workspace}: no such workspace")
    console.print(f"report: {build_report(Workspace(workspace))}", highlight=False)


@app.command()
def sources() -> None:
    """List the available sources."""
    for name in sorted(SOURCE_CLASSES):
        typer.echo(f"{name:14} {source_class(name).summary}")


@app.command()
def status(workspace: WorkspaceOption) -> None:
    """Print each stage's progress and stats: records in/out, drops by reason, time."""
    if not workspace.is_dir():
        fail(f"{workspace}: no such workspace")
    render_status(Workspace(workspace), Console())


@app.command()
def run(
    recipe: Annotated[Path, typer.Argument(help="A YAML recipe, e.g. recipes/quickstart.yaml.")],
    workspace: Annotated[Path | None, typer.Option("--workspace", "-w", help="Override the recipe's workspace.")]
    = None,
    workers: Annotated[int | None, typer.Option("--workers", min=1, help="Override the recipe's workers.")] = None,
    restart: Annotated[bool, typer.Option("--restart", help="Start every stage over.")] = False,
    restart_from: Annotated[str | None, typer.Option(help="Start this stage (collect, curate, select, mix, pack, "
                                                     "train, eval) and every later one over.")] = None,
) -> None:
    """Run a whole recipe stage by stage, resuming what is already done."""
    from hephaestus.pipeline import STAGES, run_recipe

    if restart_from is not None and restart_from not in STAGES:
        fail(f"--restart-from {restart_from}: not a stage; the stages are {', '.join(STAGES)}")
    try:
        plan = load_recipe(recipe)
        ws = Workspace(workspace or plan.workspace)
        jobs = workers or plan.workers
        console.print(f"[bold]{plan.name}[/bold]: workspace {ws.root}, {jobs} workers")
        run_recipe(plan, ws, workers=jobs, restart=restart or restart_from or False, console=console,
                   report=_report_stage)
    except ConfigChangedError as error:
        stage = error.stage.split("/")[0]  # train/stage2 -> train
        fail(f"{error}; here `--restart-from {stage}` starts it and the later stages over")
    except (RecipeError, SpecError, WorkspaceError, BenchmarkError, RuleError, FileNotFoundError) as error:
        fail(str(error))
    console.print(f"done: see `hephaestus status -w {ws.root}`"
                  + (f" and the report {ws.stage_dir('report') / 'index.html'}" if plan.report else ""),
                  highlight=False)


def _report_stage(stage: str, summary: dict) -> None:
    if "records_in" not in summary:  # pack reports datasets, not records
        for name, counts in summary["datasets"].items():
            console.print(f"{stage}: {name}: {counts['documents']:,} documents, {counts['tokens']:,} tokens "
                          f"({counts['trained_tokens']:,} trained), {counts['sequences']:,} sequences",
                          highlight=False)
        return
    console.print(
        f"{stage}: {summary['records_out']:,} records out, {summary['records_rejected']:,} rejected "
        f"(of {summary['records_in']:,} in) from {summary['shards']}/{summary['shards_planned']} shards "
        f"in {summary['wall_seconds']:.1f} s", highlight=False, soft_wrap=True)
    for reason, count in summary["drops"].items():
        console.print(f"  rejected {reason}: {count:,}", highlight=False)
    if "rule" in summary:
        console.print(f"  selected by rule: {summary['rule']}", highlight=False, soft_wrap=True)
        for name, path in summary["figures"].items():
            if name != "distances":
                console.print(f"  figure: {path}", highlight=False, soft_wrap=True)
    if "dedup" in summary:
        dedup = summary["dedup"]
        console.print(f"  dedup: {dedup['exact_duplicates']:,} exact and {dedup['near_duplicates']:,} near duplicates "
                      f"of {dedup['documents']:,} documents ({dedup['bands']} bands x {dedup['rows']} rows)",
                      highlight=False)
    if summary["failed"]:
        for failure in summary["failed"]:
            console.print(f"[red]shard {failure['task_id']} failed:[/red]\n{failure['error']}", highlight=False)
        raise typer.Exit(1)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        console.print("interrupted; re-run the same command to resume")
        sys.exit(130)


if __name__ == "__main__":  # `python -m hephaestus.cli`, as `torchrun -m hephaestus.cli` runs it
    main()
