from __future__ import annotations

import datetime as dt

from rdflib import XSD, Literal

from kb.dates import DateInterval, add_months, covered_days, date_interval, earliest_day, latest_day, whole_years


def test_add_months_clamps_to_month_end() -> None:
    assert add_months(dt.date(2024, 5, 31), -3) == dt.date(2024, 2, 29)
    assert add_months(dt.date(2024, 1, 15), -6) == dt.date(2023, 7, 15)
    assert add_months(dt.date(2023, 12, 31), 12) == dt.date(2024, 12, 31)


def test_covered_days_counts_overlaps_once() -> None:
    d = dt.date
    assert covered_days([(d(2024, 1, 1), d(2024, 1, 14))]) == 14
    assert covered_days([(d(2024, 1, 1), d(2024, 1, 10)), (d(2024, 1, 5), d(2024, 1, 20))]) == 20
    assert covered_days([(d(2024, 1, 1), d(2024, 1, 1)), (d(2024, 1, 3), d(2024, 1, 3))]) == 2
    assert covered_days([]) == 0


def test_whole_years() -> None:
    assert whole_years(dt.date(1960, 6, 11), dt.date(2024, 6, 10)) == 63
    assert whole_years(dt.date(1960, 6, 10), dt.date(2024, 6, 10)) == 64


def test_partial_dates_are_intervals() -> None:
    d = dt.date
    assert date_interval(Literal("2021", datatype=XSD.gYear)) == DateInterval(d(2021, 1, 1), d(2021, 12, 31))
    assert date_interval(Literal("2024-02", datatype=XSD.gYearMonth)) == DateInterval(d(2024, 2, 1), d(2024, 2, 29))
    assert date_interval(Literal("2023-02", datatype=XSD.gYearMonth)) == DateInterval(d(2023, 2, 1), d(2023, 2, 28))
    day = date_interval(Literal("2024-06-03", datatype=XSD.date))
    assert day == DateInterval(d(2024, 6, 3), d(2024, 6, 3)) and day.exact
    assert earliest_day(Literal("2025-06", datatype=XSD.gYearMonth)) == d(2025, 6, 1)
    assert latest_day(Literal("2025-06", datatype=XSD.gYearMonth)) == d(2025, 6, 30)


def test_ill_formed_or_other_literals_are_no_date() -> None:
    assert date_interval(Literal("2024-13", datatype=XSD.gYearMonth)) is None
    assert date_interval(Literal("June", datatype=XSD.gYear)) is None
    assert date_interval(Literal("2024")) is None
    assert date_interval(None) is None
