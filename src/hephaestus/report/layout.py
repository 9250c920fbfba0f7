"""The parts a report section is made of (text, tables, figures, notes) and the number formats they use.

Sections hold plain strings; the HTML writer escapes every one of them.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MISSING = "–"


@dataclass(frozen=True)
class Table:
    """A table of preformatted cells; `caption` says what it shows."""

    columns: Sequence[str]
    rows: Sequence[Sequence[str]]
    caption: str = ""


@dataclass(frozen=True)
class Figure:
    """A PNG in the workspace, inlined into the page."""

    path: Path
    caption: str


@dataclass
class Section:
    """One part of the report, about one stage's output; `sources` are the workspace files it reads."""

    key: str
    title: str
    text: list[str] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def is_empty(self) -> bool:
        return not (self.text or self.figures or any(t.rows for t in self.tables) or self.notes)


def read_json(path: Path) -> Any | None:
    """A JSON file's value, or None when it is missing or unreadable (e.g. a stage still writing it)."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The object lines of a JSON-lines file; lines that do not parse (a crash mid-write) are skipped."""
    records = []
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return []
    for line in lines:
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            records.append(value)
    return records


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def count(value: Any) -> str:
    """An integer count with thousands separators."""
    number = _finite(value)
    return MISSING if number is None else f"{number:,.0f}"


def percent(value: Any, digits: int = 2) -> str:
    """A fraction in [0, 1] as a percentage."""
    number = _finite(value)
    return MISSING if number is None else f"{number:.{digits}%}"


def decimal(value: Any, digits: int = 3) -> str:
    number = _finite(value)
    return MISSING if number is None else f"{number:,.{digits}f}"


def plain(value: Any) -> str:
    """Any JSON value as short text: numbers compactly, lists and objects as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return f"{value:.6g}"
    if value is None or isinstance(value, bool | int):
        return json.dumps(value)
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def natural_key(text: str) -> list[Any]:
    """Sort key that puts stage2 before stage10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
