"""Seed and corpus sources, by the name used in a spec `name[.format]:arg`."""

from __future__ import annotations

import importlib
from typing import Any

from hephaestus.sources.base import ShardTask, Source, SpecError

# name -> (module under hephaestus.sources, class name); a fixed table, never taken from input data
SOURCE_CLASSES: dict[str, tuple[str, str]] = {
    "python-api": ("python_api", "PythonAPISource"),
    "openapi": ("openapi", "OpenAPISource"),
    "botocore": ("cloud", "BotocoreSource"),
    "google-api": ("cloud", "GoogleDiscoverySource"),
    "trajectories": ("trajectories", "TrajectorySource"),
    "code": ("code", "CodeSource"),
    "text": ("text", "TextSource"),
}


def source_class(name: str) -> type[Source]:
    if name not in SOURCE_CLASSES:
        known = ", ".join(sorted(SOURCE_CLASSES))
        raise SpecError(f"unknown source {name!r}; known sources: {known}")
    module, cls = SOURCE_CLASSES[name]
    return getattr(importlib.import_module(f"hephaestus.sources.{module}"), cls)


def parse_spec(spec: str, **options: Any) -> Source:
    """Build a source from `name:arg` or `name.format:arg` (the format becomes option `format`)."""
    name, sep, arg = spec.partition(":")
    if not sep:
        raise SpecError(f"{spec!r}: a source spec is NAME:ARG, e.g. python-api:json,re or text:corpus.jsonl")
    name, _, variant = name.partition(".")
    if variant:
        options = {**options, "format": variant}
    return source_class(name)(arg, **options)


__all__ = ["SOURCE_CLASSES", "ShardTask", "Source", "SpecError", "parse_spec", "source_class"]
