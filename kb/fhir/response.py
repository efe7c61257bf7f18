"""A stored determination -> the PAS Response Bundle (ClaimResponse, CommunicationRequest for a pend)."""

from __future__ import annotations

import datetime as dt
import tomllib
from functools import lru_cache
from typing import Any

from kb.fhir.bundle import RequestBundle
from kb.fhir.outcome import Issue, operation_outcome
from kb.fhir.tables import DATA_DIR

FULL_URL_BASE = "https://w3id.org/ipkg/fhir/"
ADJUDICATION = "http://terminology.hl7.org/CodeSystem/adjudication"


@lru_cache(maxsize=1)
def settings() -> dict[str, Any]:
    return tomllib.loads((DATA_DIR / "response.toml").read_text(encoding="utf-8"))


def response_bundle(bundle: RequestBundle, machine: dict[str, Any], notes: list[Issue]) -> dict[str, Any]:
    """The PAS Response Bundle of a determination (its machine form) for the Claim of ``bundle``."""
    conf = settings()
    det_id = str(machine["id"])
    outcome = str(machine["outcome"])
    action = conf["outcome"][outcome]
    claim = bundle.claim.resource
    copied = [
        e for ref in (claim.get("patient"), claim.get("insurer"), claim.get("provider"))
        if isinstance(ref, dict) and (e := bundle.resolve(str(ref.get("reference", "")))) is not None
    ]
    process_notes = _process_notes(machine)
    requests = _communication_requests(machine, det_id, claim)
    review = {
        "url": conf["review_action_extension"],
        "extension": [
            {"url": "number", "valueString": det_id},
            {
                "url": "code",
                "valueCodeableConcept": {"coding": [_review_coding(conf, action)]},
            },
        ],
    }
    items = []
    for index, item in enumerate(claim.get("item") or [], start=1):
        items.append(
            {
                "itemSequence": item.get("sequence", index),
                "noteNumber": [n["number"] for n in process_notes],
                "adjudication": [
                    {"category": {"coding": [{"system": ADJUDICATION, "code": "submitted"}]}, "extension": [review]}
                ],
            }
        )
    response: dict[str, Any] = {
        "resourceType": "ClaimResponse",
        "id": det_id,
        "meta": {"profile": [conf["claim_response_profile"]]},
        "identifier": [{"system": conf["determination_identifier_system"], "value": det_id}],
        "status": "active",
        "type": claim.get("type"),
        "use": "preauthorization",
        "patient": claim.get("patient"),
        "created": str(machine.get("determinedAt") or dt.datetime.now(dt.UTC).isoformat(timespec="seconds")),
        "insurer": claim.get("insurer") or {"display": "payer"},
        "request": {"identifier": (claim.get("identifier") or [{}])[0]},
        "outcome": action["claim_outcome"],
        "disposition": _disposition(machine),
        "preAuthRef": det_id,
        "item": items,
        "processNote": process_notes,
    }
    if claim.get("provider"):
        response["requestor"] = claim["provider"]
    if requests:
        response["communicationRequest"] = [{"reference": f"CommunicationRequest/{r['id']}"} for r in requests]
    resources = [response, *(e.resource for e in copied), *requests]
    if notes:
        resources.append({"resourceType": "OperationOutcome", "id": f"{det_id}-unmapped", **operation_outcome(notes)})
    return {
        "resourceType": "Bundle",
        "meta": {"profile": [conf["response_bundle_profile"]]},
        **({"identifier": bundle.raw["identifier"]} if "identifier" in bundle.raw else {}),
        "type": "collection",
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "entry": [{"fullUrl": f"{FULL_URL_BASE}{r['resourceType']}/{r.get('id', '')}", "resource": r} for r in resources],
    }


def _review_coding(conf: dict[str, Any], action: dict[str, str]) -> dict[str, str]:
    return {"system": conf["review_action_system"], "code": action["review_action"], "display": action["display"]}


def _disposition(machine: dict[str, Any]) -> str:
    guideline = machine.get("guideline", "")
    phase = machine.get("phase", "")
    pathways = ", ".join(machine.get("satisfiedPathways") or [])
    reasons = ", ".join(machine.get("reasonCategories") or [])
    text = f"{str(machine['outcome']).upper()} under {guideline} ({phase})"
    if pathways:
        text += f"; pathway met: {pathways}"
    if reasons:
        text += f"; reasons: {reasons}"
    return text


def _process_notes(machine: dict[str, Any]) -> list[dict[str, Any]]:
    """One note per deciding criterion: id, status, guideline, section and the verbatim text."""
    notes = []
    for number, criterion in enumerate(machine.get("decidingCriteria") or [], start=1):
        text = (
            f"{criterion['criterionId']} [{criterion['status']}] {criterion['guideline']}, {criterion['section']}: "
            f"\"{criterion['text']}\""
        )
        notes.append({"number": number, "type": "display", "text": text})
    return notes


def _communication_requests(machine: dict[str, Any], det_id: str, claim: dict[str, Any]) -> list[dict[str, Any]]:
    """For a pend, one CommunicationRequest listing the missing documentation."""
    missing = machine.get("missingDocumentation") or []
    if machine.get("outcome") != "pended" or not missing:
        return []
    return [
        {
            "resourceType": "CommunicationRequest",
            "id": f"{det_id}-documentation",
            "meta": {"profile": [settings()["communication_request_profile"]]},
            "status": "active",
            "subject": claim.get("patient"),
            "about": [{"identifier": (claim.get("identifier") or [{}])[0]}],
            "payload": [{"contentString": f"{m['criterionId']}: {m['item']}"} for m in missing],
        }
    ]
