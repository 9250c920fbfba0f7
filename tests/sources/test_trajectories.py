"""The trajectories source on small hand-written files in each published format, and on bad input."""

import json

import pytest

from hephaestus.chat_template import render_chat
from hephaestus.io.readers import Rejected
from hephaestus.sources import parse_spec
from hephaestus.sources.base import SpecError
from hephaestus.sources.trajectories import FORMATS, TrajectorySource, detect
from hephaestus.sources.trajectories.react import parse_steps


def _read(spec):
    source = parse_spec(spec)
    return [item for task in source.plan(workers=1) for item in source.read(task)]


def _write_jsonl(path, rows):
    path.write_text("".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows))
    return path


def _calls(record):
    return [(c["name"], json.loads(c["arguments"])) for m in record["messages"] for c in m["tool_calls"] or []]


WEATHER = {
    "name": "get_weather",
    "description": "Current weather of a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def test_openai_tool_calls_are_normalised_and_replies_named_by_call_id(tmp_path):
    row = {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    },
                    {
                        "id": "c2",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "c2", "content": "18C"},
            {"role": "tool", "tool_call_id": "c1", "content": "21C"},
            {"role": "assistant", "content": "Paris 21C, Rome 18C."},
        ],
        "tools": [{"type": "function", "function": WEATHER}],
    }
    [record] = _read(f"trajectories:{_write_jsonl(tmp_path / 'chat.jsonl', [row])}")
    assert record["source"] == "trajectories:openai:chat" and record["kind"] == "trajectory"
    assert _calls(record) == [("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Rome"})]
    assert [m["name"] for m in record["messages"]] == [None, None, None, "get_weather", "get_weather", None]
    assert [m["tool_calls"][0]["id"] for m in record["messages"] if m["tool_calls"]] == ["c1"]
    assert json.loads(record["tools"][0]) == WEATHER  # the {"type": "function"} wrapper is removed
    assert record["text"].startswith("<|im_start|>system\nBe brief.\n\nYou can call the following functions.")
    assert '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Rome"}}\n</tool_call>' in record["text"]
    assert render_chat(record["messages"], record["tools"]).text == record["text"]
    assert json.loads(record["meta"]) == {"format": "openai", "path": str(tmp_path / "chat.jsonl"), "line": 1}


def test_glaive_functioncall_text(tmp_path):
    system = (
        "SYSTEM: You are a helpful assistant with access to the following functions. Use them if required -\n"
        + json.dumps(WEATHER, indent=4)
        + '\n\n{"name": "get_time", "description": "Time", "parameters": {"type": "object", "properties": {}}}\n'
    )
    chat = (
        "USER: What's the weather in Oslo?\n\n\n"
        'ASSISTANT: <functioncall> {"name": "get_weather", "arguments": \'{"city": "Oslo"}\'} <|endoftext|>\n\n\n'
        'FUNCTION RESPONSE: {"temperature": -3}\n\n\n'
        "ASSISTANT: It is -3C in Oslo. <|endoftext|>\n"
    )
    path = _write_jsonl(tmp_path / "glaive.jsonl", [{"system": system, "chat": chat}])
    [record] = _read(f"trajectories:{path}")
    assert [(m["role"], m["content"]) for m in record["messages"]] == [
        ("system", "You are a helpful assistant with access to the following functions. Use them if required -"),
        ("user", "What's the weather in Oslo?"),
        ("assistant", None),
        ("tool", '{"temperature": -3}'),
        ("assistant", "It is -3C in Oslo."),
    ]
    assert _calls(record) == [("get_weather", {"city": "Oslo"})] and record["messages"][3]["name"] == "get_weather"
    assert [json.loads(t)["name"] for t in record["tools"]] == ["get_weather", "get_time"]
    plain_json = {"chat": 'USER: Time?\nASSISTANT: <functioncall> {"name": "get_time", "arguments": {}} <|endoftext|>'}
    [record] = _read(f"trajectories.glaive:{_write_jsonl(tmp_path / 'glaive2.jsonl', [plain_json])}")
    assert _calls(record) == [("get_time", {})] and record["tools"] is None


def test_toolllama_sharegpt_react_turns_and_api_listing(tmp_path):
    apis = [
        {"name": "search_for_pets", "description": "Search pets.", "parameters": {"type": "object", "properties": {}}},
        {"name": "Finish", "description": "Finish the task.", "parameters": {"type": "object", "properties": {}}},
    ]
    row = {
        "id": "Step 4: Find cats.",
        "conversations": [
            {
                "from": "system",
                "value": "You are AutoGPT.\nSpecifically, you have access to the following APIs: " + str(apis),
            },
            {"from": "user", "value": "\nFind cats.\nBegin!\n"},
            {
                "from": "assistant",
                "value": '\nThought: I should search.\nAction: search_for_pets\nAction Input: {\n  "q": "cat"\n}',
            },
            {"from": "function", "value": '{"error": "", "response": "3 cats"}'},
            {"from": "assistant", "value": '\nThought: \nAction: Finish\nAction Input: {"return_type": "give_answer"}'},
        ],
    }
    [record] = _read(f"trajectories:{_write_jsonl(tmp_path / 'toolllama.jsonl', [row])}")
    assert record["source"] == "trajectories:sharegpt:toolllama"
    assert record["messages"][0]["content"] == "You are AutoGPT."
    assert [json.loads(t)["name"] for t in record["tools"]] == ["search_for_pets", "Finish"]
    assert [m["role"] for m in record["messages"]] == ["system", "user", "assistant", "tool", "assistant"]
    assert record["messages"][2]["content"] == "I should search." and record["messages"][4]["content"] is None
    assert _calls(record) == [("search_for_pets", {"q": "cat"}), ("Finish", {"return_type": "give_answer"})]
    assert record["messages"][3]["name"] == "search_for_pets"
    assert json.loads(record["meta"])["id"] == "Step 4: Find cats."


def test_xlam_query_tools_answers(tmp_path):
    tools = [
        {
            "name": "get_weather",
            "description": "Weather",
            "parameters": {
                "city": {"type": "str", "description": "City", "default": "London"},
                "units": {"type": "str, optional", "description": "Units", "default": "metric"},
            },
        }
    ]
    answers = [{"name": "get_weather", "arguments": {"city": "Paris"}}]
    rows = [
        {"id": 7, "query": "Weather in Paris?", "tools": json.dumps(tools), "answers": json.dumps(answers)},
        {"id": 8, "query": "Tell me a joke.", "tools": json.dumps(tools), "answers": "[]"},
    ]
    first, second = _read(f"trajectories.xlam:{_write_jsonl(tmp_path / 'xlam.jsonl', rows)}")
    assert _calls(first) == [("get_weather", {"city": "Paris"})]
    assert json.loads(first["tools"][0])["parameters"]["required"] == ["city"]
    assert json.loads(first["meta"])["id"] == 7
    assert second["messages"][-1]["content"] == "" and not second["messages"][-1]["tool_calls"]


def test_toolalpaca_training_instances(tmp_path):
    api = {
        "Name": "Cat Facts",
        "Category": "Animals",
        "Function_Description": {
            "getFact": 'Get a random fact.\nParameters: {"max_length": "integer. Longest fact."}\nOutput: A fact.',
            "components": "",
        },
        "Instances": [
            {
                "input": "Tell me a short cat fact.\nHint: use getFact",
                "output": "Cats sleep 16 hours a day.",
                "Final Thought": "I have the fact.",
                "intermediate_steps": [
                    [
                        [
                            "getFact",
                            '{"max_length": 40}',
                            ' I need a fact.\nAction: getFact\nAction Input: {"max_length": 40}',
                        ],
                        '{"fact": "Cats sleep 16 hours a day."}',
                    ]
                ],
            }
        ],
    }
    (tmp_path / "train.json").write_text(json.dumps([api]))
    [record] = _read(f"trajectories:{tmp_path / 'train.json'}")
    assert [(m["role"], m["content"]) for m in record["messages"]] == [
        ("user", "Tell me a short cat fact."),
        ("assistant", "I need a fact."),
        ("tool", '{"fact": "Cats sleep 16 hours a day."}'),
        ("assistant", "Cats sleep 16 hours a day."),
    ]
    assert _calls(record) == [("getFact", {"max_length": 40})]
    assert json.loads(record["tools"][0]) == {
        "name": "getFact",
        "description": "Get a random fact.",
        "parameters": {
            "type": "object",
            "properties": {"max_length": {"type": "integer", "description": "Longest fact."}},
            "required": [],
        },
    }
    assert json.loads(record["meta"])["key"] == "Cat Facts/0"


def test_bfcl_answers_are_matched_by_id_from_the_possible_answer_folder(tmp_path):
    questions = [
        {"id": "simple_0", "question": [[{"role": "user", "content": "Weather in Lima?"}]], "function": [WEATHER]},
        {"id": "simple_1", "question": [[{"role": "user", "content": "Weather in Quito?"}]], "function": [WEATHER]},
    ]
    _write_jsonl(tmp_path / "BFCL_test.json", questions)
    answer = {"get_weather": {"city": ["Quito", "quito"], "unit": ["", "celsius"], "opts": [{"a": [1], "b": [""]}]}}
    (tmp_path / "possible_answer").mkdir()
    _write_jsonl(tmp_path / "possible_answer" / "BFCL_test.json", [{"id": "simple_1", "ground_truth": [answer]}])
    first, second = _read(f"trajectories:{tmp_path / 'BFCL_test.json'}")
    assert [m["role"] for m in first["messages"]] == ["user"] and json.loads(first["meta"])["answer"] is False
    assert _calls(second) == [("get_weather", {"city": "Quito", "opts": {"a": 1}})]
    assert json.loads(second["meta"])["id"] == "simple_1"


def test_react_steps_with_json_action_inputs():
    messages = parse_steps(
        'Thought: look it up\nAction: lookup\nAction Input: {"q": "x"}\nObservation: found x\nThought: done'
    )
    assert [(m["role"], m["content"], m["name"]) for m in messages] == [
        ("assistant", "look it up", None),
        ("tool", "found x", "lookup"),
        ("assistant", "done", None),
    ]
    assert messages[0]["tool_calls"][0]["arguments"] == '{"q": "x"}'


def test_every_line_gives_one_record_or_one_rejection(tmp_path):
    good = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}
    rows = [
        good,
        '{"messages": [',
        {"messages": []},
        {"prompt": "no known format"},
        {"conversations": [{"from": "robot", "value": "beep"}]},
        {"messages": [{"role": "assistant", "tool_calls": [{"function": {"arguments": "{}"}}]}]},
        {"id": "x", "question": [[{"role": "user", "content": "q"}]], "function": [{"description": "no name"}]},
        {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x.png"}}]}]},
        good,
    ]
    items = _read(f"trajectories:{_write_jsonl(tmp_path / 'mixed.jsonl', rows)}")
    assert len(items) == len(rows)
    rejected = [(i.reason, i.location.line) for i in items if isinstance(i, Rejected)]
    assert rejected == [
        ("invalid_json", 2),
        ("missing_field", 3),
        ("unknown_format", 4),
        ("invalid_value", 5),
        ("invalid_value", 6),
        ("invalid_value", 7),
        ("unsupported", 8),
    ]
    unknown = items[3]
    assert "keys [prompt]" in unknown.detail and json.loads(unknown.raw) == {"prompt": "no known format"}
    assert "unknown role 'robot'" in items[4].detail and str(tmp_path / "mixed.jsonl") in items[4].message()
    assert items[0]["id"] == items[-1]["id"]


def test_array_items_are_located_by_index(tmp_path):
    (tmp_path / "array.json").write_text(json.dumps(["just text", {"conversations": []}]))
    items = _read(f"trajectories:{tmp_path / 'array.json'}")
    assert [(i.reason, i.location.item) for i in items] == [("unknown_format", 0), ("missing_field", 1)]


def test_detection_order_and_bad_format_option(tmp_path):
    assert detect({"messages": [], "conversations": []}) == "sharegpt"
    assert detect({"id": "1", "question": "q", "function": {}, "model_answer": "f()"}) == "bfcl"
    assert detect({"a": "Question: x\nThought 1: y\nAction 1: Finish[z]"}) == "react"
    assert detect({"a": "plain text"}) is None
    assert list(FORMATS)[-1] == "react"
    with pytest.raises(SpecError, match="unknown trajectory format 'chatml'"):
        parse_spec(f"trajectories.chatml:{tmp_path}")
    assert TrajectorySource(str(tmp_path)).format == "auto"
