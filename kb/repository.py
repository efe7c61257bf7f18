"""Cases, reports and determinations in the store, each in its own named graph.

The layout (which named graph holds what, and why no fact is stored twice) is described in
``kb.store_layout``. A determination and everything it rests on are written in one transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from rdflib import XSD, BNode, Graph, Literal, URIRef

from kb import resources
from kb.determination_index import COLUMNS, DeterminationFilter, DeterminationIndex, Entry, entry_from_graph, instant
from kb.engine import determine_graph
from kb.knowledge import Knowledge
from kb.namespaces import DET, IP
from kb.pipeline.determination import Determination, determination_graph
from kb.store.base import Store, Triple
from kb.store.terms import from_rdflib, to_rdflib
from kb.store_layout import (
    GRAPH,
    LAYOUT_GRAPH,
    ONTOLOGY_GRAPH,
    SHAPES_GRAPH,
    TERM_TYPES_GRAPH,
    case_graph,
    case_receipt_graph,
    derived_facts,
    derived_graph,
    determination_graph_name,
    migrate,
    report_graph,
    term_facts,
    term_types,
)

__all__ = [
    "GRAPH",
    "ONTOLOGY_GRAPH",
    "SHAPES_GRAPH",
    "DeterminationFilter",
    "PreparedDetermination",
    "Repository",
    "StoredDetermination",
    "UnknownIdError",
    "case_graph",
    "derived_graph",
    "determination_graph_name",
    "prepare_determination",
    "report_graph",
]
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
RDF_JSON = URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#JSON")
OUTCOMES = ("approved", "denied", "pended", "excluded")
INDEX_ROW_CAP = 10_000_000  # the list index is built from one query of every stored determination
MISSING_ITEMS_QUESTIONNAIRE = "https://w3id.org/ipkg/fhir/Questionnaire/missing-"


def counterfactuals_graph(det_id: str) -> str:
    """The named graph of a determination's counterfactuals (written when they are first asked for)."""
    return f"{GRAPH}counterfactuals/{det_id}"


def provenance_graph(case_id: str) -> str:
    """The named graph of the provenance of a case revision made from a questionnaire response."""
    return f"{GRAPH}provenance/{case_id}"


class UnknownIdError(LookupError):
    """No stored case or determination has this id."""


def report_without_case_copies(report: Graph, case: Graph, derived: Graph) -> Graph:
    """The report as stored: without pySHACL's copies of case blank nodes (the description of a blank-node
    ``sh:value``), which are already in the case or derived graph; ``restore_case_copies`` puts them back."""
    stored = Graph()
    for triple in report:
        if isinstance(triple[0], BNode) and (triple in case or triple in derived):
            continue
        stored.add(triple)
    return stored


def restore_case_copies(report: Graph, case: Graph, derived: Graph) -> None:
    """Add back the description of every case blank node the report names, as pySHACL wrote it."""
    sources = (case, derived)
    pending = [o for o in report.objects() if isinstance(o, BNode) and any((o, None, None) in g for g in sources)]
    seen: set[BNode] = set()
    while pending:
        node = pending.pop()
        if node in seen:
            continue
        seen.add(node)
        for graph in sources:
            for _, p, o in graph.triples((node, None, None)):
                report.add((node, p, o))
                if isinstance(o, BNode):
                    pending.append(o)


def wire(graph: Graph) -> list[Triple]:
    return [(from_rdflib(s), from_rdflib(p), from_rdflib(o)) for s, p, o in graph]


def unwire(triples: list[Triple]) -> Graph:
    graph = Graph()
    graph.bind("ip", IP)
    graph.bind("det", DET)
    for s, p, o in triples:
        graph.add((to_rdflib(s), to_rdflib(p), to_rdflib(o)))
    return graph


@dataclass(frozen=True)
class StoredDetermination:
    id: str
    case_id: str
    machine_form: dict[str, Any]


@dataclass(frozen=True)
class PreparedDetermination:
    """A decided case and the named graphs that record it, ready to be written in one transaction.

    Made where the case is decided (a case worker process, or in-process); written by the repository.
    """

    stored: StoredDetermination
    graphs: dict[str, list[Triple]]


def prepare_determination(
    case: Graph,
    source: str,
    knowledge: Knowledge,
    case_id: str | None = None,
    store_case: bool = True,
    received_at: dt.datetime | None = None,
    previous: str | None = None,
) -> tuple[PreparedDetermination, Determination]:
    """Determine a case and build the graphs that record it (the case when new with its receipt, derived
    facts, report, determination); nothing is written. ``received_at`` defaults to now."""
    received_at = received_at or dt.datetime.now(dt.UTC)
    original = Graph()
    for triple in case:
        original.add(triple)
    det = determine_graph(case, source, knowledge)
    stored, graphs = determination_graphs(original, det, case_id, store_case, received_at, previous)
    return PreparedDetermination(stored, graphs), det


def determination_graphs(
    original: Graph,
    det: Determination,
    case_id: str | None = None,
    store_case: bool = True,
    received_at: dt.datetime | None = None,
    previous: str | None = None,
) -> tuple[StoredDetermination, dict[str, list[Triple]]]:
    """The named graphs that store a determination and everything it rests on (written in one transaction).

    ``original`` is the case as submitted (before enrichment); a new determination id is made, and a
    new case id unless given. ``received_at`` is when the request for review was received
    (``ip:requestReceivedAt``; the decision time when not given); a new case gets its receipt graph.
    ``previous`` names the earlier determination this one re-decides (after a questionnaire response).
    """
    det_id = uuid.uuid4().hex
    case_id = case_id or uuid.uuid4().hex
    node = DET[det_id]
    derived = derived_facts(det.case_graph, original)
    machine = det.as_json() | {"id": det_id, "caseId": case_id}
    links = {"self": f"/determinations/{det_id}", "case": f"/cases/{case_id}"}
    if det.outcome in ("denied", "pended"):
        links["counterfactuals"] = f"/determinations/{det_id}/counterfactuals"
    if det.outcome == "pended" and det.missing_documentation:
        links["questionnaire"] = f"/determinations/{det_id}/questionnaire"
    if previous is not None:
        machine["previousDetermination"] = previous
        links["previous"] = f"/determinations/{previous}"
    machine["links"] = links
    rdf = determination_graph(det, node, received_at=received_at)
    if "questionnaire" in links:
        rdf.add((node, IP.missingItemsQuestionnaire, URIRef(MISSING_ITEMS_QUESTIONNAIRE + det_id)))
    if previous is not None:
        rdf.add((node, IP.previousDetermination, DET[previous]))
    rdf.add((node, IP.caseId, Literal(case_id)))
    rdf.add((node, IP.caseGraph, URIRef(case_graph(case_id))))
    rdf.add((node, IP.reportGraph, URIRef(report_graph(det_id))))
    rdf.add((node, IP.derivedFactsGraph, URIRef(derived_graph(det_id))))
    # The primary line's code (the first line's, for a request of excluded procedures' codes only).
    primary = next((line for line in det.lines if line.primary), det.lines[0] if det.lines else None)
    if primary is not None:
        rdf.add((node, IP.requestedCode, Literal(primary.code)))
    dos = det.case_graph.value(det.request, IP.dateOfService)
    if dos is not None:
        rdf.add((node, IP.serviceDate, Literal(str(dos), datatype=XSD.date)))
    rdf.add((node, IP.machineForm, Literal(json.dumps(machine, ensure_ascii=False), datatype=RDF_JSON)))
    graphs = {
        derived_graph(det_id): wire(derived),
        report_graph(det_id): wire(report_without_case_copies(det.report, original, derived)),
        determination_graph_name(det_id): wire(rdf),
    }
    if store_case:
        graphs[case_graph(case_id)] = wire(original)
        if received_at is not None:
            graphs.update(receipt_graph(case_id, received_at))
    return StoredDetermination(det_id, case_id, machine), graphs


def receipt_graph(case_id: str, received_at: dt.datetime) -> dict[str, list[Triple]]:
    """The graph that records when a case was received (``ip:caseReceivedAt``)."""
    when = Literal(received_at.isoformat(timespec="seconds"), datatype=XSD.dateTime)
    triple = (from_rdflib(URIRef(case_graph(case_id))), from_rdflib(IP.caseReceivedAt), from_rdflib(when))
    return {case_receipt_graph(case_id): [triple]}


class Repository:
    def __init__(self, store: Store, knowledge: Knowledge) -> None:
        self.store = store
        self.knowledge = knowledge
        # Where this process is the store's only writer, the lists are answered from an index of the
        # stored determinations (kb/determination_index.py), built at the first list (or by
        # ``index_determinations``) and given each determination as its write is acknowledged.
        self._index: DeterminationIndex | None = None
        self._index_lock = threading.Lock()
        self._guideline_numbers = {str(iri): g.number for iri, g in knowledge.guidelines.items()}

    # -- knowledge ---------------------------------------------------------------------------

    def load_knowledge_graphs(self) -> None:
        """Bring the store to the current layout, then replace the knowledge graphs with this version's."""
        migrate(self.store)
        self.store.drop_graphs([ONTOLOGY_GRAPH, SHAPES_GRAPH, TERM_TYPES_GRAPH])
        self.store.put_graphs(
            {
                ONTOLOGY_GRAPH: wire(self.knowledge.ontology),
                SHAPES_GRAPH: wire(self.knowledge.shapes),
                TERM_TYPES_GRAPH: wire(term_types(self.knowledge)),
            }
        )

    def ready(self) -> bool:
        """A cheap check that the store answers and holds this layout (for the health check)."""
        return bool(self.store.graph(LAYOUT_GRAPH))

    # -- cases -------------------------------------------------------------------------------

    def save_case(self, case: Graph, case_id: str | None = None, received_at: dt.datetime | None = None) -> str:
        """Store a case as submitted, with when it was received (its receipt graph), in one write."""
        case_id = case_id or uuid.uuid4().hex
        self.store.put_graphs({case_graph(case_id): wire(case), **self._receipt(case_id, received_at)})
        return case_id

    @staticmethod
    def _receipt(case_id: str, received_at: dt.datetime | None) -> dict[str, list[Triple]]:
        return receipt_graph(case_id, received_at or dt.datetime.now(dt.UTC))

    def case_received_at(self, case_id: str) -> dt.datetime | None:
        """When the service stored the case (None for a case stored before receipts were recorded)."""
        triples = self.store.graph(case_receipt_graph(case_id)) if ID_PATTERN.match(case_id) else None
        for _, _, when in unwire(triples or []):
            if isinstance(when, Literal) and isinstance(when.value, dt.datetime):
                return when.value
        return None

    def _stored_graph(self, what: str, item_id: str, name: str) -> Graph:
        """A stored named graph; UnknownIdError for a malformed id or a graph that is not there."""
        return unwire(self._stored_triples(what, item_id, name))

    def _stored_triples(self, what: str, item_id: str, name: str) -> list[Triple]:
        if not ID_PATTERN.match(item_id):
            # Not echoed: a malformed id may be anything a client sent, of any length.
            raise UnknownIdError(f"no {what} with this id (an id is 1 to 128 letters, digits, '.', '_' or '-')")
        triples = self.store.graph(name)
        if triples is None:
            raise UnknownIdError(f"no {what} {item_id!r}")
        return triples

    def load_case(self, case_id: str) -> Graph:
        return self._stored_graph("case", case_id, case_graph(case_id))

    def load_case_triples(self, case_id: str) -> list[Triple]:
        """A stored case as wire triples (for a case worker process); UnknownIdError as ``load_case``."""
        return self._stored_triples("case", case_id, case_graph(case_id))

    def save_case_triples(
        self, triples: list[Triple], case_id: str | None = None, received_at: dt.datetime | None = None
    ) -> str:
        """Store a case's triples (already checked) with its receipt graph, in one write."""
        case_id = case_id or uuid.uuid4().hex
        self.store.put_graphs({case_graph(case_id): triples, **self._receipt(case_id, received_at)})
        return case_id

    def case_exists(self, case_id: str) -> bool:
        return case_graph(case_id) in self.store.graph_names(case_graph(case_id))

    # -- determinations ----------------------------------------------------------------------

    def determine_and_save(
        self,
        case: Graph,
        source: str,
        case_id: str | None = None,
        store_case: bool = True,
        received_at: dt.datetime | None = None,
        previous: str | None = None,
        extra_graphs: dict[str, Graph] | None = None,
    ) -> tuple[StoredDetermination, Determination]:
        """Determine a case and store the case (when new), derived facts, report and determination at once.

        ``received_at`` is when the request for review was received: for a stored case (``store_case``
        false) its receipt is used when not given; otherwise the time this call began. ``previous`` names
        the earlier determination this one re-decides (after a questionnaire response); ``extra_graphs``
        are written in the same transaction (the response's provenance).
        """
        if received_at is None and not store_case and case_id is not None:
            received_at = self.case_received_at(case_id)
        prepared, det = prepare_determination(
            case, source, self.knowledge, case_id, store_case, received_at, previous
        )
        for name, extra in (extra_graphs or {}).items():
            prepared.graphs[name] = wire(extra)
        self.save_prepared(prepared)
        return prepared.stored, det

    def save_prepared(self, prepared: PreparedDetermination) -> StoredDetermination:
        """Write a prepared determination's graphs in one transaction (and enter it in the list index)."""
        self.store.put_graphs(prepared.graphs)
        det_id = prepared.stored.id
        entry = entry_from_graph(det_id, prepared.graphs.get(determination_graph_name(det_id), []), self._guideline_numbers)
        with self._index_lock:
            if self._index is not None and entry is not None:
                self._index.add(entry)
        return prepared.stored

    def validated_graph(self, det_id: str) -> Graph:
        """The graph SHACL validated for a stored determination, rebuilt from where its parts live.

        The case as submitted, the derived facts, and the facts about the ontology terms the case
        names (from the current knowledge; the determination records its ``ip:engineVersion``).
        """
        det = self.get_determination(det_id)
        graph = self.load_case(det.case_id)
        referenced = {o for o in graph.objects() if isinstance(o, URIRef)}
        for triple in self._stored_graph("derived facts", det_id, derived_graph(det_id)):
            graph.add(triple)
        for triple in term_facts(self.knowledge):
            if triple[0] in referenced:
                graph.add(triple)
        return graph

    def determination_rdf(self, det_id: str) -> Graph:
        """The determination's graph, with its counterfactuals once they have been computed."""
        graph = self._stored_graph("determination", det_id, determination_graph_name(det_id))
        explained = self.counterfactuals(det_id)
        if explained is not None:
            for triple in explained:
                if triple[1] != IP.explanationJson:
                    graph.add(triple)
        return graph

    def get_determination(self, det_id: str) -> StoredDetermination:
        """The stored determination's id, case id and machine form (with its counterfactuals once they
        have been computed), read from the wire triples directly (no rdflib graph is built: this runs in
        the service process for every read)."""
        triples = self._stored_triples("determination", det_id, determination_graph_name(det_id))
        node = ("u", str(DET[det_id]))
        wanted = {str(IP.machineForm): "machine", str(IP.caseId): "case"}
        found: dict[str, str] = {}
        for subject, predicate, obj in triples:
            key = wanted.get(predicate[1]) if subject == node and predicate[0] == "u" else None
            if key is not None and obj[0] == "l":
                found[key] = obj[1]
        if "machine" not in found or "case" not in found:
            raise UnknownIdError(f"determination {det_id!r} is incomplete")
        form = json.loads(found["machine"])
        explained = self.counterfactuals(det_id)
        if explained is not None:
            stored = explained.value(DET[det_id], IP.explanationJson)
            if stored is not None:
                form["counterfactuals"] = json.loads(str(stored))
        return StoredDetermination(det_id, found["case"], form)

    # -- counterfactuals -------------------------------------------------------------------

    def counterfactuals(self, det_id: str) -> Graph | None:
        """The stored counterfactuals of a determination (None until they are computed)."""
        triples = self.store.graph(counterfactuals_graph(det_id))
        return unwire(triples) if triples is not None else None

    def save_counterfactuals(self, det_id: str, graph: Graph, machine: dict[str, Any]) -> None:
        stored = Graph()
        for triple in graph:
            stored.add(triple)
        stored.add((DET[det_id], IP.explanationJson, Literal(json.dumps(machine, ensure_ascii=False), datatype=RDF_JSON)))
        self.store.put_graphs({counterfactuals_graph(det_id): wire(stored)})

    def get_report(self, det_id: str) -> Graph:
        self.determination_rdf(det_id)
        triples = self.store.graph(report_graph(det_id))
        if triples is None:
            raise UnknownIdError(f"no report for determination {det_id!r}")
        graph = unwire(triples)
        det = self.get_determination(det_id)
        derived = self._stored_graph("derived facts", det_id, derived_graph(det_id))
        restore_case_copies(graph, self.load_case(det.case_id), derived)
        graph.bind("sh", URIRef("http://www.w3.org/ns/shacl#"))
        graph.bind("ips", URIRef("https://w3id.org/ipkg/shapes#"))
        return graph

    def list_determinations(
        self, flt: DeterminationFilter, limit: int, offset: int, timeout: float
    ) -> tuple[int, list[dict[str, str]]]:
        """The number of stored determinations that match and one page of them, newest first (then by id):
        from the index where this process is the store's only writer, else by a query of the store."""
        if self.store.sole_writer:
            return self.index_determinations(timeout).page(flt, limit, offset)
        return self.query_determinations(flt, limit, offset, timeout)

    def index_determinations(self, timeout: float) -> DeterminationIndex:
        """The index of the stored determinations, built from the store the first time (one list query of
        every determination, on a snapshot holding every acknowledged write)."""
        with self._index_lock:
            if self._index is None:
                text = resources.query_file("list-determinations.rq").read_text(encoding="utf-8").replace("#FILTERS", "")
                outcome = self.store.query(text, timeout, INDEX_ROW_CAP)
                entries = []
                for row in outcome.rows:
                    values = dict(zip(outcome.variables, row, strict=True))
                    entries.append(Entry(*(values[c][1] if values.get(c) is not None else "" for c in COLUMNS)))  # type: ignore[index]
                self._index = DeterminationIndex(entries)
            return self._index

    def query_determinations(
        self, flt: DeterminationFilter, limit: int, offset: int, timeout: float
    ) -> tuple[int, list[dict[str, str]]]:
        """The list as one query of the store (``list_determinations`` where the index is not kept)."""
        filters = []
        if flt.outcome is not None:
            filters.append(f'FILTER (?outcome = "{flt.outcome}")')
        if flt.guideline is not None:
            filters.append(f'FILTER (?guideline = "{flt.guideline}")')
        if flt.procedure is not None:
            filters.append(f'FILTER (?code = "{flt.procedure}")')
        if flt.service_from is not None:
            filters.append(f'FILTER (?dos >= "{flt.service_from.isoformat()}"^^<{XSD.date}>)')
        if flt.service_to is not None:
            filters.append(f'FILTER (?dos <= "{flt.service_to.isoformat()}"^^<{XSD.date}>)')
        text = resources.query_file("list-determinations.rq").read_text(encoding="utf-8")
        text = text.replace("#FILTERS", "\n  ".join(filters))
        prologue, _, body = text.partition("SELECT")
        selection, _, order = body.rpartition("ORDER BY")
        # One query, so the total and the page come from the same state of the store (and, with the
        # embedded store, from one snapshot): the count's row has ?total bound, the page's rows do not.
        combined = (
            f"{prologue}SELECT * WHERE {{\n"
            f"  {{ SELECT (COUNT(*) AS ?total) WHERE {{ SELECT{selection} }} }}\n"
            f"  UNION\n"
            f"  {{ SELECT{selection}ORDER BY {order.strip()}\n  LIMIT {int(limit)} OFFSET {int(offset)} }}\n}}"
        )
        outcome = self.store.query(combined, timeout, max(int(limit), 1) + 1)
        total = 0
        items: list[dict[str, str]] = []
        for row in outcome.rows:
            values = dict(zip(outcome.variables, row, strict=True))
            counted = values.get("total")
            if counted is not None:
                total = int(counted[1])
                continue
            items.append({name: (term[1] if term is not None else "") for name, term in values.items() if name != "total"})
        # UNION keeps no order: the page is put back in the query's order (newest first, then by id).
        items.sort(key=lambda item: item["id"])
        items.sort(key=lambda item: instant(item["at"]), reverse=True)
        return total, items
