#!/usr/bin/env bash
# Create .venv (if needed) and install hephaestus with the given extras, pinned by constraints.txt.
# Usage: scripts/bootstrap.sh [EXTRAS]   e.g. scripts/bootstrap.sh dev,cloud
# Re-running is cheap: nothing is installed when pyproject, constraints and extras are unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
venv="${HEPHAESTUS_VENV:-.venv}"

pick_python() {
    for candidate in "${PYTHON:-}" python3.11 python3.12 python3.13 python3; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
            echo "$candidate"; return 0
        fi
    done
    echo "error: Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)" >&2
    return 1
}

if [ ! -x "$venv/bin/python" ]; then
    python="$(pick_python)"
    echo "creating $venv with $python" >&2
    "$python" -m venv "$venv"
fi
stamp="$venv/.hephaestus-installed"
want="$(cat pyproject.toml constraints.txt requirements-nodeps.txt | sha256sum | cut -d' ' -f1) [$extras]"
if [ -f "$stamp" ] && grep -qxF "$want" "$stamp"; then
    exit 0
fi
echo "installing hephaestus${extras:+[$extras]} into $venv (pinned by constraints.txt)" >&2
pip_install() {  # quiet, without the notes this machine's pip config prints about missing local indexes
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@" 2> >(grep -v "^WARNING: Location 'file:" >&2)
}
pip_install --upgrade "pip>=24"
pip_install -c constraints.txt -e ".${extras:+[$extras]}"
pip_install --no-deps -r requirements-nodeps.txt
echo "$want" >> "$stamp"
