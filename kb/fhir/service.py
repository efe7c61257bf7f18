"""What ``$submit`` and ``$inquiry`` do: read, map and decide (in a case worker process), store, answer."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from rdflib import Literal
from rdflib.namespace import DCTERMS

from kb import resources
from kb.errors import CaseFormError, UnsupportedRequestError
from kb.fhir.bundle import read_bundle
from kb.fhir.mapper import claim_identifier, map_bundle
from kb.fhir.outcome import BundleError, Issue
from kb.fhir.response import response_bundle
from kb.knowledge import Knowledge
from kb.repository import PreparedDetermination, Repository, StoredDetermination, prepare_determination

DETERMINATION_GRAPH_PREFIX = "https://w3id.org/ipkg/graph/determination/"


@dataclass(frozen=True)
class DecidedBundle:
    """A decided bundle ready to be stored with its answer, or the refusal of the bundle (picklable: it
    comes back from a case worker process)."""

    prepared: PreparedDetermination | None
    answer: dict[str, Any]
    refusal: tuple[int, list[Issue]] | None = None


def decide_bundle(
    body: bytes, max_depth: int, max_triples: int, received_at: dt.datetime | None, knowledge: Knowledge
) -> DecidedBundle:
    """Read, map and decide a PAS Request Bundle received at ``received_at``; nothing is stored (a case
    worker process does this)."""
    try:
        bundle = read_bundle(body, max_depth)
        mapped = map_bundle(bundle, knowledge)
        if len(mapped.graph) >= max_triples:
            note = f"the bundle maps to {len(mapped.graph)} case facts; at most {max_triples - 1} are accepted"
            raise BundleError(422, [Issue("too-costly", "Bundle", note)])
        ident = mapped.identifier
        mapped.graph.add((mapped.request, DCTERMS.identifier, Literal(f"{ident.system}|{ident.value}")))
        try:
            prepared, _ = prepare_determination(
                mapped.graph, f"FHIR Claim {ident.system}|{ident.value}"[:300], knowledge, received_at=received_at
            )
        except CaseFormError as exc:
            issues = [Issue("invalid", bundle.claim.path, problem[:500]) for problem in exc.problems[:20]]
            raise BundleError(422, issues) from None
        except UnsupportedRequestError as exc:
            raise BundleError(422, [Issue("not-supported", bundle.claim.path, exc.problem[:500])]) from None
    except BundleError as exc:
        return DecidedBundle(None, {}, (exc.status, exc.issues))
    return DecidedBundle(prepared, response_bundle(bundle, prepared.stored.machine_form, mapped.unmapped))


def save_decided(repository: Repository, decided: DecidedBundle) -> dict[str, Any]:
    """Store a decided bundle in one transaction and give its answer; BundleError if it was refused."""
    if decided.refusal is not None or decided.prepared is None:
        status, issues = decided.refusal or (422, [])
        raise BundleError(status, issues)
    repository.save_prepared(decided.prepared)
    return decided.answer


def submit(repository: Repository, body: bytes, max_depth: int, max_triples: int) -> dict[str, Any]:
    """Decide a PAS Request Bundle in this process and store it as ``POST /determinations`` does."""
    return save_decided(repository, decide_bundle(body, max_depth, max_triples, None, repository.knowledge))


def inquire(repository: Repository, body: bytes, max_depth: int, timeout: float) -> dict[str, Any]:
    """The stored decision of the Claim identifier of a PAS Inquiry Request Bundle."""
    bundle = read_bundle(body, max_depth)
    ident = claim_identifier(bundle.claim)
    stored = latest_determination(repository, str(ident.request), timeout)
    if stored is None:
        raise BundleError(
            404, [Issue("not-found", f"{bundle.claim.path}.identifier", "no decision is stored for this Claim identifier")]
        )
    return response_bundle(bundle, stored.machine_form, [])


def latest_determination(repository: Repository, request: str, timeout: float) -> StoredDetermination | None:
    text = resources.query_file("fhir-claim-determination.rq").read_text(encoding="utf-8")
    outcome = repository.store.query(text.replace("REQUEST", request), timeout, 1)
    if not outcome.rows or outcome.rows[0][0] is None:
        return None
    graph = str(outcome.rows[0][0][1])
    return repository.get_determination(graph.removeprefix(DETERMINATION_GRAPH_PREFIX))
