"""botocore and google-api sources on the models the installed packages ship."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from hephaestus.io.readers import Rejected, open_binary
from hephaestus.sources import SpecError, parse_spec
from hephaestus.sources import cloud as cloud_module
from hephaestus.sources.cloud_botocore import html_text, operation_records, shape_schema
from hephaestus.sources.cloud_google import discovery_schema


def installed(module: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(importlib.util.find_spec(module) is None, reason=f"{module} is not installed")


def harvest(spec: str) -> tuple[dict[str, tuple[dict, dict, dict]], list[Rejected], list[str]]:
    """Tool name -> (record, function schema, meta), rejections, and the planned paths."""
    source = parse_spec(spec)
    tasks = source.plan(workers=2)
    records, rejected = {}, []
    for task in tasks:
        for item in source.read(task):
            if isinstance(item, Rejected):
                rejected.append(item)
            else:
                tool = json.loads(item["tools"][0])
                records[tool["name"]] = (item, tool, json.loads(item["meta"]))
    return records, rejected, [task.path for task in tasks]


@installed("botocore")
def test_botocore_sts() -> None:
    records, rejected, (path,) = harvest("botocore:sts")
    with open_binary(path) as handle:  # service-2.json or service-2.json.gz
        model = json.load(handle)
    assert rejected == [] and len(records) == len(model["operations"])
    record, tool, meta = records["sts.AssumeRole"]
    assert record["source"] == "botocore:sts" and meta["operation"] == "AssumeRole"
    assert meta["api_version"] == model["metadata"]["apiVersion"] and meta["http_method"] == "POST"
    params = tool["parameters"]
    assert params["required"] == ["RoleArn", "RoleSessionName"]
    assert params["properties"]["DurationSeconds"]["type"] == "integer"
    assert params["properties"]["PolicyArns"]["items"]["properties"]["arn"]["type"] == "string"
    assert "<p>" not in tool["description"] and "AssumeRole" in tool["description"]
    assert "- RoleArn (string, required): The Amazon Resource Name (ARN) of the role to assume." in record["text"]
    assert "Returns AssumeRoleResponse:\n- Credentials (Credentials)" in record["text"]


@installed("botocore")
def test_botocore_recursive_shapes_and_selection() -> None:
    records, rejected, paths = harvest("botocore:dynamodb,sts")
    assert rejected == [] and [Path(p).parts[-3] for p in paths] == ["dynamodb", "sts"]
    item = records["dynamodb.PutItem"][1]["parameters"]["properties"]["Item"]
    value = item["additionalProperties"]
    assert value["title"] == "AttributeValue"
    assert value["properties"]["L"]["items"] == {"$ref_cycle": "AttributeValue"}
    with pytest.raises(SpecError, match="unknown service"):
        parse_spec("botocore:sts,no-such-service").plan(1)


def test_botocore_shapes_and_bad_operation() -> None:
    model = {
        "metadata": {"apiVersion": "2020-01-01", "protocol": "json"},
        "operations": {"Put": {"input": {"shape": "In"}}, "Broken": {"input": {"shape": "Bad"}}},
        "shapes": {
            "In": {"type": "structure", "required": ["When"], "members": {
                "When": {"shape": "Time"}, "Data": {"shape": "Blob", "documentation": "<p>Raw &amp; <b>bytes</b></p>"},
                "Size": {"shape": "Size"}, "Tags": {"shape": "Tags"}}},
            "Time": {"type": "timestamp"},
            "Blob": {"type": "blob"},
            "Size": {"type": "long", "min": 1, "max": 10},
            "Tags": {"type": "map", "key": {"shape": "Key"}, "value": {"shape": "Key"}},
            "Key": {"type": "string", "enum": ["a", "b"], "max": 8},
            "Bad": {"type": "list"},
        },
    }  # fmt: skip
    items = list(operation_records(model, "/models/demo/2020-01-01/service-2.json"))
    assert isinstance(items[1], Rejected) and items[1].reason == "bad_operation" and items[1].location.item == 1
    tool = json.loads(items[0]["tools"][0])
    assert tool["name"] == "demo.Put"
    assert tool["parameters"]["properties"] == {
        "When": {"type": "string", "format": "date-time"},
        "Data": {"type": "string", "format": "byte", "description": "Raw & bytes"},
        "Size": {"type": "integer", "minimum": 1, "maximum": 10},
        "Tags": {"type": "object", "additionalProperties": {"type": "string", "enum": ["a", "b"], "maxLength": 8}},
    }
    assert shape_schema("S", {"type": "structure", "document": True}) == {}
    union = {"type": "structure", "union": True, "members": {"x": {"shape": "Key"}}}
    assert shape_schema("U", union) == {
        "title": "U", "type": "object", "properties": {"x": {"$ref": "Key"}}, "minProperties": 1, "maxProperties": 1,
    }  # fmt: skip


def test_html_text() -> None:
    html = "<p>Hello <code>x</code> &amp; y.</p> <ul><li><p>one</p></li><li>two</li></ul><note>Careful</note>"
    assert html_text(html) == "Hello x & y.\n\n- one\n\n- two\n\nCareful"


@installed("googleapiclient")
def test_google_drive_v3() -> None:
    records, rejected, (path,) = harvest("google-api:drive")
    assert Path(path).name == "drive.v3.json" and rejected == []
    doc = json.loads(Path(path).read_text())

    def count(resource: dict) -> int:
        return len(resource.get("methods", {})) + sum(count(r) for r in resource.get("resources", {}).values())

    assert len(records) == count(doc)
    record, tool, meta = records["drive.files.list"]
    assert record["source"] == "google-api:drive.v3" and meta["http_method"] == "GET" and meta["path"] == "files"
    assert tool["parameters"]["properties"]["pageSize"]["type"] == "integer"
    assert "- q (query, string): A query for filtering the file results." in record["text"]
    assert "Returns FileList:\n" in record["text"] and "- files (array of File)" in record["text"]
    record, tool, _ = records["drive.files.get"]
    assert tool["parameters"]["required"] == ["fileId"]
    create = records["drive.permissions.create"][1]["parameters"]
    assert create["properties"]["body"]["title"] == "Permission" and "body" in create["required"]


@installed("googleapiclient")
def test_google_selection() -> None:
    paths = [Path(t.path).name for t in parse_spec("google-api:admin,drive.v2").plan(1)]
    assert paths == ["admin.datatransferv1.json", "admin.directoryv1.json", "admin.reportsv1.json", "drive.v2.json"]
    every = [Path(t.path).name for t in parse_spec("google-api:*").plan(1)]
    assert len(every) > 300 and "drive.v3.json" in every and "drive.v2.json" not in every
    with pytest.raises(SpecError, match="no discovery document for 'nope'"):
        parse_spec("google-api:nope").plan(1)


def test_discovery_schema() -> None:
    node = {"id": "X", "type": "object", "properties": {
        "a": {"type": "string", "required": True, "annotations": {}}, "b": {"$ref": "Y"}}}  # fmt: skip
    assert discovery_schema(node) == {"type": "object", "properties": {"a": {"type": "string"}, "b": {"$ref": "Y"}},
                                      "required": ["a"]}  # fmt: skip
    param = {"type": "string", "repeated": True, "location": "query", "description": "ids"}
    assert discovery_schema(param) == {"type": "array", "items": {"type": "string"}, "description": "ids"}


@pytest.mark.parametrize("spec", ["botocore:sts", "google-api:drive"])
def test_missing_package(spec: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cloud_module.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(SpecError, match=r"pip install 'hephaestus\[cloud\]'"):
        parse_spec(spec).plan(1)
