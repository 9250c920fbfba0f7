"""BFCL items as prompts in our chat template, and their reference answers as a trained model writes them.

A prompt is the ChatML text up to the assistant header (`<|im_start|>assistant\\n`), with the item's function
docs in the system turn: the docs BFCL shows models, i.e. with its language hint added ("Note that the
provided function is in Python 3 syntax.", Java and JavaScript types as strings). The "base" style puts
few-shot worked examples (other items, answered with their reference) before it, so a base model sees the
pattern. `render_prompt(item) + reference_answer(item)` is exactly the text `render_chat` makes of the
conversation with the answer as the assistant's tool calls (less the final newline).
"""

from __future__ import annotations

import copy
import functools
import hashlib
import heapq
from collections.abc import Sequence
from typing import Any, Literal

from hephaestus.chat_template import TURN_END, TURN_START, render_chat, render_tool_call
from hephaestus.evaluate.bfcl_data import BfclItem
from hephaestus.evaluate.bfcl_values import reference_arguments

ASSISTANT_HEADER = f"{TURN_START}assistant\n"


def prompt_functions(item: BfclItem) -> list[dict]:
    """The item's function docs as BFCL's prompts show them (its language-specific hint added); a copy."""
    from bfcl_eval.utils import add_language_specific_hint_to_function_doc

    entry = {"id": item.id, "function": copy.deepcopy(item.functions)}
    return add_language_specific_hint_to_function_doc([entry])[0]["function"]


def reference_calls(item: BfclItem) -> list[dict[str, Any]]:
    """The ground truth as calls [{"name", "arguments"}]: each parameter's first acceptable value."""
    if item.answer is None:
        raise ValueError(f"{item.id}: {item.category} has no ground truth (the correct answer is no call)")
    docs = {function["name"]: function for function in item.functions}
    calls = []
    for truth in item.answer:
        ((name, params),) = truth.items()
        calls.append({"name": name, "arguments": reference_arguments(docs.get(name, {}), params, item.language)})
    return calls


def reference_answer(item: BfclItem) -> str:
    """The assistant turn answering `item` in our format: one <tool_call> per call, then TURN_END."""
    return "\n".join(render_tool_call(call) for call in reference_calls(item)) + TURN_END


def _conversation(item: BfclItem, answered: bool) -> str:
    messages: list[dict[str, Any]] = list(item.messages)
    if answered:
        messages.append({"role": "assistant", "content": None, "tool_calls": reference_calls(item)})
    return render_chat(messages, prompt_functions(item)).text


def render_prompt(item: BfclItem, *, style: Literal["base", "chat"] = "chat", shots: Sequence[BfclItem] = ()) -> str:
    """The text a model continues to answer `item`; "base" puts the answered `shots` before it."""
    if style not in ("base", "chat"):
        raise ValueError(f"style must be 'base' or 'chat', got {style!r}")
    if any(shot.id == item.id for shot in shots):
        raise ValueError(f"{item.id} cannot be a worked example for itself")
    examples = "".join(_conversation(shot, answered=True) for shot in shots) if style == "base" else ""
    return examples + _conversation(item, answered=False) + ASSISTANT_HEADER


@functools.lru_cache(maxsize=1 << 16)
def _rank(seed: int, item_id: str) -> str:
    return hashlib.sha1(f"{seed}:{item_id}".encode()).hexdigest()


def pick_shots(pool: Sequence[BfclItem], item: BfclItem, n: int, *, seed: int = 0) -> list[BfclItem]:
    """`n` worked examples for `item`: items of `pool` with ground truth in the same language, never `item`
    nor an item with the same question or the same ground truth (BFCL has near-duplicates).

    Items of the item's own category come first, then the others; each group in a fixed pseudo-random
    order (by hash of seed and id), so most items of a category share the same shots.
    """
    candidates = (c for c in pool if c.answer is not None and c.language == item.language and c.id != item.id
                  and c.messages != item.messages and c.answer != item.answer)
    return heapq.nsmallest(n, candidates, key=lambda c: (c.category != item.category, _rank(seed, c.id)))
