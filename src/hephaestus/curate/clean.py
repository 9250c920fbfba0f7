"""Normalisation and Gopher / C4-style heuristic quality filters, with lighter rules for code and APIs.

`quality_reason(text, rules)` returns the name of the first rule a document breaks (the drop reason)
or None. Thresholds follow the Gopher paper (Rae et al., 2021, appendix A) and C4 (Raffel et al.,
2020) for prose; code, tool documentation and trajectories get rules that do not punish symbols,
short lines or repetition that is normal there.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\ufeff]")
SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u3000]+")
BLANK_LINES = re.compile(r"\n{3,}")
WORD = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]+")
STOP_WORDS = frozenset({"the", "be", "to", "of", "and", "that", "have", "with"})
BULLETS = ("•", "●", "○", "■", "□", "▪", "-", "*", "–", "—", "·")


def normalise(text: str, keep_indentation: bool = False) -> str:
    """NFC, no control or zero-width characters, unified newlines, collapsed runs of spaces."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = CONTROL.sub("", text)
    if keep_indentation:  # code: only trailing spaces go
        text = "\n".join(line.rstrip() for line in text.split("\n"))
    else:
        text = "\n".join(SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return BLANK_LINES.sub("\n\n", text).strip()


@dataclass(frozen=True)
class QualityRules:
    """Thresholds of one kind of document; None switches a rule off."""

    min_words: int | None = 50
    max_words: int | None = 100_000
    min_mean_word_length: float | None = 3.0
    max_mean_word_length: float | None = 10.0
    max_symbol_word_ratio: float | None = 0.1
    max_bullet_lines: float | None = 0.9
    max_ellipsis_lines: float | None = 0.3
    min_alpha_words: float | None = 0.8
    min_stop_words: int | None = 2
    max_duplicate_lines: float | None = 0.3
    max_duplicate_line_chars: float | None = 0.2
    max_top_2gram_chars: float | None = 0.2
    max_top_3gram_chars: float | None = 0.18
    max_top_4gram_chars: float | None = 0.16
    max_mean_line_length: float | None = None
    min_alnum_chars: float | None = None
    lorem_ipsum: bool = True


PROSE = QualityRules()
CODE = QualityRules(min_words=5, max_words=None, min_mean_word_length=None, max_mean_word_length=None,
                    max_symbol_word_ratio=None, max_bullet_lines=None, max_ellipsis_lines=None, min_alpha_words=None,
                    min_stop_words=None, max_duplicate_lines=0.6, max_duplicate_line_chars=0.5,
                    max_top_2gram_chars=None, max_top_3gram_chars=None, max_top_4gram_chars=None,
                    max_mean_line_length=200.0, min_alnum_chars=0.25, lorem_ipsum=False)
TOOL_DOC = QualityRules(min_words=3, max_words=None, min_mean_word_length=None, max_mean_word_length=None,
                        max_symbol_word_ratio=None, max_bullet_lines=None, max_ellipsis_lines=None,
                        min_alpha_words=None, min_stop_words=None, max_duplicate_lines=None,
                        max_duplicate_line_chars=None, max_top_2gram_chars=None, max_top_3gram_chars=None,
                        max_top_4gram_chars=None, min_alnum_chars=0.25, lorem_ipsum=False)
TRAJECTORY = QualityRules(**{**TOOL_DOC.__dict__, "min_words": 5})
RULES_BY_KIND = {"text": PROSE, "code": CODE, "tool_doc": TOOL_DOC, "trajectory": TRAJECTORY}


def _top_ngram_chars(words: list[str], n: int, total_chars: int) -> float:
    grams = Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))
    if not grams:
        return 0.0
    gram, count = grams.most_common(1)[0]
    return 0.0 if count < 2 else sum(map(len, gram)) * count / total_chars


def quality_reason(text: str, rules: QualityRules) -> str | None:
    """The first rule the document breaks (a snake_case drop reason), or None when it passes."""
    words = [w for w in WORD.findall(text) if any(c.isalnum() for c in w) or w in ("#", "...", "…")]
    n = len(words)
    if rules.min_words is not None and n < rules.min_words:
        return "too_few_words"
    if rules.max_words is not None and n > rules.max_words:
        return "too_many_words"
    lines = [line for line in text.split("\n") if line.strip()]
    if rules.max_mean_line_length is not None and lines and len(text) / len(lines) > rules.max_mean_line_length:
        return "long_lines"
    if rules.min_alnum_chars is not None and sum(c.isalnum() for c in text) < rules.min_alnum_chars * len(text):
        return "few_alphanumerics"
    if rules.lorem_ipsum and "lorem ipsum" in text.lower():
        return "lorem_ipsum"
    if n:
        reason = _word_rules(words, rules) or _line_rules(lines, rules) or _repetition_rules(words, lines, rules)
        if reason:
            return reason
    return None


def _word_rules(words: list[str], rules: QualityRules) -> str | None:
    real = [w for w in words if w not in ("#", "...", "…")]
    mean = sum(map(len, real)) / max(1, len(real))
    if rules.min_mean_word_length is not None and mean < rules.min_mean_word_length:
        return "short_words"
    if rules.max_mean_word_length is not None and mean > rules.max_mean_word_length:
        return "long_words"
    symbols = sum(1 for w in words if w in ("#", "...", "…"))
    if rules.max_symbol_word_ratio is not None and symbols / len(words) > rules.max_symbol_word_ratio:
        return "symbol_ratio"
    if rules.min_alpha_words is not None and sum(any(c.isalpha() for c in w) for w in words) < (
            rules.min_alpha_words * len(words)):
        return "few_alphabetic_words"
    if rules.min_stop_words is not None and len(STOP_WORDS.intersection(w.lower() for w in words)) < (
            rules.min_stop_words):
        return "few_stop_words"
    return None


def _line_rules(lines: list[str], rules: QualityRules) -> str | None:
    if not lines:
        return None
    if rules.max_bullet_lines is not None and sum(line.lstrip().startswith(BULLETS) for line in lines) > (
            rules.max_bullet_lines * len(lines)):
        return "bullet_lines"
    if rules.max_ellipsis_lines is not None and sum(line.rstrip().endswith(("...", "…")) for line in lines) > (
            rules.max_ellipsis_lines * len(lines)):
        return "ellipsis_lines"
    return None


def _repetition_rules(words: list[str], lines: list[str], rules: QualityRules) -> str | None:
    seen: set[str] = set()
    duplicated = []  # repeats of a line seen before (the first occurrence is not a duplicate)
    for line in lines:
        if line in seen:
            duplicated.append(line)
        seen.add(line)
    if rules.max_duplicate_lines is not None and len(duplicated) > rules.max_duplicate_lines * len(lines):
        return "duplicate_lines"
    total_chars = sum(map(len, lines))
    if rules.max_duplicate_line_chars is not None and sum(map(len, duplicated)) > (
            rules.max_duplicate_line_chars * total_chars):
        return "duplicate_line_chars"
    word_chars = sum(map(len, words))
    for n, limit in ((2, rules.max_top_2gram_chars), (3, rules.max_top_3gram_chars), (4, rules.max_top_4gram_chars)):
        if limit is not None and _top_ngram_chars(words, n, word_chars) > limit:
            return f"top_{n}gram"
    return None
