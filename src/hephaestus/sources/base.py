"""What every seed or corpus source implements: plan shard tasks, then read one task into records."""

from __future__ import annotations

import importlib.util
import itertools
import math
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import fsspec
import xxhash

from hephaestus.io.readers import Location, Rejected, is_compressed

Item = dict[str, Any] | Rejected
MIN_SPLIT_BYTES = 8 * 1024 * 1024
TARGET_SPLIT_BYTES = 128 * 1024 * 1024
PACKAGE_SCHEME = "pkg://"


class SpecError(ValueError):
    """A source specification that cannot work (unknown source, missing path); raised before any work."""


@dataclass(frozen=True, order=True)
class ShardTask:
    """One unit of work: a whole file, a byte range of a JSONL file, row groups, or a module."""

    source: str
    path: str
    start: int = 0
    end: int | None = None

    @property
    def task_id(self) -> str:
        stem = self.path.rstrip("/").rsplit("/", 1)[-1] or "root"
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in stem)[:60]
        digest = xxhash.xxh3_64_hexdigest(f"{self.source}\0{self.path}\0{self.start}\0{self.end}".encode())[:10]
        return f"{safe}-{self.start}-{digest}"


class Source(ABC):
    """A source named in a spec `name:arg`; options come from a recipe or CLI flags."""

    name: ClassVar[str]
    summary: ClassVar[str]

    def __init__(self, arg: str, **options: Any) -> None:
        self.arg = arg
        self.options = options

    def config(self) -> dict[str, Any]:
        """What identifies this source's output, for the workspace's config hash."""
        return {"name": self.name, "arg": self.arg, "options": self.options}

    @abstractmethod
    def plan(self, workers: int) -> list[ShardTask]:
        """Split the work into tasks; raise SpecError when the spec cannot work at all."""

    @abstractmethod
    def read(self, task: ShardTask) -> Iterator[Item]:
        """Yield records (from `records.make_record`) or `Rejected` entries for one task."""


class FileSource(Source):
    """A source over files: a path, a directory (searched recursively) or a glob, local or remote."""

    extensions: ClassVar[tuple[str, ...]] = ()
    splittable: ClassVar[bool] = False  # True: JSONL-like files may be split into byte ranges

    def __init__(self, arg: str, **options: Any) -> None:
        super().__init__(arg, **options)
        limit = options.get("limit")  # at most this many items (records or rejections) from each file
        if limit is not None and (not str(limit).isdigit() or int(limit) < 1):
            raise SpecError(f"{self.name}: limit must be a positive whole number, not {limit!r}")
        self.limit = int(limit) if limit is not None else None

    def files(self) -> list[str]:
        return expand_paths(self.arg, self.extensions)

    def plan(self, workers: int) -> list[ShardTask]:
        tasks: list[ShardTask] = []
        for path in self.files():  # a file read with a limit stays whole, so that the limit is exact
            if self.splittable and self.limit is None and not is_compressed(path) and _is_jsonl_name(path):
                tasks += plan_byte_ranges(self.name, path, workers)
            else:
                tasks.append(ShardTask(self.name, path))
        return tasks

    def read(self, task: ShardTask) -> Iterator[Item]:
        fs, path = fsspec.core.url_to_fs(task.path)
        if fs.isdir(path):
            yield Rejected("not_a_file", Location(task.path), "is a directory, expected a file")
            return
        items = self.read_file(task)
        yield from items if self.limit is None else itertools.islice(items, self.limit)

    @abstractmethod
    def read_file(self, task: ShardTask) -> Iterator[Item]:
        """Read one file (or byte range of it) into records or Rejected entries."""


def _is_jsonl_name(path: str) -> bool:
    return path.lower().endswith((".jsonl", ".ndjson"))


def resolve_package_path(arg: str) -> str:
    """Turn `pkg://NAME/sub/path` into the folder of the installed package NAME (not imported)."""
    if not arg.startswith(PACKAGE_SCHEME):
        return arg
    name, _, rest = arg.removeprefix(PACKAGE_SCHEME).partition("/")
    if not name.isidentifier():
        raise SpecError(f"{arg}: {name!r} is not a top-level package name")
    spec = importlib.util.find_spec(name)
    if spec is None or not (spec.submodule_search_locations or spec.origin):
        raise SpecError(f"{arg}: package {name!r} is not installed")
    folder = list(spec.submodule_search_locations or [])[:1] or [str(Path(spec.origin or "").parent)]
    return str(Path(folder[0]) / rest) if rest else folder[0]


def expand_paths(arg: str, extensions: tuple[str, ...]) -> list[str]:
    """Files named by a path, directory, glob or `pkg://NAME/...`, sorted; SpecError when none are there."""
    arg = resolve_package_path(arg)
    fs, root = fsspec.core.url_to_fs(arg)
    protocol = "" if fs.protocol in ("file", ("file", "local")) else f"{_first(fs.protocol)}://"
    if any(ch in root for ch in "*?["):
        found = sorted(fs.glob(root))
    elif fs.isdir(root):
        found = sorted(p for p in fs.find(root, withdirs=True) if _has_extension(p, extensions))
    elif fs.exists(root):
        return [arg]
    else:
        raise SpecError(f"{arg}: no such file or directory")
    if not found:
        wanted = ", ".join(extensions) or "any"
        raise SpecError(f"{arg}: no input files found (looked for {wanted})")
    return [protocol + p if protocol else p for p in found]


def _first(protocol: str | tuple[str, ...]) -> str:
    return protocol if isinstance(protocol, str) else protocol[0]


def _has_extension(path: str, extensions: tuple[str, ...]) -> bool:
    name = path.lower()
    for suffix in (".gz", ".zst", ".bz2", ".xz"):
        name = name.removesuffix(suffix)
    return not extensions or name.endswith(tuple(e.lower() for e in extensions))


def plan_byte_ranges(source: str, path: str, workers: int, min_split: int = MIN_SPLIT_BYTES) -> list[ShardTask]:
    """Split a JSONL file into byte ranges so one big file spreads over all workers."""
    fs, local = fsspec.core.url_to_fs(path)
    size = fs.size(local) or 0
    if size < min_split:
        return [ShardTask(source, path)]
    chunk = min(TARGET_SPLIT_BYTES, max(min_split, math.ceil(size / max(1, workers))))
    return [ShardTask(source, path, start, min(start + chunk, size)) for start in range(0, size, chunk)]
