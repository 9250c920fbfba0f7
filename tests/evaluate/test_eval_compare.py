"""The comparison table across evaluated checkpoints."""

from __future__ import annotations

import json

from hephaestus.evaluate.compare import write_comparison


def write(eval_dir, label, **parts):
    (eval_dir / label).mkdir(parents=True)
    (eval_dir / label / "results.json").write_text(json.dumps({"label": label, **parts}))


def test_rows_per_label_with_the_union_of_columns(tmp_path):
    bfcl = {"categories": {"simple_python": {"accuracy": 0.25}, "multiple": {"accuracy": 0.5}},
            "summary": {"micro_accuracy": 0.4}}
    write(tmp_path, "base", bench_loss={"bfcl/simple_python": {"nll": 2.5}}, retention={"perplexity": 12.0})
    write(tmp_path, "stage3", bfcl=bfcl, bench_loss={"bfcl/simple_python": {"nll": 1.25}},
          retention={"perplexity": 12.5}, lm_eval={"hellaswag": {"acc,none": 0.3, "acc_stderr,none": 0.01}})
    table = write_comparison(tmp_path)
    assert table["columns"] == ["label", "bfcl overall", "bfcl simple_python", "bfcl multiple",
                                "loss bfcl/simple_python", "retention ppl", "lm-eval hellaswag acc"]
    base, tuned = table["rows"]
    assert base == {"label": "base", "loss bfcl/simple_python": 2.5, "retention ppl": 12.0}
    assert tuned["bfcl overall"] == 0.4 and tuned["lm-eval hellaswag acc"] == 0.3
    markdown = (tmp_path / "comparison.md").read_text().splitlines()
    assert markdown[0] == "| metric | base | stage3 |"
    assert "| bfcl overall | – | 40.0% |" in markdown and "| bfcl multiple | – | 50.0% |" in markdown
    assert "| loss bfcl/simple_python | 2.500 | 1.250 |" in markdown
    assert "| retention ppl | 12.000 | 12.500 |" in markdown and "| lm-eval hellaswag acc | – | 0.300 |" in markdown
    assert json.loads((tmp_path / "comparison.json").read_text()) == table
