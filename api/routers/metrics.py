"""GET /metrics/prior-authorization: the CMS-0057-F prior-authorization figures, as JSON or as a page with a chart."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from api.deps import BearerDoc, RepositoryDep, SettingsDep
from api.html import has_credentials, render, shell, wants_html
from api.metrics_chart import outcome_chart
from api.routers.determinations import DATE_PATTERN, query_date
from api.security import authenticate
from kb.metrics import prior_authorization_metrics, stored_decisions
from kb.repository import Repository

router = APIRouter(tags=["metrics"])


def _metrics(
    repository: Repository, timeout: float, period: Literal["year", "quarter", "month"], guideline: str | None,
    since: dt.date | None, until: dt.date | None,
) -> dict[str, Any]:
    return prior_authorization_metrics(stored_decisions(repository.store, timeout), period, guideline, since, until)


@router.get(
    "/metrics/prior-authorization",
    summary="Prior-authorization figures (CMS-0057-F): outcomes and decision times by period, guideline and procedure",
)
async def prior_authorization(
    request: Request,
    repository: RepositoryDep,
    settings: SettingsDep,
    _: BearerDoc,
    period: Literal["year", "quarter", "month"] = "year",
    guideline: Annotated[str | None, Query(pattern=r"^NIA_CG_[0-9]{3}$")] = None,
    decided_from: Annotated[str | None, Query(alias="from", pattern=DATE_PATTERN, description="decided on or after")] = None,
    decided_to: Annotated[str | None, Query(alias="to", pattern=DATE_PATTERN, description="decided on or before")] = None,
) -> Any:
    """JSON by default; ``Accept: text/html`` gives the page with a chart (a page without data when no token is sent)."""
    html = wants_html(request)
    if html and not has_credentials(request):
        return shell(request, "Prior-authorization metrics")
    authenticate(request, settings, "read")
    since, until = query_date(decided_from, "from"), query_date(decided_to, "to")
    result = await run_in_threadpool(
        _metrics, repository, settings.query_timeout_seconds, period, guideline, since, until
    )
    if not html:
        return result
    return render(
        request,
        "metrics.html",
        title="Prior-authorization metrics",
        metrics=result,
        chart=outcome_chart(result["byGuideline"]),
        guidelines=sorted(g.number for g in repository.knowledge.guidelines.values()),
    )
