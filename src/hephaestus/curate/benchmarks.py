"""Texts of the evaluation sets a corpus is decontaminated against: BFCL and files the user names.

A benchmark is a name and a list of texts. BFCL comes from the data files of the installed
`bfcl-eval` package, which is only read, never imported (it pins numpy==1.26.4). Each category file
`BFCL_v4_<category>.json` becomes the benchmark `bfcl:<category>` (e.g. `bfcl:simple_python`,
`bfcl:live_multiple`) holding every user turn of its questions and one text per function:
its name, description, and each parameter's name and description. System and assistant turns are left
out: they are generic instructions ("You are a helpful assistant") shared with much training data.
The memory category also holds its prerequisite conversations, and `bfcl:multi_turn_func_doc` the
documentation of the simulated APIs that the multi-turn, memory and web-search categories call.
`format_sensitivity` only lists question ids of other categories and adds nothing.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from hephaestus.io.readers import Rejected, iter_json_document, iter_jsonl, open_binary

BFCL_INSTALL = "pip install --no-deps bfcl-eval==2026.3.23"
BFCL_PREFIX = "BFCL_v4_"
BFCL_SKIPPED = frozenset({"format_sensitivity"})
FORMATS = {"jsonl": "jsonl", "ndjson": "jsonl", "json": "json", "txt": "text", "md": "text", "text": "text"}


class BenchmarkError(ValueError):
    """A benchmark that cannot be loaded: a missing package, an unreadable file or a bad option."""


def bfcl_data_dir() -> Path:
    """The `data` folder of the installed bfcl-eval package, found without importing it."""
    spec = importlib.util.find_spec("bfcl_eval")
    if spec is None or not spec.submodule_search_locations:
        raise BenchmarkError(f"decontamination against BFCL needs the bfcl-eval package: {BFCL_INSTALL}")
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    if not data.is_dir():
        raise BenchmarkError(f"bfcl-eval at {data.parent} has no data folder; reinstall it: {BFCL_INSTALL}")
    return data


def load_bfcl(categories: Sequence[str] | None = None) -> dict[str, list[str]]:
    """BFCL texts by benchmark name (`bfcl:<category>`), all categories unless some are named."""
    data = bfcl_data_dir()
    files = {path.stem.removeprefix(BFCL_PREFIX): path for path in sorted(data.glob(f"{BFCL_PREFIX}*.json"))}
    benchmarks = {
        f"bfcl:{category}": [text for row in _rows(path) for text in _question_texts(row)]
        for category, path in files.items()
        if category not in BFCL_SKIPPED
    }
    for path in sorted((data / "memory_prereq_conversation").glob("*.json")):
        benchmarks.setdefault("bfcl:memory", []).extend(text for row in _rows(path) for text in _question_texts(row))
    benchmarks["bfcl:multi_turn_func_doc"] = [
        _function_text(row) for path in sorted((data / "multi_turn_func_doc").glob("*.json")) for row in _rows(path)
    ]
    if categories is not None:
        known = {name.removeprefix("bfcl:") for name in benchmarks}
        unknown = sorted(set(categories) - known)
        if unknown:
            raise BenchmarkError(f"unknown BFCL categories {unknown}; known: {', '.join(sorted(known))}")
        benchmarks = {name: texts for name, texts in benchmarks.items() if name.removeprefix("bfcl:") in categories}
    return benchmarks


def _rows(path: Path) -> Iterator[dict[str, Any]]:
    """The JSON objects of a JSON-lines data file; a line that does not parse is an error."""
    for item in iter_jsonl(str(path)):
        if isinstance(item, Rejected):
            raise BenchmarkError(item.message())
        if isinstance(item[1], dict):
            yield item[1]


def _question_texts(row: Mapping[str, Any]) -> Iterator[str]:
    for turn in row.get("question") or []:
        for message in turn:
            if message.get("role") == "user" and isinstance(message.get("content"), str):
                yield message["content"]
    for function in row.get("function") or []:
        yield _function_text(function)


def _function_text(function: Mapping[str, Any]) -> str:
    parts = [str(function.get("name", "")), str(function.get("description", ""))]
    for name, schema in ((function.get("parameters") or {}).get("properties") or {}).items():
        parts += [name, str(schema.get("description", "")) if isinstance(schema, dict) else ""]
    return " ".join(part for part in parts if part)


def load_benchmark_file(
    path: str, name: str | None = None, fields: str | Sequence[str] = "text"
) -> dict[str, list[str]]:
    """One named benchmark from a JSONL / JSON file (the string or list-of-strings values of `fields`)
    or a plain-text file (one text per non-blank line), possibly compressed; named after the file stem
    unless `name` is given."""
    suffixes = Path(path).name.lower().split(".")[1:]
    kind = next((FORMATS[s] for s in reversed(suffixes) if s in FORMATS), None)
    if kind is None:
        raise BenchmarkError(f"{path}: benchmark files must be {', '.join('.' + s for s in FORMATS)}")
    name = name or Path(path).name.split(".", 1)[0]
    if kind == "text":
        with open_binary(path) as handle:
            return {name: [line.strip() for line in handle.read().decode("utf-8").splitlines() if line.strip()]}
    keys = [fields] if isinstance(fields, str) else list(fields)
    texts = []
    for item in iter_jsonl(path) if kind == "jsonl" else iter_json_document(path):
        if isinstance(item, Rejected):
            raise BenchmarkError(item.message())
        row = item[1]
        for key in keys:
            value = row.get(key) if isinstance(row, dict) else None
            if isinstance(value, str):
                texts.append(value)
            elif isinstance(value, list):
                texts += [v for v in value if isinstance(v, str)]
    if not texts:
        raise BenchmarkError(f"{path}: no string values in field(s) {', '.join(keys)}")
    return {name: texts}
