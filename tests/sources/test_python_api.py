"""python-api source on real standard-library modules and on a small module written by the test."""

from __future__ import annotations

import json
import textwrap
import typing
from pathlib import Path

import pytest

from hephaestus.io.readers import Rejected
from hephaestus.sources import SpecError, parse_spec
from hephaestus.sources.python_api import DEFAULT_MODULES, PythonAPISource
from hephaestus.sources.python_schema import annotation_schema, type_name_schema


def harvest(arg: str) -> tuple[dict[str, dict], list[Rejected]]:
    """Records by tool name, and the rejections, for every task of `python-api:<arg>`."""
    source = parse_spec(f"python-api:{arg}")
    records: dict[str, dict] = {}
    rejected: list[Rejected] = []
    for task in source.plan(workers=2):
        for item in source.read(task):
            if isinstance(item, Rejected):
                rejected.append(item)
            else:
                records[json.loads(item["tools"][0])["name"]] = item
    return records, rejected


def schema(record: dict) -> dict:
    return json.loads(record["tools"][0])


def test_json_dumps_and_loads_schemas() -> None:
    records, rejected = harvest("json")
    assert rejected == []
    assert len(records) == 12  # 4 functions, 3 classes, 5 methods
    dumps = schema(records["json.dumps"])
    assert dumps["description"] == "Serialize ``obj`` to a JSON formatted ``str``."
    assert dumps["parameters"] == {
        "type": "object",
        "properties": {
            "obj": {},
            "skipkeys": {"type": "boolean", "default": False},
            "ensure_ascii": {"type": "boolean", "default": True},
            "check_circular": {"type": "boolean", "default": True},
            "allow_nan": {"type": "boolean", "default": True},
            "cls": {"default": None},
            "indent": {"default": None},
            "separators": {"default": None},
            "default": {"default": None},
            "sort_keys": {"type": "boolean", "default": False},
        },
        "required": ["obj"],
    }
    loads = schema(records["json.loads"])
    assert loads["parameters"]["required"] == ["s"]
    assert loads["parameters"]["properties"] == {
        "s": {},
        **{name: {"default": None} for name in ("cls", "object_hook", "parse_float", "parse_int", "parse_constant")},
        "object_pairs_hook": {"default": None},
    }
    record = records["json.dumps"]
    assert record["source"] == "python-api:json" and record["kind"] == "tool_doc"
    assert record["text"].startswith("json.dumps(obj, *, skipkeys=False, ensure_ascii=True,")
    assert "\n\nSerialize ``obj`` to a JSON formatted ``str``.\n" in record["text"]
    meta = json.loads(record["meta"])
    assert meta["module"] == "json" and meta["qualname"] == "dumps" and meta["kind"] == "function"
    assert meta["stdlib"] is True and meta["python"].count(".") == 2
    # a method loses self and private keyword parameters (`_w=<built-in method ...>`)
    assert records["json.JSONDecoder.decode"]["text"].startswith("json.JSONDecoder.decode(s)\n")
    assert json.loads(records["json.JSONEncoder"]["meta"])["kind"] == "class"


def test_re_and_pathlib_counts_and_methods() -> None:
    records, _ = harvest("re,pathlib")
    names = set(records)
    assert {
        "re.sub",
        "re.compile",
        "re.Pattern.search",
        "pathlib.Path.read_text",
        "pathlib.PurePath.with_suffix",
    } <= names
    assert 20 <= sum(n.startswith("re.") for n in names) <= 60
    assert 40 <= sum(n.startswith("pathlib.") for n in names) <= 120
    assert not any(part.startswith("_") for n in names for part in n.split("."))
    search = schema(records["re.Pattern.search"])  # a C method: self dropped, defaults kept
    assert search["parameters"]["required"] == ["string"]
    assert search["parameters"]["properties"]["pos"] == {"type": "integer", "default": 0}


def test_docstring_call_lines_of_builtins() -> None:
    records, _ = harvest("datetime,builtins")
    date = records["datetime.date"]  # no inspect signature: parameters from `date(year, month, day) --> ...`
    assert date["text"].startswith("class datetime.date(year, month, day)")
    assert schema(date)["parameters"]["required"] == ["year", "month", "day"]
    maximum = records["builtins.max"]  # two call lines that do not parse: shown, parameters unknown
    assert maximum["text"].startswith("builtins.max(iterable, *[, default=obj, key=func]) -> value\nbuiltins.max(")
    assert schema(maximum)["parameters"]["properties"] == {}
    assert json.loads(maximum["meta"])["signature"] is False


def test_object_defaults_render_without_addresses() -> None:
    records, _ = harvest("configparser")
    text = records["configparser.RawConfigParser.getboolean"]["text"]
    assert "fallback=<object object>" in text and " at 0x" not in text


def test_unknown_module_is_rejected_and_bad_names_fail_early() -> None:
    records, rejected = harvest("hephaestus_no_such_module")
    assert records == {}
    assert [(r.reason, r.location.path) for r in rejected] == [("import_error", "hephaestus_no_such_module")]
    assert "ModuleNotFoundError" in rejected[0].detail
    with pytest.raises(SpecError):
        PythonAPISource("json,os path").plan(1)


def test_plan_defaults_and_package_walk() -> None:
    assert [t.path for t in PythonAPISource("").plan(4)] == list(DEFAULT_MODULES)
    assert 40 <= len(DEFAULT_MODULES) <= 60
    walked = [t.path for t in PythonAPISource("json.*, json").plan(1)]
    assert walked == ["json", "json.decoder", "json.encoder", "json.scanner", "json.tool"]


@pytest.fixture
def toolmod(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A module with Google, NumPy and Sphinx docstrings, importable under a name the test chose."""
    name = "hephaestus_test_toolmod"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(TOOLMOD))
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


TOOLMOD = '''
    from typing import Literal, Optional

    def search(query: str, limit: int = 10, mode: Literal["fast", "exact"] = "fast",
               tags: list[str] | None = None) -> list[dict]:
        """Search the index.

        Args:
            query: What to look for.
            limit: Most results to return.
            tags (list of str): Filter tags.

        Returns:
            list[dict]: The hits.

        Raises:
            ValueError: If the query is empty.
        """

    def add(x, y=2.5, *args, flag=False, **kw):
        """Add things.

        Parameters
        ----------
        x : int
            First value.
        y : float, optional
            Second value.

        Returns
        -------
        float
            The sum.
        """

    def read(path, encoding="utf-8"):
        """Read a file.

        :param path: Where the file is.
        :type path: str
        :param str encoding: Text encoding.
        :returns: The contents.
        :rtype: str
        :raises OSError: When unreadable.
        """

    class Store:
        """A key-value store.

        Args:
            name (str): Store name.
        """

        def __init__(self, name, size: int = 3):
            """Make a store.

            Args:
                size: Capacity.
            """

        def get(self, key: str, default: Optional[int] = None) -> int | None:
            """Get a value."""

        @classmethod
        def load(cls, path: str) -> "Store":
            """Load a store."""

        @property
        def size(self) -> int:
            """Not a callable."""

    def _hidden():
        """Private."""

    def undocumented():
        pass
'''


def test_google_numpy_and_sphinx_docstrings(toolmod: str) -> None:
    records, rejected = harvest(toolmod)
    assert [r.reason for r in rejected] == ["undocumented"]
    assert sorted(n.removeprefix(f"{toolmod}.") for n in records) == [
        "Store",
        "Store.get",
        "Store.load",
        "add",
        "read",
        "search",
    ]
    google = schema(records[f"{toolmod}.search"])
    assert google["parameters"]["properties"] == {
        "query": {"type": "string", "description": "What to look for."},
        "limit": {"type": "integer", "description": "Most results to return.", "default": 10},
        "mode": {"type": "string", "enum": ["fast", "exact"], "default": "fast"},
        "tags": {
            "anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}],
            "description": "Filter tags.",
            "default": None,
        },
    }
    assert records[f"{toolmod}.search"]["text"].endswith(
        "Returns: list[dict]: The hits.\n\nRaises:\n- ValueError: If the query is empty."
    )
    numpy = schema(records[f"{toolmod}.add"])  # types from the docstring; *args and **kw left out
    assert numpy["parameters"] == {
        "type": "object",
        "properties": {
            "x": {"type": "integer", "description": "First value."},
            "y": {"type": "number", "description": "Second value.", "default": 2.5},
            "flag": {"type": "boolean", "default": False},
        },
        "required": ["x"],
    }
    assert "\n\nReturns: float: The sum." in records[f"{toolmod}.add"]["text"]
    sphinx = records[f"{toolmod}.read"]
    assert schema(sphinx)["parameters"]["properties"]["path"] == {"type": "string", "description": "Where the file is."}
    assert sphinx["text"] == "\n".join(
        [
            f"{toolmod}.read(path, encoding='utf-8')",
            "",
            "Read a file.",
            "",
            "Parameters:",
            "- path (str, required): Where the file is.",
            "- encoding (str, default 'utf-8'): Text encoding.",
            "",
            "Returns: str: The contents.",
            "",
            "Raises:",
            "- OSError: When unreadable.",
        ]
    )
    store = schema(records[f"{toolmod}.Store"])  # class and __init__ docstrings merged
    assert store["description"] == "A key-value store."
    assert store["parameters"]["properties"]["size"]["description"] == "Capacity."
    assert schema(records[f"{toolmod}.Store.get"])["parameters"]["properties"]["default"]["type"] == ["integer", "null"]
    assert schema(records[f"{toolmod}.Store.load"])["parameters"]["required"] == ["path"]


@pytest.mark.parametrize(
    ("annotation", "expected"),
    [
        (int, {"type": "integer"}),
        (bool, {"type": "boolean"}),
        (typing.Optional[float], {"type": ["number", "null"]}),  # noqa: UP045
        (dict[str, int], {"type": "object", "additionalProperties": {"type": "integer"}}),
        (tuple[str, ...], {"type": "array", "items": {"type": "string"}}),
        (typing.Literal[1, 2], {"type": "integer", "enum": [1, 2]}),
        (Path, {"type": "string"}),
        (typing.Any, {}),
        ("int | None", {"type": ["integer", "null"]}),
    ],
)
def test_annotation_schema(annotation: object, expected: dict) -> None:
    assert annotation_schema(annotation) == expected


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("int, optional", {"type": "integer"}),
        ("str or None", {"type": ["string", "null"]}),
        ("list of str", {"type": "array", "items": {"type": "string"}}),
        ("Optional[List[int]]", {"anyOf": [{"type": "array", "items": {"type": "integer"}}, {"type": "null"}]}),
        ("{'fast', 'exact'}", {"type": "string", "enum": ["fast", "exact"]}),
        ("bool, default True", {"type": "boolean"}),
        ("array-like", {"type": "array"}),
        ("callable", {}),
    ],
)
def test_type_name_schema(phrase: str, expected: dict) -> None:
    assert type_name_schema(phrase) == expected


def test_default_list_harvest_is_sane() -> None:
    records, rejected = harvest("")
    assert 1200 <= len(records) <= 2500
    assert {r.reason for r in rejected} <= {"undocumented", "no_signature"}
    assert len(rejected) < len(records) / 5
