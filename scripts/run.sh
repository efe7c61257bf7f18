#!/usr/bin/env bash
# Main job: the service on the embedded store (var/store), preloaded with the ontology, the shapes
# and the example cases and their determinations; prints the URLs of the API docs and the SPARQL
# endpoint, and a bearer token for this run. Extra arguments go to `ipkg serve` (e.g. --port 8080).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/bootstrap.sh
exec .venv/bin/ipkg serve "$@"
