"""The SPARQL cookbook: competency questions as .rq files with their expected answers.

Each docs/cookbook/NN-name.rq starts with a comment line holding the question; its expected answer
is docs/cookbook/NN-name.expected.json ({"columns": [...], "rows": [[...]]}, values as their
lexical forms). ``python -m kb.cookbook`` recomputes the answers over the demo dataset (the
ontology, the shapes, every example case and its determination) with rdflib; the service tests
check that the SPARQL endpoint (Oxigraph) gives the same answers.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from rdflib import Graph, URIRef
from rdflib.query import ResultRow

from kb import resources
from kb.namespaces import IP


def queries() -> list[Path]:
    return sorted(resources.cookbook_dir().glob("*.rq"))


def expected_file(query: Path) -> Path:
    return query.with_suffix(".expected.json")


def normalize(value: str | None) -> str:
    """Numbers compare by value (rdflib and Oxigraph print decimals differently)."""
    if value is None:
        return ""
    try:
        number = Decimal(value)
    except InvalidOperation:
        return value
    return format(number.normalize(), "f")


def answer_key(columns: list[str], rows: list[list[str]]) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    return tuple(columns), sorted(tuple(normalize(v) for v in row) for row in rows)


def demo_dataset() -> Graph:
    """The ontology, the shapes, every example case with its derived facts and the RDF of its
    determination, and the counterfactuals of the examples examples/counterfactuals.toml names."""
    from kb.engine import determine_file
    from kb.examples import counterfactual_graph, explained_examples
    from kb.knowledge import load_knowledge
    from kb.pipeline.caseio import read_case_file
    from kb.pipeline.determination import determination_graph

    knowledge = load_knowledge()
    graph = knowledge.ontology + knowledge.shapes
    cases = resources.examples_dir() / "cases"
    explained = explained_examples()
    for path in sorted([*cases.glob("*.ttl"), *cases.glob("*.jsonld")]):
        det = determine_file(path)
        graph += det.case_graph
        rdf = determination_graph(det)
        graph += rdf
        if path.name in explained:
            node = rdf.value(predicate=IP.forRequest, object=det.request)
            assert isinstance(node, URIRef)
            graph += counterfactual_graph(read_case_file(path), node, knowledge)
    return graph


def answer(graph: Graph, query: Path) -> dict[str, Any]:
    result = graph.query(query.read_text(encoding="utf-8"))
    if result.type == "ASK":
        return {"boolean": bool(result.askAnswer)}
    columns = [str(v) for v in (result.vars or [])]
    rows = [[("" if v is None else str(v)) for v in row] for row in result if isinstance(row, ResultRow)]
    return {"columns": columns, "rows": rows}


def main() -> None:
    graph = demo_dataset()
    for query in queries():
        expected_file(query).write_text(json.dumps(answer(graph, query), indent=1, ensure_ascii=False) + "\n")
        print(f"wrote {expected_file(query).name}")


if __name__ == "__main__":
    main()
