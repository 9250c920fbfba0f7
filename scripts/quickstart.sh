#!/usr/bin/env bash
# The README's main job: install what the quickstart needs, then run the quickstart recipe.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh quickstart
exec .venv/bin/hephaestus run recipes/quickstart.yaml "$@"
