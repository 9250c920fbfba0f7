"""How the mix stage chooses documents: token counts (exact, or estimated from a sample), the solved plan, and
every file's held-out flags, stage I copies and stage II replay flags."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pyarrow.parquet as pq

from hephaestus.mix.count import TokenCount
from hephaestus.mix.exact import exact_copies, exact_replay, held_out, source_tokens
from hephaestus.mix.plan import GROUPS, MixPlan, MixTarget, SourceTokens, solve
from hephaestus.mix.sampled import estimate_sources, hashed_copies, hashed_replay, replay_rate
from hephaestus.mix.tokens import MixSettings, token_counts
from hephaestus.pack.tokenizer import TokenizerHandle


class Selection(NamedTuple):
    """The solved plan and every file's held-out flags and copies (row-aligned with the file)."""

    plan: MixPlan
    held: dict[str, np.ndarray]
    copies: dict[str, np.ndarray]
    replay: dict[str, np.ndarray]  # text and code documents stage II replays
    tokens: dict[str, np.ndarray]  # exact tokens of every document; empty when counts are estimated
    estimates: dict[str, TokenCount]  # estimated tokens per source; empty when counts are exact


def select_exact(files: dict[str, Path], tokenizer: TokenizerHandle, settings: MixSettings,
                 stage_dir: Path) -> Selection:
    """Every document tokenised (counts cached in attrs/tokens/): a token-exact mixture."""
    counts = {task: token_counts(path, tokenizer, stage_dir / "attrs" / "tokens" / f"{task}.parquet")
              for task, path in files.items()}
    held = {task: held_out(table.column("id"), settings.seed, settings.valid_fraction)
            for task, table in counts.items()}
    plan = _solve(source_tokens(counts, held), settings)
    return Selection(plan, held, exact_copies(counts, held, plan.rates, settings.seed),
                     exact_replay(counts, held, settings.stage2_replay, settings.seed),
                     {task: table.column("tokens").to_numpy() for task, table in counts.items()}, {})


def select_sampled(files: dict[str, Path], tokenizer: TokenizerHandle, settings: MixSettings,
                   stage_dir: Path) -> Selection:
    """Tokens estimated from a hash sample (cached in attrs/token_estimates.json); documents chosen by hash."""
    keys = {task: pq.read_table(path, columns=["id", "source"]) for task, path in files.items()}
    held = {task: held_out(table.column("id"), settings.seed, settings.valid_fraction) for task, table in keys.items()}
    sources, estimates = estimate_sources(files, held, tokenizer, settings.count_sample_rate, settings.seed,
                                          stage_dir / "attrs" / "token_estimates.json")
    plan = _solve(sources, settings)
    groups = {s.source: s.group for s in sources}
    rate = replay_rate(sources, settings.stage2_replay)
    return Selection(plan, held,
                     {task: hashed_copies(keys[task], held[task], plan.rates, settings.seed) for task in files},
                     {task: hashed_replay(keys[task], held[task], groups, rate, settings.seed) for task in files},
                     {}, estimates)


def _solve(sources: list[SourceTokens], settings: MixSettings) -> MixPlan:
    target = MixTarget(shares=settings.shares, total_tokens=settings.total_tokens or _default_total(sources, settings),
                       max_epochs=settings.max_epochs, on_shortfall=settings.on_shortfall)
    return solve(sources, target)


def count_report(settings: MixSettings, estimates: dict[str, TokenCount]) -> dict[str, Any]:
    """How the tokens were counted; for estimates, each source's count and standard error (EOS included)."""
    if settings.count_sample_rate is None:
        return {"method": "exact", "notes": []}
    rows = {source: {"tokens": e.tokens + e.documents, "stderr": e.stderr, "exact": e.exact, "documents": e.documents,
                     "tokenised": e.sampled} for source, e in estimates.items()}
    total = sum(row["tokens"] for row in rows.values())
    error = math.sqrt(sum(row["stderr"] ** 2 for row in rows.values()))
    note = (f"token counts estimated from a {settings.count_sample_rate:.1%} sample: {total:,} ± {error:,.0f} "
            f"(1 s.e.); achieved tokens are estimates too: the pack manifest has the exact ones")
    return {"method": "sample", "sample_rate": settings.count_sample_rate, "sources": rows, "notes": [note]}


def _default_total(sources: list[SourceTokens], settings: MixSettings) -> int:
    """Without a budget: the most tokens the shares allow without repeating any group's data."""
    by_group = {group: sum(s.tokens for s in sources if s.group == group) for group in GROUPS}
    limits = [by_group[g] / share for g, share in settings.shares.items() if share > 0 and by_group[g] > 0]
    return max(1, int(min(limits))) if limits else 1
