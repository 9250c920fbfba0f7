"""`code:<dir or glob>`: one `code` record per source file, plus code-to-text pairs for Python files.

Options: `max_bytes` (default 1 MB; larger files are rejected `too_large`), `min_bytes` (smaller ones
are rejected `too_small`), `licenses` (an allowlist such as `MIT,Apache-2.0,BSD`; files under any
other licence are rejected `license`). A file yields its `code` record and its pairs, or exactly one
Rejected; the pairs (source `code-pairs:<root>`) count as produced records in the stats.
"""

from __future__ import annotations

import functools
import posixpath
import re
from collections.abc import Iterator
from typing import Any

import fsspec

from hephaestus.io.readers import Location, Rejected, decode_utf8, read_whole
from hephaestus.records import make_record
from hephaestus.sources.base import FileSource, Item, ShardTask, SpecError, resolve_package_path
from hephaestus.sources.code_pairs import code_pairs

DEFAULT_MAX_BYTES = 1024 * 1024
LANGUAGES = {
    ".py": "python", ".pyi": "python", ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript",
    ".jsx": "javascript", ".ts": "typescript", ".tsx": "typescript", ".java": "java", ".kt": "kotlin",
    ".scala": "scala", ".go": "go", ".rs": "rust", ".c": "c", ".h": "c", ".cc": "cpp", ".cpp": "cpp",
    ".cxx": "cpp", ".hpp": "cpp", ".hh": "cpp", ".cs": "csharp", ".rb": "ruby", ".php": "php",
    ".swift": "swift", ".sh": "shell", ".bash": "shell", ".pl": "perl", ".lua": "lua", ".r": "r",
    ".sql": "sql", ".hs": "haskell", ".jl": "julia", ".dart": "dart", ".ex": "elixir", ".exs": "elixir",
}  # fmt: skip
# licence-file phrases, first match wins: the more specific names come before those they contain
LICENSE_PHRASES = (
    ("PSF", "python software foundation license"),
    ("Apache-2.0", "apache license"),
    ("AGPL", "gnu affero general public license"),
    ("LGPL", "gnu lesser general public license"),
    ("LGPL", "gnu library general public license"),
    ("GPL", "gnu general public license"),
    ("MPL-2.0", "mozilla public license"),
    ("MIT", "permission is hereby granted, free of charge"),
    ("ISC", "permission to use, copy, modify, and/or distribute this software for any purpose"),
    ("BSD", "redistribution and use in source and binary forms"),
)
# SPDX identifier prefixes -> the same classes; other identifiers are kept as written
SPDX_PREFIXES = (
    ("APACHE-2", "Apache-2.0"), ("AGPL", "AGPL"), ("LGPL", "LGPL"), ("GPL", "GPL"), ("MPL-2", "MPL-2.0"),
    ("MIT", "MIT"), ("ISC", "ISC"), ("BSD", "BSD"), ("0BSD", "BSD"), ("PSF", "PSF"), ("PYTHON-2", "PSF"),
)  # fmt: skip
SPDX_HEADER = re.compile(r"SPDX-License-Identifier:\s*\(?\s*([\w.+-]+)")
LICENSE_FILE = re.compile(r"(licen[cs]e|copying)([.-].*)?", re.IGNORECASE)


class CodeSource(FileSource):
    name = "code"
    summary = "source files (one code record each) and docstring/code pairs from Python files"
    extensions = tuple(LANGUAGES)

    def __init__(self, arg: str, **options: Any) -> None:
        super().__init__(arg, **options)
        self.max_bytes = _size_option(options, "max_bytes", DEFAULT_MAX_BYTES)
        self.min_bytes = _size_option(options, "min_bytes", 0)
        allowed = options.get("licenses") or ()
        names = allowed.split(",") if isinstance(allowed, str) else allowed
        self.licenses = {str(n).strip().casefold() for n in names if str(n).strip()} or None
        self._folder_licenses: dict[str, str | None] = {}

    @functools.cached_property
    def root(self) -> str:
        """The folder the spec names: a glob's fixed leading part, a file's folder; no protocol."""
        fs, path = fsspec.core.url_to_fs(resolve_package_path(self.arg))
        if any(c in path for c in "*?["):
            path = path[: min(path.index(c) for c in "*?[" if c in path)].rpartition("/")[0]
        elif not fs.isdir(path):
            path = posixpath.dirname(path)
        return path.rstrip("/") or "/"

    def read_file(self, task: ShardTask) -> Iterator[Item]:
        where = Location(task.path)
        fs, path = fsspec.core.url_to_fs(task.path)
        language = language_of(path)
        loaded = self._load(task.path, where) if language else Rejected("unknown_language", where, "no known extension")
        if isinstance(loaded, Rejected):
            yield loaded
            return
        text, size = loaded
        licence = self.license_of(fs, path, text)
        if self.licenses is not None and licence.casefold() not in self.licenses:
            yield Rejected("license", where, f"licence {licence} is not allowed", text[:4096])
            return
        relative, root_name = posixpath.relpath(path, self.root), posixpath.basename(self.root) or "root"
        shared = {"language": language, "path": relative, "license": licence}
        record = make_record(f"code:{root_name}", "code", text, meta={**shared, "bytes": size})
        yield record
        if language == "python":
            for pair in code_pairs(text):
                meta = {**shared, "parent_id": record["id"], "function": pair.qualname, "line": pair.line}
                yield make_record(f"code-pairs:{root_name}", "code", pair.text, meta=meta)

    def _load(self, path: str, where: Location) -> tuple[str, int] | Rejected:
        """The file's text (without a byte-order mark) and size, or why it is refused: too large or
        small, empty, binary, not UTF-8."""
        data = read_whole(path, self.max_bytes)
        if isinstance(data, Rejected):
            return data
        if b"\0" in data:
            return Rejected("binary", where, "contains NUL bytes: not a text file", data[:4096])
        if len(data) < self.min_bytes:
            return Rejected("too_small", where, f"{len(data):,} bytes, under min_bytes {self.min_bytes:,}", data)
        text = decode_utf8(data, where)
        return text if isinstance(text, Rejected) else (text.removeprefix("\ufeff"), len(data))

    def license_of(self, fs: fsspec.AbstractFileSystem, path: str, text: str) -> str:
        """An SPDX header near the top of the file, else the nearest licence file in its folder or one
        above it, up to the root; `unknown` when neither is found or the licence file is not recognised."""
        header = SPDX_HEADER.search(text[:4096])
        if header:
            identifier = header[1].upper()
            return next((name for prefix, name in SPDX_PREFIXES if identifier.startswith(prefix)), header[1])
        folder = posixpath.dirname(path)
        while True:
            found = self._folder_license(fs, folder)
            parent = posixpath.dirname(folder)
            if found is not None or folder == self.root or parent == folder or not _inside(folder, self.root):
                return found or "unknown"
            folder = parent

    def _folder_license(self, fs: fsspec.AbstractFileSystem, folder: str) -> str | None:
        """The licence class of a folder's licence file (cached), None when it has none."""
        if folder not in self._folder_licenses:
            try:
                names = sorted(p for p in fs.ls(folder, detail=False) if LICENSE_FILE.fullmatch(posixpath.basename(p)))
                names = [p for p in names if fs.isfile(p)]
                found = classify_license(_head(fs, names[0])) if names else None
            except OSError:  # an unreadable folder or licence file: as if there were none
                found = None
            self._folder_licenses[folder] = found
        return self._folder_licenses[folder]


def language_of(path: str) -> str | None:
    name = path.lower()
    for suffix in (".gz", ".zst", ".bz2", ".xz"):
        name = name.removesuffix(suffix)
    return LANGUAGES.get(posixpath.splitext(name)[1])


def classify_license(text: str) -> str:
    """MIT, Apache-2.0, BSD, GPL, LGPL, AGPL, MPL-2.0, ISC or PSF by keywords of a licence text, else unknown."""
    flat = " ".join(text.lower().split())
    return next((name for name, phrase in LICENSE_PHRASES if phrase in flat), "unknown")


def _head(fs: fsspec.AbstractFileSystem, path: str, size: int = 64 * 1024) -> str:
    with fs.open(path, "rb") as handle:
        return handle.read(size).decode("utf-8", errors="replace")


def _inside(folder: str, root: str) -> bool:
    return folder == root or folder.startswith(root.rstrip("/") + "/")


def _size_option(options: dict[str, Any], key: str, default: int) -> int:
    try:
        value = int(options.get(key, default))
    except (TypeError, ValueError):
        raise SpecError(f"code: {key} must be a whole number of bytes, not {options[key]!r}") from None
    if value < 0:
        raise SpecError(f"code: {key} must not be negative")
    return value
