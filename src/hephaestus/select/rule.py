"""Selection rules over attributes: `agent_score >= 0.5 and similarity >= p90`.

A rule is clauses `ATTRIBUTE OP THRESHOLD` joined by `and` / `or` (`and` binds tighter). A threshold is
a number or a percentile `pNN` of that attribute over the whole corpus, resolved once before
selecting, so a percentile means the same for every shard.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

OPERATORS: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    ">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt,
}
NUMBER = r"[-+]?\d*\.?\d+(?:e[-+]?\d+)?"
PERCENTILE = r"p(?:100|\d{1,2}(?:\.\d+)?)"
CLAUSE = re.compile(rf"^\s*([A-Za-z_][\w.]*)\s*(>=|<=|>|<)\s*({PERCENTILE}|{NUMBER})\s*$")


class RuleError(ValueError):
    """A rule that cannot be parsed or names an attribute that does not exist."""


@dataclass(frozen=True)
class Clause:
    attribute: str
    op: str
    threshold: float | None  # None until a percentile is resolved
    percentile: float | None = None

    def __str__(self) -> str:
        value = f"p{self.percentile:g}" if self.percentile is not None else f"{self.threshold:g}"
        resolved = f" (= {self.threshold:.4g})" if self.percentile is not None and self.threshold is not None else ""
        return f"{self.attribute} {self.op} {value}{resolved}"


@dataclass(frozen=True)
class Rule:
    """Disjunction of conjunctions of clauses."""

    alternatives: tuple[tuple[Clause, ...], ...]

    @property
    def attributes(self) -> set[str]:
        return {clause.attribute for group in self.alternatives for clause in group}

    def resolve(self, values: Mapping[str, np.ndarray]) -> Rule:
        """Replace percentile thresholds by the attribute's value at that percentile."""
        missing = self.attributes - set(values)
        if missing:
            raise RuleError(f"unknown attribute(s) {', '.join(sorted(missing))}; known: {', '.join(sorted(values))}")

        def fix(clause: Clause) -> Clause:
            if clause.percentile is None:
                return clause
            column = np.asarray(values[clause.attribute], dtype=np.float64)
            column = column[~np.isnan(column)]
            threshold = float(np.percentile(column, clause.percentile)) if column.size else float("inf")
            return Clause(clause.attribute, clause.op, threshold, clause.percentile)

        return Rule(tuple(tuple(fix(c) for c in group) for group in self.alternatives))

    def mask(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        """Boolean selection over rows; NaN attributes never pass a clause."""
        result: np.ndarray | None = None
        for group in self.alternatives:
            group_mask: np.ndarray | None = None
            for clause in group:
                if clause.threshold is None:
                    raise RuleError(f"{clause}: resolve percentiles before selecting")
                column = np.asarray(values[clause.attribute], dtype=np.float64)
                passed = OPERATORS[clause.op](np.nan_to_num(column, nan=-np.inf if ">" in clause.op else np.inf),
                                              clause.threshold)
                group_mask = passed if group_mask is None else group_mask & passed
            result = group_mask if result is None else result | group_mask
        assert result is not None
        return result

    def __str__(self) -> str:
        return " or ".join(" and ".join(str(c) for c in group) for group in self.alternatives)


def parse_rule(text: str) -> Rule:
    """Parse `a >= 0.5 and b >= p90 or c > 3`; a RuleError names the clause that is wrong."""
    if not text.strip():
        raise RuleError("empty selection rule")
    alternatives = []
    for alternative in re.split(r"\s+or\s+", text.strip()):
        clauses = []
        for part in re.split(r"\s+and\s+", alternative):
            match = CLAUSE.match(part)
            if not match:
                raise RuleError(f"cannot parse clause {part.strip()!r}: expected ATTRIBUTE OP NUMBER or pNN, "
                                f"e.g. 'similarity >= p90'")
            name, op, value = match.groups()
            if value.startswith("p"):
                clauses.append(Clause(name, op, None, float(value[1:])))
            else:
                clauses.append(Clause(name, op, float(value)))
        alternatives.append(tuple(clauses))
    return Rule(tuple(alternatives))
