#!/usr/bin/env bash
# Mutation fuzzing of case input for a fixed time (default 300 s), then the hypothesis fuzz tests
# with more examples. Prints the figures; exits non-zero if any input raised an unhandled exception
# (the failing inputs are kept under var/fuzz-failures/).
#   scripts/fuzz.sh [seconds] [hypothesis examples per test]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds="${1:-300}"
examples="${2:-2000}"
.venv/bin/python -m tests.fuzz_cases --seconds "$seconds"
IPKG_FUZZ_EXAMPLES="$examples" .venv/bin/python -m pytest -q -p no:cacheprovider tests/test_fuzz_cases.py
