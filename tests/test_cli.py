import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from hephaestus.cli import app

runner = CliRunner()


def test_every_command_has_help():
    commands = [command.name or command.callback.__name__ for command in app.registered_commands]
    assert {"collect", "curate", "select", "mix", "pack", "train", "eval", "report", "run", "status"} <= set(commands)
    for command in commands:
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output


def test_eval_and_report_say_what_is_missing(tmp_path):
    result = runner.invoke(app, ["eval", "-w", str(tmp_path)])
    assert result.exit_code == 2 and "no trained model" in result.output
    result = runner.invoke(app, ["eval", "-w", str(tmp_path), "--category", "nosuch"])
    assert result.exit_code == 2 and "categories: unknown BFCL categories ['nosuch']" in result.output
    assert "no such workspace" in runner.invoke(app, ["report", "-w", str(tmp_path / "missing")]).output
    result = runner.invoke(app, ["report", "-w", str(tmp_path)])
    assert result.exit_code == 0 and (tmp_path / "report" / "index.html").is_file()


def test_spec_errors_exit_non_zero_with_one_line_before_any_work(tmp_path):
    ws = tmp_path / "ws"
    for spec, message in [("nosuch:x", "unknown source 'nosuch'"), ("text", "a source spec is NAME:ARG"),
                          (f"text:{tmp_path}/missing.jsonl", "no such file or directory")]:
        result = subprocess.run([sys.executable, "-m", "hephaestus", "collect", "-w", str(ws), spec],
                                capture_output=True, text=True)
        assert result.returncode == 2
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
        assert not ws.exists()


def test_collect_then_status_then_mismatched_resume(tmp_path):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text('{"text": "hello world"}\n{"nope": 1}\n')
    ws = str(tmp_path / "ws")
    result = runner.invoke(app, ["collect", "-w", ws, f"text:{corpus}"])
    assert result.exit_code == 0, result.output
    assert "1 records out, 1 rejected (of 2 in)" in result.output
    status = runner.invoke(app, ["status", "-w", ws])
    assert "collect" in status.output and "missing_field" in status.output
    other = runner.invoke(app, ["collect", "-w", ws, f"text:{corpus}", "--workers", "1"])
    assert other.exit_code == 0  # workers do not change the output, so they are not part of the config
    mismatch = runner.invoke(app, ["collect", "-w", ws, f"text:{tmp_path}"])
    assert mismatch.exit_code == 2 and "--restart" in mismatch.output


def test_run_executes_a_recipe_and_reports_recipe_errors(tmp_path):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text('{"text": "hello world"}\n')
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"name: tiny\nworkspace: {tmp_path / 'ws'}\nworkers: 1\ncollect:\n  sources:\n"
                      f"    - text:{corpus}\n    - spec: text:{corpus}\n      options: {{name: 'web:tiny'}}\n")
    result = runner.invoke(app, ["run", str(recipe)])
    assert result.exit_code == 0, result.output
    stats = json.loads((tmp_path / "ws" / "collect" / "stats.json").read_text())
    assert stats["records_out"] == 2
    recipe.write_text("workspace: x\ncollect:\n  sources: []\n  extra: 1\n")
    bad = runner.invoke(app, ["run", str(recipe)])
    assert bad.exit_code == 2 and f"{recipe}: collect.sources" in bad.output
    recipe.write_text("workspace: x\ncollect: {sources: [nosuch:1]}\n")
    assert "unknown source 'nosuch'" in runner.invoke(app, ["run", str(recipe)]).output
    recipe.write_text("workspace: [\n")
    assert "invalid YAML" in runner.invoke(app, ["run", str(recipe)]).output


def test_run_restarts_from_a_stage_and_the_ones_after_it(tmp_path):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("".join(json.dumps({"text": f"document {i}: " + "words of some length " * 20}) + "\n"
                              for i in range(5)))
    ws = tmp_path / "ws"

    def recipe(quality: bool) -> str:
        path = tmp_path / "r.yaml"
        path.write_text(f"name: tiny\nworkspace: {ws}\nworkers: 1\ncollect:\n  sources: [text:{corpus}]\n"
                        f"curate: {{quality: {str(quality).lower()}, bfcl: false}}\n")
        return str(path)

    assert runner.invoke(app, ["run", recipe(True)]).exit_code == 0
    collected = (ws / "collect" / "run.json").stat().st_mtime_ns
    changed = runner.invoke(app, ["run", recipe(False)])
    assert changed.exit_code == 2 and "`--restart-from curate` starts it and the later stages over" in changed.output
    assert runner.invoke(app, ["run", recipe(False), "--restart-from", "nosuch"]).exit_code == 2
    result = runner.invoke(app, ["run", recipe(False), "--restart-from", "curate"])
    assert result.exit_code == 0, result.output
    assert (ws / "collect" / "run.json").stat().st_mtime_ns == collected  # collect resumed, not redone
    assert json.loads((ws / "curate" / "run.json").read_text())["config"]["settings"]["quality"] is False


def test_the_command_starts_without_the_heavy_stacks():
    """Loading the CLI and a recipe imports no PyTorch, transformers or faiss: `collect`, `status` and the
    corpus stages' worker processes stay light (each stage imports its own models when it runs)."""
    recipe = Path(__file__).resolve().parents[1] / "recipes" / "paper.yaml"
    code = (f"import sys, hephaestus.cli; from hephaestus.config import load_recipe; load_recipe({str(recipe)!r}); "
            "heavy = {'torch', 'transformers', 'faiss', 'bfcl_eval', 'sentence_transformers'}; "
            "print(sorted(heavy & set(sys.modules)))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
