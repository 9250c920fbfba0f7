"""The trajectories source on the real public samples in ../shared/data (skipped without them)."""

import json
from collections import Counter

from hephaestus.chat_template import render_chat
from hephaestus.io.readers import Rejected
from hephaestus.sources import parse_spec


def _read(spec):
    source = parse_spec(spec)
    return [item for task in source.plan(workers=2) for item in source.read(task)]


def _records(items):
    return [i for i in items if not isinstance(i, Rejected)]


def _roles(record):
    return [m["role"] for m in record["messages"]]


def _calls(record):
    return [(c["name"], json.loads(c["arguments"])) for m in record["messages"] for c in m["tool_calls"] or []]


def _meta(record):
    return json.loads(record["meta"])


def test_llama_factory_sharegpt_glaive_demo(shared_data):
    items = _read(f"trajectories:{shared_data / 'llama-factory' / 'glaive_toolcall_en_demo.json'}")
    assert len(items) == 300 and len(_records(items)) == 300
    first = items[0]
    assert first["source"] == "trajectories:sharegpt:glaive_toolcall_en_demo" and first["kind"] == "trajectory"
    assert _roles(first) == ["user", "assistant", "user", "assistant", "tool", "assistant", "user", "assistant"]
    assert _calls(first) == [("search_recipes", {"ingredients": ["chicken", "bell peppers", "rice"]})]
    assert first["messages"][4]["name"] == "search_recipes"
    assert [json.loads(t)["name"] for t in first["tools"]] == ["search_recipes"]
    assert '<tool_call>\n{"name": "search_recipes", "arguments": {"ingredients": ' in first["text"]
    assert _meta(first) == {
        "format": "sharegpt",
        "path": str(shared_data / "llama-factory" / "glaive_toolcall_en_demo.json"),
        "item": 0,
    }
    assert sum(len(_calls(r)) for r in items) == 211  # one call per function_call turn


def test_llama_factory_reasoning_messages_with_content_parts(shared_data):
    items = _read(f"trajectories:{shared_data / 'llama-factory' / 'reason_tool_use_demo_50.jsonl'}")
    assert len(_records(items)) == 50
    movie = items[1]
    assert _meta(movie)["line"] == 2 and _roles(movie)[:4] == ["system", "user", "assistant", "tool"]
    assert movie["messages"][2]["content"].startswith("<think>\nAlright, the user wants information")
    assert _calls(movie)[0] == ("get_movie_details", {"title": "Inception"})
    assert movie["messages"][3]["name"] == "get_movie_details"
    assert [json.loads(t)["name"] for t in items[0]["tools"]][:2] == ["get_device_asset_by_identifier", "getwebsite"]


def test_fireact_openai_chat_lines(shared_data):
    items = _read(f"trajectories:{shared_data / 'fireact' / 'multitask_multimethod.jsonl'}")
    assert len(items) == 2063 and {r["source"] for r in items} == {"trajectories:openai:multitask_multimethod"}
    assert _roles(items[0]) == ["user", "assistant", "user", "assistant", "user"]
    assert "Action: finish[B]" in items[0]["text"]


def test_hammer_xlam_prompt_items(shared_data):
    items = _read(f"trajectories:{shared_data / 'hammer' / 'masking_sft_data_example.json'}")
    assert len(_records(items)) == 10 and {r["source"].split(":")[1] for r in items} == {"xlam"}
    assert [name for name, _ in _calls(items[2])] == ["inHisZPaUrJFTsw", "obLNnfDmd2GO7X0"]
    assert items[2]["messages"][0]["content"].startswith("Validate the token 'DEF456'")
    assert items[0]["messages"][-1] == {"role": "assistant", "content": "", "tool_calls": None, "name": None}
    tool = json.loads(items[1]["tools"][1])
    assert tool["name"] == "WoDdNSe7e7K5" and tool["parameters"]["properties"]["LzZsvxUC"]["type"] == "str"


def test_toolalpaca_eval_sets_one_record_per_instruction(shared_data):
    real = _read(f"trajectories:{shared_data / 'toolalpaca' / 'eval_real.json'}")
    simulated = _read(f"trajectories:{shared_data / 'toolalpaca' / 'eval_simulated.json'}")
    assert len(_records(real)) == 114 and len(_records(simulated)) == 100
    first = real[0]
    assert _meta(first)["key"] == "Nager.Date/0" and _meta(first)["api"] == "Nager.Date"
    assert first["messages"][0]["content"] == "Can you check if today is a public holiday in China?"
    assert _calls(first) == [("PublicHolidayIsTodayPublicHoliday", {"countryCode": "CN"})]
    schema = next(json.loads(t) for t in first["tools"] if json.loads(t)["name"] == "LongWeekendLongWeekend")
    assert schema["parameters"]["required"] == ["year", "countryCode"]
    assert schema["parameters"]["properties"]["year"]["type"] == "integer"


def test_bfcl_question_file_with_its_possible_answer(shared_data):
    bfcl = shared_data / "gorilla" / "bfcl"
    items = _read(f"trajectories:{bfcl / 'BFCL_v4_simple_python.json'}")
    assert len(_records(items)) == 400 and all(_meta(r)["answer"] for r in items)
    assert _meta(items[0])["id"] == "simple_python_0" and _roles(items[0]) == ["user", "assistant"]
    # "unit" accepts ["units", ""]: optional, so left out
    assert _calls(items[0]) == [("calculate_triangle_area", {"base": 10, "height": 5})]
    assert '{"name": "calculate_triangle_area", "arguments": {"base": 10, "height": 5}}' in items[0]["text"]
    parallel = _read(f"trajectories.bfcl:{bfcl / 'BFCL_v4_live_parallel.json'}")
    assert len(parallel) == 16 and all(len(_calls(r)) >= 2 for r in parallel)


def test_bfcl_nested_answers_and_missing_answer_files(shared_data):
    bfcl = shared_data / "gorilla" / "bfcl"
    irrelevance = _read(f"trajectories:{bfcl / 'BFCL_v4_irrelevance.json'}")
    assert len(irrelevance) == 240 and not any(_meta(r)["answer"] for r in irrelevance)
    assert {tuple(_roles(r)) for r in irrelevance} == {("user",)}
    live = _read(f"trajectories:{bfcl / 'BFCL_v4_live_simple.json'}")
    assert len(_records(live)) == 258
    memory = _read(f"trajectories:{bfcl / 'BFCL_v4_memory.json'}")
    assert len(memory) == 155 and {r.reason for r in memory} == {"unsupported"}


def test_bfcl_executable_ground_truth_is_python_calls(shared_data):
    unused = shared_data / "gorilla" / "bfcl" / "unused_datasets" / "question"
    items = _read(f"trajectories:{unused / 'BFCL_v4_exec_simple.json'}")
    assert _calls(items[0]) == [("calc_binomial_probability", {"n": 20, "k": 5, "p": 0.6})]
    assert len(_records(items)) == 100


def test_bfcl_multi_turn_calls_per_turn(shared_data):
    items = _read(f"trajectories:{shared_data / 'gorilla' / 'bfcl' / 'BFCL_v4_multi_turn_miss_func.json'}")
    assert len(_records(items)) == 200
    first = items[0]
    assert _roles(first) == [
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
        "assistant",
        "assistant",
        "user",
        "assistant",
    ]
    assert [name for name, _ in _calls(first)][:4] == ["cd", "mkdir", "mv", "cd"]
    assert ("sort", {"file_name": "final_report.pdf"}) in _calls(first)  # positional `sort('final_report.pdf')`
    assert first["messages"][5]["content"] == ""  # the turn whose function is missing: no call
    assert {"sort", "post_tweet"} <= {json.loads(t)["name"] for t in first["tools"]}
    assert _meta(first)["missed_function"] == {"3": ["sort"]}


def test_gorilla_openfunctions_and_apibench(shared_data):
    gorilla = shared_data / "gorilla"
    functions = _read(f"trajectories:{gorilla / 'openfunctions' / 'gorilla_openfunctions_v1_test.json'}")
    assert len(_records(functions)) == 111
    [bad] = [i for i in functions if isinstance(i, Rejected)]
    assert bad.reason == "invalid_value" and bad.location.item == 5 and "Berkeley" in bad.detail
    assert _calls(functions[0]) == [("coffee_shop.find_nearby", {"location": "San Francisco", "amenities": "Wi-Fi"})]
    bench = _read(f"trajectories:{gorilla / 'apibench' / 'torchhub_eval.json'}")
    assert len(_records(bench)) == 186 and {r["source"] for r in bench} == {"trajectories:apibench:torchhub_eval"}
    first = bench[0]
    assert first["messages"][0]["content"] == "What is an API that can be used to classify sports activities in videos?"
    assert (
        "torch.hub.load('facebookresearch/pytorchvideo', 'slow_r50', pretrained=True)"
        in first["messages"][1]["content"]
    )
    assert json.loads(first["tools"][0])["name"] == "slow_r50"


def test_toolbench_dfsdt_answer_folder(shared_data):
    items = _read(f"trajectories:{shared_data / 'toolbench' / 'data_example' / 'answer'}")
    assert len(items) == 15 and len(_records(items)) == 13
    assert {(r.reason, "valid_data: False" in r.detail) for r in items if isinstance(r, Rejected)} == {
        ("missing_field", True)
    }
    [record] = [r for r in _records(items) if _meta(r)["path"].endswith("G1_answer/10_ChatGPT_DFS_woFilter_w2.json")]
    assert record["source"] == "trajectories:toolbench:10_ChatGPT_DFS_woFilter_w2"
    assert _roles(record) == ["system", "user", "assistant", "tool", "assistant", "tool", "assistant"]
    assert [n for n, _ in _calls(record)] == ["transitaires_for_transitaires", "transitaire_for_transitaires", "Finish"]
    assert record["messages"][5]["name"] == "transitaire_for_transitaires"
    assert _meta(record)["finish_type"] == "give_answer" and len(record["tools"]) == 3


def test_react_prompt_files_one_record_per_example(shared_data):
    prompts = shared_data / "react" / "prompts"
    fever = _read(f"trajectories:{prompts / 'fever.json'}")
    assert len(fever) == 12 and Counter(_meta(r)["key"].split("/")[0] for r in fever)["webthink_simple3"] == 3
    naive = _read(f"trajectories:{prompts / 'prompts_naive.json'}")
    assert len(_records(naive)) == 51
    [hotpot] = [r for r in naive if _meta(r)["key"] == "webthink_simple6/0"]
    assert hotpot["messages"][0]["content"].startswith("Question: What is the elevation range")
    assert [n for n, _ in _calls(hotpot)] == ["Search", "Lookup", "Search", "Search", "Finish"]
    assert _calls(hotpot)[-1] == ("Finish", {"input": "1,800 to 7,000 ft"})
    observation = (
        "The Colorado orogeny was an episode of mountain building (an orogeny) in Colorado and surrounding areas."
    )
    assert hotpot["messages"][2] == {"role": "tool", "content": observation, "tool_calls": None, "name": "Search"}
    [alfworld] = _read(f"trajectories:{prompts / 'alfworld.json'}")
    assert alfworld.reason == "unknown_format"


def test_stored_messages_render_back_to_the_record_text(shared_data):
    paths = [
        "llama-factory/glaive_toolcall_en_demo.json",
        "hammer/masking_sft_data_example.json",
        "gorilla/bfcl/BFCL_v4_parallel.json",
        "react/prompts/fever.json",
    ]
    for path in paths:
        for record in _records(_read(f"trajectories:{shared_data / path}")):
            assert render_chat(record["messages"], record["tools"]).text == record["text"]


def test_a_forced_format_rejects_items_of_another_format(shared_data):
    items = _read(f"trajectories.sharegpt:{shared_data / 'hammer' / 'masking_sft_data_example.json'}")
    assert len(items) == 10 and {(i.reason, i.detail) for i in items} == {
        ("missing_field", "sharegpt: item has no 'conversations'")
    }


def test_a_bfcl_folder_reads_questions_and_leaves_answer_files_to_them(shared_data):
    source = parse_spec(f"trajectories:{shared_data / 'gorilla' / 'bfcl'}")
    files = source.files()
    assert files and not [f for f in files if "/possible_answer/" in f]
    assert any(f.endswith("question/BFCL_v4_simple_python.json") or f.endswith("/BFCL_v4_simple_python.json")
               for f in files)
