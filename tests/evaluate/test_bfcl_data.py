"""load_bfcl on the installed bfcl-eval package's real data: categories, limits, ground truth, clear errors."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from hephaestus.curate.benchmarks import bfcl_data_dir
from hephaestus.evaluate.bfcl_data import AST_CATEGORIES, IRRELEVANCE_CATEGORIES, load_bfcl


def test_every_category_loads_with_its_ground_truth_and_language():
    items = load_bfcl()
    counts = {category: sum(item.category == category for item in items) for category in AST_CATEGORIES}
    assert counts["simple_python"] == 400 and counts["live_multiple"] == 1053 and counts["live_irrelevance"] == 884
    assert all(counts.values())
    assert len({item.id for item in items}) == len(items)
    for item in items:
        assert (item.answer is None) == (item.category in IRRELEVANCE_CATEGORIES)
        assert item.messages and item.messages[-1]["role"] == "user"
        assert item.functions or item.category == "live_irrelevance"  # some offer no function at all
        assert item.language == {"simple_java": "java", "simple_javascript": "javascript"}.get(item.category, "python")
    first = items[0]
    assert first.id == "simple_python_0" and first.functions[0]["name"] == "calculate_triangle_area"
    assert first.answer == [{"calculate_triangle_area": {"base": [10], "height": [5], "unit": ["units", ""]}}]


def test_limit_keeps_the_first_items_of_each_category_in_file_order():
    items = load_bfcl(["parallel", "live_simple"], limit=3)
    assert [item.id for item in items] == ["parallel_0", "parallel_1", "parallel_2",
                                           "live_simple_0-0-0", "live_simple_1-1-0", "live_simple_2-2-0"]
    assert load_bfcl(["parallel"], limit=3) == items[:3]
    assert load_bfcl(["irrelevance"], limit=0) == []


def test_unknown_categories_and_bad_limits_are_refused():
    with pytest.raises(ValueError, match="unknown BFCL categories \\['multi_turn_base'\\]; valid: simple_python"):
        load_bfcl(["simple_python", "multi_turn_base"])
    with pytest.raises(ValueError, match="limit"):
        load_bfcl(limit=-1)


def test_a_missing_or_incomplete_data_folder_is_named(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "nowhere")):
        load_bfcl(["simple_python"], data_dir=tmp_path / "nowhere")
    shutil.copy(bfcl_data_dir() / "BFCL_v4_simple_python.json", tmp_path)
    with pytest.raises(FileNotFoundError, match=re.escape("possible_answer/BFCL_v4_simple_python.json")):
        load_bfcl(["simple_python"], data_dir=tmp_path)
    (tmp_path / "BFCL_v4_irrelevance.json").write_text('{"id": "irrelevance_0", "question": [[]]}\nnot json\n')
    with pytest.raises(ValueError, match=r"invalid BFCL data: .*line 1.*function"):
        load_bfcl(["irrelevance"], data_dir=tmp_path)
