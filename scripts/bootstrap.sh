#!/usr/bin/env bash
# Installs the project and its locked dependencies into .venv (idempotent; sourced by the
# other scripts). Needs only python3 >= 3.11 and access to the Python package index.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export UV_PYTHON_DOWNLOADS=never
if ! command -v uv >/dev/null 2>&1; then
    echo "bootstrap: installing uv (the package manager that reads uv.lock)" >&2
    python3 -m pip install --quiet --disable-pip-version-check uv
fi
UV="$(command -v uv || echo "python3 -m uv")"
$UV sync --locked --quiet --python python3
