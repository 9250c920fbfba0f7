"""The trajectories source's NESTFUL reader on the data of the installed nestful-wrapper package
(ComplexFuncBench with recorded API responses, and NESTFUL's call-only files), on hand-made bad items,
and the streaming reader of JSON arrays too big to read whole."""

import importlib.util
import json
from collections import Counter

import pytest

from hephaestus.chat_template import render_chat, render_tool_call
from hephaestus.io.readers import Location, Rejected
from hephaestus.sources import parse_spec
from hephaestus.sources.trajectories import detect, jsonarray
from hephaestus.sources.trajectories.jsonarray import iter_json_array

INSTALL = "pip install --no-deps nestful-wrapper==0.1.7"
COMPLEXFUNCBENCH = "pkg://data_v1/complexfuncbench/complexfuncbench-data.json"
CARS = ["Search_Car_Location", "Search_Car_Rentals", "Vehicle_Supplier_Ratings", "Vehicle_Details",
        "Booking_Summary", "Get_Packages", "Vehicle_Supplier_Details", "Vehicle_Supplier_Review"]


def _read(spec):
    source = parse_spec(spec)
    return [item for task in source.plan(workers=1) for item in source.read(task)]


def _calls(record):
    return [(c["name"], json.loads(c["arguments"])) for m in record["messages"] for c in m["tool_calls"] or []]


def _tools(record):
    return [json.loads(tool) for tool in record["tools"] or []]


@pytest.fixture(scope="module")
def nestful_data():
    if importlib.util.find_spec("data_v1") is None or importlib.util.find_spec("nestful") is None:
        pytest.skip(f"nestful-wrapper is not installed ({INSTALL}); its data_v1 folder holds the NESTFUL files")


@pytest.fixture(scope="module")
def complexfuncbench(nestful_data):
    return _read(f"trajectories.nestful:{COMPLEXFUNCBENCH}")


def test_complexfuncbench_counts_and_first_conversation(complexfuncbench):
    items = complexfuncbench
    assert len(items) == 1000 and not [i for i in items if isinstance(i, Rejected)]
    assert sum(len(_calls(r)) for r in items) == 5070
    assert sum(m["role"] == "tool" for r in items for m in r["messages"]) == 5070
    assert sum(json.loads(r["meta"])["references"] for r in items) == 3068
    for record in items:  # user, then each call followed by its response; no final answer in the data
        roles = [m["role"] for m in record["messages"]]
        assert roles == ["user"] + ["assistant", "tool"] * (len(roles) // 2)
    first = items[0]
    assert first["source"] == "trajectories:nestful:complexfuncbench-data" and first["kind"] == "trajectory"
    meta = json.loads(first["meta"])
    assert (meta["format"], meta["item"], meta["calls"], meta["responses"]) == ("nestful", 0, 3, True)
    assert first["messages"][0]["content"].startswith("Today is October 13th, 2024. I want to rent a car")
    assert [t["name"] for t in _tools(first)] == CARS  # the called APIs' endpoint folder: /api/v1/cars
    assert _tools(first)[0]["parameters"]["required"] == ["query"]
    location, rentals, _ = _calls(first)
    assert location == ("Search_Car_Location", {"query": "San Diego Marriott La Jolla"})
    # $var1.coordinates.latitude$ is resolved from the first response, as in the original benchmark
    assert rentals[1]["pick_up_latitude"] == 32.873055 and rentals[1]["drop_off_longitude"] == -117.215935
    assert first["messages"][2]["name"] == "Search_Car_Location"
    assert json.loads(first["messages"][2]["content"])[0]["coordinates"]["latitude"] == 32.873055


def test_complexfuncbench_arguments_hold_no_unresolved_reference(complexfuncbench):
    arguments = [c["arguments"] for r in complexfuncbench for m in r["messages"] for c in m["tool_calls"] or []]
    assert len(arguments) == 5070 and not [a for a in arguments if '"$var' in a]
    domains = Counter(len(r["tools"]) for r in complexfuncbench)
    assert domains[8] == 150 and domains[17] == 100  # the cars-only and hotels-only tasks


def test_complexfuncbench_text_round_trips_with_calls_then_results_in_order(complexfuncbench):
    for record in complexfuncbench:
        chat = render_chat(record["messages"], _tools(record))
        assert chat.text == record["text"]
        position = chat.text.index("<|im_start|>user\n")
        for message in record["messages"][1:]:
            if message["role"] == "assistant":
                piece = render_tool_call(message["tool_calls"][0])
            else:
                piece = f"<|im_start|>tool name={message['name']}\n{message['content']}<|im_end|>"
            found = chat.text.find(piece, position)
            assert found >= position, (json.loads(record["meta"])["item"], piece[:80])
            position = found + len(piece)


def test_complexfuncbench_trained_spans_cover_the_calls_and_not_the_tool_outputs(complexfuncbench):
    for record in complexfuncbench[::7]:
        chat = render_chat(record["messages"], _tools(record))
        calls = [m for m in record["messages"] if m["role"] == "assistant"]
        assert len(chat.trained_spans) == len(calls)
        assert chat.trained_text() == "".join(render_tool_call(m["tool_calls"][0]) + "<|im_end|>" for m in calls)
        outputs = [m["content"] for m in record["messages"] if m["role"] == "tool"]
        start = chat.text.index("<|im_start|>user\n")
        for output in outputs:
            begin = chat.text.index(output, start)
            start = begin + len(output)
            assert all(end <= begin or first >= start for first, end in chat.trained_spans)


def test_nestful_files_without_responses_keep_references_in_one_assistant_turn(nestful_data):
    items = _read("trajectories:pkg://data_v1/executable/executable-data.json")  # detected as nestful
    assert len(items) == 85 and not [i for i in items if isinstance(i, Rejected)]
    first = items[0]
    assert [m["role"] for m in first["messages"]] == ["user", "assistant"]
    calls = _calls(first)
    assert len(calls) == 5 and calls[2][1]["originSkyId"] == "$var1.skyId$"  # var_result step dropped
    assert json.loads(first["meta"])["responses"] is False
    assert [t["name"] for t in _tools(first)] == [
        "SkyScrapperFlightSearch", "SkyScrapperSearchAirport", "TripadvisorSearchLocation", "TripadvisorSearchHotels"
    ]


SPEC = [
    {"name": "find", "description": "Find a place", "host": "h", "endpoint": "/v1/places/find",
     "query_parameters": {"q": {"type": "string", "description": "what", "required": True, "enum": [],
                                "default": None}},
     "sample_responses": [[{"id": 1}]]},
    {"name": "near", "description": "Places near one", "host": "h", "endpoint": "/v1/places/near",
     "query_parameters": {"id": {"type": "number", "required": True},
                          "kind": {"required": False, "allowed_values": ["bar", "cafe"], "default_value": "cafe"}}},
    {"name": "weather", "description": "Weather", "host": "h", "endpoint": "/v1/meta/weather",
     "query_parameters": {}},
]
GOOD = {
    "input": " Cafes near the Louvre?",
    "output": [
        {"name": "find", "arguments": {"q": "Louvre"}, "label": "var1", "response": {"data": [{"id": 7}]}},
        {"name": "near", "arguments": {"id": "$var1.id$"}, "label": "var2", "response": "two cafes"},
    ],
}


def _step(**changes):
    return {**GOOD["output"][1], **changes}


def test_malformed_items_are_quarantined_with_a_reason(tmp_path):
    (tmp_path / "small-spec.json").write_text(json.dumps(SPEC))
    rows = [
        GOOD,
        {**GOOD, "output": [GOOD["output"][0], _step(arguments={"id": "$var1.name$"})]},
        {**GOOD, "output": [GOOD["output"][0], _step(arguments={"id": "$var3.id$"})]},
        {**GOOD, "output": [GOOD["output"][0], _step(response=None)]},
        {**GOOD, "output": [GOOD["output"][0], _step(name="book")]},
        {**GOOD, "output": [GOOD["output"][0], _step(arguments=["Louvre"])]},
        {**GOOD, "output": [GOOD["output"][0], _step(arguments="{not json")]},
        {**GOOD, "output": [GOOD["output"][0], {"arguments": {}}]},
        {**GOOD, "input": "  "},
        {**GOOD, "output": [{"name": "var_result", "arguments": {}}]},
        {**GOOD, "errors": [{"tag": "wrong_argument"}]},
        "not an object",
    ]
    (tmp_path / "small-data.json").write_text(json.dumps(rows, indent=1))
    items = _read(f"trajectories.nestful:{tmp_path / 'small-data.json'}")
    assert len(items) == len(rows)  # records in = records out + rejected
    good, *bad = items
    assert not isinstance(good, Rejected)
    assert [m["role"] for m in good["messages"]] == ["user", "assistant", "tool", "assistant", "tool"]
    assert good["messages"][0]["content"] == "Cafes near the Louvre?"
    assert _calls(good) == [("find", {"q": "Louvre"}), ("near", {"id": 7})]  # via the response's data
    assert [m["content"] for m in good["messages"] if m["role"] == "tool"] == ['{"data": [{"id": 7}]}', "two cafes"]
    assert [t["name"] for t in _tools(good)] == ["find", "near"]  # not the meta folder's weather
    assert _tools(good)[1]["parameters"] == {
        "type": "object",
        "properties": {"id": {"type": "number"}, "kind": {"enum": ["bar", "cafe"], "default": "cafe"}},
        "required": ["id"],
    }
    assert all(isinstance(i, Rejected) for i in bad)
    assert [(i.reason, i.location.item) for i in bad] == [
        ("invalid_value", 1), ("invalid_value", 2), ("missing_field", 3), ("invalid_value", 4),
        ("invalid_value", 5), ("invalid_json", 6), ("missing_field", 7), ("missing_field", 8),
        ("missing_field", 9), ("unsupported", 10), ("invalid_value", 11),
    ]
    assert "reference $var1.name$ is not in an earlier call's response" in bad[0].detail
    assert "steps 1 have no recorded response" in bad[2].detail
    assert "calls 'book', which small-spec.json does not describe" in bad[3].detail
    assert json.loads(bad[0].raw)["input"] == GOOD["input"]


def test_without_a_spec_file_there_are_no_tools_and_a_broken_spec_rejects_every_item(tmp_path):
    (tmp_path / "lone.json").write_text(json.dumps([GOOD]))
    (record,) = _read(f"trajectories:{tmp_path / 'lone.json'}")
    assert detect(GOOD) == "nestful" and record["tools"] is None and len(_calls(record)) == 2
    (tmp_path / "x-spec.json").write_text('[{"name": "find"}, {"description": "no name"}]')
    (tmp_path / "x-data.json").write_text(json.dumps([GOOD, GOOD]))
    items = _read(f"trajectories:{tmp_path / 'x-data.json'}")
    assert [i.reason for i in items] == ["invalid_value", "invalid_value"]
    assert "spec file x-spec.json item 1 has no 'name'" in items[0].detail


def test_json_array_is_read_element_by_element(tmp_path, monkeypatch):
    monkeypatch.setattr(jsonarray, "CHUNK", 7)  # every element spans several reads
    rows = [{"text": "é" * 40, "n": i} for i in range(5)] + [12345678, 1.5e-3, -2.25, True, None, "x"]
    path = tmp_path / "a.json"
    path.write_text(json.dumps(rows, indent=2, ensure_ascii=False), encoding="utf-8")
    items = list(iter_json_array(str(path)))
    assert items == [(Location(str(path), item=i), row) for i, row in enumerate(rows)]
    path.write_text(" [ ] ")
    assert list(iter_json_array(str(path))) == []
    path.write_text("[1.5e-3, -2.25, 123456, true, null]")
    for chunk in range(1, 12):  # a number cut at the end of a read is not taken for a shorter one
        monkeypatch.setattr(jsonarray, "CHUNK", chunk)
        assert [value for _, value in iter_json_array(str(path))] == [1.5e-3, -2.25, 123456, True, None]


@pytest.mark.parametrize(
    ("text", "reason", "count"),
    [
        ('{"a": 1}', "invalid_json", 0),
        ('[{"a": 1}, {"b": ', "invalid_json", 1),
        ('[{"a": 1} {"b": 2}]', "invalid_json", 1),
        ('[{"a": 1}] [2]', "invalid_json", 1),
        ('[{"a": 1}, "' + "y" * 100 + '"]', "too_large", 1),
        ('[{"a": 1}, {"b" 2}, ' + '"z", ' * 40 + '"z"]', "invalid_json", 1),  # not mistaken for too_large
    ],
)
def test_json_array_errors_end_the_file_with_a_rejection(tmp_path, monkeypatch, text, reason, count):
    monkeypatch.setattr(jsonarray, "CHUNK", 16)
    path = tmp_path / "bad.json"
    path.write_text(text)
    items = list(iter_json_array(str(path), max_item_bytes=64))
    assert len(items) == count + 1 and isinstance(items[-1], Rejected) and items[-1].reason == reason
    assert not any(isinstance(i, Rejected) for i in items[:-1])


def test_json_array_rejects_invalid_utf8(tmp_path):
    path = tmp_path / "latin.json"
    path.write_bytes(b'["caf\xe9"]')
    (item,) = iter_json_array(str(path))
    assert isinstance(item, Rejected) and item.reason == "invalid_utf8"
