"""Every example in the docs is executed.

Fenced blocks in README.md and docs/*.md are run according to their language:
- ``turtle`` / ``jsonld``: parsed with the case reader; a block holding a request is determined.
  ``<!-- expect-outcome: X -->`` on the line before the block checks the outcome.
- ``json``: must be valid JSON.
- ``sparql``: run over the demo dataset (ontology, shapes, every example case and its
  determination); ``<!-- expect-rows: N -->`` checks the row count.
- ``console``: each ``$ command`` line runs from the repository root with .venv/bin on PATH;
  ``<!-- exit-code: N -->`` sets the expected exit code (default 0) and
  ``<!-- substitute: "A" "B" -->`` replaces A by B before running (to keep long runs short).
  ``<!-- service -->`` runs the block against a service started for the docs (preloaded with the
  example cases): $IPKG_URL is its base URL, $TOKEN a read/write token and $READ_TOKEN a read-only
  one; ``<!-- expect-output: TEXT -->`` checks that the output contains TEXT.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from rdflib import Graph

from kb import cookbook
from kb.coverage import coverage_markdown
from kb.engine import determine_graph
from kb.knowledge import load_knowledge
from kb.namespaces import IP
from kb.pipeline.caseio import JSONLD, TURTLE, parse_case
from tests.service.server import PRELOADED, READ_TOKEN, WRITE_TOKEN, Server, running

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"(?P<before>(?:<!--.*?-->\s*\n)*)```(?P<lang>[\w-]*)\n(?P<body>.*?)```", re.S)
MARKER = re.compile(r"<!--\s*([\w-]+)(?::\s*(.*?))?\s*-->")


@dataclass(frozen=True)
class Block:
    doc: Path
    line: int
    lang: str
    body: str
    markers: tuple[tuple[str, str], ...]

    @property
    def id(self) -> str:
        return f"{self.doc.name}:{self.line}:{self.lang}"

    def marker(self, name: str) -> str | None:
        return next((v for k, v in self.markers if k == name), None)


def _blocks() -> list[Block]:
    blocks = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            line = text.count("\n", 0, match.start("lang")) + 1
            markers = tuple(MARKER.findall(match.group("before")))
            blocks.append(Block(doc, line, match.group("lang"), match.group("body"), markers))
    return blocks


BLOCKS = _blocks()


def _of(*langs: str) -> list[Block]:
    return [b for b in BLOCKS if b.lang in langs]


@pytest.fixture(scope="module")
def demo_dataset() -> Graph:
    return cookbook.demo_dataset()


@pytest.mark.parametrize("block", _of("turtle", "jsonld"), ids=lambda b: b.id)
def test_rdf_blocks(block: Block) -> None:
    fmt = JSONLD if block.lang == "jsonld" else TURTLE
    graph = parse_case(block.body, fmt, block.id)
    expected = block.marker("expect-outcome")
    if (None, None, IP.PriorAuthorizationRequest) in graph:
        det = determine_graph(graph, block.id)
        if expected is not None:
            assert det.outcome == expected
    else:
        assert expected is None, "an expected outcome needs a request in the block"


@pytest.mark.parametrize("block", _of("json"), ids=lambda b: b.id)
def test_json_blocks(block: Block) -> None:
    json.loads(block.body)


@pytest.mark.parametrize("block", _of("sparql"), ids=lambda b: b.id)
def test_sparql_blocks(block: Block, demo_dataset: Graph) -> None:
    rows = list(demo_dataset.query(block.body))
    expected = block.marker("expect-rows")
    if expected is not None:
        assert len(rows) == int(expected)
    else:
        assert rows, "a documented query should return rows on the demo dataset"


@pytest.fixture(scope="module")
def docs_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running(tmp_path_factory.mktemp("docs-service"), PRELOADED, timeout=300) as srv:
        yield srv


@pytest.mark.parametrize("block", _of("console"), ids=lambda b: b.id)
def test_console_blocks(block: Block, request: pytest.FixtureRequest) -> None:
    env = dict(os.environ, PATH=f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")
    if block.marker("service") is not None:
        service: Server = request.getfixturevalue("docs_service")
        env.update({"IPKG_URL": service.url, "TOKEN": WRITE_TOKEN, "READ_TOKEN": READ_TOKEN})
    outputs = []
    expected = int(block.marker("exit-code") or 0)
    substitute = block.marker("substitute")
    for line in block.body.splitlines():
        if not line.startswith("$ "):
            continue
        command = line[2:]
        if substitute:
            old, new = shlex.split(substitute)
            command = command.replace(old, new)
        if command.startswith("./scripts/"):
            continue  # the set-up scripts themselves are exercised by CI (.ci/run calls scripts/test.sh)
        result = subprocess.run(command, shell=True, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
        assert result.returncode == expected, f"{command}\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        outputs.append(result.stdout)
    wanted = block.marker("expect-output")
    if wanted is not None:
        assert wanted in "".join(outputs), f"expected {wanted!r} in the output of {block.id}"


def test_coverage_table_is_current() -> None:
    expected = coverage_markdown(load_knowledge(), ROOT / "tests" / "criteria")
    actual = (ROOT / "docs" / "criteria-coverage.md").read_text(encoding="utf-8")
    assert actual == expected, "docs/criteria-coverage.md is out of date: run ipkg coverage > docs/criteria-coverage.md"


def test_docs_have_examples() -> None:
    assert len(BLOCKS) >= 1 and sys.version_info >= (3, 11)
