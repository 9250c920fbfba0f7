import importlib.util
import json
import re

import pytest

from hephaestus.curate.benchmarks import BFCL_INSTALL, BenchmarkError, bfcl_data_dir, load_benchmark_file, load_bfcl
from hephaestus.curate.clean import normalise
from hephaestus.curate.decontam import NgramIndex, removed_by_benchmark, words
from hephaestus.io.readers import Rejected, iter_jsonl

UNRELATED = ("Here is what I found on my blog this week, in between the gardening notes and the recipes "
             "for the village fair: ")


@pytest.fixture(scope="module")
def bfcl() -> dict[str, list[str]]:
    if importlib.util.find_spec("bfcl_eval") is None:
        pytest.skip(f"bfcl-eval is not installed ({BFCL_INSTALL})")
    return load_bfcl()


@pytest.fixture(scope="module")
def bfcl_index(bfcl) -> NgramIndex:
    return NgramIndex(bfcl)


def _question(category: str, row: int, turn: int = 0) -> str:
    """A user turn of a real BFCL question, read straight from the package's data file."""
    with open(bfcl_data_dir() / f"BFCL_v4_{category}.json", encoding="utf-8") as handle:
        return json.loads(handle.readlines()[row])["question"][turn][0]["content"]


def test_bfcl_categories_and_counts(bfcl, bfcl_index):
    assert len(bfcl) == 20 and "bfcl:format_sensitivity" not in bfcl
    assert len(bfcl["bfcl:simple_python"]) == 800  # 400 questions and their 400 functions
    assert len(bfcl["bfcl:multi_turn_func_doc"]) == 162
    assert bfcl["bfcl:simple_python"][:2] == [
        "Find the area of a triangle with a base of 10 units and height of 5 units.",
        "calculate_triangle_area Calculate the area of a triangle given its base and height. base The base of the "
        "triangle. height The height of the triangle. unit The unit of measure (defaults to 'units' if not "
        "specified)",
    ]
    assert sum(map(len, bfcl.values())) == 16264
    stats = bfcl_index.stats
    assert sum(s.indexed for s in stats.values()) == 15472  # the others have under 8 words
    assert sum(s.grams for s in stats.values()) == 322071
    assert all(s.grams > 0 for s in stats.values())
    assert load_bfcl(["simple_java", "memory"]).keys() == {"bfcl:simple_java", "bfcl:memory"}
    with pytest.raises(BenchmarkError, match="unknown BFCL categories"):
        load_bfcl(["simple_cobol"])


@pytest.mark.parametrize(
    ("category", "row", "turn"), [("simple_python", 0, 0), ("live_multiple", 0, 0), ("multi_turn_base", 4, 1)]
)
def test_record_embedding_a_real_bfcl_question_is_flagged(bfcl_index, category, row, turn):
    question = _question(category, row, turn)
    assert f"bfcl:{category}" in bfcl_index.check(UNRELATED + question + "\n\nThanks for reading!")


def test_short_question_matches_whole_despite_case_spacing_and_punctuation(bfcl_index):
    assert _question("simple_python", 1) == "Calculate the factorial of 5 using math functions."  # 8 words
    assert bfcl_index.check("CALCULATE the factorial of 5,\n using   math functions!!") == ["bfcl:simple_python"]
    assert bfcl_index.check("Calculate the factorial of 5 using loops.") == []


def test_tiny_texts_are_not_indexed(bfcl_index):
    assert _question("memory", 0) == "What is my first name?"
    assert bfcl_index.check("Hello! What is my first name? You are a helpful assistant.") == []


def test_real_web_documents_are_not_flagged(bfcl_index, shared_data):
    docs = [item[1]["text"] for path in sorted((shared_data / "webtext" / "dclm").glob("*.jsonl"))
            for item in iter_jsonl(str(path)) if not isinstance(item, Rejected)]
    assert len(docs) == 780
    assert set(removed_by_benchmark(bfcl_index, docs).values()) == {0}
    assert bfcl_index.contaminated_fraction(docs[0]) == 0.0


def test_summary_and_contaminated_fraction(bfcl_index):
    question = _question("simple_python", 0)
    docs = [UNRELATED + question, question, "Nothing to see here.", _question("live_multiple", 0)]
    counts = removed_by_benchmark(bfcl_index, docs)
    assert counts["bfcl:simple_python"] == 2 and counts["bfcl:live_multiple"] == 1
    assert list(counts) == bfcl_index.names and sum(counts.values()) == 3
    assert len(words(question)) == 17
    assert bfcl_index.contaminated_fraction(UNRELATED + question) == 17 / (len(words(UNRELATED)) + 17)
    assert bfcl_index.contaminated_fraction(question) == 1.0
    assert bfcl_index.contaminated_fraction("") == 0.0


def test_user_jsonl_benchmark_with_list_field(tmp_path):
    path = tmp_path / "mini-eval.jsonl"
    rows = [{"question": "Which planet in our solar system has the longest day of all of them?",
             "choices": ["Venus, whose single day lasts longer than its year around the sun", "Mars"]},
            {"question": "Name it.", "choices": []}]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    benchmark = load_benchmark_file(str(path), fields=["question", "choices"])
    assert benchmark == {"mini-eval": [rows[0]["question"], *rows[0]["choices"], "Name it."]}
    index = NgramIndex(benchmark)
    assert index.stats["mini-eval"].texts == 4 and index.stats["mini-eval"].indexed == 2
    assert index.check("Quiz: which planet in our solar system has the longest day of all of them? Venus.") == [
        "mini-eval"]
    assert index.check("Name it.") == []
    assert load_benchmark_file(str(path), name="mini", fields="question").keys() == {"mini"}


def test_plain_text_and_json_benchmarks_and_overlap_of_two(tmp_path):
    shared = "the quick brown fox jumps over the lazy dog near the quiet river bank"
    (tmp_path / "a.txt").write_text(f"{shared}\n\nsomething only the first benchmark says out loud\n")
    (tmp_path / "b.json").write_text(json.dumps([{"text": shared}]))
    index = NgramIndex({**load_benchmark_file(str(tmp_path / "a.txt")),
                        **load_benchmark_file(str(tmp_path / "b.json"))})
    assert index.check(f"Yesterday {shared} again.") == ["a", "b"]
    assert index.check("He said: something only the first benchmark says out loud.") == ["a"]


def test_bad_benchmark_files(tmp_path):
    (tmp_path / "broken.jsonl").write_text('{"text": "fine"}\n{not json\n')
    with pytest.raises(BenchmarkError, match="line 2"):
        load_benchmark_file(str(tmp_path / "broken.jsonl"))
    (tmp_path / "other.jsonl").write_text('{"prompt": "no text field here"}\n')
    with pytest.raises(BenchmarkError, match="no string values"):
        load_benchmark_file(str(tmp_path / "other.jsonl"))
    with pytest.raises(BenchmarkError, match="must be"):
        load_benchmark_file(str(tmp_path / "data.csv"))


def test_n_is_configurable():
    benchmark = {"eval": ["alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi"]}
    five_words = "we wrote gamma delta epsilon zeta eta and stopped"
    assert NgramIndex(benchmark, n=5).check(five_words) == ["eval"]
    assert NgramIndex(benchmark).check(five_words) == []
    assert NgramIndex(benchmark, n=5).stats["eval"].grams == 10
    assert NgramIndex(benchmark, n=20).check(f"x {benchmark['eval'][0]} y") == ["eval"]  # 14 words < n: whole text
    with pytest.raises(ValueError, match="positive"):
        NgramIndex(benchmark, n=0)


def test_words_are_those_of_the_normalised_text():
    text = "Cafe\u0301 ne\u200bxt\x00door\r\nIt's  the_END\tof lines\u00a0here ÉTÉ"
    assert words(text) == re.findall(r"\w+", normalise(text).lower())
    assert words(text)[:3] == ["café", "nextdoor", "it"]


def test_missing_bfcl_package_names_the_pip_command(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(BenchmarkError, match=re.escape("pip install --no-deps bfcl-eval==2026.3.23")):
        load_bfcl()
