"""Shared fixtures: the real public data samples in ../shared/data, when this checkout has them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hephaestus.collect import collect
from hephaestus.curate.stage import curate
from hephaestus.curate.steps import CurateSettings
from hephaestus.sources import parse_spec
from hephaestus.workspace import Workspace

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


@pytest.fixture(scope="session")
def curated_ws(tmp_path_factory, shared_data):
    """A small curated workspace with tool docs, trajectories (with messages), code and web text."""
    ws = Workspace(tmp_path_factory.mktemp("mixpack") / "ws")
    specs = ["python-api:json,re,csv,textwrap", "code:pkg://json",
             f"trajectories:{shared_data / 'llama-factory' / 'glaive_toolcall_en_demo.json'}",
             f"text:{shared_data / 'webtext' / 'dclm'}"]
    collect([parse_spec(s) for s in specs], ws, workers=2)
    curate(ws, CurateSettings(bfcl=False), workers=2)
    return ws


@pytest.fixture(scope="session")
def packed_ws(curated_ws):
    """The curated workspace, mixed with a small BPE and packed into 128-token sequences."""
    from hephaestus.mix.stage import mix
    from hephaestus.mix.tokens import MixSettings
    from hephaestus.pack.stage import PackSettings, pack

    mix(curated_ws, MixSettings(vocab_size=600, tokenizer_sample_docs=400, valid_fraction=0.05), restart=True)
    summary = pack(curated_ws, PackSettings(seq_len=128, shuffle_memory_bytes=1 << 20), restart=True)
    return curated_ws, summary
