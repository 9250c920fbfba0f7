import numpy as np
import pyarrow as pa
import pytest

from hephaestus.mix.exact import exact_copies, exact_replay, held_out, source_tokens


def _counts(rng: np.random.Generator, prefix: str, sources: list[str], n: int) -> pa.Table:
    picked = rng.choice(len(sources), n)
    return pa.table({"id": [f"{prefix}-{i}" for i in range(n)], "source": [sources[p] for p in picked],
                     "group": ["text" if sources[p].startswith("web") else "agent" for p in picked],
                     "tokens": rng.integers(1, 400, n)})


@pytest.fixture
def corpus() -> tuple[dict[str, pa.Table], dict[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    counts = {"a": _counts(rng, "a", ["web:x", "api:y"], 3000), "b": _counts(rng, "b", ["web:x", "api:z"], 2000)}
    held = {task: held_out(table.column("id"), seed=0, fraction=0.05) for task, table in counts.items()}
    return counts, held


def test_held_out_is_a_stable_hash_fraction(corpus):
    counts, held = corpus
    share = np.concatenate(list(held.values())).mean()
    assert 0.04 < share < 0.06
    assert np.array_equal(held["a"], held_out(counts["a"].column("id"), seed=0, fraction=0.05))
    assert not np.array_equal(held["a"], held_out(counts["a"].column("id"), seed=1, fraction=0.05))


def test_source_tokens_sum_training_documents_only(corpus):
    counts, held = corpus
    totals = {s.source: (s.group, s.tokens, s.documents) for s in source_tokens(counts, held)}
    for source in ("web:x", "api:y", "api:z"):
        tokens = documents = 0
        for task, table in counts.items():
            rows = (np.array(table.column("source").to_pylist()) == source) & ~held[task]
            tokens += int(table.column("tokens").to_numpy()[rows].sum())
            documents += int(rows.sum())
        assert totals[source][1:] == (tokens, documents)
    assert totals["web:x"][0] == "text" and totals["api:y"][0] == "agent"


def test_a_source_in_two_groups_is_named(corpus):
    counts, held = corpus
    mixed = counts["b"].set_column(2, "group", pa.array(["code"] * counts["b"].num_rows))
    with pytest.raises(ValueError, match="'web:x' has records in two mixture groups"):
        source_tokens({"a": counts["a"], "b": mixed}, held)


@pytest.mark.parametrize("rates", [{"web:x": 0.37, "api:y": 2.6, "api:z": 1.0}, {"web:x": 0.0, "api:y": 0.01},
                                   {"web:x": 1.3, "api:y": 0.45, "api:z": 0.55}])
def test_exact_copies_meet_each_group_quota_within_half_a_document(corpus, rates):
    counts, held = corpus
    copies = exact_copies(counts, held, rates, seed=3)
    assert {task: len(c) for task, c in copies.items()} == {task: t.num_rows for task, t in counts.items()}
    for task in counts:
        assert not copies[task][held[task]].any()
    largest = max(int(t.column("tokens").to_numpy().max()) for t in counts.values())
    by_group: dict[str, list[float]] = {}
    for source, group in (("web:x", "text"), ("api:y", "agent"), ("api:z", "agent")):
        taken = available = 0
        for task, table in counts.items():
            rows = (np.array(table.column("source").to_pylist()) == source) & ~held[task]
            tokens = table.column("tokens").to_numpy()[rows]
            taken += int((copies[task][rows] * tokens).sum())
            available += int(tokens.sum())
        wanted = rates.get(source, 0.0) * available
        assert abs(taken - wanted) <= largest  # a source: within a document (its own and what it carries on)
        by_group.setdefault(group, [0.0, 0.0])
        by_group[group][0] += taken
        by_group[group][1] += wanted
    for taken, wanted in by_group.values():
        assert abs(taken - wanted) <= largest / 2  # a group: within half a document, not one per source


def test_exact_copies_depend_on_the_seed_only(corpus):
    counts, held = corpus
    rates = {"web:x": 0.5, "api:y": 1.5, "api:z": 0.2}
    first = exact_copies(counts, held, rates, seed=1)
    again = exact_copies(dict(reversed(counts.items())), held, rates, seed=1)
    other = exact_copies(counts, held, rates, seed=2)
    assert all(np.array_equal(first[t], again[t]) for t in counts)
    assert not all(np.array_equal(first[t], other[t]) for t in counts)


@pytest.mark.parametrize("share", [0.1, 0.3])
def test_replay_takes_its_share_of_stage_two_from_general_documents(corpus, share):
    counts, held = corpus
    replay = exact_replay(counts, held, share, seed=0)
    seed_tokens = replayed = largest = 0
    for task, table in counts.items():
        groups, tokens = np.array(table.column("group").to_pylist()), table.column("tokens").to_numpy()
        assert not (replay[task] & (held[task] | (groups != "text"))).any()  # training text documents only
        seed_tokens += int(tokens[(groups == "agent") & ~held[task]].sum())
        replayed += int(tokens[replay[task]].sum())
        largest = max(largest, int(tokens.max()))
    assert abs(replayed - share / (1 - share) * seed_tokens) <= largest / 2
    assert not any(exact_replay(counts, held, 0.0, seed=0)[task].any() for task in counts)


def test_replay_takes_every_general_document_when_they_do_not_suffice(corpus):
    counts, held = corpus
    replay = exact_replay(counts, held, 0.99, seed=0)
    for task, table in counts.items():
        general = np.array(table.column("group").to_pylist()) == "text"
        assert np.array_equal(replay[task], general & ~held[task])


def test_rounding_is_carried_between_the_sources_of_a_group():
    rng = np.random.default_rng(5)
    sources = [f"api:{i:02d}" for i in range(30)]  # many small sources of a few large documents each
    ids = [f"d{i}" for i in range(6 * len(sources))]
    table = pa.table({"id": ids, "source": [s for s in sources for _ in range(6)], "group": ["agent"] * len(ids),
                      "tokens": rng.integers(50, 400, len(ids))})
    counts, held = {"a": table}, {"a": np.zeros(len(ids), bool)}
    for rate in (0.3, 0.5, 0.77):
        copies = exact_copies(counts, held, dict.fromkeys(sources, rate), seed=1)["a"]
        tokens = table.column("tokens").to_numpy()
        assert abs(int((copies * tokens).sum()) - rate * int(tokens.sum())) <= tokens.max() / 2
