#!/usr/bin/env bash
# Main job: determinations for the bundled example cases, on the embedded default store.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/bootstrap.sh
exec .venv/bin/ipkg determine --examples "$@"
