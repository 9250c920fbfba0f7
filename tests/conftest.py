"""Shared fixtures: the real public data samples in ../shared/data, when this checkout has them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _shared_data() -> Path | None:
    configured = os.environ.get("HEPHAESTUS_SHARED_DATA")
    candidate = Path(configured) if configured else REPO.parent / "shared" / "data"
    return candidate if candidate.is_dir() else None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Root of the real data samples; tests that need it skip on a user's clone without it."""
    root = _shared_data()
    if root is None:
        pytest.skip("../shared/data is not present (set HEPHAESTUS_SHARED_DATA to point at it)")
    return root
