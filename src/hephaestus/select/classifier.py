"""Agent-relevance classifier: fastText, agent-relevant (positive) vs general text (Hephaestus, Table 6).

`train_classifier` splits the examples deterministically (a seeded hash of each prepared line, per class),
downsamples the larger class of the training part, trains a supervised fastText model, saves it and reports
accuracy, precision, recall and F1 on the held-out part. `AgentClassifier.score` gives P(agent).
With `threads=1` training is bit-for-bit reproducible; with more, fastText's lock-free updates make the
weights differ slightly between runs.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import fasttext
import numpy as np
import xxhash

from hephaestus.select.fasttext_io import AGENT, GENERAL, AgentClassifier, prepare_line

__all__ = ["MIN_PER_CLASS", "AgentClassifier", "binary_metrics", "prepare_line", "train_classifier"]

MIN_PER_CLASS = 10
MODEL_NAME = "agent_classifier"


def split_key(line: str, seed: int) -> int:
    """The seeded hash that orders examples: each class holds out its first ones."""
    return xxhash.xxh3_64_intdigest(line.encode(), seed=seed)


def _distinct_lines(texts: Iterable[str]) -> set[str]:
    return {line for line in map(prepare_line, texts) if line}


def split_examples(
    agent: set[str], general: set[str], holdout: float, seed: int, balance: bool
) -> tuple[dict[str, list[str]], dict[str, list[str]], int]:
    """(train, held_out, dropped): lines per label; `dropped` training lines went to balance the classes."""
    train, held_out = {}, {}
    for label, lines in ((AGENT, agent), (GENERAL, general)):
        ordered = sorted(lines, key=lambda line: (split_key(line, seed), line))
        cut = min(len(ordered) - 1, max(1, round(holdout * len(ordered))))
        held_out[label], train[label] = ordered[:cut], ordered[cut:]
    if not balance:
        return train, held_out, 0
    size = min(map(len, train.values()))
    return {label: lines[:size] for label, lines in train.items()}, held_out, sum(map(len, train.values())) - 2 * size


def train_classifier(
    positives: Iterable[str],
    negatives: Iterable[str],
    *,
    workdir: Path,
    holdout: float = 0.2,
    seed: int = 0,
    epoch: int = 10,
    lr: float = 0.5,
    word_ngrams: int = 2,
    dim: int = 64,
    bucket: int = 200_000,
    min_count: int = 1,
    threads: int = 2,
    balance: bool = True,
    threshold: float = 0.5,
    quantize: bool = False,
    cutoff: int = 20_000,
) -> tuple[AgentClassifier, dict[str, Any]]:
    """Train on agent texts (positives) vs general texts (negatives); write the model and `metrics.json`.

    Texts are deduplicated after `prepare_line` and a line found in both classes is dropped. Each class
    holds out the `holdout` share with the smallest seeded hash, so a text lands on the same side in every
    run. With `balance` the larger class's training part is cut to the smaller one's size (the held-out part
    keeps its natural balance). `quantize` also writes a `.ftz` that keeps the `cutoff` most important
    rows (retrained; quantizing costs about 1 s per 1,000 rows); the metrics are then the `.ftz` model's.
    """
    if not 0 < holdout < 1:
        raise ValueError(f"holdout must be between 0 and 1, got {holdout}")
    agent, general = _distinct_lines(positives), _distinct_lines(negatives)
    conflicts = agent & general
    agent, general = agent - conflicts, general - conflicts
    if min(len(agent), len(general)) < MIN_PER_CLASS:
        raise ValueError(f"need at least {MIN_PER_CLASS} distinct examples per class, got "
                         f"{len(agent)} agent and {len(general)} general")
    train, held_out, dropped = split_examples(agent, general, holdout, seed, balance)
    examples = sorted(((label, line) for label, lines in train.items() for line in lines),
                      key=lambda pair: (split_key(pair[1], seed + 1), pair))  # a seeded shuffle of both classes
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    params = {"epoch": epoch, "lr": lr, "wordNgrams": word_ngrams, "dim": dim, "bucket": bucket,
              "minCount": min_count, "thread": threads, "seed": seed}
    model_path = workdir / f"{MODEL_NAME}.{'ftz' if quantize else 'bin'}"
    with tempfile.TemporaryDirectory(dir=workdir, prefix="fasttext-") as tmp:
        train_path = Path(tmp) / "train.txt"
        with train_path.open("w", encoding="utf-8") as file:
            file.writelines(f"{label} {line}\n" for label, line in examples)
        try:
            model = fasttext.train_supervised(input=str(train_path), loss="softmax", verbose=0, **params)
        except RuntimeError as error:  # fasttext-numpy2 0.10.4 hits NaN at random with small bucket * dim
            raise RuntimeError(f"fastText training failed ({error}) with {params}; a larger bucket or a "
                               "lower lr may help") from None
        model.save_model(str(workdir / f"{MODEL_NAME}.bin"))
        if quantize:
            model.quantize(input=str(train_path), cutoff=cutoff, retrain=True, thread=threads)
            model.save_model(str(model_path))
    classifier = AgentClassifier(model)
    truth = np.repeat([True, False], [len(held_out[AGENT]), len(held_out[GENERAL])])
    metrics = {
        **binary_metrics(classifier.score_lines(held_out[AGENT] + held_out[GENERAL]), truth, threshold),
        "counts": {
            "train": {"agent": len(train[AGENT]), "general": len(train[GENERAL])},
            "held_out": {"agent": len(held_out[AGENT]), "general": len(held_out[GENERAL])},
            "dropped": {"conflicting": len(conflicts), "balancing": dropped},
        },
        "params": {**params, "holdout": holdout, "balance": balance, "quantize": quantize, "cutoff": cutoff},
        "model": str(model_path),
    }
    (workdir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    return classifier, metrics


def binary_metrics(scores: np.ndarray, truth: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """Accuracy, precision, recall and F1 of the positive class, which is predicted when score >= threshold."""
    predicted = scores >= threshold
    tp = int(np.sum(predicted & truth))
    precision = tp / max(1, int(predicted.sum()))
    recall = tp / max(1, int(truth.sum()))
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"accuracy": float(np.mean(predicted == truth)), "precision": precision, "recall": recall,
            "f1": f1, "threshold": threshold}
