"""Calendar arithmetic used by the enrichment step, and dates known only to the month or year.

A case may record a date to the day (``xsd:date``), the month (``xsd:gYearMonth``) or the year
(``xsd:gYear``). A partial date is an interval of days (:class:`DateInterval`); the derived facts
that read it take its earliest or latest day as the three-valued rule asks (docs/architecture.md,
"The three-valued rule").
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

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


# ---------------------------------------------------------------- dates known to the day, month or year

_YEAR_MONTH = re.compile(r"^(-?\d{4,})-(\d{2})(Z|[+-]\d{2}:\d{2})?$")
_YEAR = re.compile(r"^(-?\d{4,})(Z|[+-]\d{2}:\d{2})?$")


@dataclass(frozen=True)
class DateInterval:
    """The days a recorded date may stand for: one day (xsd:date), a month (xsd:gYearMonth) or a year (xsd:gYear)."""

    earliest: dt.date
    latest: dt.date

    @property
    def exact(self) -> bool:
        return self.earliest == self.latest

    def capped(self, last: dt.date) -> DateInterval:
        """The interval with both ends no later than ``last``."""
        return DateInterval(min(self.earliest, last), min(self.latest, last))


def date_interval(value: object) -> DateInterval | None:
    """The interval of days an xsd:date, xsd:dateTime, xsd:gYearMonth or xsd:gYear literal stands for.

    None for anything else (including an ill-formed lexical form)."""
    exact = literal_date(value)
    if exact is not None:
        day = exact.date() if isinstance(exact, dt.datetime) else exact
        return DateInterval(day, day)
    if not isinstance(value, Literal):
        return None
    text = str(value).strip()
    if value.datatype == XSD.gYearMonth:
        match = _YEAR_MONTH.match(text)
        if match is None:
            return None
        year, month = int(match.group(1)), int(match.group(2))
        if not (dt.MINYEAR <= year <= dt.MAXYEAR and 1 <= month <= 12):
            return None
        return DateInterval(dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1]))
    if value.datatype == XSD.gYear:
        match = _YEAR.match(text)
        if match is None:
            return None
        year = int(match.group(1))
        if not dt.MINYEAR <= year <= dt.MAXYEAR:
            return None
        return DateInterval(dt.date(year, 1, 1), dt.date(year, 12, 31))
    return None


def earliest_day(value: object) -> dt.date | None:
    """The first day a (possibly partial) date literal may stand for."""
    interval = date_interval(value)
    return interval.earliest if interval else None


def latest_day(value: object) -> dt.date | None:
    """The last day a (possibly partial) date literal may stand for."""
    interval = date_interval(value)
    return interval.latest if interval else None

