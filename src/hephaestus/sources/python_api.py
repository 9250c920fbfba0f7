"""`python-api:json,re,pkg.*`: tool_doc records for the public callables of Python modules the user names.

Only modules named in the spec (and, for `pkg.*`, the submodules of that package) are imported;
nothing found in data is ever imported. See docs/python-and-code-sources.md for the rendering.
"""

from __future__ import annotations

import enum
import functools
import importlib
import importlib.metadata
import importlib.util
import inspect
import pkgutil
import platform
import re
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

from hephaestus.io.readers import Location, Rejected
from hephaestus.records import make_record
from hephaestus.sources.base import Item, ShardTask, Source, SpecError
from hephaestus.sources.python_doc import describe

# widely used standard-library modules, harvested when the spec names none (`python-api:`)
DEFAULT_MODULES = (
    "argparse", "base64", "bisect", "calendar", "collections", "concurrent.futures", "configparser", "copy",
    "csv", "datetime", "decimal", "difflib", "fnmatch", "fractions", "functools", "glob", "gzip", "hashlib",
    "heapq", "html", "http.client", "io", "itertools", "json", "logging", "math", "operator", "os", "os.path",
    "pathlib", "pickle", "random", "re", "secrets", "shlex", "shutil", "sqlite3", "statistics", "string",
    "struct", "subprocess", "tarfile", "tempfile", "textwrap", "time", "urllib.parse", "uuid", "zipfile",
)  # fmt: skip
_MODULE_NAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*(\.\*)?")


class PythonAPISource(Source):
    name = "python-api"
    summary = "tool docs (JSON function schemas) of public callables in named Python modules"

    def modules(self) -> list[str]:
        """The module names of the spec, `pkg.*` expanded; raise SpecError on a malformed name."""
        names = [n.strip() for n in self.arg.split(",") if n.strip()] or list(DEFAULT_MODULES)
        found: list[str] = []
        for name in names:
            if not _MODULE_NAME.fullmatch(name):
                raise SpecError(f"python-api: {name!r} is not a module name (expected e.g. json or pkg.*)")
            for module in _walk(name[:-2]) if name.endswith(".*") else [name]:
                if module not in found:
                    found.append(module)
        return found

    def plan(self, workers: int) -> list[ShardTask]:
        return [ShardTask(self.name, module) for module in self.modules()]

    def read(self, task: ShardTask) -> Iterator[Item]:
        name, where = task.path, Location(task.path)
        try:
            module = importlib.import_module(name)
        except (Exception, SystemExit) as error:
            yield Rejected("import_error", where, f"{type(error).__name__}: {error}", name)
            return
        meta = {"module": name, "python": platform.python_version(), **_versions(name, module)}
        for qualname, obj, kind, drop_first in public_callables(module):
            full = f"{name}.{qualname}"
            try:
                doc = describe(full, obj, kind, _docs(obj, kind), drop_first)
            except Exception as error:  # a third-party object whose introspection misbehaves
                yield Rejected("inspect_error", where, f"{full}: {type(error).__name__}: {error}", full)
                continue
            if not doc.informative and doc.has_signature:
                yield Rejected("undocumented", where, f"{full}: no docstring and no parameters", full)
                continue
            if not doc.informative:
                yield Rejected("no_signature", where, f"{full}: no signature and no docstring", full)
                continue
            yield make_record(
                f"python-api:{name}",
                "tool_doc",
                doc.text,
                tools=[doc.schema],
                meta={**meta, "qualname": qualname, "kind": kind, "signature": doc.has_signature},
            )


def public_callables(module: ModuleType) -> Iterator[tuple[str, Any, str, bool]]:
    """(qualname, object, kind, drop_first) for the public functions and classes of a module and the
    public methods those classes define. Public means listed in `__all__` when the module has one
    (as pydoc does), else defined in the module under a name without a leading underscore. Enum
    classes are left out."""
    exported = getattr(module, "__all__", None)
    if exported is None:
        exported = [n for n, v in vars(module).items() if getattr(v, "__module__", None) == module.__name__]
        exported = [n for n in exported if not n.startswith("_")]
    for name in dict.fromkeys(n for n in exported if isinstance(n, str)):
        try:
            obj = getattr(module, name, None)
        except Exception:  # a lazy attribute that fails to load is not a callable we can document
            continue
        if inspect.isclass(obj) and issubclass(obj, enum.Enum):
            continue  # a type of constants, not a tool
        if inspect.isclass(obj):
            yield name, obj, "class", False
            yield from _methods(name, obj)
        elif inspect.isroutine(obj):
            yield name, obj, "function", False


def _methods(class_name: str, cls: type) -> Iterator[tuple[str, Any, str, bool]]:
    for name, raw in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(raw, staticmethod):
            yield f"{class_name}.{name}", raw.__func__, "method", False
        elif isinstance(raw, classmethod):
            yield f"{class_name}.{name}", getattr(cls, name), "method", False
        elif inspect.isroutine(raw):  # includes C method and classmethod descriptors, which take self/cls
            yield f"{class_name}.{name}", raw, "method", True


def _docs(obj: Any, kind: str) -> list[str]:
    """Docstrings to read: for a class its own one and its own __init__'s, never inherited ones (they
    describe the base: `Initialize self. See help(type(self))...`); for a function or method getdoc's."""
    if kind != "class":
        return [inspect.getdoc(obj) or ""]
    own = [vars(obj).get("__doc__"), getattr(vars(obj).get("__init__"), "__doc__", None)]
    generic = object.__init__.__doc__  # what C types' own __init__ slots say too
    return [inspect.cleandoc(doc) if isinstance(doc, str) and doc != generic else "" for doc in own]


def _walk(package: str) -> list[str]:
    """A package and its public submodules, found on disk without importing any of them (finding the
    package imports its parent packages, as `import` would)."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None  # read() reports the import error
    if spec is None or spec.submodule_search_locations is None:
        return [package]
    return [package, *_submodules(package, spec.submodule_search_locations)]


def _submodules(package: str, locations: list[str]) -> Iterator[str]:
    for info in sorted(pkgutil.iter_modules(locations), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        yield f"{package}.{info.name}"
        spec = info.module_finder.find_spec(info.name) if info.ispkg else None
        if spec is not None and spec.submodule_search_locations:
            yield from _submodules(f"{package}.{info.name}", spec.submodule_search_locations)


def _versions(name: str, module: ModuleType) -> dict[str, Any]:
    top = name.split(".")[0]
    if top in sys.stdlib_module_names:
        return {"stdlib": True}
    dists = _distributions().get(top)
    version = importlib.metadata.version(dists[0]) if dists else getattr(sys.modules.get(top), "__version__", None)
    return {"stdlib": False, **({"package_version": version} if isinstance(version, str) else {})}


@functools.cache
def _distributions() -> dict[str, list[str]]:
    return dict(importlib.metadata.packages_distributions())
