import gzip
import json

import pytest
import zstandard

from hephaestus.io.readers import Rejected, iter_json_document, iter_jsonl, iter_lines
from hephaestus.sources.base import plan_byte_ranges


def _values(items):
    return [value for _, value in (i for i in items if not isinstance(i, Rejected))]


def test_jsonl_plain_gz_and_zst_read_the_same(tmp_path):
    rows = [{"text": f"doc {i}", "n": i} for i in range(50)]
    payload = "".join(json.dumps(r) + "\n" for r in rows).encode()
    (tmp_path / "a.jsonl").write_bytes(payload)
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(payload))
    (tmp_path / "a.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(payload))
    for name in ("a.jsonl", "a.jsonl.gz", "a.jsonl.zst"):
        assert _values(iter_jsonl(str(tmp_path / name))) == rows


def test_bad_lines_are_rejected_with_line_numbers_and_reading_goes_on(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"a": 1}\n{"a": \n\n{"a": 3}\n\xff\xfe{"a": 4}\n')
    items = list(iter_jsonl(str(path)))
    rejected = [i for i in items if isinstance(i, Rejected)]
    assert _values(items) == [{"a": 1}, {"a": 3}]
    assert [(r.reason, r.location.line) for r in rejected] == [("invalid_json", 2), ("invalid_utf8", 5)]
    assert str(path) in rejected[0].message() and "line 2" in rejected[0].message()


def test_an_oversized_line_is_rejected_without_stopping_the_file(tmp_path):
    path = tmp_path / "huge.jsonl"
    big = b'{"text": "' + b"x" * 3_000_000 + b'"}'
    path.write_bytes(b'{"text": "a"}\n' + big + b'\n{"text": "b"}\n')
    items = list(iter_lines(str(path), max_bytes=1_000_000))
    assert [i.reason for i in items if isinstance(i, Rejected)] == ["too_large"]
    too_large = next(i for i in items if isinstance(i, Rejected))
    assert too_large.location.line == 2 and "3,000,013 bytes" in too_large.detail
    assert len(too_large.raw) <= 4096
    assert [data for where, data in (i for i in items if not isinstance(i, Rejected))] == [
        b'{"text": "a"}', b'{"text": "b"}']


def test_byte_ranges_cover_every_line_exactly_once(tmp_path):
    path = tmp_path / "big.jsonl"
    lines = [json.dumps({"i": i, "pad": "y" * (i % 97)}) for i in range(20_000)]
    path.write_text("\n".join(lines) + "\n")
    tasks = plan_byte_ranges("text", str(path), workers=7, min_split=1000)
    assert len(tasks) == 7
    assert tasks[0].start == 0 and tasks[-1].end == path.stat().st_size
    seen = [value["i"] for t in tasks for value in _values(iter_jsonl(str(path), t.start, t.end))]
    assert seen == list(range(20_000))


def test_json_documents_arrays_objects_and_jsonl_named_json(tmp_path):
    (tmp_path / "arr.json").write_text(json.dumps([{"a": 1}, {"a": 2}]))
    (tmp_path / "obj.json").write_text(json.dumps({"a": 1}))
    (tmp_path / "lines.json").write_text('{"a": 1}\n{"a": 2}\n')
    assert _values(iter_json_document(str(tmp_path / "arr.json"))) == [{"a": 1}, {"a": 2}]
    assert [w.item for w, _ in iter_json_document(str(tmp_path / "arr.json"))] == [0, 1]
    assert _values(iter_json_document(str(tmp_path / "obj.json"))) == [{"a": 1}]
    assert _values(iter_json_document(str(tmp_path / "lines.json"))) == [{"a": 1}, {"a": 2}]


@pytest.mark.parametrize(("content", "reason", "line"), [
    (b"", "empty_file", None), (b"  \n", "empty_file", None), (b'[{"a": 1},\n {"a": }]', "invalid_json", 2)])
def test_broken_json_documents_are_one_rejection_naming_the_line(tmp_path, content, reason, line):
    path = tmp_path / "broken.json"
    path.write_bytes(content)
    [item] = list(iter_json_document(str(path)))
    assert isinstance(item, Rejected) and item.reason == reason and item.location.line == line
