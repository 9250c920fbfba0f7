"""Cloud API models shipped inside Python packages: botocore's AWS service models and
google-api-python-client's discovery documents. The packages are located, never imported:
their JSON files are read directly."""

from __future__ import annotations

import importlib.metadata
import importlib.util
from abc import abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from hephaestus.io.readers import Location, Rejected, parse_json, read_whole
from hephaestus.sources.base import Item, ShardTask, Source, SpecError
from hephaestus.sources.cloud_botocore import latest_models, operation_records
from hephaestus.sources.cloud_google import method_records, select_documents

INSTALL_HINT = "pip install 'hephaestus[cloud]'"
MAX_BYTES = 64 * 1024 * 1024


def package_dir(module: str, package: str) -> Path:
    """The folder of an installed package, found without importing it; SpecError when missing."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise SpecError(f"the {package} package is not installed; run: {INSTALL_HINT} (or pip install {package})")
    return Path(next(iter(spec.submodule_search_locations)))


def wanted_names(arg: str) -> list[str] | None:
    """The comma-separated names of a spec's argument; None for all (empty or `*`)."""
    names = [name.strip() for name in arg.split(",") if name.strip()]
    return None if not names or names == ["*"] else names


class PackagedModels(Source):
    """A source over JSON model files inside an installed package, one task per file."""

    package: ClassVar[str]

    def config(self) -> dict[str, Any]:
        try:
            version = importlib.metadata.version(self.package)
        except importlib.metadata.PackageNotFoundError:
            version = None
        return {**super().config(), "package_version": version}

    def read(self, task: ShardTask) -> Iterator[Item]:
        data = read_whole(task.path, MAX_BYTES)
        model = data if isinstance(data, Rejected) else parse_json(data, Location(task.path))
        if isinstance(model, dict):
            yield from self.records(model, task.path)
        else:
            yield model if isinstance(model, Rejected) else Rejected("bad_model", Location(task.path), "not an object")

    @abstractmethod
    def records(self, model: dict[str, Any], path: str) -> Iterator[Item]:
        """Records (or Rejected entries) of one parsed model file."""


class BotocoreSource(PackagedModels):
    """`botocore:s3,sts` or `botocore:*`: the newest model of each named (or every) AWS service."""

    name = "botocore"
    summary = "AWS service models from the installed botocore: one tool_doc per operation"
    package = "botocore"

    def plan(self, workers: int) -> list[ShardTask]:
        folder = package_dir("botocore", self.package) / "data"
        models = latest_models(folder) if folder.is_dir() else {}
        if not models:
            raise SpecError(f"botocore: no service models under {folder}")
        names = wanted_names(self.arg)
        unknown = [name for name in names or [] if name not in models]
        if unknown:
            raise SpecError(f"botocore: unknown service(s) {', '.join(unknown)} (e.g. {', '.join(list(models)[:3])})")
        return [ShardTask(self.name, models[name]) for name in names or models]

    def records(self, model: dict[str, Any], path: str) -> Iterator[Item]:
        return operation_records(model, path)


class GoogleDiscoverySource(PackagedModels):
    """`google-api:drive,gmail.v1` or `google-api:*`: Google API discovery documents."""

    name = "google-api"
    summary = "Google API discovery documents from google-api-python-client: one tool_doc per method"
    package = "google-api-python-client"

    def plan(self, workers: int) -> list[ShardTask]:
        folder = package_dir("googleapiclient", self.package) / "discovery_cache" / "documents"
        if not folder.is_dir():
            raise SpecError(f"google-api: {folder} is missing; this {self.package} keeps no discovery documents")
        return [ShardTask(self.name, path) for path in select_documents(folder, wanted_names(self.arg))]

    def records(self, model: dict[str, Any], path: str) -> Iterator[Item]:
        return method_records(model, path)
