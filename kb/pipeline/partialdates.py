"""Prior procedures dated to the month or year: every criterion is decided over the whole interval.

A procedure record may give ``ip:performedOn`` as an ``xsd:gYearMonth`` ("2024-05") or an
``xsd:gYear`` ("2023"): the procedure took place on one day of that interval
(``kb.dates.DateInterval``). The frequency and interval limits, the episode and the phase read
procedure dates through many derived facts, so rather than carrying ranges through each of them the
case is decided twice: once with every partial procedure date at the first day of its interval, once
at the last. Counts within a window, days since a procedure and the first weeks of an episode change in
one direction as a date moves, so the two ends bound every day in between. The three-valued rule then
reads (docs/architecture.md, "The three-valued rule"):

- a criterion with the same status at both ends is decided, with the messages of the first;
- a criterion whose status differs is not documented, and its message names the partial dates.

The determination is the one of the earliest dates (its review phase and pathways), with the merged
statuses; the case graph it reports carries the dates as recorded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from kb.dates import DateInterval, date_interval, literal_date
from kb.namespaces import IP, RDF, SH, XSD

CONSTRAINT = URIRef("https://w3id.org/ipkg/shapes#partial-procedure-date")
"""The ``sh:sourceConstraint`` of the results this module adds (shapes/partial-dates.ttl): not documented."""

Found = Mapping[URIRef, list[tuple[str, str, str | None]]]
"""Per criterion: (status, message, value) of every validation result about the request."""


@dataclass(frozen=True)
class PartialDate:
    """A procedure record's ``ip:performedOn`` known only to the month or year."""

    record: Node
    literal: Literal
    interval: DateInterval

    def describe(self) -> str:
        return f"{self.literal} (between {self.interval.earliest.isoformat()} and {self.interval.latest.isoformat()})"


def partial_procedure_dates(case: Graph, request: Node) -> list[PartialDate]:
    """The partial ``ip:performedOn`` dates of the patient's procedure records, in a stable order.

    A procedure record documents a procedure already performed: when the interval reaches the date of
    service (a procedure "in 2024-06" for a request on 2024-06-24), only its days before the date of
    service are read."""
    patient = case.value(request, IP.forPatient)
    dos = literal_date(case.value(request, IP.dateOfService))
    found = []
    for record in case.objects(patient, IP.hasProcedureRecord):
        for value in case.objects(record, IP.performedOn):
            interval = date_interval(value)
            if not isinstance(value, Literal) or interval is None or interval.exact:
                continue
            if dos is not None and interval.earliest < dos <= interval.latest:
                interval = interval.capped(dos - dt.timedelta(days=1))
            found.append(PartialDate(record, value, interval))
    return sorted(found, key=lambda p: (p.interval.earliest, str(p.record)))


def pinned(case: Graph, dates: list[PartialDate], latest: bool) -> Graph:
    """A copy of the case with each partial procedure date replaced by the first (or last) day of its interval."""
    copy = Graph()
    for prefix, namespace in case.namespaces():
        copy.bind(prefix, namespace)
    for triple in case:
        copy.add(triple)
    for date in dates:
        day: dt.date = date.interval.latest if latest else date.interval.earliest
        copy.remove((date.record, IP.performedOn, date.literal))
        copy.add((date.record, IP.performedOn, Literal(day.isoformat(), datatype=XSD.date)))
    return copy


def restore(graph: Graph, dates: list[PartialDate]) -> None:
    """Put the recorded partial dates back in place of the days a pinned copy used."""
    for date in dates:
        for value in list(graph.objects(date.record, IP.performedOn)):
            graph.remove((date.record, IP.performedOn, value))
        graph.add((date.record, IP.performedOn, date.literal))


def merge(
    earliest: Found,
    latest: Found,
    applicable_at_latest: set[URIRef],
    dates: list[PartialDate],
    status_of: Callable[[list[tuple[str, str, str | None]]], str],
    criterion_id: Callable[[URIRef], str],
    not_documented: str,
) -> dict[URIRef, list[tuple[str, str, str | None]]]:
    """The results of the earliest dates, with every criterion decided differently at the latest not documented.

    ``status_of`` turns a criterion's results into its status (met when there is none); a criterion
    that does not apply at the latest dates counts as met there."""
    named = "; ".join(d.describe() for d in dates)
    merged: dict[URIRef, list[tuple[str, str, str | None]]] = {}
    for criterion in set(earliest) | set(latest) | applicable_at_latest:
        first = earliest.get(criterion, [])
        last = latest.get(criterion, []) if criterion in applicable_at_latest else []
        if status_of(first) == status_of(last):
            if first:
                merged[criterion] = list(first)
            continue
        message = (
            f"{criterion_id(criterion)} not documented: it is decided differently depending on the day the "
            f"prior procedure was performed within {named}; record the procedure date to the day"
        )
        merged[criterion] = [(not_documented, message, None)]
    return merged


def rewrite_report(
    report: Graph,
    request: Node,
    earliest: Found,
    merged: Found,
    shape_of: Callable[[URIRef], tuple[URIRef, Node] | None],
) -> None:
    """Replace in the report of the earliest dates the results of every criterion the merge changed by
    one result of ``CONSTRAINT`` (not documented) with the merged message; ``shape_of`` gives a
    criterion's shape and severity."""
    for criterion, results in merged.items():
        if earliest.get(criterion) == results:
            continue
        target = shape_of(criterion)
        if target is None:
            continue
        shape, severity = target
        for old in [r for r in report.subjects(SH.sourceShape, shape) if report.value(r, SH.focusNode) == request]:
            for triple in list(report.triples((old, None, None))):
                report.remove(triple)
            for triple in list(report.triples((None, SH.result, old))):
                report.remove(triple)
        result = BNode()
        report_node = report.value(predicate=RDF.type, object=SH.ValidationReport, any=False)
        if report_node is not None:
            report.add((report_node, SH.result, result))
            report.set((report_node, SH.conforms, Literal(False)))
        report.add((result, RDF.type, SH.ValidationResult))
        report.add((result, SH.focusNode, request))
        report.add((result, SH.sourceShape, shape))
        report.add((result, SH.sourceConstraint, CONSTRAINT))
        report.add((result, SH.resultSeverity, severity))
        for _, message, _ in results:
            report.add((result, SH.resultMessage, Literal(message)))
