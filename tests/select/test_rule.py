import numpy as np
import pytest

from hephaestus.select.rule import RuleError, parse_rule

VALUES = {"agent_score": np.array([0.9, 0.2, 0.7, np.nan, 0.95]), "similarity": np.arange(5, dtype=float) / 4}


def test_values_and_percentiles_with_and_or():
    rule = parse_rule("agent_score >= 0.5 and similarity >= p50 or similarity > 0.99").resolve(VALUES)
    assert rule.mask(VALUES).tolist() == [False, False, True, False, True]
    assert "similarity >= p50 (= 0.5)" in str(rule)


def test_nan_never_passes_and_lower_bounds_work():
    rule = parse_rule("agent_score < 0.5").resolve(VALUES)
    assert rule.mask(VALUES).tolist() == [False, True, False, False, False]


@pytest.mark.parametrize(("text", "message"), [
    ("", "empty"), ("agent_score => 0.5", "cannot parse clause"), ("score >= p101", "cannot parse clause")])
def test_bad_rules_name_the_clause(text, message):
    with pytest.raises(RuleError, match=message):
        parse_rule(text)


def test_unknown_attribute_and_unresolved_percentile():
    with pytest.raises(RuleError, match=r"unknown attribute.*quality"):
        parse_rule("quality >= 1").resolve(VALUES)
    with pytest.raises(RuleError, match="resolve percentiles"):
        parse_rule("similarity >= p90").mask(VALUES)
