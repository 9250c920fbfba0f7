import json
from functools import cache

import numpy as np
import pytest
from tokenizers import Tokenizer, models, pre_tokenizers, trainers

from hephaestus.mix.count import TokenCount, count_tokens


def _split(texts: list[str]) -> list[list[int]]:
    return [[0] * len(text.split()) for text in texts]


@cache
def _synthetic() -> list[tuple[str, str]]:
    """4,000 documents whose lengths and tokens-per-character vary, like a real corpus."""
    rng = np.random.default_rng(1)
    vocabulary = ["a", "of", "token", "agent", "documentation", "internationalisation", "x1", "retrieval"]
    weights = rng.dirichlet(np.ones(len(vocabulary)), size=4_000)
    return [("web", " ".join(rng.choice(vocabulary, size=int(rng.lognormal(4, 1)) + 1, p=w))) for w in weights]


def _check_within_error(pairs: list[tuple[str, str]], encode, rates: list[float], seeds: range) -> float:
    """Every estimate lies within 4 standard errors of the exact count; returns how often the 95% interval held it."""
    exact = count_tokens(pairs, encode)
    inside = 0
    for rate in rates:
        for seed in seeds:
            for source, estimate in count_tokens(pairs, encode, rate, seed, head=20).items():
                truth = exact[source].tokens
                assert not estimate.exact and estimate.sampled < estimate.documents
                assert (estimate.documents, estimate.characters) == (exact[source].documents, exact[source].characters)
                assert abs(estimate.tokens - truth) < 4 * estimate.stderr, (source, rate, seed, estimate, truth)
                low, high = estimate.interval()
                inside += low <= truth <= high
    return inside / (len(rates) * len(seeds) * len(exact))


def test_exact_count_in_batches():
    calls = []

    def encode(texts):
        calls.append(len(texts))
        return _split(texts)

    pairs = [("code", "def f(x): return x"), ("web", "one two three"), ("web", "four"), ("code", "pass")] * 2
    counts = count_tokens(pairs, encode, batch_size=3)
    assert counts["web"] == TokenCount(tokens=8, exact=True, stderr=0.0, documents=4, characters=34, sampled=4)
    assert counts["code"].tokens == 10 and counts["code"].interval() == (10, 10)
    assert calls == [3, 3, 2]


def test_sources_within_the_head_stay_exact_when_sampled():
    pairs = [("small", f"word {i} " * i) for i in range(1, 50)] + _synthetic()
    counts = count_tokens(pairs, _split, sample_rate=0.1, head=100)
    assert counts["small"] == count_tokens(pairs[:49], _split)["small"]
    assert not counts["web"].exact and 100 + 300 < counts["web"].sampled < 100 + 500


def test_sampled_estimate_is_within_its_stated_error():
    assert _check_within_error(_synthetic(), _split, rates=[0.05, 0.2], seeds=range(10)) >= 0.85


def test_sampled_estimate_on_real_text_with_words_and_bpe(shared_data):
    webtext = shared_data / "webtext"
    news = [("news", path.read_text(encoding="utf-8", errors="replace"))
            for path in sorted((webtext / "bbc-news-articles").rglob("*.txt"))]
    dclm = (json.loads(line)["text"] for path in sorted((webtext / "dclm").glob("*.jsonl"))
            for line in path.read_text(encoding="utf-8").splitlines())
    web = [("web:dclm", text) for text in dict.fromkeys(dclm)]  # its two files share 281 documents; curate dedups
    assert _check_within_error(news + web, _split, rates=[0.1, 0.3], seeds=range(5)) >= 0.8
    c4 = [("web:c4", json.loads(line)["text"])
          for line in (webtext / "llama-factory" / "c4_demo.jsonl").read_text(encoding="utf-8").splitlines()]
    tokenizer = Tokenizer(models.BPE(unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.train_from_iterator([text for _, text in web[:100]], trainers.BpeTrainer(vocab_size=800,
                                                                                         special_tokens=["[UNK]"]))

    def encode(texts):
        return [encoding.ids for encoding in tokenizer.encode_batch(texts)]

    _check_within_error(c4[:150], encode, rates=[0.2], seeds=range(3))


def test_counts_of_shards_add():
    pairs = _synthetic()
    whole = count_tokens(pairs, _split)["web"]
    halves = [count_tokens(part, _split, sample_rate=0.2)["web"] for part in (pairs[:1_000], pairs[1_000:])]
    merged = halves[0] + halves[1]
    assert (merged.documents, merged.characters, merged.exact) == (whole.documents, whole.characters, False)
    assert merged.stderr == pytest.approx(np.hypot(halves[0].stderr, halves[1].stderr))
    assert abs(merged.tokens - whole.tokens) < 4 * merged.stderr
    assert count_tokens(pairs[:1_000], _split)["web"] + count_tokens(pairs[1_000:], _split)["web"] == whole


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"sample_rate must be in \(0, 1\]"):
        count_tokens([("web", "x")], _split, sample_rate=0)
    with pytest.raises(ValueError, match="encode_batch returned 0 encodings for 1 texts"):
        count_tokens([("web", "x")], lambda texts: [])
