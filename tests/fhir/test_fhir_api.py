"""The FHIR endpoints in process: $submit, $inquiry, metadata, refusals, tokens and the audit trail."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from api.deps import get_settings
from api.main import app
from api.settings import Settings, TokenGrant
from kb.repository import GRAPH, Repository
from kb.resources import examples_dir
from tests.fhir.bundles import bundle, encode, resource
from tests.fhir.test_examples import decision

WRITER = "fhir-writer-token"
READER = "fhir-reader-token"
FHIR = {"Content-Type": "application/fhir+json"}
MAX_BODY = 300_000
ROUND_TRIP = [
    "cg300-acute-approved",
    "cg300-acute-denied",
    "cg300-stenosis-pended",
    "cg300-exclusion-postop-excluded",
    "cg300-lines-tf-two-levels-approved",
    "cg305-sij-approved-jsonld",
]
REVIEW_ACTION = {"approved": "A1", "denied": "A3", "excluded": "A3", "pended": "A4"}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    tmp = tmp_path_factory.mktemp("fhir")
    settings = Settings(
        store_path=tmp / "store",
        audit_log=tmp / "audit.log",
        max_body_bytes=MAX_BODY,
        tokens={
            WRITER: TokenGrant(name="fhir-writer", scopes=["read", "write"]),
            READER: TokenGrant(name="fhir-reader", scopes=["read"]),
        },
    )
    app.dependency_overrides[get_settings] = lambda: settings
    try:
        with TestClient(app) as test_client:
            yield test_client
    finally:
        app.dependency_overrides.clear()


def auth(token: str = WRITER) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def stored_graphs(client: TestClient) -> list[str]:
    repository = client.app.state.repository  # type: ignore[attr-defined]
    assert isinstance(repository, Repository)
    return sorted(repository.store.graph_names(GRAPH))


def claim_response(answer: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = answer["entry"][0]["resource"]
    assert found["resourceType"] == "ClaimResponse"
    return found


def review_codes(response: dict[str, Any]) -> set[str]:
    return {
        ext["valueCodeableConcept"]["coding"][0]["code"]
        for item in response["item"]
        for adjudication in item["adjudication"]
        for action in adjudication["extension"]
        for ext in action["extension"]
        if ext["url"] == "code"
    }


@pytest.mark.parametrize("name", ROUND_TRIP)
def test_submit_decides_as_determinations_does_and_stores_the_same(client: TestClient, name: str) -> None:
    case = next(p for p in (examples_dir() / "cases").iterdir() if p.stem == name.removesuffix("-jsonld"))
    if name.endswith("-jsonld"):
        case = case.with_suffix(".jsonld")
    kind = "application/ld+json" if case.suffix == ".jsonld" else "text/turtle"
    direct = client.post("/determinations", content=case.read_bytes(), headers={**auth(), "Content-Type": kind})
    assert direct.status_code == 201
    answer = client.post("/fhir/Claim/$submit", content=encode(bundle(name)), headers={**auth(), **FHIR})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/fhir+json")
    Bundle.model_validate(answer.json())
    response = claim_response(answer.json())
    outcome = direct.json()["outcome"]
    assert review_codes(response) == {REVIEW_ACTION[outcome]}
    assert response["outcome"] == ("queued" if outcome == "pended" else "complete")
    stored = client.get(f"/determinations/{response['preAuthRef']}", headers=auth(READER))
    assert stored.status_code == 200
    assert decision(stored.json()) == decision(direct.json())
    assert client.get(f"/determinations/{response['preAuthRef']}/report", headers=auth(READER)).status_code == 200
    deciding = [c["criterionId"] for c in direct.json()["decidingCriteria"]]
    notes = [n["text"] for n in response["processNote"]]
    assert [n.split(" ", 1)[0] for n in notes] == deciding
    assert all(c["text"] in n for c, n in zip(direct.json()["decidingCriteria"], notes, strict=True))
    requests = [e["resource"] for e in answer.json()["entry"] if e["resource"]["resourceType"] == "CommunicationRequest"]
    if outcome == "pended":
        missing = [f"{m['criterionId']}: {m['item']}" for m in direct.json()["missingDocumentation"]]
        assert [p["contentString"] for p in requests[0]["payload"]] == missing
    else:
        assert requests == []


def test_inquiry_answers_the_newest_decision_of_the_claim_identifier(client: TestClient) -> None:
    data = bundle("cg300-acute-approved")
    resource(data, "Claim")["identifier"][0]["value"] = "inquiry-test-claim"
    first = claim_response(client.post("/fhir/Claim/$submit", content=encode(data), headers={**auth(), **FHIR}).json())
    time.sleep(1.1)  # decisions are dated to the second
    again = claim_response(client.post("/fhir/Claim/$submit", content=encode(data), headers={**auth(), **FHIR}).json())
    assert first["preAuthRef"] != again["preAuthRef"]
    answer = client.post("/fhir/Claim/$inquiry", content=encode(data), headers={**auth(READER), **FHIR})
    assert answer.status_code == 200
    assert claim_response(answer.json())["preAuthRef"] == again["preAuthRef"]
    assert review_codes(claim_response(answer.json())) == {"A1"}


def test_inquiry_of_an_unknown_claim_is_404_and_stores_nothing(client: TestClient) -> None:
    data = bundle("cg300-acute-approved")
    resource(data, "Claim")["identifier"][0]["value"] = "never-submitted"
    before = stored_graphs(client)
    answer = client.post("/fhir/Claim/$inquiry", content=encode(data), headers={**auth(READER), **FHIR})
    assert answer.status_code == 404
    assert answer.json()["issue"][0]["expression"] == ["Bundle.entry[0].resource.identifier"]
    assert stored_graphs(client) == before


def test_metadata_is_a_capability_statement_listing_both_operations(client: TestClient) -> None:
    answer = client.get("/fhir/metadata")
    assert answer.status_code == 200
    statement = CapabilityStatement.model_validate(answer.json())
    claim = next(r for r in statement.rest[0].resource if r.type == "Claim")
    assert {op.name for op in claim.operation} == {"submit", "inquiry"}


def test_a_bundle_with_pas_ig_content_is_accepted_and_decided(client: TestClient) -> None:
    answer = client.post("/fhir/Claim/$submit", content=encode(bundle("pas/pas-epidural-approved")), headers={**auth(), **FHIR})
    assert answer.status_code == 200, answer.text
    entries = [e["resource"] for e in answer.json()["entry"]]
    response = claim_response(answer.json())
    assert review_codes(response) == {"A1"}
    assert response["request"]["identifier"]["value"] == "240605-0001"
    assert {r["resourceType"] for r in entries} >= {"ClaimResponse", "Patient", "Organization", "OperationOutcome"}
    unused = next(r for r in entries if r["resourceType"] == "OperationOutcome")
    diagnostics = {i["diagnostics"] for i in unused["issue"]}
    assert {"Encounter is not used", "Practitioner is not used", "Coverage is not used"} <= diagnostics
    assert all(i["severity"] == "information" for i in unused["issue"])


def _padded(data: dict[str, Any]) -> dict[str, Any]:
    resource(data, "Patient")["name"] = [{"text": "x" * MAX_BODY}]
    return data


def _set(kind: str, **values: Any) -> Any:
    return lambda data: resource(data, kind).update(values) or data


def _coding(**values: str) -> Any:
    def change(data: dict[str, Any]) -> dict[str, Any]:
        resource(data, "Claim")["item"][0]["productOrService"]["coding"][0].update(values)
        return data

    return change


ERRORS = {
    "not-json": (lambda _: b"{not json", 400, "Bundle"),
    "not-a-bundle": (lambda _: {"resourceType": "Patient", "id": "p"}, 422, "Bundle"),
    "no-claim": (
        lambda d: {**d, "entry": [e for e in d["entry"] if e["resource"]["resourceType"] != "Claim"]},
        422,
        "Bundle.entry",
    ),
    "use-claim": (_set("Claim", use="claim"), 422, "Bundle.entry[0].resource.use"),
    "unknown-code-system": (
        _coding(system="urn:example:local-codes"),
        422,
        "Bundle.entry[0].resource.item[0].productOrService.coding[0].system",
    ),
    "unknown-code": (_coding(code="00000"), 422, "Bundle.entry[0].resource.item[0].productOrService.coding[0].code"),
    "unresolved-reference": (
        _set("Observation", subject={"reference": "Patient/somebody-else"}),
        422,
        "Bundle.entry[2].resource.subject.reference",
    ),
    "future-date": (_set("Observation", effectiveDateTime="2031-05-01"), 422, "Bundle.entry[2].resource.effectiveDateTime"),
    "over-size-limit": (_padded, 413, "Bundle"),
    "invalid-fhir": (_set("Claim", patient="Patient/x"), 422, "Bundle.entry[0].resource.patient"),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_refused_bundles_get_an_operation_outcome_and_nothing_is_stored(client: TestClient, name: str) -> None:
    change, status, expression = ERRORS[name]
    changed = change(bundle("cg300-acute-approved"))
    body = changed if isinstance(changed, bytes) else encode(changed)
    before = stored_graphs(client)
    answer = client.post("/fhir/Claim/$submit", content=body, headers={**auth(), **FHIR})
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/fhir+json")
    outcome = answer.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["severity"] == "error"
    assert expression in outcome["issue"][0]["expression"][0], outcome
    assert stored_graphs(client) == before


def test_a_case_the_engine_refuses_is_an_operation_outcome_too(client: TestClient) -> None:
    data = bundle("cg300-acute-approved")
    facts = resource(data, "QuestionnaireResponse")["item"][0]["item"]
    facts.append({"linkId": "ip:noSuchProperty", "answer": [{"valueBoolean": True}]})
    before = stored_graphs(client)
    answer = client.post("/fhir/Claim/$submit", content=encode(data), headers={**auth(), **FHIR})
    assert answer.status_code == 422
    assert "noSuchProperty" in json.dumps(answer.json())
    assert answer.json()["issue"][0]["expression"] == ["Bundle.entry[0].resource"]
    assert stored_graphs(client) == before


def test_tokens_scopes_media_type_and_audit(client: TestClient) -> None:
    body = encode(bundle("cg300-acute-approved"))
    assert client.post("/fhir/Claim/$submit", content=body, headers=FHIR).status_code == 401
    assert client.post("/fhir/Claim/$submit", content=body, headers={**auth(READER), **FHIR}).status_code == 403
    assert client.post("/fhir/Claim/$inquiry", content=body, headers=FHIR).status_code == 401
    wrong = client.post("/fhir/Claim/$submit", content=body, headers={**auth(), "Content-Type": "text/turtle"})
    assert wrong.status_code == 415 and wrong.json()["resourceType"] == "OperationOutcome"
    settings = app.dependency_overrides[get_settings]()
    records = [json.loads(line) for line in Path(settings.audit_log).read_text(encoding="utf-8").splitlines()]
    submits = [r for r in records if r["route"] == "/fhir/Claim/$submit"]
    assert {"denied", "allowed"} <= {r["outcome"] for r in submits}
    assert {"fhir-writer", "fhir-reader", "anonymous"} <= {r["principal"] for r in submits}
