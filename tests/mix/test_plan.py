import json
import math
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from hephaestus.mix.plan import (
    GROUPS,
    MixPlan,
    MixTarget,
    SourceTokens,
    achieved_report,
    copies,
    group_of,
    report_table,
    solve,
)
from hephaestus.records import record_id

SHARES = {"agent": 0.36, "text": 0.32, "code": 0.32}
Docs = dict[tuple[str, str], list[tuple[str, int]]]


def _available(docs: Docs) -> list[SourceTokens]:
    return [SourceTokens(source, group, sum(n for _, n in items), len(items))
            for (source, group), items in docs.items()]


def _taken(docs: Docs, plan: MixPlan, seed: int) -> dict[str, int]:
    """Tokens the selection takes: every worker would call `copies` on its own documents."""
    return {source: sum(copies(doc_id, plan.rates[source], seed) * n for doc_id, n in items)
            for (source, _), items in docs.items()}


def _share_sigma(docs: Docs, plan: MixPlan) -> dict[str, float]:
    """Predicted standard deviation of each group's achieved share: Var(tokens of s) = f(1-f)·Σ length²."""
    expected, total = plan.expected_tokens, sum(plan.expected_tokens.values())
    variance = {s: (f := plan.rates[s] % 1) * (1 - f) * sum(n * n for _, n in items) for (s, _), items in docs.items()}
    share = {g: sum(expected[s] for s, group in docs if group == g) / total for g in GROUPS}
    return {g: math.sqrt(sum(((group == g) - share[g]) ** 2 * variance[s] for s, group in docs)) / total
            for g in GROUPS}


def _deviations(docs: Docs, plan: MixPlan, seed: int) -> dict[str, float]:
    report = achieved_report(plan, _taken(docs, plan, seed))
    return {g: abs(row["achieved_share"] - row["target_share"]) for g, row in report["groups"].items()}


def test_group_of():
    assert [group_of("tool_doc", "openapi"), group_of("trajectory", "trajectories"), group_of("text", "web:retrieved"),
            group_of("code", "code"), group_of("text", "web:dclm")] == ["agent", "agent", "agent", "code", "text"]
    with pytest.raises(ValueError, match="kind 'video'"):
        group_of("video", "x")


@pytest.mark.parametrize(("changes", "message"), [
    ({"shares": {"agent": 0.36, "text": 0.32, "code": 0.22}}, "must sum to 1, not 0.9"),
    ({"shares": {"agent": 1.2, "text": -0.2}}, "share of 'text' is -0.2: shares must be finite and non-negative"),
    ({"shares": {"agent": 0.5, "math": 0.5}}, r"unknown group\(s\) \['math'\]"),
    ({"source_shares": {"openapi": -1.0}}, "share of 'openapi' is -1.0"),
    ({"total_tokens": 0}, "total_tokens must be positive"),
    ({"max_epochs": 0.5}, "max_epochs must be at least 1"),
    ({"on_shortfall": "drop"}, "on_shortfall must be one of"),
])
def test_invalid_targets_say_why(changes, message):
    with pytest.raises(ValueError, match=message):
        MixTarget(**{"shares": SHARES, "total_tokens": 1000, **changes})


def test_rates_hit_shares_and_total_exactly_when_data_suffice():
    available = [SourceTokens("openapi", "agent", 2_000, 10), SourceTokens("web:retrieved", "agent", 8_000, 40),
                 SourceTokens("web:dclm", "text", 500_000, 900), SourceTokens("code", "code", 100_000, 300)]
    plan = solve(available, MixTarget(shares=SHARES, total_tokens=100_000))
    assert plan.notes == []
    assert plan.rates["openapi"] == pytest.approx(3.6) and plan.rates["web:retrieved"] == pytest.approx(3.6)
    assert plan.rates["web:dclm"] == pytest.approx(0.064) and plan.rates["code"] == pytest.approx(0.32)
    assert sum(plan.expected_tokens.values()) == pytest.approx(100_000)
    assert plan.expected_shares == pytest.approx(SHARES)
    data = json.loads(plan.to_json())
    assert data["sources"]["openapi"]["rate"] == pytest.approx(3.6) and data["target"]["shares"] == SHARES


def test_selection_hits_shares_within_half_a_point():
    rng = np.random.default_rng(0)
    spec = [("python-api", "agent", 6_000, 5.0, 0.7), ("trajectories", "agent", 9_000, 6.0, 0.6),
            ("web:retrieved", "agent", 15_000, 6.2, 0.8), ("web:dclm", "text", 90_000, 6.0, 0.8),
            ("code", "code", 60_000, 5.5, 0.9)]
    docs = {(source, group): [(f"{source}/{i}", int(n)) for i, n in enumerate(np.ceil(rng.lognormal(mu, sigma, count)))]
            for source, group, count, mu, sigma in spec}
    source_shares = {"python-api": 0.2, "trajectories": 0.3, "web:retrieved": 0.5}
    plan = solve(_available(docs), MixTarget(shares=SHARES, total_tokens=60_000_000, source_shares=source_shares))
    assert plan.notes == [] and 3 < plan.rates["python-api"] < 4 and plan.rates["web:dclm"] < 0.5
    worst = max(max(_deviations(docs, plan, seed).values()) for seed in range(3))
    assert worst < 0.005, f"achieved shares {100 * worst:.3f} points from the target"
    console = Console(record=True, width=80)  # a terminal's width: nothing may be cut off
    console.print(report_table(achieved_report(plan, _taken(docs, plan, seed=0))))
    table = console.export_text()
    assert "trajectories" in table and "36.00%" in table and "…" not in table
    assert max(map(len, table.splitlines())) <= 80


def _paragraphs(path: Path) -> list[str]:
    texts = [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [line for text in texts for line in text.split("\n") if line.strip()]


def test_selection_on_real_document_lengths(shared_data):
    """Real paragraph lengths are heavy-tailed (one dclm line has 7,712 words), so 24k of them cannot pin shares to
    half a point; the check is that the selection is unbiased and deviates as much as Bernoulli selection predicts."""
    webtext = shared_data / "webtext"
    corpora = {("web:retrieved", "agent"): [webtext / "data-juicer-demos" / "stack_exchange.jsonl"],
               ("arxiv", "agent"): [webtext / "data-juicer-demos" / "arxiv.jsonl"],
               ("web:dclm", "text"): sorted((webtext / "dclm").glob("*.jsonl")),
               ("web:c4", "code"): [webtext / "llama-factory" / "c4_demo.jsonl"]}
    docs = {(source, group): [(record_id(source, p), len(p.split())) for path in paths for p in _paragraphs(path)]
            for (source, group), paths in corpora.items()}
    plan = solve(_available(docs), MixTarget(shares=SHARES, total_tokens=200_000))
    assert plan.notes == [] and plan.rates["web:retrieved"] > 1 > plan.rates["web:dclm"]
    sigma = _share_sigma(docs, plan)
    z = np.array([[deviation / sigma[g] for g, deviation in _deviations(docs, plan, seed).items()]
                  for seed in range(10)])
    assert z.max() < 4 and 0.5 < np.sqrt(np.mean(z**2)) < 1.5, z.round(2)


def test_short_source_is_repeated_to_the_cap_then_its_group_makes_up():
    available = [SourceTokens("trajectories", "agent", 1_000, 5), SourceTokens("openapi", "agent", 40_000, 50),
                 SourceTokens("web:dclm", "text", 200_000, 500), SourceTokens("code", "code", 200_000, 500)]
    target = MixTarget(shares=SHARES, total_tokens=100_000, source_shares={"trajectories": 0.5, "openapi": 0.5})
    plan = solve(available, target)
    assert plan.rates["trajectories"] == 4.0
    assert plan.expected_tokens["openapi"] == pytest.approx(36_000 - 4_000)
    assert plan.expected_shares == pytest.approx(SHARES)
    assert sum(plan.expected_tokens.values()) == pytest.approx(100_000)
    assert plan.notes[0].startswith("trajectories (agent) ran short: the target asks for 18,000 tokens, 4 epochs of its"
                                    " 1,000 give 4,000; short by 14,000 (77.8%)")
    assert plan.notes[1].startswith("openapi (agent) takes 14,000 tokens more")


def test_short_group_is_capped_then_shares_renormalised_keeping_the_total():
    available = [SourceTokens("trajectories", "agent", 2_000, 5), SourceTokens("web:retrieved", "agent", 3_000, 9),
                 SourceTokens("web:dclm", "text", 900_000, 500), SourceTokens("code", "code", 900_000, 500)]
    plan = solve(available, MixTarget(shares=SHARES, total_tokens=100_000))
    assert plan.rates["trajectories"] == plan.rates["web:retrieved"] == 4.0
    assert plan.expected_shares == pytest.approx({"agent": 0.2, "text": 0.4, "code": 0.4})
    assert sum(plan.expected_tokens.values()) == pytest.approx(100_000)
    text = "\n".join(plan.notes)
    assert "trajectories (agent) ran short" in text and "web:retrieved (agent) ran short" in text
    assert "group agent: share 36.00% → 20.00%" in text and "group text: share 32.00% → 40.00%" in text
    starved = solve([*available[:2], SourceTokens("code", "code", 10_000, 5)],
                    MixTarget(shares=SHARES, total_tokens=100_000))
    assert starved.expected_shares["text"] == 0 and sum(starved.expected_tokens.values()) == pytest.approx(60_000)
    assert "total: 100,000 → 60,000 tokens (every usable source is at its cap)" in starved.notes


def test_keep_shares_shrinks_the_total_instead():
    available = [SourceTokens("trajectories", "agent", 9_000, 5), SourceTokens("web:dclm", "text", 900_000, 500),
                 SourceTokens("code", "code", 900_000, 500)]
    plan = solve(available, MixTarget(shares=SHARES, total_tokens=200_000, on_shortfall="keep_shares"))
    assert plan.rates["trajectories"] == 4.0 and plan.expected_shares == pytest.approx(SHARES)
    assert sum(plan.expected_tokens.values()) == pytest.approx(100_000)
    assert plan.notes[0].startswith("trajectories (agent) ran short")
    assert plan.notes[-1] == "total: 200,000 → 100,000 tokens (to keep every share)"
    with pytest.raises(ValueError, match=r"keep_shares: \['code'\] have a target share but no tokens"):
        solve(available[:2], MixTarget(shares=SHARES, total_tokens=1_000, on_shortfall="keep_shares"))


def test_unnamed_sources_and_bad_inputs():
    available = [SourceTokens("openapi", "agent", 5_000, 5), SourceTokens("web:retrieved", "agent", 5_000, 5),
                 SourceTokens("web:dclm", "text", 9_000, 9), SourceTokens("code", "code", 9_000, 9)]
    plan = solve(available, MixTarget(shares=SHARES, total_tokens=10_000, source_shares={"openapi": 1.0}))
    assert plan.rates["web:retrieved"] == 0 and plan.rates["openapi"] == pytest.approx(0.72)
    assert "web:retrieved (agent) has no weight in source_shares: not used" in plan.notes
    with pytest.raises(ValueError, match=r"names source\(s\) \['github'\] that are not available"):
        solve(available, MixTarget(shares=SHARES, total_tokens=10, source_shares={"github": 1.0}))
    with pytest.raises(ValueError, match=r"listed more than once: \['code'\]"):
        solve([*available, available[-1]], MixTarget(shares=SHARES, total_tokens=10))
    with pytest.raises(ValueError, match=r"source\(s\) \['github'\] that are not in the plan"):
        achieved_report(plan, {"github": 3})
    with pytest.raises(ValueError, match="group 'math'"):
        SourceTokens("x", "math", 1, 1)


def test_copies_are_deterministic_per_seed():
    ids = [record_id("web:dclm", f"document {i}") for i in range(20_000)]
    first = [copies(doc_id, 2.3, seed=7) for doc_id in ids]
    assert first == [copies(doc_id, 2.3, seed=7) for doc_id in ids]
    other = [copies(doc_id, 2.3, seed=8) for doc_id in ids]
    assert set(first) == set(other) == {2, 3} and first != other
    assert sum(a != b for a, b in zip(first, other, strict=True)) == pytest.approx(2 * 0.3 * 0.7 * len(ids), rel=0.1)
    assert np.mean(first) == pytest.approx(2.3, abs=0.01)
    assert {copies(doc_id, 0.0, 1) for doc_id in ids} == {0} and {copies(doc_id, 4.0, 1) for doc_id in ids} == {4}
    with pytest.raises(ValueError, match="rate must be finite and non-negative"):
        copies("x", -0.1, 0)
