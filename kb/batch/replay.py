"""Impact replay: re-decide a case base under another version of the ontology and shapes.

Each case is decided under the baseline (this version's ontology and shapes, or those of a git
revision) and under the candidate (a directory holding ``ontology/`` and ``shapes/``, or a git
revision), with the same batch engine. A case whose outcome or deciding criteria differ is a
change: from what to what, and which criteria stopped or started deciding. The changes are given as
a table and as RDF in the replay vocabulary (``kb/batch/replay-vocabulary.ttl``), which SPARQL can
query, e.g. the changes by criterion that started deciding::

    PREFIX rp: <https://w3id.org/ipkg/replay#>
    SELECT ?criterion (COUNT(?change) AS ?changes) WHERE {
      ?change a rp:DeterminationChange ; rp:decidingAfter ?criterion .
      FILTER NOT EXISTS { ?change rp:decidingBefore ?criterion }
    } GROUP BY ?criterion
"""

from __future__ import annotations

import subprocess
import tarfile
import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from rdflib import RDF, XSD, BNode, Graph, Literal, Namespace, URIRef

from kb.batch.chunk import CaseOutcome
from kb.batch.parsing import CaseInput
from kb.batch.runner import CollectSink, KnowledgeVersion, run_batch
from kb.namespaces import IP

RP = Namespace("https://w3id.org/ipkg/replay#")
VOCABULARY = Path(__file__).with_name("replay-vocabulary.ttl")


class ReplayError(ValueError):
    """The version to replay against cannot be read (no such directory or git revision)."""


def version_from_directory(directory: Path) -> KnowledgeVersion:
    """A directory holding ``ontology/`` and ``shapes/`` (a checkout of another version)."""
    ontology, shapes = directory / "ontology", directory / "shapes"
    if not ontology.is_dir() or not shapes.is_dir():
        raise ReplayError(f"{directory} must hold the directories ontology/ and shapes/")
    return KnowledgeVersion(str(ontology), str(shapes))


def version_from_git(revision: str, repository: Path, into: Path) -> KnowledgeVersion:
    """The ontology and shapes of a git revision, extracted into ``into``."""
    if revision.startswith("-"):
        raise ReplayError(f"not a git revision: {revision!r}")
    try:
        archive = subprocess.run(
            ["git", "-C", str(repository), "archive", "--format=tar", revision, "--", "ontology", "shapes"],
            check=True,
            capture_output=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = exc.stderr.decode("utf-8", "replace").strip() if isinstance(exc, subprocess.CalledProcessError) else str(exc)
        raise ReplayError(f"cannot read ontology/ and shapes/ at revision {revision!r}: {detail}") from None
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return version_from_directory(into)


@dataclass(frozen=True)
class Change:
    source: str
    before: str  # outcome, or "failed: <kind>"
    after: str
    deciding_before: tuple[str, ...]
    deciding_after: tuple[str, ...]


def _state(outcome: CaseOutcome) -> str:
    return outcome.outcome if outcome.outcome is not None else f"failed: {outcome.error_kind}"


@dataclass
class ReplayResult:
    cases: int
    changes: list[Change]

    def transitions(self) -> Counter[tuple[str, str]]:
        return Counter((c.before, c.after) for c in self.changes)

    def by_criterion(self) -> Counter[str]:
        """How many changed determinations each criterion started or stopped deciding."""
        counts: Counter[str] = Counter()
        for change in self.changes:
            for criterion in set(change.deciding_before) ^ set(change.deciding_after):
                counts[criterion] += 1
        return counts

    def table(self) -> str:
        """The changes as a Markdown table, then the counts by transition and by criterion."""
        lines = [
            f"{len(self.changes)} of {self.cases} determinations change.",
            "",
            "| case | from | to | deciding before | deciding after |",
            "|---|---|---|---|---|",
        ]
        for c in self.changes:
            before, after = ", ".join(c.deciding_before) or "-", ", ".join(c.deciding_after) or "-"
            lines.append(f"| {c.source} | {c.before} | {c.after} | {before} | {after} |")
        lines += ["", "| from | to | determinations |", "|---|---|---|"]
        for (before, after), count in sorted(self.transitions().items()):
            lines.append(f"| {before} | {after} | {count} |")
        lines += ["", "| criterion (started or stopped deciding) | determinations |", "|---|---|"]
        for criterion, count in sorted(self.by_criterion().items()):
            lines.append(f"| {criterion} | {count} |")
        return "\n".join(lines) + "\n"

    def rdf(self, baseline: str, candidate: str) -> Graph:
        graph = Graph()
        graph.bind("rp", RP)
        graph.bind("ip", IP)
        replay = BNode()
        graph.add((replay, RDF.type, RP.Replay))
        graph.add((replay, RP.baseline, Literal(baseline)))
        graph.add((replay, RP.candidate, Literal(candidate)))
        graph.add((replay, RP.casesReplayed, Literal(self.cases, datatype=XSD.integer)))
        for c in self.changes:
            node = BNode()
            graph.add((replay, RP.change, node))
            graph.add((node, RDF.type, RP.DeterminationChange))
            graph.add((node, RP.case, Literal(c.source)))
            graph.add((node, RP.fromOutcome, Literal(c.before)))
            graph.add((node, RP.toOutcome, Literal(c.after)))
            for criterion in c.deciding_before:
                graph.add((node, RP.decidingBefore, URIRef(f"{IP}{criterion}")))
            for criterion in c.deciding_after:
                graph.add((node, RP.decidingAfter, URIRef(f"{IP}{criterion}")))
        return graph


def replay(
    inputs: Iterable[CaseInput],
    baseline: KnowledgeVersion,
    candidate: KnowledgeVersion,
    *,
    chunk_size: int = 500,
    workers: int = 0,
    scheduler: str | None = None,
) -> ReplayResult:
    """Decide every input under both versions and list the determinations that change."""
    cases = list(inputs)
    before, after = CollectSink(), CollectSink()
    run_batch(cases, [before], chunk_size=chunk_size, workers=workers, scheduler=scheduler, version=baseline)
    run_batch(cases, [after], chunk_size=chunk_size, workers=workers, scheduler=scheduler, version=candidate)
    decided_after = {o.source: o for o in after.outcomes}
    changes = []
    for old in before.outcomes:
        new = decided_after.get(old.source)
        if new is None:
            continue
        if _state(old) != _state(new) or old.deciding != new.deciding:
            changes.append(Change(old.source, _state(old), _state(new), old.deciding, new.deciding))
    return ReplayResult(cases=len(before.outcomes), changes=sorted(changes, key=lambda c: c.source))


def temporary_directory() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="ipkg-replay-")
