"""Questionnaires and counterfactuals of stored determinations, and case revisions made from responses.

Each function runs on a case-worker thread of the service (CPU work: form checks, enrichment,
validation). The questionnaire of a pend and its items are computed again from the stored case each
time they are needed, so a response is always read against the items the server asks.

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
from kb.repository import GRAPH, Repository, StoredDetermination, case_graph, provenance_graph, unwire, wire
from kb.store.base import Triple


class NotPendedError(LookupError):
    """The determination is not pended for missing documentation: it has no questionnaire."""


@dataclass(frozen=True)
class Pend:
    stored: StoredDetermination
    case: Graph
    determination: Determination
    items: list[MissingItem]
    questionnaire: dict[str, Any]


def pend(repository: Repository, det_id: str) -> Pend:
    """A stored pend's case, its determination by this engine, its missing items and questionnaire."""
    stored = repository.get_determination(det_id)
    if stored.machine_form.get("outcome") != PENDED or not stored.machine_form.get("missingDocumentation"):
        raise NotPendedError(f"determination {det_id!r} is not pended for missing documentation")
    case = repository.load_case(stored.case_id)
    det = determine_graph(copy_graph(case), f"case {stored.case_id}", repository.knowledge)
    if det.outcome != PENDED or not det.missing_documentation:
        raise NotPendedError(f"the case of determination {det_id!r} is no longer pended by this engine ({det.outcome})")
    items = missing_items(case, det, repository.knowledge)
    title = f"Missing documentation for determination {det_id} ({det.guideline_number})"
    questionnaire = missing_questionnaire(repository.knowledge, case, items, det_id, title)
    return Pend(stored, case, det, items, questionnaire)


def questionnaire(repository: Repository, det_id: str) -> dict[str, Any]:
    return pend(repository, det_id).questionnaire


def answer(repository: Repository, det_id: str, response: Any, agent: str) -> StoredDetermination:
    """Merge a QuestionnaireResponse into a new revision of the case and decide it."""
    found = pend(repository, det_id)
    answers = read_response(response, found.items, repository.knowledge, found.questionnaire["url"])
    if not answers:
        raise QuestionnaireResponseError("the response answers none of the questionnaire's items")
    new_case_id = uuid.uuid4().hex
    response_iri = URIRef(f"{GRAPH}questionnaire-response/{uuid.uuid4().hex}")
    merged, provenance = merge(
        found.case,
        answers,
        response,
        response_iri,
        URIRef(case_graph(new_case_id)),
        URIRef(case_graph(found.stored.case_id)),
        dt.datetime.now(dt.UTC),
        agent,
    )
    provenance.add((URIRef(case_graph(new_case_id)), URIRef("http://www.w3.org/ns/prov#wasInfluencedBy"), DET[det_id]))
    stored, _ = repository.determine_and_save(
        merged,
        f"case {new_case_id}",
        new_case_id,
        True,
        previous=det_id,
        extra_graphs={provenance_graph(new_case_id): provenance},
    )
    return stored


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
    "answer",
    "counterfactuals",
    "explain_case",
    "pend",
    "questionnaire",
]
