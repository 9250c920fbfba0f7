"""Settings of the evaluate stage (kept apart from the stage so recipes load without the evaluation stack)."""

from __future__ import annotations

from dataclasses import dataclass

from hephaestus.evaluate.bfcl_data import AST_CATEGORIES

AGENT_KINDS = ("tool_doc", "trajectory")  # held-out splits whose loss counts as benchmark loss
RETENTION_KIND = "text"  # held-out general text: its perplexity shows whether general ability is kept


@dataclass(frozen=True)
class EvalSettings:
    categories: tuple[str, ...] = AST_CATEGORIES
    limit: int | None = None  # questions per BFCL category (first N, deterministic); None: all
    shots: int = 3  # worked examples before each question for base (not instruction-tuned) models
    batch_size: int = 8
    max_new_tokens: int = 256
    bench_loss: bool = True
    bfcl: bool = True
    retention: bool = True
    valid_batches: int = 50  # batches of each held-out split scored; 0: all
    device: str | None = None  # default: cuda when available, else cpu
    lm_eval_tasks: tuple[str, ...] = ()  # lm-evaluation-harness tasks (needs the lm-eval extra and local data)
    lm_eval_include: tuple[str, ...] = ()  # folders of task YAML files
    lm_eval_limit: int | None = None  # examples per lm-eval task
