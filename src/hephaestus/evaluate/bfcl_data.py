"""BFCL test items of the AST categories, read from the data files of the installed bfcl-eval package.

Each category file `BFCL_v4_<category>.json` (JSON lines) holds the questions and function docs; the
ground truth of the categories that have one is in `possible_answer/BFCL_v4_<category>.json`, matched by id.
The AST categories are single-turn: an item's messages are the first (only) turn of its `question`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hephaestus.curate.benchmarks import BFCL_PREFIX, bfcl_data_dir
from hephaestus.io.readers import Rejected, iter_jsonl

NON_LIVE_CATEGORIES = ("simple_python", "simple_java", "simple_javascript", "multiple", "parallel",
                       "parallel_multiple", "irrelevance")
LIVE_CATEGORIES = ("live_simple", "live_multiple", "live_parallel", "live_parallel_multiple", "live_irrelevance")
AST_CATEGORIES: tuple[str, ...] = NON_LIVE_CATEGORIES + LIVE_CATEGORIES
IRRELEVANCE_CATEGORIES = frozenset({"irrelevance", "live_irrelevance"})  # no ground truth: correct = no call


@dataclass(frozen=True)
class BfclItem:
    """One BFCL question: its messages, the function docs offered, and the ground truth (None for irrelevance)."""

    id: str
    category: str
    messages: list[dict]
    functions: list[dict]
    answer: list[dict] | None  # [{func_name: {param: [acceptable values, "" = may be omitted]}}]
    language: str  # "python", "java" or "javascript": how the checker reads argument values


def category_language(category: str) -> str:
    """The language the checker uses for a category (as bfcl-eval's runner decides it)."""
    if "javascript" in category:
        return "javascript"
    return "java" if "java" in category else "python"


def load_bfcl(
    categories: Sequence[str] | None = None, limit: int | None = None, data_dir: str | Path | None = None
) -> list[BfclItem]:
    """Items of the named AST categories (all of AST_CATEGORIES by default), in category and file order.

    `limit` keeps the first N items of each category; `data_dir` overrides the installed package's data folder.
    """
    chosen = list(AST_CATEGORIES if categories is None else dict.fromkeys(categories))
    unknown = [name for name in chosen if name not in AST_CATEGORIES]
    if unknown:
        raise ValueError(f"unknown BFCL categories {unknown}; valid: {', '.join(AST_CATEGORIES)}")
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    root = Path(data_dir) if data_dir is not None else bfcl_data_dir()
    if not root.is_dir():
        raise FileNotFoundError(f"BFCL data folder not found: {root}")
    return [item for category in chosen for item in _load_category(root, category, limit)]


def _load_category(root: Path, category: str, limit: int | None) -> list[BfclItem]:
    rows = _read_rows(root / f"{BFCL_PREFIX}{category}.json", limit, ("question", "function"))
    answers: dict[str, list[dict]] | None = None
    if category not in IRRELEVANCE_CATEGORIES:
        answer_file = root / "possible_answer" / f"{BFCL_PREFIX}{category}.json"
        answers = {row["id"]: row["ground_truth"] for row in _read_rows(answer_file, None, ("ground_truth",))}
        missing = [row["id"] for row in rows if row["id"] not in answers]
        if missing:
            raise ValueError(f"{root / 'possible_answer'}: no ground truth for {category} ids {missing[:5]}")
    language = category_language(category)
    return [
        BfclItem(id=row["id"], category=category, messages=[dict(m) for m in row["question"][0]],
                 functions=row["function"], answer=None if answers is None else answers[row["id"]], language=language)
        for row in rows
    ]


def _read_rows(path: Path, limit: int | None, fields: tuple[str, ...]) -> list[dict[str, Any]]:
    """The first `limit` JSON objects of a JSON-lines file, each checked to have an id and `fields`."""
    if not path.is_file():
        raise FileNotFoundError(f"BFCL data file not found: {path}")
    rows: list[dict[str, Any]] = []
    for entry in iter_jsonl(str(path)):
        if limit is not None and len(rows) >= limit:
            break
        if isinstance(entry, Rejected):
            raise ValueError(f"invalid BFCL data: {entry.message()}")
        where, row = entry
        if not isinstance(row, dict) or any(key not in row for key in ("id", *fields)):
            raise ValueError(f"invalid BFCL data: {where} is not an object with id, {', '.join(fields)}")
        if "question" in fields and not (isinstance(row["question"], list) and row["question"]):
            raise ValueError(f"invalid BFCL data: {where} has no question turn")
        rows.append(row)
    return rows
