#!/usr/bin/env bash
# The whole test suite: lint (ruff), types (mypy) and tests (pytest).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/bootstrap.sh
# The page tests drive Debian's chromium headless (tests/service/browser.py); install it where it is missing
# and the test command may (root with apt-get); elsewhere those tests are skipped, saying why.
if [ ! -x /usr/bin/chromium ] && [ -z "${IPKG_CHROMIUM:-}" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== chromium (Debian package, for the browser tests)"
    { DEBIAN_FRONTEND=noninteractive apt-get update -qq \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
        || echo "chromium could not be installed: the browser tests will be skipped"
fi
echo "== ruff" && .venv/bin/ruff check kb api tests benchmarks
echo "== mypy" && .venv/bin/mypy
echo "== pytest" && exec .venv/bin/python -m pytest "$@"
