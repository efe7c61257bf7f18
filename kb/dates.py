"""Calendar arithmetic used by the enrichment step."""

from __future__ import annotations

import calendar
import datetime as dt

from rdflib import XSD, Literal

EARLIEST_YEAR = 1900
LATEST_YEAR = 2100
"""Case dates must fall in these years (inclusive): calendar arithmetic on any date in this range,
months or years either way, stays inside what ``datetime.date`` can hold."""


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` calendar months later (earlier when negative), clamped to month end."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    last = calendar.monthrange(year, month)[1]
    return dt.date(year, month, min(day.day, last))


def whole_years(start: dt.date, end: dt.date) -> int:
    years = end.year - start.year
    if (end.month, end.day) < (start.month, start.day):
        years -= 1
    return years


def covered_days(intervals: list[tuple[dt.date, dt.date]]) -> int:
    """Number of calendar days covered by inclusive intervals, each day counted once."""
    total = 0
    current: tuple[dt.date, dt.date] | None = None
    for start, end in sorted(intervals):
        if end < start:
            continue
        if current is None:
            current = (start, end)
        elif start <= current[1] + dt.timedelta(days=1):
            current = (current[0], max(current[1], end))
        else:
            total += (current[1] - current[0]).days + 1
            current = (start, end)
    if current is not None:
        total += (current[1] - current[0]).days + 1
    return total


def literal_date(value: object) -> dt.date | None:
    """The date of an xsd:date (or xsd:dateTime) literal; None for anything else."""
    if isinstance(value, Literal):
        result = value.toPython()
        if isinstance(result, dt.date):
            return result
    return None


def integer_literal(value: int) -> Literal:
    return Literal(value, datatype=XSD.integer)
