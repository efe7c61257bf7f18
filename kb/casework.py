"""The CPU-bound work of the case endpoints, as plain functions of picklable values.

The service runs them in case worker processes (``kb.case_pool``); they touch no store. Each takes
what a request brings (a body and its format, or a stored case's triples) and returns what the
service writes afterwards (wire triples), so the same function gives the same result in-process
and in a worker. Engine errors (``CaseSyntaxError``, ``CaseFormError``, ``UnsupportedRequestError``)
are raised as they are; ``error_payload`` / ``rebuild_error`` carry them across the process boundary.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rdflib import Graph

from kb.errors import CaseFormError, CaseSyntaxError, KnowledgeGraphError, UnsupportedRequestError
from kb.fhir.service import decide_bundle
from kb.knowledge import Knowledge
from kb.pipeline.caseform import check_case_form
from kb.pipeline.caseio import CaseLimits, parse_case
from kb.pipeline.enrichment import select_guideline
from kb.questionnaire.revisions import answer_case, explain_case, pend_questionnaire
from kb.repository import PreparedDetermination, prepare_determination, unwire, wire
from kb.store.base import Triple


@dataclass(frozen=True)
class CheckedCase:
    """A case whose form passed the checks: the triples to store, its request node and guideline."""

    triples: list[Triple]
    request: str
    guideline: str


def check_case(body: bytes, fmt: str, limits: CaseLimits, knowledge: Knowledge) -> CheckedCase:
    """Parse a case and check its form (POST /cases)."""
    case = parse_case(body, fmt, "request body", limits=limits)
    original = wire(case)
    request_node = check_case_form(case, knowledge, "request body")
    guideline = select_guideline(case, request_node, knowledge, "request body")
    return CheckedCase(original, str(request_node), guideline.number)


def determine_sent(
    body: bytes, fmt: str, limits: CaseLimits, received_at: dt.datetime | None, knowledge: Knowledge
) -> PreparedDetermination:
    """Parse and decide a case sent inline (POST /determinations with Turtle or JSON-LD); ``received_at``
    is when the request arrived."""
    case = parse_case(body, fmt, "request body", limits=limits)
    return prepare_determination(case, "request body", knowledge, received_at=received_at)[0]


def determine_stored(
    triples: list[Triple], case_id: str, received_at: dt.datetime | None, knowledge: Knowledge
) -> PreparedDetermination:
    """Decide a stored case (POST /determinations with a caseId); the case itself is not written again.
    ``received_at`` is the case's receipt time (None for a case stored before receipts were recorded)."""
    case: Graph = unwire(triples)
    return prepare_determination(
        case, f"case {case_id}", knowledge, case_id, store_case=False, received_at=received_at
    )[0]


JOBS: dict[str, Callable[..., object]] = {
    "check": check_case,
    "determine_sent": determine_sent,
    "determine_stored": determine_stored,
    "fhir_submit": decide_bundle,
    "counterfactuals": explain_case,
    "questionnaire": pend_questionnaire,
    "answer_questionnaire": answer_case,
}
"""The work a case worker does, by name (the name crosses the pipe, never a function)."""


def error_payload(exc: KnowledgeGraphError) -> tuple[str, dict[str, Any]]:
    """An engine error as picklable data (their constructors take more than the message)."""
    if isinstance(exc, CaseSyntaxError):
        return "syntax", {"source": exc.source, "problem": exc.problem, "line": exc.line}
    if isinstance(exc, CaseFormError):
        return "form", {"source": exc.source, "problems": list(exc.problems)}
    if isinstance(exc, UnsupportedRequestError):
        return "unsupported", {"source": exc.source, "problem": exc.problem}
    return "other", {"message": str(exc)}


def rebuild_error(kind: str, fields: dict[str, Any]) -> KnowledgeGraphError:
    if kind == "syntax":
        return CaseSyntaxError(fields["source"], fields["problem"], fields["line"])
    if kind == "form":
        return CaseFormError(fields["source"], fields["problems"])
    if kind == "unsupported":
        return UnsupportedRequestError(fields["source"], fields["problem"])
    return KnowledgeGraphError(fields["message"])
