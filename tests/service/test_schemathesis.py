"""Schemathesis over the served OpenAPI document: default checks (auth checks included), zero failures.

schemathesis.toml at the repository root says why four operations expect 400/415/422 for
schema-valid bodies (RDF and SPARQL text cannot be described by JSON Schema).

One schemathesis worker: with two, its threads parse source code at the same time, and CPython 3.11.7's
``ast.parse`` is not safe for that (hypothesis's lambda descriptions failed once with "SystemError: AST
constructor recursion depth mismatch", a crash of the tool, not an answer of the service).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.service.server import ROOT, WRITE_TOKEN, Server

SCHEMATHESIS = shutil.which("schemathesis", path=str(Path(sys.executable).parent))


def test_schemathesis_finds_no_failure(server: Server) -> None:
    assert SCHEMATHESIS is not None, "schemathesis is a dev dependency"
    result = subprocess.run(
        [SCHEMATHESIS, "run", f"{server.url}/openapi.json", "-H", f"Authorization: Bearer {WRITE_TOKEN}",
         "--max-examples", "25", "--seed", "20261126", "--workers", "1", "--no-color"],
        cwd=ROOT, capture_output=True, text=True, timeout=900, check=False,
        env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
    )
    summary = result.stdout[-3000:]
    assert result.returncode == 0, summary
    assert " passed" in summary and "failure" not in summary.split("Test cases:")[-1], summary
