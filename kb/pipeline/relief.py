"""Relief after a prior procedure as a range (docs/case-format.md, "Documented negatives, partial
dates, bounds and notes").

Records state relief as a value ("70 % for 3 days"), a bound ("at least 60 %", "more than 2 months")
or in hours ("for 6 hours"). For each procedure record the enrichment writes the range the record
allows, so shapes can apply the three-valued rule (a threshold is met when the minimum reaches it,
not met when the maximum falls short):

- ``ip:reliefPercentMin`` / ``ip:reliefPercentMax`` from ``ip:reliefPercent`` (both ends),
  ``ip:reliefPercentAtLeast`` (min; max 100) and ``ip:reliefPercentAtMost`` (max; min 0);
- ``ip:reliefDaysMin`` / ``ip:reliefDaysMax`` from ``ip:reliefDurationDays`` (both ends),
  ``ip:reliefDurationHours`` (whole days: 6 hours is 0 days, 30 hours 1 day; both ends), and
  ``ip:reliefDurationAtLeastDays`` or ``ip:reliefDurationAtLeastMonths`` (min only; the months
  counted as calendar months from the procedure date).

Nothing is written when the record states nothing: the relief is then unknown.
"""

from __future__ import annotations

from decimal import Decimal

from rdflib import Graph, Literal, URIRef
from rdflib.term import Node

from kb.dates import add_months, date_interval
from kb.namespaces import IP
from kb.terms import decimal_literal, integer_literal


def _number(graph: Graph, node: Node, prop: URIRef) -> Decimal | None:
    value = graph.value(node, prop)
    if isinstance(value, Literal):
        python = value.toPython()
        if isinstance(python, (int, float, Decimal)) and not isinstance(python, bool):
            return Decimal(str(python))
    return None


def percent_range(graph: Graph, record: Node) -> tuple[Decimal | None, Decimal | None]:
    exact = _number(graph, record, IP.reliefPercent)
    if exact is not None:
        return exact, exact
    low = _number(graph, record, IP.reliefPercentAtLeast)
    high = _number(graph, record, IP.reliefPercentAtMost)
    if low is None and high is None:
        return None, None
    return (low if low is not None else Decimal(0)), (high if high is not None else Decimal(100))


def days_range(graph: Graph, record: Node) -> tuple[int | None, int | None]:
    exact = _number(graph, record, IP.reliefDurationDays)
    if exact is not None:
        return int(exact), int(exact)
    hours = _number(graph, record, IP.reliefDurationHours)
    if hours is not None:
        days = int(hours // 24)
        return days, days
    at_least = _number(graph, record, IP.reliefDurationAtLeastDays)
    if at_least is not None:
        return int(at_least), None
    months = _number(graph, record, IP.reliefDurationAtLeastMonths)
    performed = date_interval(graph.value(record, IP.performedOn))
    if months is not None and performed is not None:
        start = performed.latest
        return (add_months(start, int(months)) - start).days, None
    return None, None


def derive(graph: Graph, records: list[Node]) -> None:
    for record in records:
        low, high = percent_range(graph, record)
        if low is not None and high is not None:
            graph.add((record, IP.reliefPercentMin, decimal_literal(low)))
            graph.add((record, IP.reliefPercentMax, decimal_literal(high)))
        days_low, days_high = days_range(graph, record)
        if days_low is not None:
            graph.add((record, IP.reliefDaysMin, integer_literal(days_low)))
        if days_high is not None:
            graph.add((record, IP.reliefDaysMax, integer_literal(days_high)))
