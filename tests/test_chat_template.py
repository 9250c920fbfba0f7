from hephaestus.chat_template import render_chat

MESSAGES = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Weather in Paris?"},
    {"role": "assistant", "content": None, "tool_calls": [{"name": "get_weather", "arguments": '{"city": "Paris"}'}]},
    {"role": "tool", "name": "get_weather", "content": '{"sky": "clear"}'},
    {"role": "assistant", "content": "Clear skies in Paris."},
]
TOOLS = [{"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}]


def test_rendering_puts_tools_in_the_system_turn_and_calls_in_tags():
    rendered = render_chat(MESSAGES, TOOLS)
    assert rendered.text.startswith("<|im_start|>system\nBe brief.\n\nYou can call the following functions")
    assert '"name": "get_weather", "parameters"' in rendered.text
    assert '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>' in rendered.text
    assert "<|im_start|>tool name=get_weather\n" in rendered.text
    assert render_chat(MESSAGES, TOOLS) == rendered  # deterministic


def test_trained_spans_are_exactly_the_assistant_turns():
    rendered = render_chat(MESSAGES, TOOLS)
    trained = [rendered.text[start:end] for start, end in rendered.trained_spans]
    assert trained == [
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call><|im_end|>',
        "Clear skies in Paris.<|im_end|>",
    ]
    assert "Weather in Paris?" not in rendered.trained_text()
