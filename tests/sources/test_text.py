import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hephaestus.io.readers import Rejected
from hephaestus.sources.base import SpecError
from hephaestus.sources.text import TextSource


def _read_all(source):
    return [item for task in source.plan(workers=2) for item in source.read(task)]


def test_real_dclm_jsonl_gives_one_text_record_per_line(shared_data):
    items = _read_all(TextSource(str(shared_data / "webtext" / "dclm"), name="web:dclm"))
    assert len(items) == 780 and not [i for i in items if isinstance(i, Rejected)]
    assert {i["source"] for i in items} == {"web:dclm"} and {i["kind"] for i in items} == {"text"}
    assert len({i["id"] for i in items}) == len({i["text"].strip() for i in items}) < 780  # the two files overlap
    assert all(json.loads(i["meta"])["line"] >= 1 for i in items)


def test_real_gzipped_c4_and_paragraph_split_shakespeare(shared_data):
    c4 = _read_all(TextSource(str(shared_data / "webtext" / "olmo-test-fixtures" / "c4-sample.01.json.gz")))
    assert len(c4) == 10 and c4[0]["source"] == "text:c4-sample"
    play = _read_all(TextSource(str(shared_data / "webtext" / "tinyshakespeare"), split="paragraph"))
    assert len(play) > 7000
    assert play[0]["text"].startswith("First Citizen:\nBefore we proceed any further, hear me speak.")
    assert json.loads(play[1]["meta"])["line"] == 4


def test_parquet_is_split_by_row_groups_and_read_with_the_named_field(tmp_path):
    table = pa.table({"content": [f"document number {i}" for i in range(100)], "url": [f"u{i}" for i in range(100)]})
    pq.write_table(table, tmp_path / "web.parquet", row_group_size=10)
    source = TextSource(str(tmp_path / "web.parquet"), field="content")
    tasks = source.plan(workers=2)
    assert [(t.start, t.end) for t in tasks] == [(0, 5), (5, 10)]
    items = _read_all(source)
    assert [i["text"] for i in items] == table.column("content").to_pylist()
    assert json.loads(items[3]["meta"])["url"] == "u3"


def test_bad_split_option_and_missing_path_fail_before_work(tmp_path):
    with pytest.raises(SpecError, match="split must be"):
        TextSource(str(tmp_path), split="sentence")
    with pytest.raises(SpecError, match="no such file"):
        TextSource(str(tmp_path / "missing.jsonl")).plan(workers=1)
    with pytest.raises(SpecError, match="no input files found"):
        TextSource(str(tmp_path)).plan(workers=1)


def test_each_value_reads_an_object_of_rows_and_limit_caps_a_file(tmp_path):
    path = tmp_path / "summaries.json"
    path.write_text(json.dumps({f"t{i}": {"title": f"t{i}", "extract": f"summary number {i}"} for i in range(5)}))
    items = _read_all(TextSource(str(path), field="extract", each_value=True, name="web:wiki"))
    assert [i["text"] for i in items] == [f"summary number {i}" for i in range(5)]
    assert json.loads(items[2]["meta"])["item"] == 2 and json.loads(items[2]["meta"])["title"] == "t2"
    assert len(_read_all(TextSource(str(path), field="extract", each_value=True, limit=3))) == 3
    with pytest.raises(SpecError, match="limit must be"):
        TextSource(str(path), limit="many")


def test_a_limited_jsonl_file_is_read_whole_and_capped_exactly(tmp_path, monkeypatch):
    import functools

    import hephaestus.sources.base as base

    small_splits = functools.partial(base.plan_byte_ranges, min_split=64)  # so this small file would be split
    monkeypatch.setattr(base, "plan_byte_ranges", small_splits)
    path = tmp_path / "web.jsonl"
    path.write_text("".join(json.dumps({"text": f"document number {i} " * 5}) + "\n" for i in range(40)))
    assert len(TextSource(str(path)).plan(workers=4)) > 1
    limited = TextSource(str(path), limit=7)
    assert len(limited.plan(workers=4)) == 1
    records = _read_all(limited)
    assert [r["text"].split()[2] for r in records] == [str(i) for i in range(7)]
