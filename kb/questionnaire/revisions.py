"""Questionnaires and counterfactuals of stored determinations, and case revisions made from responses.

The CPU work (deciding the stored case again, its items, reading and merging a response, deciding the
new revision) is in functions of picklable values that the service runs in its case worker processes
(``pend_questionnaire``, ``answer_case``, ``explain_case``: ``kb.casework.JOBS``); the functions that
take the repository read and write the store around them, on a case-worker thread. The questionnaire
of a pend and its items are computed again from the stored case each time they are needed, so a
response is always read against the items the server asks.

A response never changes a stored case: the answers are merged into a copy, stored as a new case with
its provenance (``kb.questionnaire.response.merge``), and decided; the new determination names the
earlier one (``ip:previousDetermination``), which stays as it was, with the case it rests on.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rdflib import Graph, URIRef

from kb.counterfactual.explain import explain
from kb.engine import determine_graph
from kb.knowledge import Knowledge
from kb.namespaces import DET
from kb.pipeline.determination import PENDED, Determination
from kb.questionnaire.facts import copy_graph
from kb.questionnaire.fhir import missing_questionnaire
from kb.questionnaire.missing import MissingItem, missing_items
from kb.questionnaire.response import QuestionnaireResponseError, merge, read_response
from kb.repository import (
    GRAPH,
    PreparedDetermination,
    Repository,
    StoredDetermination,
    case_graph,
    prepare_determination,
    provenance_graph,
    unwire,
    wire,
)
from kb.store.base import Triple

PROV_INFLUENCED = URIRef("http://www.w3.org/ns/prov#wasInfluencedBy")


class NotPendedError(LookupError):
    """The determination is not pended for missing documentation: it has no questionnaire."""


@dataclass(frozen=True)
class Refusal:
    """Why a pend's questionnaire or a response to it is refused, as picklable data (from a case worker)."""

    kind: str  # "not-pended" or "response"
    message: str

    def error(self) -> Exception:
        if self.kind == "not-pended":
            return NotPendedError(self.message)
        return QuestionnaireResponseError(self.message)


@dataclass(frozen=True)
class Pend:
    case: Graph
    determination: Determination
    items: list[MissingItem]
    questionnaire: dict[str, Any]


def pend(case: Graph, case_id: str, det_id: str, knowledge: Knowledge) -> Pend:
    """A stored pend's case decided again by this engine, its missing items and questionnaire."""
    det = determine_graph(copy_graph(case), f"case {case_id}", knowledge)
    if det.outcome != PENDED or not det.missing_documentation:
        raise NotPendedError(f"the case of determination {det_id!r} is no longer pended by this engine ({det.outcome})")
    items = missing_items(case, det, knowledge)
    title = f"Missing documentation for determination {det_id} ({det.guideline_number})"
    questionnaire = missing_questionnaire(knowledge, case, items, det_id, title)
    return Pend(case, det, items, questionnaire)


def pend_questionnaire(triples: list[Triple], case_id: str, det_id: str, knowledge: Knowledge) -> dict[str, Any] | Refusal:
    """The questionnaire of a stored pend's missing items (CPU work of picklable values: a case worker job)."""
    try:
        return pend(unwire(triples), case_id, det_id, knowledge).questionnaire
    except NotPendedError as exc:
        return Refusal("not-pended", str(exc))


def answer_case(
    triples: list[Triple],
    case_id: str,
    det_id: str,
    response: Any,
    agent: str,
    received_at: dt.datetime,
    knowledge: Knowledge,
) -> PreparedDetermination | Refusal:
    """Merge a QuestionnaireResponse into a new revision of a stored pend's case, with its provenance, and
    decide it (CPU work of picklable values: a case worker job). Nothing is written: the service stores
    the prepared graphs, the provenance among them, in one transaction."""
    try:
        found = pend(unwire(triples), case_id, det_id, knowledge)
        answers = read_response(response, found.items, knowledge, found.questionnaire["url"])
    except NotPendedError as exc:
        return Refusal("not-pended", str(exc))
    except QuestionnaireResponseError as exc:
        return Refusal("response", str(exc))
    if not answers:
        return Refusal("response", "the response answers none of the questionnaire's items")
    new_case_id = uuid.uuid4().hex
    response_iri = URIRef(f"{GRAPH}questionnaire-response/{uuid.uuid4().hex}")
    merged, provenance = merge(
        found.case,
        answers,
        response,
        response_iri,
        URIRef(case_graph(new_case_id)),
        URIRef(case_graph(case_id)),
        received_at,
        agent,
    )
    provenance.add((URIRef(case_graph(new_case_id)), PROV_INFLUENCED, DET[det_id]))
    prepared, _ = prepare_determination(merged, f"case {new_case_id}", knowledge, new_case_id, True, received_at, previous=det_id)
    prepared.graphs[provenance_graph(new_case_id)] = wire(provenance)
    return prepared


def _stored_pend(repository: Repository, det_id: str) -> StoredDetermination:
    stored = repository.get_determination(det_id)
    if stored.machine_form.get("outcome") != PENDED or not stored.machine_form.get("missingDocumentation"):
        raise NotPendedError(f"determination {det_id!r} is not pended for missing documentation")
    return stored


QuestionnaireJob = Callable[[list[Triple], str, str], "dict[str, Any] | Refusal"]
AnswerJob = Callable[[list[Triple], str, str, Any, str, dt.datetime], "PreparedDetermination | Refusal"]


def questionnaire(repository: Repository, det_id: str, compute: QuestionnaireJob | None = None) -> dict[str, Any]:
    """The questionnaire of a stored pend; ``compute`` runs ``pend_questionnaire`` elsewhere (the
    service's case worker processes), by default in this process."""
    stored = _stored_pend(repository, det_id)
    triples = repository.load_case_triples(stored.case_id)
    if compute is None:
        found = pend_questionnaire(triples, stored.case_id, det_id, repository.knowledge)
    else:
        found = compute(triples, stored.case_id, det_id)
    if isinstance(found, Refusal):
        raise found.error()
    return found


def answer(
    repository: Repository, det_id: str, response: Any, agent: str, compute: AnswerJob | None = None
) -> StoredDetermination:
    """Merge a QuestionnaireResponse into a new revision of the case, decide it and store both.

    ``compute`` runs ``answer_case`` elsewhere (the service's case worker processes), by default in
    this process; the store is written here, once."""
    stored = _stored_pend(repository, det_id)
    triples = repository.load_case_triples(stored.case_id)
    received = dt.datetime.now(dt.UTC)
    if compute is None:
        prepared = answer_case(triples, stored.case_id, det_id, response, agent, received, repository.knowledge)
    else:
        prepared = compute(triples, stored.case_id, det_id, response, agent, received)
    if isinstance(prepared, Refusal):
        raise prepared.error()
    return repository.save_prepared(prepared)


def explain_case(
    triples: list[Triple], case_id: str, det_id: str, evaluations: int, seconds: float, knowledge: Knowledge
) -> tuple[list[Triple], dict[str, Any]]:
    """Decide a stored case again and search its counterfactuals (CPU work of picklable values: the
    service runs it in a case worker process). Gives the explanation's wire triples and machine form."""
    case = unwire(triples)
    det = determine_graph(copy_graph(case), f"case {case_id}", knowledge)
    explanation = explain(case, det, knowledge, evaluations, seconds)
    machine = explanation.as_json() | {"outcome": det.outcome}
    graph = Graph()
    explanation.add_to(graph, DET[det_id])
    return wire(graph), machine


Explainer = Callable[[list[Triple], str, str, int, float], tuple[list[Triple], dict[str, Any]]]


def counterfactuals(
    repository: Repository, det_id: str, evaluations: int, seconds: float, compute: Explainer | None = None
) -> dict[str, Any]:
    """The stored determination's counterfactuals: computed and stored the first time, then read back.

    ``compute`` runs ``explain_case`` elsewhere (the service's case worker processes); by default it
    runs in this process.
    """
    stored = repository.get_determination(det_id)
    if "counterfactuals" in stored.machine_form:
        found = stored.machine_form["counterfactuals"]
        assert isinstance(found, dict)
        return found
    triples = repository.load_case_triples(stored.case_id)
    if compute is None:
        wired, machine = explain_case(triples, stored.case_id, det_id, evaluations, seconds, repository.knowledge)
    else:
        wired, machine = compute(triples, stored.case_id, det_id, evaluations, seconds)
    repository.save_counterfactuals(det_id, unwire(wired), machine)
    return machine


__all__ = [
    "NotPendedError",
    "QuestionnaireResponseError",
    "Refusal",
    "answer",
    "answer_case",
    "counterfactuals",
    "explain_case",
    "pend",
    "pend_questionnaire",
    "questionnaire",
]
