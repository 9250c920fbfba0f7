#!/usr/bin/env bash
# The README's test command: install the test dependencies, lint, then run the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh dev
.venv/bin/ruff check src tests benchmarks
exec .venv/bin/python -m pytest -q "$@"
