"""Mixture planning: per-source sampling rates that hit the agent/text/code shares and a token budget.

A source's rate r is how many times its tokens are taken: r < 1 subsamples, r > 1 repeats (at most
`max_epochs` times). `copies` turns a rate into a per-document count from a hash of the document id, so
workers select the same mixture without talking to each other.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from itertools import chain
from typing import Any, Literal

import xxhash
from rich import box
from rich.table import Table

from hephaestus.records import KINDS

GROUPS = ("agent", "text", "code")
RETRIEVED = "web:retrieved"
SHORTFALL_POLICIES = ("keep_total", "keep_shares")


def group_of(kind: str, source: str) -> str:
    """Mixture group of a record: tool docs, trajectories and retrieved web documents are agent data."""
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    return "agent" if kind in ("tool_doc", "trajectory") or source == RETRIEVED else kind


def mixed_groups(source: str, first: str, second: str) -> ValueError:
    """The error for a source whose records fall in two mixture groups (the plan gives each source one)."""
    return ValueError(f"source {source!r} has records in two mixture groups ({first}, {second}): "
                      "give them different sources")


def hash_fraction(key: str, seed: int) -> float:
    """A number in [0, 1), uniform over keys, fixed by the key and seed (xxh3-64)."""
    return xxhash.xxh3_64_intdigest(key.encode(), seed=seed) / 2.0**64


def copies(doc_id: str, rate: float, seed: int) -> int:
    """Times a document enters the mixture: floor(rate), plus one when its hash falls below frac(rate)."""
    if not (math.isfinite(rate) and rate >= 0):
        raise ValueError(f"rate must be finite and non-negative, not {rate}")
    whole = math.floor(rate)
    return whole + int(hash_fraction(doc_id, seed) < rate - whole)


@dataclass(frozen=True)
class SourceTokens:
    """What one source offers the mixture."""

    source: str
    group: str
    tokens: int
    documents: int

    def __post_init__(self) -> None:
        if self.group not in GROUPS:
            raise ValueError(f"source {self.source!r}: group {self.group!r} is not one of {', '.join(GROUPS)}")
        if self.tokens < 0 or self.documents < 0:
            raise ValueError(f"source {self.source!r}: tokens and documents must be non-negative")


@dataclass(frozen=True, kw_only=True)
class MixTarget:
    """Group shares summing to 1, a token budget, an epoch cap, and what gives when data run short.

    `source_shares` weighs sources within their group; a group naming none splits by available tokens,
    and in a group naming some the unnamed sources get nothing. `on_shortfall="keep_total"` holds the
    budget: a short source is capped and the others absorb its deficit, first within its group, then the
    other groups in proportion to their shares. `"keep_shares"` shrinks the total until every source fits.
    """

    shares: dict[str, float]
    total_tokens: int
    source_shares: dict[str, float] | None = None
    max_epochs: float = 4.0
    on_shortfall: Literal["keep_total", "keep_shares"] = "keep_total"

    def __post_init__(self) -> None:
        if unknown := sorted(set(self.shares) - set(GROUPS)):
            raise ValueError(f"unknown group(s) {unknown} in shares: groups are {', '.join(GROUPS)}")
        for name, value in chain(self.shares.items(), (self.source_shares or {}).items()):
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"share of {name!r} is {value}: shares must be finite and non-negative")
        if abs(sum(self.shares.values()) - 1) > 1e-6:
            raise ValueError(f"group shares must sum to 1, not {sum(self.shares.values()):.6g}: {self.shares}")
        if self.total_tokens <= 0:
            raise ValueError(f"total_tokens must be positive, not {self.total_tokens}")
        if not self.max_epochs >= 1:
            raise ValueError(f"max_epochs must be at least 1, not {self.max_epochs}")
        if self.on_shortfall not in SHORTFALL_POLICIES:
            raise ValueError(f"on_shortfall must be one of {', '.join(SHORTFALL_POLICIES)}, not {self.on_shortfall!r}")


@dataclass
class MixPlan:
    """Per-source sampling rates, with notes on what ran short and how the plan made up for it."""

    target: MixTarget
    sources: list[SourceTokens]
    rates: dict[str, float]
    notes: list[str] = field(default_factory=list)

    @property
    def expected_tokens(self) -> dict[str, float]:
        return {s.source: self.rates[s.source] * s.tokens for s in self.sources}

    @property
    def expected_shares(self) -> dict[str, float]:
        by_group = _by_group(self.sources, self.expected_tokens)
        return {g: _ratio(tokens, sum(by_group.values())) for g, tokens in by_group.items()}

    def to_json(self) -> str:
        report = {"target": asdict(self.target), **_summary(self), "notes": self.notes}
        return json.dumps(report, indent=2, ensure_ascii=False)


def solve(available: list[SourceTokens], target: MixTarget) -> MixPlan:
    """Rates whose expected tokens hit the target shares and total; shortfalls are capped, then renormalised."""
    names = [s.source for s in available]
    if twice := sorted({name for name in names if names.count(name) > 1}):
        raise ValueError(f"sources listed more than once: {twice}")
    if unknown := sorted(set(target.source_shares or {}) - set(names)):
        raise ValueError(f"source_shares names source(s) {unknown} that are not available")
    weights = _weights(available, target.source_shares or {})
    caps = {s.source: target.max_epochs * s.tokens for s in available}
    wanted = {s.source: target.total_tokens * target.shares.get(s.group, 0.0) * weights[s.source] for s in available}
    planned = (_keep_shares if target.on_shortfall == "keep_shares" else _keep_total)(available, target, weights, caps)
    rates = {s.source: min(planned[s.source] / s.tokens, target.max_epochs) if s.tokens else 0.0 for s in available}
    plan = MixPlan(target, list(available), rates)
    plan.notes.extend(_notes(plan, wanted, caps, weights))
    return plan


def _weights(available: list[SourceTokens], source_shares: Mapping[str, float]) -> dict[str, float]:
    named = {s.group for s in available if s.source in source_shares}
    raw = {s.source: source_shares.get(s.source, 0.0) if s.group in named else float(s.tokens) for s in available}
    sums = {g: sum(raw[s.source] for s in available if s.group == g) for g in GROUPS}
    return {s.source: _ratio(raw[s.source], sums[s.group]) for s in available}


def _waterfill(amount: float, weights: Mapping[str, float], caps: Mapping[str, float]) -> dict[str, float]:
    """Split amount in proportion to weights, none above its cap; what a capped key can't take goes to the rest."""
    filled = dict.fromkeys(weights, 0.0)
    free = [key for key, weight in weights.items() if weight > 0]
    while free and amount > 0:
        scale = amount / sum(weights[key] for key in free)
        full = [key for key in free if scale * weights[key] >= caps[key]]
        if not full:
            filled.update({key: scale * weights[key] for key in free})
            break
        filled.update({key: caps[key] for key in full})
        amount -= sum(caps[key] for key in full)
        free = [key for key in free if key not in full]
    return filled


def _keep_total(available: list[SourceTokens], target: MixTarget, weights: Mapping[str, float],
                caps: Mapping[str, float]) -> dict[str, float]:
    group_caps = {g: sum(caps[s.source] for s in available if s.group == g and weights[s.source]) for g in GROUPS}
    per_group = _waterfill(target.total_tokens, {g: target.shares.get(g, 0.0) for g in GROUPS}, group_caps)
    planned: dict[str, float] = {}
    for g in GROUPS:
        members = [s.source for s in available if s.group == g]
        planned |= _waterfill(per_group[g], {m: weights[m] for m in members}, {m: caps[m] for m in members})
    return planned


def _keep_shares(available: list[SourceTokens], target: MixTarget, weights: Mapping[str, float],
                 caps: Mapping[str, float]) -> dict[str, float]:
    parts = {s.source: target.shares.get(s.group, 0.0) * weights[s.source] for s in available}
    empty = [g for g in GROUPS if target.shares.get(g) and not any(parts[s.source] for s in available if s.group == g)]
    empty += [name for name, part in parts.items() if part and not caps[name]]
    if empty:
        raise ValueError(f"keep_shares: {empty} have a target share but no tokens (keep_total renormalises instead)")
    total = min([target.total_tokens, *(caps[name] / part for name, part in parts.items() if part)])
    return {name: total * part for name, part in parts.items()}


def _notes(plan: MixPlan, wanted: Mapping[str, float], caps: Mapping[str, float],
           weights: Mapping[str, float]) -> list[str]:
    target, expected, notes = plan.target, plan.expected_tokens, []
    tolerance = 1e-9 * target.total_tokens
    for s in plan.sources:
        want, got, cap, rate = wanted[s.source], expected[s.source], caps[s.source], plan.rates[s.source]
        if want > cap + tolerance:
            notes.append(f"{s.source} ({s.group}) ran short: the target asks for {want:,.0f} tokens,"
                         f" {target.max_epochs:g} epochs of its {s.tokens:,} give {cap:,.0f};"
                         f" short by {want - cap:,.0f} ({(want - cap) / want:.1%}), rate {rate:.3f}")
        elif got > want + tolerance:
            notes.append(f"{s.source} ({s.group}) takes {got - want:,.0f} tokens more than its share to cover the"
                         f" shortfall (rate {rate:.3f})")
        elif not weights[s.source] and s.tokens and target.shares.get(s.group):
            notes.append(f"{s.source} ({s.group}) has no weight in source_shares: not used")
    for g, share in plan.expected_shares.items():
        if abs(share - target.shares.get(g, 0.0)) > 1e-9:
            notes.append(f"group {g}: share {target.shares.get(g, 0.0):.2%} → {share:.2%}")
    if (total := sum(expected.values())) < target.total_tokens - tolerance:
        why = "to keep every share" if target.on_shortfall == "keep_shares" else "every usable source is at its cap"
        notes.append(f"total: {target.total_tokens:,} → {total:,.0f} tokens ({why})")
    return notes


def _ratio(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def _by_group(sources: list[SourceTokens], tokens: Mapping[str, float]) -> dict[str, float]:
    return {g: sum(tokens[s.source] for s in sources if s.group == g) for g in GROUPS}


def _summary(plan: MixPlan) -> dict[str, Any]:
    expected, target = plan.expected_tokens, plan.target
    total, by_group = sum(expected.values()), _by_group(plan.sources, expected)
    return {
        "total": {"target_tokens": target.total_tokens, "expected_tokens": total},
        "groups": {g: {"target_share": target.shares.get(g, 0.0), "expected_share": _ratio(by_group[g], total),
                       "target_tokens": target.shares.get(g, 0.0) * target.total_tokens, "expected_tokens": by_group[g]}
                   for g in GROUPS},
        "sources": {s.source: {"group": s.group, "available_tokens": s.tokens, "documents": s.documents,
                               "rate": plan.rates[s.source], "expected_tokens": expected[s.source],
                               "expected_share": _ratio(expected[s.source], total)} for s in plan.sources},
    }


def achieved_report(plan: MixPlan, taken: Mapping[str, float]) -> dict[str, Any]:
    """Target, expected and achieved tokens and shares per group and source, from the tokens actually taken."""
    if unknown := sorted(set(taken) - set(plan.rates)):
        raise ValueError(f"tokens taken from source(s) {unknown} that are not in the plan")
    got = {s.source: float(taken.get(s.source, 0)) for s in plan.sources}
    report, total = _summary(plan), sum(got.values())
    report["total"]["achieved_tokens"] = total
    for section, tokens in (("groups", _by_group(plan.sources, got)), ("sources", got)):
        for name, value in tokens.items():
            report[section][name] |= {"achieved_tokens": value, "achieved_share": _ratio(value, total)}
    return report


def report_table(report: Mapping[str, Any]) -> Table:
    """Render an achieved_report: per group the target share and tokens against what was taken, per source the
    plan's (rate × available tokens); Δ in percentage points. Narrow enough for an 80-column terminal."""
    table = Table("", "group", "rate", "target", "achieved", "Δ pp", "tokens", "achieved",
                  title="stage I mixture: shares and tokens (for a source, target = planned)", box=box.SIMPLE_HEAD,
                  pad_edge=False, collapse_padding=True)
    table.columns[0].overflow, table.columns[0].min_width, table.columns[1].min_width = "fold", 16, 5
    for column in table.columns[2:]:
        column.justify, column.no_wrap = "right", True
    for section, share, tokens in (("groups", "target_share", "target_tokens"),
                                   ("sources", "expected_share", "expected_tokens")):
        for name, row in report[section].items():
            table.add_row(name, row.get("group", ""), _cell(row, "rate", ".3f"), f"{row[share]:.2%}",
                          f"{row['achieved_share']:.2%}", f"{100 * (row['achieved_share'] - row[share]):+.2f}",
                          _compact(row[tokens]), _compact(row["achieved_tokens"]))
        table.add_section()
    total = report["total"]
    table.add_row("total", *[""] * 5, *(_compact(total[key]) for key in ("target_tokens", "achieved_tokens")))
    return table


def _compact(tokens: float) -> str:
    """1,234 -> '1.2k'; 5,600,000 -> '5.60M' (the report's JSON keeps the exact counts)."""
    for unit, scale in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(tokens) >= scale:
            return f"{tokens / scale:.3g}{unit}" if tokens / scale < 100 else f"{tokens / scale:,.0f}{unit}"
    return f"{tokens:,.0f}"


def _cell(row: Mapping[str, Any], key: str, spec: str) -> str:
    return format(row[key], spec) if key in row else ""
