"""The questionnaire and counterfactual endpoints, in process: a pend's questionnaire answered and
re-decided with its provenance, bad responses refused with nothing stored, counterfactuals stored and
shown with the determination."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.questionnaire import Questionnaire
from rdflib import RDF, Graph, URIRef

import kb.engine
from api.deps import get_settings
from api.main import app
from api.settings import Settings, TokenGrant
from kb.engine import determine_graph
from kb.knowledge import load_knowledge
from kb.namespaces import IP
from kb.pipeline.caseio import read_case_file
from kb.questionnaire.completion import MET, complete
from kb.questionnaire.facts import copy_graph
from kb.questionnaire.missing import missing_items
from kb.questionnaire.response import favourable_answers
from kb.questionnaire.search import Budget
from kb.repository import Repository, provenance_graph, unwire

TOKEN = "questionnaire-token"
READ_TOKEN = "questionnaire-read-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CASES = Path(__file__).resolve().parent.parent / "examples" / "cases"
PENDED = CASES / "cg300-stenosis-pended.ttl"
PROV_DERIVED = URIRef("http://www.w3.org/ns/prov#wasDerivedFrom")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    tmp_path = tmp_path_factory.mktemp("questionnaire-service")
    settings = Settings(
        store_path=tmp_path / "store",
        audit_log=tmp_path / "audit.log",
        tokens={
            TOKEN: TokenGrant(name="utilization-review", scopes=["read", "write"]),
            READ_TOKEN: TokenGrant(name="reader", scopes=["read"]),
        },
        counterfactual_seconds=30,
    )
    app.dependency_overrides[get_settings] = lambda: settings
    try:
        with TestClient(app) as test_client:
            yield test_client
    finally:
        app.dependency_overrides.clear()


def _post_case(client: TestClient, path: Path) -> dict[str, Any]:
    response = client.post("/determinations", content=path.read_bytes(), headers={**AUTH, "Content-Type": "text/turtle"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert isinstance(body, dict)
    return body


@cache
def _favourable_items() -> list[dict[str, Any]]:
    """The answers that approve the pended example (the same items, whatever the determination's id)."""
    knowledge = load_knowledge()
    case = read_case_file(PENDED)
    det = determine_graph(copy_graph(case), "pended", knowledge)
    items = missing_items(case, det, knowledge)
    completion = complete(case, det, items, knowledge, MET, Budget(200, 60))
    assert completion.outcome == "approved"
    return favourable_answers(items, completion.values)


def _favourable_response(questionnaire: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "questionnaire": questionnaire["url"],
        "authored": "2024-06-20T10:00:00Z",
        "author": {"display": "Dr. Example"},
        "item": _favourable_items(),
    }


def _count(client: TestClient) -> int:
    total = client.get("/determinations", headers=AUTH).json()["total"]
    assert isinstance(total, int)
    return total


def test_pathway_questionnaires_are_served_by_guideline(client: TestClient) -> None:
    response = client.get("/fhir/Questionnaire", params={"guideline": "NIA_CG_305"}, headers=AUTH)
    assert response.status_code == 200 and response.headers["content-type"] == "application/fhir+json"
    bundle = response.json()
    assert bundle["resourceType"] == "Bundle" and bundle["total"] == len(bundle["entry"]) > 0
    for entry in bundle["entry"]:
        Questionnaire.model_validate(entry["resource"])
        assert entry["resource"]["id"].startswith("nia-cg-305-")
    one = bundle["entry"][0]["resource"]
    assert client.get(f"/fhir/Questionnaire/{one['id']}", headers=AUTH).json() == one
    assert client.get("/fhir/Questionnaire/nothing", headers=AUTH).status_code == 404
    assert client.get("/fhir/Questionnaire", params={"guideline": "CG300"}, headers=AUTH).status_code == 422


def test_a_pend_answered_favourably_is_approved_with_provenance(client: TestClient) -> None:
    pended = _post_case(client, PENDED)
    assert pended["outcome"] == "pended"
    link = pended["links"]["questionnaire"]
    questionnaire = client.get(link, headers=AUTH).json()
    Questionnaire.model_validate(questionnaire)
    assert questionnaire["url"].endswith(pended["id"])
    criteria = {e["extension"][0]["valueString"] for item in questionnaire["item"] for e in item["extension"]}
    assert criteria == {m["criterionId"] for m in pended["missingDocumentation"]}
    rdf = Graph().parse(
        data=client.get(f"/determinations/{pended['id']}", headers={**AUTH, "Accept": "text/turtle"}).text, format="turtle"
    )
    assert (None, IP.missingItemsQuestionnaire, URIRef(questionnaire["url"])) in rdf

    answer = _favourable_response(questionnaire)
    response = client.post(
        f"/determinations/{pended['id']}/questionnaire-response",
        json=answer,
        headers={**AUTH, "Content-Type": "application/fhir+json"},
    )
    assert response.status_code == 201, response.text
    decided = response.json()
    assert decided["outcome"] == "approved"
    assert decided["previousDetermination"] == pended["id"] and decided["caseId"] != pended["caseId"]
    assert response.headers["location"] == f"/determinations/{decided['id']}"
    # The earlier determination and its case stay as they were.
    assert client.get(f"/determinations/{pended['id']}", headers=AUTH).json()["outcome"] == "pended"
    repository: Repository = client.app.state.repository  # type: ignore[attr-defined]
    before = repository.load_case(pended["caseId"])
    after = repository.load_case(decided["caseId"])
    added = set(after) - set(before)
    assert added and not set(before) - set(after)
    triples = repository.store.graph(provenance_graph(decided["caseId"]))
    assert triples is not None
    provenance = unwire(triples)
    stated = {
        (provenance.value(st, RDF.subject), provenance.value(st, RDF.predicate), provenance.value(st, RDF.object))
        for st in provenance.subjects(PROV_DERIVED, None)
        if (st, RDF.type, RDF.Statement) in provenance
    }
    assert added == stated
    assert "Dr. Example" in {str(o) for o in provenance.objects(None, IP.responseAuthor)}
    assert "utilization-review" in {str(o) for o in provenance.objects()}


@pytest.mark.parametrize(
    ("change", "status", "words"),
    [
        (lambda r: {**r, "resourceType": "Patient"}, 422, "QuestionnaireResponse"),
        (lambda r: {**r, "status": "in-progress"}, 422, "completed"),
        (lambda r: {**r, "questionnaire": "https://example.org/other"}, 422, "questionnaire"),
        (lambda r: {**r, "item": [{"linkId": "nope", "answer": [{"valueBoolean": True}]}]}, 422, "nope"),
        (lambda r: {**r, "item": [{**r["item"][0], "answer": [{"valueString": "x"}]}]}, 422, "answer"),
        (lambda r: {**r, "item": []}, 422, "none"),
        (lambda r: {**r, "authored": "yesterday"}, 422, "authored"),
    ],
)
def test_bad_responses_are_refused_and_nothing_is_stored(client: TestClient, change: Any, status: int, words: str) -> None:
    pended = _post_case(client, PENDED)
    questionnaire = client.get(pended["links"]["questionnaire"], headers=AUTH).json()
    good = _favourable_response(questionnaire)
    before = _count(client)
    response = client.post(
        f"/determinations/{pended['id']}/questionnaire-response",
        json=change(good),
        headers={**AUTH, "Content-Type": "application/fhir+json"},
    )
    assert response.status_code == status and response.headers["content-type"] == "application/problem+json"
    assert words in response.json()["detail"]
    assert _count(client) == before


def test_malformed_or_unauthorized_responses(client: TestClient) -> None:
    pended = _post_case(client, PENDED)
    url = f"/determinations/{pended['id']}/questionnaire-response"
    assert client.post(url, content=b"{", headers={**AUTH, "Content-Type": "application/fhir+json"}).status_code == 400
    assert client.post(url, content=b"{}", headers={**AUTH, "Content-Type": "text/plain"}).status_code == 415
    read_only = {"Authorization": f"Bearer {READ_TOKEN}", "Content-Type": "application/fhir+json"}
    assert client.post(url, content=b"{}", headers=read_only).status_code == 403
    approved = _post_case(client, CASES / "cg300-acute-approved.ttl")
    assert "questionnaire" not in approved["links"]
    response = client.get(f"/determinations/{approved['id']}/questionnaire", headers=AUTH)
    assert response.status_code == 409


def test_counterfactuals_are_computed_once_and_shown_with_the_determination(client: TestClient) -> None:
    denied = _post_case(client, CASES / "cg300-diagnostic-tf-denied.ttl")
    assert denied["outcome"] == "denied"
    found = client.get(denied["links"]["counterfactuals"], headers=AUTH).json()
    assert found["counterfactuals"] and found["counterfactuals"][0]["verified"]
    again = client.get(f"/determinations/{denied['id']}", headers=AUTH).json()
    assert again["counterfactuals"] == found
    rdf = Graph().parse(
        data=client.get(f"/determinations/{denied['id']}", headers={**AUTH, "Accept": "text/turtle"}).text, format="turtle"
    )
    assert len(set(rdf.objects(None, IP.hasCounterfactual))) == len(found["counterfactuals"])
    contraindicated = _post_case(client, CASES / "cg300-contraindication-infection-denied.ttl")
    reason = client.get(contraindicated["links"]["counterfactuals"], headers=AUTH).json()
    assert reason["counterfactuals"] == [] and reason["noCounterfactualReason"] == "contraindication"


def test_questionnaires_and_responses_are_decided_in_case_worker_processes(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every engine decision in the service's own process fails here; the pend's questionnaire, the
    response merged into a new revision and its decision still come back, from the case workers."""

    def in_service_process(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a case was decided in the service process")

    _favourable_items()  # computed with the engine of this process, before it is made to fail
    patched = 0
    for name, module in list(sys.modules.items()):
        if (name == "kb" or name.startswith(("kb.", "api."))) and getattr(module, "determine_graph", None) is determine_graph:
            monkeypatch.setattr(module, "determine_graph", in_service_process)
            patched += 1
    assert patched and kb.engine.determine_graph is in_service_process
    pended = _post_case(client, PENDED)
    questionnaire = client.get(pended["links"]["questionnaire"], headers=AUTH)
    assert questionnaire.status_code == 200, questionnaire.text
    response = client.post(
        f"/determinations/{pended['id']}/questionnaire-response",
        json=_favourable_response(questionnaire.json()),
        headers={**AUTH, "Content-Type": "application/fhir+json"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["outcome"] == "approved"
    refused = client.post(
        f"/determinations/{pended['id']}/questionnaire-response",
        json={**_favourable_response(questionnaire.json()), "status": "in-progress"},
        headers={**AUTH, "Content-Type": "application/fhir+json"},
    )
    assert refused.status_code == 422 and "completed" in refused.json()["detail"]
