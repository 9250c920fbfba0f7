import json

import pyarrow as pa
import pytest

from hephaestus.records import RECORD_SCHEMA, RecordError, make_record, record_id, records_to_table, validate_table


def test_make_record_stores_tools_and_meta_as_json_and_hashes_normalised_text():
    record = make_record("openapi:petstore", "tool_doc", "GET /pets\r\n", tools=[{"name": "listPets"}],
                         meta={"method": "get"})
    assert json.loads(record["tools"][0]) == {"name": "listPets"}
    assert json.loads(record["meta"]) == {"method": "get"}
    assert record["id"] == record_id("openapi:petstore", "GET /pets")  # CRLF and trailing space do not count
    assert record["id"] != record_id("openapi:other", "GET /pets")


@pytest.mark.parametrize(("change", "message"), [
    ({"kind": "blog"}, "kind 'blog'"),
    ({"text": ""}, "'text' must be a non-empty string"),
    ({"tools": ["not json"]}, "tools[0] is not valid JSON"),
    ({"meta": "[1]"}, "meta must be a JSON object"),
    ({"messages": [{"role": "robot", "content": "x", "tool_calls": None, "name": None}]}, "messages[0].role"),
])
def test_invalid_records_are_refused_with_the_field_named(change, message):
    record = {**make_record("s", "text", "hello"), **change}
    with pytest.raises(RecordError, match=message.replace("[", r"\[").replace("]", r"\]")):
        records_to_table([record])


def test_tables_round_trip_the_schema_and_messages():
    record = make_record("t", "trajectory", "x", messages=[
        {"role": "assistant", "content": None, "tool_calls": [{"name": "f", "arguments": {"a": 1}}]}])
    table = records_to_table([record])
    assert table.schema.equals(RECORD_SCHEMA)
    call = table.column("messages")[0].as_py()[0]["tool_calls"][0]
    assert call["name"] == "f" and json.loads(call["arguments"]) == {"a": 1}


def test_validate_table_checks_columns_and_kinds():
    good = records_to_table([make_record("s", "text", "hello")])
    assert validate_table(good.select(list(reversed(RECORD_SCHEMA.names)))).schema.equals(RECORD_SCHEMA)
    with pytest.raises(RecordError, match="does not match the record schema"):
        validate_table(good.drop_columns(["kind"]))
    bad = good.set_column(2, "kind", pa.array(["blog"]))
    with pytest.raises(RecordError, match="record 0: kind 'blog'"):
        validate_table(bad)
