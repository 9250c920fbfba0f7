import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq

from hephaestus.collect import collect
from hephaestus.quarantine import read_quarantine
from hephaestus.records import make_record
from hephaestus.sources.base import ShardTask, Source
from hephaestus.sources.text import TextSource
from hephaestus.stats import check
from hephaestus.workspace import Workspace


def _outputs(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted((root / "collect").rglob("*.parquet"))}


def _make_bad_inputs(folder: Path) -> None:
    folder.mkdir()
    (folder / "good.jsonl").write_text("".join(json.dumps({"text": f"document {i}"}) + "\n" for i in range(100)))
    (folder / "bad.jsonl").write_bytes(b'{"text": "ok"}\n{"text": broken\n{"body": "no text field"}\n'
                                       b'{"text": "caf\xe9"}\n[1, 2]\n')
    (folder / "empty.json").write_bytes(b"")
    with (folder / "huge.jsonl").open("wb") as handle:
        handle.write(b'{"text": "before"}\n{"text": "')
        handle.write(b"z" * (100 * 1024 * 1024))
        handle.write(b'"}\n{"text": "after"}\n')
    (folder / "folder.jsonl").mkdir()


def test_bad_inputs_are_quarantined_counted_and_never_stop_other_shards(tmp_path):
    _make_bad_inputs(tmp_path / "in")
    ws = Workspace(tmp_path / "ws")
    summary = collect([TextSource(str(tmp_path / "in"))], ws, workers=2)
    check(summary)
    assert summary["failed"] == [] and summary["shards"] == 6  # huge.jsonl is split into two byte ranges
    assert summary["records_out"] == 100 + 1 + 2
    assert summary["drops"] == {"empty_file": 1, "invalid_json": 1, "invalid_utf8": 1, "missing_field": 1,
                                "not_a_file": 1, "not_an_object": 1, "too_large": 1}
    entries = {e["reason"]: e for e in read_quarantine(ws.quarantine_dir("collect"))}
    assert entries["invalid_json"]["path"].endswith("bad.jsonl") and entries["invalid_json"]["line"] == 2
    assert entries["invalid_json"]["raw"] == '{"text": broken'
    assert entries["invalid_utf8"]["line"] == 4 and "raw_base64" in entries["invalid_utf8"]
    assert entries["too_large"]["line"] == 2 and entries["too_large"]["raw_truncated"]
    assert entries["missing_field"]["line"] == 3 and "fields: body" in entries["missing_field"]["detail"]
    assert entries["not_a_file"]["path"].endswith("folder.jsonl")
    stats = json.loads((ws.stage_dir("collect") / "stats.json").read_text())
    assert stats["by_source"]["text"]["records_rejected"] == 7


class ExplodingSource(Source):
    name = "exploding"
    summary = "a reader with a bug"

    def plan(self, workers):
        return [ShardTask(self.name, "first"), ShardTask(self.name, "second")]

    def read(self, task):
        yield make_record("exploding", "text", f"{task.path} record")
        if task.path == "first":
            raise KeyError("bug in the reader")


def test_a_crashing_reader_ends_its_shard_as_a_counted_rejection(tmp_path):
    summary = collect([ExplodingSource("x")], Workspace(tmp_path), workers=1)
    check(summary)
    assert (summary["records_out"], summary["drops"], summary["failed"]) == (2, {"reader_error": 1}, [])
    assert "KeyError: 'bug in the reader'" in summary["samples"]["reader_error"][0]


def test_one_worker_and_two_workers_write_identical_files(tmp_path, shared_data):
    webtext = shared_data / "webtext"
    sources = [TextSource(str(webtext / "dclm")), TextSource(str(webtext / "olmo-test-fixtures"))]
    collect(sources, Workspace(tmp_path / "one"), workers=1)
    collect(sources, Workspace(tmp_path / "two"), workers=2)
    one, two = _outputs(tmp_path / "one"), _outputs(tmp_path / "two")
    assert one == two and len(one) == 6
    assert sum(pq.read_metadata(tmp_path / "one" / name).num_rows for name in one) == 780 + 40


def _corpus(folder: Path, files: int = 24, lines: int = 6000) -> None:
    folder.mkdir()
    for f in range(files):
        rows = (json.dumps({"text": f"file {f} line {i} " + "lorem ipsum " * (i % 13)}) for i in range(lines))
        (folder / f"part-{f:03d}.jsonl").write_text("\n".join(rows) + "\n")


def _collect_command(corpus: Path, ws: Path) -> list[str]:
    return [sys.executable, "-m", "hephaestus", "collect", "-w", str(ws), "--workers", "1", f"text:{corpus}"]


def test_resume_after_sigkill_gives_byte_identical_output(tmp_path):
    corpus = tmp_path / "corpus"
    _corpus(corpus)
    subprocess.run(_collect_command(corpus, tmp_path / "clean"), check=True, capture_output=True)
    killed = tmp_path / "killed"
    process = subprocess.Popen(_collect_command(corpus, killed), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while len(list((killed / "collect" / "_done").glob("*.json"))) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    done_at_kill = len(list((killed / "collect" / "_done").glob("*.json")))
    assert 3 <= done_at_kill < 24, "the run must be killed mid-way for this test to mean anything"
    resumed = subprocess.run(_collect_command(corpus, killed), check=True, capture_output=True, text=True)
    assert f"resuming, {done_at_kill} of 24 shards already done" in resumed.stderr.replace("\n", " ")
    assert _outputs(killed) == _outputs(tmp_path / "clean")
    assert not [p for p in (killed / "collect").rglob("*") if ".tmp-" in p.name]
