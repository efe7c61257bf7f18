"""The pages without a server: negotiation, the determination tree, escaping, the metrics, the vendored editor."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.requests import Request

from api.determination_view import determination_page, determination_tree
from api.html import wants_html
from kb.engine import determine_file
from kb.knowledge import Knowledge
from kb.metrics import Decision, figures, nearest_rank, period_of, prior_authorization_metrics
from kb.repository import StoredDetermination

ROOT = Path(__file__).resolve().parent.parent
YASGUI = ROOT / "api" / "static" / "yasgui"
# Digests of the files of @zazuko/yasgui 4.6.2 (build/yasgui.min.js and build/yasgui.min.css).
YASGUI_SHA256 = {
    "yasgui.min.js": "55034eaac74c55f55fbd1eeed008ae38a79053651cbed2b453f1fcfd895a4b75",
    "yasgui.min.css": "085b94556b97f9928981bdedb6848fd11ad4d8d950e821f0d698c58ca538fc55",
}


def _request(accept: str | None) -> Request:
    headers = [] if accept is None else [(b"accept", accept.encode())]
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers, "query_string": b""})


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        ("text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8", True),  # Chromium
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", True),  # Firefox
        ("text/html", True),
        (None, False),  # no Accept
        ("*/*", False),  # curl
        ("application/sparql-results+json,application/json,text/javascript,application/javascript", False),  # SPARQLWrapper JSON
        ("application/sparql-results+xml", False),  # rdflib SPARQLStore
        ("text/turtle, text/html;q=0.5", False),
        ("text/html;q=0, */*", False),
    ],
)
def test_wants_html(accept: str | None, html: bool) -> None:
    assert wants_html(_request(accept)) is html


def test_vendored_editor_is_the_pinned_release() -> None:
    for name, digest in YASGUI_SHA256.items():
        assert hashlib.sha256((YASGUI / name).read_bytes()).hexdigest() == digest
    licence = (YASGUI / "LICENSE.md").read_text(encoding="utf-8")
    assert "MIT" in licence and "4.6.2" in licence
    for template in (ROOT / "api" / "templates").glob("*.html"):
        text = template.read_text(encoding="utf-8")
        for tag in re.findall(r"<script[^>]*>", text):
            assert 'src="/static/' in tag or 'type="application/json"' in tag, f"inline script in {template.name}: {tag}"
        assert not re.search(r"(src|href)=\"(https?:)?//", text), f"{template.name} loads something from elsewhere"


def test_determination_tree_places_every_result(knowledge: Knowledge) -> None:
    det = determine_file(ROOT / "examples" / "cases" / "cg300-stenosis-pended.ttl")
    machine = det.as_json()
    pathways, others = determination_tree(machine)
    placed = {r["criterionId"] for p in pathways for r in p.criteria} | {r["criterionId"] for _, rs in others for r in rs}
    assert placed == {r["criterionId"] for r in machine["criteria"]}
    assert [p.iri for p in pathways] == [p["pathway"] for p in machine["pathways"]]
    anchors = [r["anchor"] for p in pathways for r in p.criteria] + [r["anchor"] for _, rs in others for r in rs]
    assert len(anchors) == len(set(anchors))
    assert "Contraindications" in [heading for heading, _ in others]


def test_determination_page_escapes_and_labels(knowledge: Knowledge) -> None:
    det = determine_file(ROOT / "examples" / "cases" / "cg300-acute-denied.ttl")
    machine = det.as_json()
    machine["criteria"][0] = {**machine["criteria"][0], "valuesSeen": ["<script>alert(1)</script>"]}
    app = FastAPI()

    @app.get("/determinations/{det_id}")
    def page(det_id: str, request: Request) -> object:
        return determination_page(request, StoredDetermination(det_id, "case-1", machine), knowledge)

    response = TestClient(app).get("/determinations/d1")
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
    assert "script-src 'self'" in response.headers["content-security-policy"]
    statuses = re.findall(r'<span class="status status-([a-z-]+)">.*?</svg>\s*([a-z ]+)</span>', response.text, re.S)
    assert statuses and all(slug == word.strip().replace(" ", "-") for slug, word in statuses), "each status is also a word"
    assert "denied" in response.text and "criterion not met" in response.text


def _decision(outcome: str, hours: float | None, guideline: str = "NIA_CG_300", code: str = "64483",
              decided: dt.datetime = dt.datetime(2025, 3, 10, 12, tzinfo=dt.UTC)) -> Decision:
    received = None if hours is None else decided - dt.timedelta(hours=hours)
    return Decision(guideline, code, outcome, received, decided)


def test_figures_counts_shares_and_percentiles() -> None:
    hours = [1, 2, 3, 4, 5, 6, 7, 8, 9, 100]
    decisions = [_decision("approved", h) for h in hours[:6]] + [_decision("denied", h) for h in hours[6:]]
    decisions += [_decision("pended", 500), _decision("excluded", None)]
    result = figures(decisions)
    assert (result["requests"], result["approved"], result["denied"], result["pended"], result["excluded"]) == (12, 6, 4, 1, 1)
    assert result["approvedPercent"] == round(100 * 6 / 11, 1) and result["deniedPercent"] == round(100 * 4 / 11, 1)
    timing = result["decisionTimeHours"]
    assert timing["decisions"] == 10  # the pended request and the one without a receipt time are left out
    assert timing["median"] == 5.5 and timing["p90"] == 9 and timing["average"] == pytest.approx(14.5)
    assert result["approvedAfterAppeal"] is None


def test_nearest_rank_and_periods() -> None:
    assert nearest_rank([5.0], 90) == 5.0
    assert nearest_rank([float(v) for v in range(1, 21)], 90) == 18.0
    when = dt.datetime(2025, 11, 30, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))  # 2025-12-01 04:30 UTC
    assert (period_of(when, "year"), period_of(when, "quarter"), period_of(when, "month")) == ("2025", "2025-Q4", "2025-12")


def test_metrics_group_and_filter() -> None:
    decisions = [
        _decision("approved", 2),
        _decision("denied", 30, code="64484"),
        _decision("approved", 4, guideline="NIA_CG_301", code="64490"),
        _decision("approved", 1, decided=dt.datetime(2024, 6, 1, tzinfo=dt.UTC)),
    ]
    result = prior_authorization_metrics(decisions)
    assert [(p["period"], p["requests"]) for p in result["overall"]] == [("2024", 1), ("2025", 3)]
    assert [(g["period"], g["guideline"]) for g in result["byGuideline"]] == [
        ("2024", "NIA_CG_300"), ("2025", "NIA_CG_300"), ("2025", "NIA_CG_301")]
    assert len(result["byProcedure"]) == 4
    only = prior_authorization_metrics(decisions, "quarter", "NIA_CG_300", since=dt.date(2025, 1, 1))
    assert [(p["period"], p["requests"]) for p in only["overall"]] == [("2025-Q1", 2)]
