"""BFCL prompts in our chat template, reference answers, and few-shot selection, on the real data."""

from __future__ import annotations

import json

import pytest

from hephaestus.chat_template import TURN_END, render_chat
from hephaestus.evaluate.bfcl_data import load_bfcl
from hephaestus.evaluate.bfcl_prompt import (
    ASSISTANT_HEADER,
    pick_shots,
    prompt_functions,
    reference_answer,
    reference_calls,
    render_prompt,
)

CATEGORIES = ["simple_python", "simple_java", "simple_javascript", "multiple", "parallel_multiple", "live_multiple",
              "irrelevance", "live_irrelevance"]


@pytest.fixture(scope="module")
def items():
    return load_bfcl(CATEGORIES, limit=25)


def test_chat_prompt_holds_every_function_and_the_question_and_ends_at_the_assistant_header(items):
    for item in items:
        prompt = render_prompt(item, style="chat")
        assert prompt.endswith(ASSISTANT_HEADER) and prompt.count(ASSISTANT_HEADER) == 1
        assert all(json.dumps(function["name"]) in prompt for function in item.functions)
        assert item.messages[-1]["content"] in prompt
        assert "<tool_call>" not in prompt


def test_prompt_plus_reference_is_the_conversation_as_our_template_renders_it(items):
    for item in (item for item in items if item.answer is not None):
        answer = reference_answer(item)
        assert answer.startswith("<tool_call>\n") and answer.endswith("</tool_call>" + TURN_END)
        assert answer.count("<tool_call>") == len(item.answer)
        messages = [*item.messages, {"role": "assistant", "content": None, "tool_calls": reference_calls(item)}]
        rendered = render_chat(messages, prompt_functions(item))
        assert render_prompt(item) + answer + "\n" == rendered.text
        assert rendered.trained_text() == answer


def test_references_take_the_first_acceptable_value_and_java_javascript_values_as_source_text():
    simple, java, javascript = (load_bfcl([name], limit=25) for name in ("simple_python", "simple_java",
                                                                         "simple_javascript"))
    # unit: ["units", ""] -> the first value; a parameter whose first value is "" is left out
    assert reference_calls(simple[0]) == [{"name": "calculate_triangle_area",
                                           "arguments": {"base": 10, "height": 5, "unit": "units"}}]
    assert "round_to" not in reference_calls(simple[1])[0]["arguments"]  # math.factorial? any "" first is omitted
    java_args = reference_calls(java[1])[0]["arguments"]  # useShortName: [true], params: a HashMap
    assert java_args["useShortName"] == "true"
    assert java_args["params"] == 'new HashMap<String, Object>() {{ put("limit", 50); put("schemaFilter", "public"); }}'
    js_args = reference_calls(javascript[2])[0]["arguments"]  # status: [["completed", "failed"]]
    assert js_args["status"] == '["completed", "failed"]'
    assert all(isinstance(v, str) for item in java + javascript for c in reference_calls(item)
               for v in c["arguments"].values())


def test_java_prompts_show_the_types_as_strings_with_bfcl_language_hint():
    java = load_bfcl(["simple_java"], limit=1)[0]
    shown = prompt_functions(java)[0]
    assert shown["description"].endswith("Note that the provided function is in Java 8 SDK syntax.")
    assert {p["type"] for p in shown["parameters"]["properties"].values()} == {"string"}
    assert java.functions[0]["parameters"]["properties"]["controller"]["type"] == "any"  # the item is untouched


def test_irrelevance_items_have_no_reference(items):
    irrelevant = next(item for item in items if item.category == "irrelevance")
    with pytest.raises(ValueError, match="no ground truth"):
        reference_answer(irrelevant)


def test_base_prompt_puts_answered_shots_first_and_never_the_item_or_its_answer(items):
    for item in items:
        shots = pick_shots(items, item, 3)
        assert len(shots) == 3 and item not in shots
        assert all(shot.answer is not None and shot.language == item.language for shot in shots)
        assert pick_shots(items, item, 3) == shots  # deterministic
        prompt = render_prompt(item, style="base", shots=shots)
        assert prompt.endswith(render_prompt(item, style="chat"))
        assert prompt.count(ASSISTANT_HEADER) == 4
        assert all(reference_answer(shot) in prompt for shot in shots)
        if item.answer is not None:
            assert reference_answer(item) not in prompt
    simple = [item for item in items if item.category == "simple_python"]
    assert all(shot.category == "simple_python" for shot in pick_shots(items, simple[0], 3))
    with pytest.raises(ValueError, match="worked example for itself"):
        render_prompt(simple[0], style="base", shots=[simple[0]])
    assert render_prompt(simple[0], style="chat", shots=simple[1:3]) == render_prompt(simple[0])
