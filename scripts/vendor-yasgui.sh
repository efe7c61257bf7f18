#!/usr/bin/env bash
# Refresh the vendored SPARQL editor (api/static/yasgui/) from the npm registry; not part of set-up:
# the files are committed, so the service never loads them from a CDN and a fresh clone needs no npm.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
VERSION="${1:-4.6.2}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "@zazuko/yasgui@${VERSION}" >/dev/null && tar xzf zazuko-yasgui-*.tgz)
cp "$work/package/build/yasgui.min.js" "$work/package/build/yasgui.min.css" api/static/yasgui/
sha256sum api/static/yasgui/yasgui.min.js api/static/yasgui/yasgui.min.css
echo "update the version, integrity and digests in api/static/yasgui/LICENSE.md and tests/test_pages.py"
