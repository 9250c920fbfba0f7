"""parse_calls: our <tool_call> JSON blocks, BFCL's Python-list format, Java/JavaScript values, clear errors."""

from __future__ import annotations

import pytest

from hephaestus.evaluate.bfcl_parse import CallParseError, parse_calls


def block(body: str) -> str:
    return f"<tool_call>\n{body}\n</tool_call>"


def test_tool_call_blocks_become_checker_calls_and_text_after_the_turn_end_is_ignored():
    text = (block('{"name": "math.hypot", "arguments": {"x": 3, "y": 4.5}}') + "\n"
            + block('{"name": "log", "arguments": "{\\"msg\\": \\"hi\\"}"}') + "<|im_end|>\n"
            + block("not even json"))
    assert parse_calls(text, "python") == [{"math.hypot": {"x": 3, "y": 4.5}}, {"log": {"msg": "hi"}}]
    assert parse_calls(block('{"name": "now"}')) == [{"now": {}}]


@pytest.mark.parametrize("text", ["", "I cannot help with that: no function fits.", "<|im_end|>" + block("{}")])
def test_text_without_a_call_is_no_call(text):
    assert parse_calls(text, "python") == []


def test_bfcl_python_list_format_is_read_by_its_own_decoder():
    assert parse_calls("[area(base=10, height=5), convert(units=['m', 'cm'], scale=2*3)]") == [
        {"area": {"base": 10, "height": 5}}, {"convert": {"units": ["m", "cm"], "scale": 6}}]
    assert parse_calls("```\n[a.b.c(flag=True)]\n```<|im_end|>") == [{"a.b.c": {"flag": True}}]


@pytest.mark.parametrize(("text", "reason"), [
    (block('{"name": "f", "arguments": {"x": 1}'), "not JSON"),
    (block('{"arguments": {"x": 1}}'), "no function name"),
    (block('{"name": "", "arguments": {}}'), "no function name"),
    (block('{"name": "f", "arguments": [1, 2]}'), "not an object"),
    (block('{"name": "f", "arguments": "{broken"}'), "arguments are not JSON"),
    ('<tool_call>\n{"name": "f", "arguments": {"x": 1}}', "without its closing"),
    ("[f(x=1)", "not a list of calls"),
    ("[1, 2]", "not a list of calls"),
    ("[f(x=__import__('os').getcwd() + 'a')]", "other than arithmetic"),
    ("[f(x=9**9**9**9)]", "other than arithmetic"),
])
def test_malformed_calls_raise_with_the_reason(text, reason):
    with pytest.raises(CallParseError, match=reason):
        parse_calls(text, "python")


def test_java_and_javascript_values_are_source_text():
    text = block('{"name": "Util.run", "arguments": {"n": 5, "on": true, "x": 2.5, "s": "abc", "none": null}}')
    expected = [{"Util.run": {"n": "5", "on": "true", "x": "2.5", "s": "abc", "none": "null"}}]
    assert parse_calls(text, "java") == expected
    assert parse_calls(text, "javascript") == expected
    assert parse_calls(text, "python") == [{"Util.run": {"n": 5, "on": True, "x": 2.5, "s": "abc", "none": None}}]
    # the prompting format goes through bfcl-eval's Java and JavaScript parsers (tree-sitter)
    assert parse_calls('[Util.run(n=5, s="abc", arr=new int[]{1, 2})]', "java") == [
        {"Util.run": {"n": "5", "s": "abc", "arr": "new int[]{1,2}"}}]
    assert parse_calls("[run(n=5, s='abc')]", "javascript") == [{"run": {"n": "5", "s": "abc"}}]
    with pytest.raises(CallParseError):
        parse_calls("[Util.run(n=", "java")
