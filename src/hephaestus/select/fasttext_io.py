"""fastText input lines and the trained agent-relevance model: load it and score texts with P(agent)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import fasttext
import numpy as np

from hephaestus.curate.clean import WORD

AGENT, GENERAL = "__label__agent", "__label__general"
MAX_CHARS = 10_000
MAX_TOKENS = 1_024


def prepare_line(text: str, max_chars: int = MAX_CHARS, max_tokens: int = MAX_TOKENS) -> str:
    """One line of fastText input: lowercase words and punctuation runs joined by single spaces, truncated."""
    return " ".join(WORD.findall(text[:max_chars].lower())[:max_tokens])


class AgentClassifier:
    """A supervised fastText model with the labels agent and general; scores are P(agent)."""

    def __init__(self, model: Any) -> None:
        if set(model.labels) != {AGENT, GENERAL}:
            raise ValueError(f"model labels {model.labels} are not {AGENT!r} and {GENERAL!r}")
        self.model = model

    @classmethod
    def load(cls, path: str | Path) -> AgentClassifier:
        """Load a `.bin` model or a quantized `.ftz` one written by `train_classifier`."""
        if not Path(path).is_file():
            raise FileNotFoundError(f"no fastText model at {path}")
        return cls(fasttext.load_model(str(path)))

    def score(self, texts: Iterable[str]) -> np.ndarray:
        """P(agent) of each text, as float64."""
        return self.score_lines([prepare_line(text) for text in texts])

    def score_lines(self, lines: list[str]) -> np.ndarray:
        """P(agent) of lines made by `prepare_line`, in one batched fastText call."""
        if not lines:
            return np.zeros(0)
        labels, probs = self.model.predict(lines, k=2)
        probs = np.vstack(probs).astype(np.float64)  # per row: both labels, the more probable first
        agent_first = np.fromiter((row[0] == AGENT for row in labels), dtype=bool, count=len(lines))
        return np.clip(np.where(agent_first, probs[:, 0], probs[:, 1]), 0.0, 1.0)
