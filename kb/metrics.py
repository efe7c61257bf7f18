"""Prior-authorization metrics of the kind CMS-0057-F asks payers to publish, over the stored determinations.

For each reporting period (calendar year, quarter or month of the decision), overall, by guideline
and by procedure (the primary CPT code): the requests, how many were approved, denied, pended
(documentation missing: not yet a decision) and excluded, the approved and denied shares of the
decided requests, and the time from request to decision (``ip:requestReceivedAt`` to
``ip:determinedAt``) over the decided requests: average, median and 90th percentile (nearest rank),
in hours. Approvals after appeal are not recorded by this service, so that figure is ``None``.
SPARQL has no percentile aggregate: the store returns one row per determination
(``kb/queries/prior-authorization-decisions.rq``) and the figures are computed here.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from kb import resources
from kb.store.base import Store

PeriodKind = Literal["year", "quarter", "month"]
OUTCOMES = ("approved", "denied", "pended", "excluded")
DECIDED = ("approved", "denied", "excluded")
ROW_CAP = 1_000_000
NOTES = (
    "Counts are of stored determinations; a request determined twice counts twice.",
    "Pended requests await documentation: they are counted but are not decisions, so they are left out of the "
    "decision times and of the approved and denied shares.",
    "Approvals after appeal are not recorded by this service (approvedAfterAppeal is null); neither are expedited "
    "requests or extended review timeframes, so every request is reported as a standard request.",
    "Decision time runs from when the service received the request (ip:requestReceivedAt) to the determination "
    "(ip:determinedAt); determinations stored before the receipt time was recorded are counted but left out of "
    "the decision times. The median is the middle value (the mean of the two middle values for an even count); "
    "the 90th percentile is the nearest-rank value.",
)


@dataclass(frozen=True)
class Decision:
    guideline: str
    code: str
    outcome: str
    received: dt.datetime | None
    decided: dt.datetime

    @property
    def hours(self) -> float | None:
        if self.received is None:
            return None
        return max((self.decided - self.received).total_seconds(), 0.0) / 3600


def _datetime(value: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)


def stored_decisions(store: Store, timeout: float) -> list[Decision]:
    text = resources.query_file("prior-authorization-decisions.rq").read_text(encoding="utf-8")
    outcome = store.query(text, timeout, ROW_CAP)
    decisions = []
    for row in outcome.rows:
        values = dict(zip(outcome.variables, (None if term is None else term[1] for term in row), strict=True))
        if values["at"] is None or values["outcome"] not in OUTCOMES:
            continue
        decisions.append(
            Decision(
                str(values["guideline"]),
                str(values["code"]),
                str(values["outcome"]),
                _datetime(values["received"]) if values["received"] else None,
                _datetime(str(values["at"])),
            )
        )
    return decisions


def period_of(when: dt.datetime, kind: PeriodKind) -> str:
    when = when.astimezone(dt.UTC)
    if kind == "year":
        return f"{when.year}"
    if kind == "quarter":
        return f"{when.year}-Q{(when.month - 1) // 3 + 1}"
    return f"{when.year}-{when.month:02d}"


def nearest_rank(values: list[float], percent: float) -> float:
    """The nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(math.ceil(percent / 100 * len(ordered)), 1) - 1]


def _share(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def figures(decisions: Iterable[Decision]) -> dict[str, Any]:
    """The figures of one group of determinations."""
    items = list(decisions)
    counts = {outcome: sum(1 for d in items if d.outcome == outcome) for outcome in OUTCOMES}
    decided = sum(counts[o] for o in DECIDED)
    hours = [h for d in items if d.outcome in DECIDED and (h := d.hours) is not None]
    timing: dict[str, Any] = {"decisions": len(hours), "average": None, "median": None, "p90": None}
    if hours:
        timing.update(
            average=round(statistics.fmean(hours), 3),
            median=round(statistics.median(hours), 3),
            p90=round(nearest_rank(hours, 90), 3),
        )
    return {
        "requests": len(items),
        **counts,
        "approvedAfterAppeal": None,
        "approvedPercent": _share(counts["approved"], decided),
        "deniedPercent": _share(counts["denied"], decided),
        "decisionTimeHours": timing,
    }


def prior_authorization_metrics(
    decisions: list[Decision],
    kind: PeriodKind = "year",
    guideline: str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> dict[str, Any]:
    """The metrics by period: overall, by guideline and by procedure (primary CPT code)."""
    selected = [
        d
        for d in decisions
        if (guideline is None or d.guideline == guideline)
        and (since is None or d.decided.astimezone(dt.UTC).date() >= since)
        and (until is None or d.decided.astimezone(dt.UTC).date() <= until)
    ]
    overall: dict[str, list[Decision]] = defaultdict(list)
    by_guideline: dict[tuple[str, str], list[Decision]] = defaultdict(list)
    by_procedure: dict[tuple[str, str, str], list[Decision]] = defaultdict(list)
    for d in selected:
        period = period_of(d.decided, kind)
        overall[period].append(d)
        by_guideline[(period, d.guideline)].append(d)
        by_procedure[(period, d.guideline, d.code)].append(d)
    return {
        "rule": "CMS-0057-F",
        "periodType": kind,
        "filters": {
            "guideline": guideline,
            "from": since.isoformat() if since else None,
            "to": until.isoformat() if until else None,
        },
        "notes": list(NOTES),
        "overall": [{"period": p, **figures(overall[p])} for p in sorted(overall)],
        "byGuideline": [{"period": p, "guideline": g, **figures(by_guideline[(p, g)])} for p, g in sorted(by_guideline)],
        "byProcedure": [
            {"period": p, "guideline": g, "procedure": c, **figures(by_procedure[(p, g, c)])}
            for p, g, c in sorted(by_procedure)
        ],
    }
