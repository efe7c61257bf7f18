#!/usr/bin/env bash
# Load test: starts the service on a temporary embedded store (example cases preloaded), runs
# Locust clients against it and writes a summary (default: 50 clients, 10 minutes, var/load/).
# Arguments go to benchmarks/load_test.py, e.g. --users 50 --duration 3m --out var/load.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/bootstrap.sh
exec .venv/bin/python benchmarks/load_test.py "$@"
