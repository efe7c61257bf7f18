"""Derived facts shared by the implanted-device guidelines: NIA_CG_405 (Spinal Cord Stimulation) and
NIA_CG_310 (Implantable Infusion Pump Insertion). The guideline hooks (kb/guidelines/cg405.py,
kb/guidelines/cg310.py) call these helpers; every fact is written with a property the ontology marks with
``ip:derivedBy`` (ontology/devices.ttl and the guideline files), and the shapes apply the thresholds.

- ``reviewed_procedure`` - which kind of procedure the request is reviewed as (trial, permanent
  implantation, revision or removal, replacement); it selects the review phase. The rule, per
  guideline, is a table from CPT code to the kinds the code can report (the first is the default);
  a request with several lines can be the kinds all its codes report (leads + generator 63650 +
  63685: permanent; catheter + pump 62350 + 62362: insertion or replacement); a kind the
  requester states with ``ip:requestedProcedure`` is used when the codes allow it and
  refused otherwise; without one, the guideline's chooser (or the default) decides.
- ``latest_psychological_assessment`` - "A completed psychological assessment ..." (CG405-PSYCH,
  NIA_CG_310's assessment bullet): the assessment with the latest ``ip:documentedOn`` on or before
  the date of service.
- ``failed_therapy_days_any_region`` - failed conservative therapy of any region and modality, each
  day counted once (NIA_CG_404's ``ip:failedTherapyDaysAnyRegion``, NIA_CG_408's
  ``ip:failedStandardTherapyDays``; the caller names the property), from
  ``kb.pipeline.therapy.therapy_days``. With ``possible=True``, the days the recorded episodes would
  cover if every unrecorded response and date came out favourably
  (``ip:possibleFailedTherapyDaysAnyRegion``), the upper end of the range the three-valued rule
  compares a minimum with (docs/architecture.md).
- ``medication_days`` - days covered by medication courses of given classes up to the date of
  service, each day counted once; with ``possible=True``, a course whose route is not recorded counts
  as of an accepted route.
- ``last_record`` - the most recent procedure record before the date of service that a predicate
  accepts (e.g. the last spinal cord stimulator trial).

A fact recorded as absent (``ip:present false``, ``ip:documentedAbsent``) never counts: a therapy
episode, medication course, assessment or procedure record so marked is skipped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from rdflib import Literal, URIRef
from rdflib.term import Node

from kb.dates import covered_days, literal_date
from kb.errors import CaseFormError
from kb.namespaces import IP
from kb.pipeline import therapy
from kb.pipeline.caseform import short
from kb.terms import integer_literal

if TYPE_CHECKING:
    from kb.pipeline.enrichment import Enricher


def node_date(enricher: Enricher, node: Node, prop: URIRef) -> dt.date | None:
    return literal_date(enricher.g.value(node, prop))


def integer(value: int) -> Literal:
    return integer_literal(value)


def reviewed_procedure(
    enricher: Enricher,
    kinds_by_code: Mapping[str, Sequence[URIRef]],
    choose: Callable[[Enricher, Sequence[URIRef]], URIRef] | None = None,
) -> URIRef:
    """The procedure kind the request is reviewed as; recorded as ``ip:reviewedProcedure``.

    A request with several lines (leads and a generator, a catheter and a pump) is the kind every one
    of its codes can report, in the primary code's order: 63650 + 63685 is a permanent implantation,
    62350 + 62362 an insertion or replacement. Codes that share no kind are refused.
    """
    code = enricher.cpt.code
    codes = list(dict.fromkeys(enricher.kb.cpt_by_iri[c].code for c in enricher.codes if c in enricher.kb.cpt_by_iri))
    allowed = tuple(k for k in kinds_by_code[code] if all(k in kinds_by_code.get(c, (k,)) for c in codes))
    if not allowed:
        reports = "; ".join(f"CPT {c} reports {', '.join(short(k) for k in kinds_by_code[c])}" for c in codes)
        raise CaseFormError(
            enricher.source,
            [
                f"the lines of the request report no one kind of procedure under {enricher.guideline.number} "
                f"({reports}); request them separately"
            ],
        )
    stated = enricher.g.value(enricher.request, IP.requestedProcedure)
    if stated is not None:
        if stated not in allowed:
            names = ", ".join(short(k) for k in allowed)
            with_codes = " + ".join(f"CPT {c}" for c in codes)
            raise CaseFormError(
                enricher.source,
                [
                    f"ip:requestedProcedure {short(stated)} cannot be reviewed with {with_codes}, "
                    f"which {'reports' if len(codes) == 1 else 'report together'} {names} under {enricher.guideline.number}"
                ],
            )
        assert isinstance(stated, URIRef)
        kind = stated
    elif choose is not None and len(allowed) > 1:
        kind = choose(enricher, allowed)
    else:
        kind = allowed[0]
    enricher.add(IP.reviewedProcedure, kind)
    return kind


def latest_psychological_assessment(enricher: Enricher) -> None:
    dated = []
    for node in enricher.g.objects(enricher.patient, IP.hasPsychologicalAssessment):
        if enricher.absent(node):
            continue
        when = node_date(enricher, node, IP.documentedOn)
        if when is not None and when <= enricher.dos:
            dated.append((when, str(node), node))
    if dated:
        enricher.add(IP.latestPsychologicalAssessment, max(dated)[2])


def failed_therapy_days_any_region(enricher: Enricher, possible: bool = False) -> int:
    """Days of failed conservative therapy of any region and modality, each day counted once
    (kb.pipeline.therapy.therapy_days; a documented absent episode, or one with an unknown start, never
    counts toward the documented days).

    ``possible``: the most the recorded episodes could give, with every unrecorded response and date
    at its most favourable (the upper end of the range)."""
    return therapy.therapy_days(enricher, documented=not possible)


def medication_days(
    enricher: Enricher, classes: set[URIRef], routes: set[URIRef] | None = None, possible: bool = False
) -> int:
    """Days covered by medication courses of ``classes`` (and, when given, of ``routes``).

    ``possible``: a course whose route is not recorded counts as of an accepted route."""
    spans: list[tuple[dt.date, dt.date]] = []
    for course in enricher.g.objects(enricher.patient, IP.hasMedicationCourse):
        if enricher.g.value(course, IP.medicationClass) not in classes or enricher.absent(course):
            continue
        route = enricher.g.value(course, IP.administrationRoute)
        if routes is not None and route not in routes and not (possible and route is None):
            continue
        start = node_date(enricher, course, IP.startDate)
        if start is None or start > enricher.dos:
            continue
        end = min(node_date(enricher, course, IP.endDate) or enricher.dos, enricher.dos)
        spans.append((start, end))
    return covered_days(spans)


RecordTest = Callable[[Node], bool]


def last_record(enricher: Enricher, accepts: RecordTest) -> Node | None:
    """The most recent procedure record before the date of service that ``accepts`` accepts."""
    found = []
    for node in enricher.g.objects(enricher.patient, IP.hasProcedureRecord):
        when = node_date(enricher, node, IP.performedOn)
        if when is not None and when < enricher.dos and not enricher.absent(node) and accepts(node):
            found.append((when, str(node), node))
    return max(found)[2] if found else None
