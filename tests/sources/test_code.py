"""code source on real installed source trees and on small trees written by the tests."""

from __future__ import annotations

import importlib.util
import json
import textwrap
from pathlib import Path

import pytest

from hephaestus.io.readers import Rejected
from hephaestus.sources import SpecError, parse_spec
from hephaestus.sources.code import classify_license
from hephaestus.sources.code_pairs import code_pairs

MIT = "Permission is hereby granted, free of charge, to any person obtaining a copy of this software"
GPL = "GNU GENERAL PUBLIC LICENSE\nVersion 3, 29 June 2007"


def package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations)))


def read_all(spec: str, **options: object) -> dict[str, list]:
    """Items per planned file: its records (code first, then pairs) or its one Rejected."""
    source = parse_spec(spec, **options)
    return {task.path: list(source.read(task)) for task in source.plan(workers=2)}


def code_records(items: dict[str, list]) -> list[dict]:
    return [r for found in items.values() for r in found if isinstance(r, dict) and r["source"].startswith("code:")]


def test_stdlib_json_package() -> None:
    root = package_dir("json")
    items = read_all(f"code:{root}")
    files = sorted(root.rglob("*.py"))
    assert len(items) == len(files) and len(code_records(items)) == len(files)
    for path, found in items.items():  # a code record first, then only pairs derived from it
        first, *pairs = found
        assert first["source"] == "code:json" and first["kind"] == "code"
        assert first["text"] == Path(path).read_text(encoding="utf-8")
        assert all(
            p["source"] == "code-pairs:json" and json.loads(p["meta"])["parent_id"] == first["id"] for p in pairs
        )
    init = items[str(root / "__init__.py")]
    meta = json.loads(init[0]["meta"])
    assert meta == {
        "language": "python",
        "path": "__init__.py",
        "license": "unknown",
        "bytes": (root / "__init__.py").stat().st_size,
    }
    dumps = next(p for p in init[1:] if json.loads(p["meta"])["function"] == "dumps")
    header, _, code = dumps["text"].partition("\n\ndef dumps(")
    assert header.startswith("Serialize ``obj`` to a JSON formatted ``str``.\n\nIf ``skipkeys`` is true")
    assert code.startswith("obj, *, skipkeys=False, ensure_ascii=True, check_circular=True,")
    assert "):\n    # cached encoder\n    if (not skipkeys and ensure_ascii and" in code
    assert dumps["text"].count("Serialize ``obj`` to a JSON") == 1  # the docstring left the body
    lines = (root / "__init__.py").read_text(encoding="utf-8").splitlines()
    assert lines[json.loads(dumps["meta"])["line"] - 1].startswith("def dumps(")


def test_installed_docstring_parser_tree() -> None:
    root = package_dir("docstring_parser")
    items = read_all(f"code:{root}")
    assert len(code_records(items)) == len(list(root.rglob("*.py")))
    pairs = [r for found in items.values() for r in found[1:]]
    assert len(pairs) >= 5
    assert any(json.loads(p["meta"])["function"] == "parse" for p in pairs)
    glob = read_all(f"code:{root}/*.py")  # a glob: paths relative to its fixed folder
    assert {json.loads(r["meta"])["path"] for r in code_records(glob)} == {p.name for p in root.glob("*.py")}


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else textwrap.dedent(content).encode())
    return path


def test_license_allowlist(tmp_path: Path) -> None:
    write(tmp_path / "LICENSE", "This file is outside the root and never read.\n" + MIT)
    root = tmp_path / "tree"
    write(root / "LICENSE.txt", MIT)
    write(root / "pkg" / "a.py", "x = 1\n")
    write(root / "vendor" / "COPYING", GPL)
    write(root / "vendor" / "b.js", "let b = 2;\n")
    write(root / "vendor" / "c.go", "// SPDX-License-Identifier: Apache-2.0\npackage c\n")
    items = read_all(f"code:{root}", licenses="MIT, apache-2.0")
    licences = {
        Path(p).name: json.loads(found[0]["meta"])["license"]
        for p, found in items.items()
        if isinstance(found[0], dict)
    }
    assert licences == {"a.py": "MIT", "c.go": "Apache-2.0"}
    (refused,) = items[str(root / "vendor" / "b.js")]
    assert refused.reason == "license" and "GPL" in refused.detail
    unlicensed = write(tmp_path / "other" / "d.rs", "fn main() {}\n")
    (record,) = read_all(f"code:{unlicensed.parent}")[str(unlicensed)]
    assert json.loads(record["meta"])["license"] == "unknown"  # tmp_path/LICENSE lies above the root


def test_each_file_gives_records_or_one_rejection(tmp_path: Path) -> None:
    write(tmp_path / "ok.py", "def f(x):\n    'Double x.'\n    return 2 * x\n")
    write(tmp_path / "blob.c", b"int x;\x00\x01\x02\xff")
    write(tmp_path / "big.ts", "let x = 1;\n" * 50)
    write(tmp_path / "latin.rb", "puts 'caf\xe9'\n".encode("latin-1"))
    write(tmp_path / "tiny.sh", "ls\n")
    write(tmp_path / "empty.java", "\n")
    write(tmp_path / "broken.py", "def f(:\n")
    write(tmp_path / "notes.txt", "not code")
    items = read_all(f"code:{tmp_path}", max_bytes="400", min_bytes=4)
    reasons = {Path(p).name: found[0].reason for p, found in items.items() if isinstance(found[0], Rejected)}
    assert reasons == {
        "blob.c": "binary",
        "big.ts": "too_large",
        "latin.rb": "invalid_utf8",
        "tiny.sh": "too_small",
        "empty.java": "empty_file",
    }
    assert all(len(found) == 1 for found in items.values() if isinstance(found[0], Rejected))
    ok = items[str(tmp_path / "ok.py")]
    assert [r["text"] for r in ok] == [
        "def f(x):\n    'Double x.'\n    return 2 * x\n",
        "Double x.\n\ndef f(x):\n    return 2 * x",
    ]
    assert len(items[str(tmp_path / "broken.py")]) == 1  # unparsable Python: the file, no pairs
    assert "notes.txt" not in {Path(p).name for p in items}
    with pytest.raises(SpecError):
        parse_spec(f"code:{tmp_path}", max_bytes="lots")


def test_code_pairs_shapes() -> None:
    source = textwrap.dedent('''
        import functools

        class Cache:
            """Not a function."""

            @functools.cache
            def get(self, key: str) -> int:  # the decorator and this comment stay
                """Look a key up.

                Returns its value.
                """

                return len(key)

            async def fetch(self):
                """Fetch."""  # trailing comment
                return 1

            def stub(self):
                """Only a docstring."""

        def outer():
            """Outer."""
            def inner(): "Same line."; return 0
            if True:
                def deep():
                    """Deep."""
                    return 2
            return inner
    ''')
    pairs = {p.qualname: p for p in code_pairs(source)}
    assert sorted(pairs) == ["Cache.fetch", "Cache.get", "outer", "outer.<locals>.deep"]
    assert pairs["Cache.get"].text == (
        "Look a key up.\n\nReturns its value.\n\n@functools.cache\n"
        "def get(self, key: str) -> int:  # the decorator and this comment stay\n    return len(key)"
    )
    assert pairs["Cache.get"].line == 7
    assert pairs["Cache.fetch"].text == "Fetch.\n\nasync def fetch(self):\n    return 1"
    assert pairs["outer.<locals>.deep"].text == "Deep.\n\ndef deep():\n    return 2"
    assert code_pairs("def f(:\n") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (MIT, "MIT"),
        ("Apache License\nVersion 2.0, January 2004", "Apache-2.0"),
        ("Redistribution and use in source and binary forms, with or without", "BSD"),
        ("GNU LESSER GENERAL PUBLIC LICENSE ... GNU General Public License", "LGPL"),
        (GPL, "GPL"),
        ("PYTHON SOFTWARE FOUNDATION LICENSE VERSION 2", "PSF"),
        ("All rights reserved.", "unknown"),
    ],
)
def test_classify_license(text: str, expected: str) -> None:
    assert classify_license(text) == expected


def test_a_package_path_names_the_installed_package_tree():
    source = parse_spec("code:pkg://json")
    items = [item for task in source.plan(workers=1) for item in source.read(task)]
    files = [i for i in items if not isinstance(i, Rejected) and i["source"] == "code:json"]
    assert len(files) == len(source.files()) == 5
    assert {json.loads(i["meta"])["license"] for i in files} == {"unknown"}
