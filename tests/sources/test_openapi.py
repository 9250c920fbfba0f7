"""openapi source on the real specs in ../shared/data and on small hand-written ones."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import yaml

from hephaestus.io.readers import Rejected
from hephaestus.sources import openapi as openapi_module
from hephaestus.sources import parse_spec

METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def harvest(arg: str | Path) -> tuple[list[dict], list[Rejected]]:
    source = parse_spec(f"openapi:{arg}")
    records, rejected = [], []
    for task in source.plan(workers=2):
        for item in source.read(task):
            (rejected if isinstance(item, Rejected) else records).append(item)
    return records, rejected


def by_name(records: list[dict]) -> dict[str, tuple[dict, dict, dict]]:
    """Tool name -> (record, function schema, meta)."""
    return {json.loads(r["tools"][0])["name"]: (r, json.loads(r["tools"][0]), json.loads(r["meta"])) for r in records}


def operation_pairs(path: Path) -> int:
    text = path.read_text()
    spec = json.loads(text) if path.suffix == ".json" else yaml.load(text, Loader=openapi_module.SAFE_LOADER)
    return sum(1 for item in spec["paths"].values() for method in item if method in METHODS)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_swagger2_json_lyft(shared_data: Path) -> None:
    spec = shared_data / "openapi/darosh-openapi-directory-lite/specs/lyft.com/1.0.0.json"
    records, rejected = harvest(spec)
    assert rejected == []
    assert len(records) == operation_pairs(spec) == 16
    tools = by_name(records)
    record, tool, meta = tools["GetCost"]
    assert record["source"] == "openapi:lyft" and record["kind"] == "tool_doc"
    assert meta | {"spec": None} == {
        "api": "Lyft", "api_version": "1.0.0", "method": "GET", "path": "/cost", "operation_id": "GetCost",
        "tags": ["Public"], "spec": None, "spec_version": "2.0",
    }  # fmt: skip
    params = tool["parameters"]
    assert params["required"] == ["start_lat", "start_lng"]
    assert params["properties"]["start_lat"] == {
        "type": "number", "format": "double", "description": "Latitude of the starting location",
    }  # fmt: skip
    # `#/parameters/OptionalRideType` resolved, and the `#/definitions/RideTypeEnum` inside it
    assert params["properties"]["ride_type"]["enum"][:2] == ["lyft", "lyft_line"]
    assert "Operation: GET /cost" in record["text"] and "Base URL: https://api.lyft.com/v1" in record["text"]
    assert "- start_lat (query, number (double), required): Latitude" in record["text"]
    assert "- 200 (CostEstimateResponse): An object" in record["text"]
    # the body's properties join the parameters; allOf parts show in the text
    record, tool, _ = tools["NewRide"]
    assert tool["parameters"]["required"] == ["ride_type", "origin"]
    assert tool["parameters"]["properties"]["ride_type"]["title"] == "RideTypeEnum"
    assert "Request body: Ride (application/json, required)" in record["text"]
    assert "  - lat (number (double), required)" in record["text"]


def test_openapi3_json_tmdb_path_level_parameters(shared_data: Path) -> None:
    spec = shared_data / "restgpt/specs/tmdb_oas.json"
    records, rejected = harvest(spec)
    assert rejected == [] and len(records) == operation_pairs(spec) == 54
    record, tool, meta = by_name(records)["GET_movie-movie_id-keywords"]
    assert meta["spec_version"] == "3.0.0" and meta["path"] == "/movie/{movie_id}/keywords"
    assert tool["parameters"] == {
        "type": "object", "properties": {"movie_id": {"type": "integer"}}, "required": ["movie_id"],
    }  # fmt: skip
    assert "- movie_id (path, integer, required)" in record["text"]
    assert "- 401 (object)" in record["text"]  # a `#/components/responses/...` ref


def test_openapi3_yaml_xkcd(shared_data: Path) -> None:
    records, rejected = harvest(shared_data / "openapi/apis-guru-unofficial/xkcd.com/1.0.0/openapi.yaml")
    assert rejected == [] and len(records) == 2
    record, tool, _ = by_name(records)["get_comicId_info.0.json"]
    assert record["source"] == "openapi:xkcd"
    assert tool["parameters"]["required"] == ["comicId"]
    assert "Base URL: http://xkcd.com/" in record["text"] and "- 200 (comic): OK" in record["text"]


def test_every_unofficial_spec_converts(shared_data: Path) -> None:
    folder = shared_data / "openapi/apis-guru-unofficial"
    records, rejected = harvest(folder)
    assert rejected == []
    assert len(records) == sum(operation_pairs(p) for p in sorted(folder.rglob("*.*")) if p.is_file())
    twilio = [json.loads(r["meta"]) for r in records if r["source"] == "openapi:twilio"]
    assert twilio[0]["api_version"] == "2010-04-01"  # a YAML date, kept as text


def test_records_are_deterministic(shared_data: Path) -> None:
    spec = shared_data / "restgpt/specs/spotify_oas.json"
    assert harvest(spec) == harvest(spec)


CYCLIC = """\
    openapi: 3.1.0
    info: {title: Tree Service, version: "2"}
    paths:
      /nodes/{id}:
        parameters:
          - {name: id, in: path, schema: {type: string}}
        put:
          operationId: putNode
          requestBody:
            required: true
            content:
              application/json:
                schema: {$ref: "#/components/schemas/Node"}
          responses:
            "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Node"}}}}
        get:
          parameters:
            - {name: depth, in: query, schema: {$ref: "other.yaml#/Depth"}}
          responses: {"200": {description: ok}}
    components:
      schemas:
        Node:
          type: object
          required: [name]
          properties:
            name: {type: string}
            parent: {$ref: "#/components/schemas/Node"}
            children: {type: array, items: {$ref: "#/components/schemas/Node"}}
"""


def test_ref_cycle_and_external_ref(tmp_path: Path) -> None:
    records, rejected = harvest(write(tmp_path, "tree.yaml", CYCLIC))
    assert rejected == []
    tools = by_name(records)
    put = tools["putNode"][1]["parameters"]
    assert put["required"] == ["id", "name"]
    assert put["properties"]["parent"] == {"$ref_cycle": "Node"}
    assert put["properties"]["children"] == {"type": "array", "items": {"$ref_cycle": "Node"}}
    assert "- 200 (Node): ok" in tools["putNode"][0]["text"]
    depth = tools["get_nodes_id"][1]["parameters"]["properties"]["depth"]
    assert depth == {"$ref": "other.yaml#/Depth", "$comment": "external reference, not resolved"}
    assert tools["get_nodes_id"][0]["source"] == "openapi:tree-service"


def test_bad_files_give_one_rejection_each(tmp_path: Path, shared_data: Path) -> None:
    write(tmp_path, "a_broken.json", '{"swagger": "2.0",\n "paths": {\n  "/x": }\n}')
    write(tmp_path, "b_broken.yaml", "openapi: 3.0.0\npaths:\n  /x: [get\n  /y: 1\n")
    write(tmp_path, "c_empty.yaml", "\n\n")
    write(tmp_path, "d_unsafe.yaml", "openapi: 3.0.0\npaths: !!python/object/apply:os.system [echo hi]\n")
    write(tmp_path, "e_no_paths.yaml", "openapi: 3.1.0\ninfo: {title: Hooks}\nwebhooks: {}\n")
    (tmp_path / "f_queries.json").write_bytes((shared_data / "restgpt/datasets/tmdb.json").read_bytes())
    records, rejected = harvest(tmp_path)
    assert records == []
    found = [(Path(r.location.path).name, r.reason, r.location.line) for r in rejected]
    assert found == [
        ("a_broken.json", "invalid_json", 3),
        ("b_broken.yaml", "invalid_yaml", 4),
        ("c_empty.yaml", "empty_file", None),
        ("d_unsafe.yaml", "invalid_yaml", 2),
        ("e_no_paths.yaml", "no_operations", None),
        ("f_queries.json", "not_openapi", None),
    ]


def test_one_bad_operation_is_rejected_alone(tmp_path: Path) -> None:
    spec = write(tmp_path, "ops.json", json.dumps({
        "swagger": "2.0", "info": {"title": "Ops"}, "host": "ops.example", "basePath": "/v1",
        "paths": {"/a": {"get": {"parameters": [{"in": "query", "type": "string"}]},
                         "post": {"consumes": ["text/plain"], "parameters": [
                             {"name": "payload", "in": "body", "required": True, "schema": {"type": "string"}},
                             {"name": "upload", "in": "formData", "type": "file"}]}}},
    }))  # fmt: skip
    records, rejected = harvest(spec)
    assert [(r.reason, r.location.item) for r in rejected] == [("bad_operation", 0)]
    assert "GET /a: KeyError" in rejected[0].detail
    (record,) = records
    tool = json.loads(record["tools"][0])
    assert tool["name"] == "post_a"
    assert tool["parameters"]["properties"] == {
        "upload": {"type": "string", "format": "binary"}, "body": {"type": "string"},
    }  # fmt: skip
    assert tool["parameters"]["required"] == ["body"]
    assert "Base URL: https://ops.example/v1" in record["text"]
    assert "Request body: string (text/plain, required)" in record["text"]


def test_yaml_alias_bomb_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(openapi_module, "MAX_YAML_NODES", 10_000)
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 8)]
    path = write(tmp_path, "bomb.yaml", "openapi: 3.0.0\n" + "\n".join(levels) + "\npaths: {}\n")
    records, rejected = harvest(path)
    assert records == [] and [r.reason for r in rejected] == ["too_large"]
