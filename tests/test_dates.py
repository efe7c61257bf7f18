from __future__ import annotations

import datetime as dt

from kb.dates import add_months, covered_days, whole_years


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
