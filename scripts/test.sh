#!/usr/bin/env bash
# The whole test suite: lint (ruff), types (mypy) and tests (pytest).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/bootstrap.sh
echo "== ruff" && .venv/bin/ruff check kb api tests benchmarks
echo "== mypy" && .venv/bin/mypy
echo "== pytest" && exec .venv/bin/python -m pytest "$@"
