"""ToolBench DFSDT answer files: one JSON object per query whose `answer_generation` holds the function
schemas and `train_messages`, the successive prefixes of the final chain in OpenAI's legacy
function-call shape; the last (longest) prefix is the whole trajectory."""

from __future__ import annotations

from typing import Any

from hephaestus.sources.trajectories import openai
from hephaestus.sources.trajectories.common import Context, Conversation, FormatError, require, tool_schemas


def detect(item: Any) -> bool:
    return isinstance(item, dict) and isinstance(item.get("answer_generation"), dict)


def normalise(item: Any, context: Context) -> Conversation:
    generation = require(item, "answer_generation", dict)
    chains = generation.get("train_messages")
    if not isinstance(chains, list) or not chains or not isinstance(chains[-1], list):
        valid = generation.get("valid_data")
        raise FormatError("missing_field", f"answer_generation has no train_messages (valid_data: {valid})")
    messages = openai.normalise_messages(chains[-1])
    tools = tool_schemas(generation.get("function") or [])
    meta = {key: generation.get(key) for key in ("query", "finish_type") if generation.get(key) is not None}
    if isinstance(item.get("win"), bool):
        meta["win"] = item["win"]
    return Conversation(messages, tools, meta)
