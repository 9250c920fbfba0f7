"""Quarantine: what could not be read goes to WS/quarantine/<stage>/<task>.jsonl with its reason."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import IO

from hephaestus.io.readers import Rejected

RAW_LIMIT = 4096


class QuarantineWriter:
    """Appends one JSON line per rejected input; the file is only created when something is rejected."""

    def __init__(self, path: Path, stage: str) -> None:
        self.path = path
        self.stage = stage
        self._handle: IO[str] | None = None
        path.unlink(missing_ok=True)  # a re-run of a task rewrites its quarantine from scratch

    def write(self, rejected: Rejected) -> None:
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = self.path.open("w", encoding="utf-8")
        where = rejected.location
        entry = {
            "stage": self.stage,
            "path": where.path,
            "line": where.line,
            "offset": where.offset,
            "item": where.item,
            "reason": rejected.reason,
            "detail": rejected.detail,
            **_raw_fields(rejected.raw, rejected.size),
        }
        self._handle.write(json.dumps(entry, ensure_ascii=False) + "\n")

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def _raw_fields(raw: bytes | str, size: int | None) -> dict[str, str | int | bool]:
    """The raw input, truncated: as text when it is valid UTF-8, else base64."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    head = data[:RAW_LIMIT]
    total = max(size or 0, len(data))
    fields: dict[str, str | int | bool] = {"raw_bytes": total, "raw_truncated": total > len(head)}
    try:
        fields["raw"] = head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start >= len(head) - 4 and total > len(head):  # cut inside a character
            fields["raw"] = head[: error.start].decode("utf-8")
        else:
            fields["raw_base64"] = base64.b64encode(head).decode("ascii")
    return fields


def read_quarantine(folder: Path) -> list[dict]:
    """All entries under a stage's quarantine folder, in file order."""
    entries: list[dict] = []
    for path in sorted(folder.glob("*.jsonl")):
        entries += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return entries
