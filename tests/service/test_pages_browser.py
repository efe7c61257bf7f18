"""Each page in a real browser (headless Chromium) against the running service.

Every request the browser makes is checked against the service's loopback address: anything else
is aborted and recorded, and each test asserts that nothing was (so no page loads a CDN, a font
service or an autocompletion service). Each page's content is checked, and a screenshot saved to
the test's directory; ``IPKG_SCREENSHOTS=docs/images`` saves them where the docs show them:

    IPKG_SCREENSHOTS=docs/images .venv/bin/python -m pytest -q tests/service/test_pages_browser.py
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.service.browser import CHROMIUM_ARGS, NO_BROWSER, chromium_path
from tests.service.server import READ_TOKEN, ROOT, Server, auth

CHROMIUM = chromium_path()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason=NO_BROWSER)


@dataclass
class Session:
    page: Any
    server: Server
    shots: Path
    elsewhere: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(self.shots / f"{name}.png"), full_page=False)

    def give_token(self, token: str = READ_TOKEN) -> None:
        self.page.wait_for_selector("#token-input", state="visible")
        self.page.fill("#token-input", token)
        self.page.click("[data-token-form] button[type=submit]")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture()
def session(browser: Any, server: Server, tmp_path: Path) -> Iterator[Session]:
    shots = Path(os.environ["IPKG_SCREENSHOTS"]) if os.environ.get("IPKG_SCREENSHOTS") else tmp_path
    if not shots.is_absolute():
        shots = ROOT / shots
    shots.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
    page = context.new_page()
    current = Session(page, server, shots)

    def guard(route: Any) -> None:
        url = route.request.url
        if url.startswith(server.url + "/") or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            current.elsewhere.append(url)
            route.abort()

    context.route("**/*", guard)
    page.on("pageerror", lambda error: current.errors.append(str(error)))
    page.on("console", lambda message: current.errors.append(message.text) if message.type == "error" else None)
    try:
        yield current
    finally:
        context.close()
    assert current.elsewhere == [], f"requests left the machine: {current.elsewhere}"


def _determination_id(server: Server, outcome: str) -> str:
    listed = httpx.get(f"{server.url}/determinations", params={"outcome": outcome, "guideline": "NIA_CG_300", "limit": 50},
                       headers=auth(READ_TOKEN)).json()
    return str(sorted(listed["items"], key=lambda i: i["id"])[0]["id"])


def test_sparql_editor_runs_a_cookbook_question_with_the_token(session: Session) -> None:
    page = session.page
    page.goto(f"{session.server.url}/sparql")
    session.give_token()
    page.wait_for_selector(".yasqe .CodeMirror")
    assert "Which criteria list active systemic infection" in page.inner_text(".yasqe")
    page.click(".yasqe_queryButton")
    page.wait_for_selector(".yasr table.dataTable td")
    assert "CG300-C-INFECTION" in page.inner_text(".yasr")
    page.select_option("[data-example-select]", index=9)
    page.click("[data-open-example]")
    page.wait_for_function("window.ipkgYasgui.getTab().getQuery().startsWith('# Outcomes by guideline')")
    assert len(page.evaluate("Object.keys(window.ipkgYasgui._tabs)")) == 2
    # Only the prefix autocompleter's cache of its bundled prefix list is kept; never the token or a query.
    stored = page.evaluate("Object.fromEntries(Object.entries(window.localStorage))")
    assert set(stored) <= {"prefixes"} and not any(READ_TOKEN in value for value in stored.values())
    assert page.evaluate("sessionStorage.getItem('ipkg-token')") == READ_TOKEN
    session.shot("sparql-editor")
    assert session.errors == []


def test_sparql_editor_refused_token_asks_again(session: Session) -> None:
    page = session.page
    page.goto(f"{session.server.url}/sparql")
    with page.expect_response(lambda r: r.url.endswith("/sparql") and r.request.method == "POST") as answer:
        session.give_token("not-a-token")
    assert answer.value.status == 401
    page.wait_for_selector("[data-token-form]:not([hidden])")
    assert "refused the token (401)" in page.inner_text("[data-token-error]")
    assert page.evaluate("sessionStorage.getItem('ipkg-token')") is None
    assert page.locator(".yasqe").count() == 0
    session.give_token()
    page.wait_for_selector(".yasqe .CodeMirror")
    assert "token" not in page.url


def test_determination_list_filters(session: Session) -> None:
    page = session.page
    page.goto(f"{session.server.url}/determinations")
    session.give_token()
    page.wait_for_selector("body[data-loaded='200']")
    page.select_option("#f-outcome", "denied")
    page.select_option("#f-guideline", "NIA_CG_300")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**/determinations?outcome=denied&guideline=NIA_CG_300**")
    page.wait_for_selector("body[data-loaded='200']")
    expected = httpx.get(f"{session.server.url}/determinations", params={"outcome": "denied", "guideline": "NIA_CG_300"},
                         headers=auth(READ_TOKEN)).json()
    assert page.inner_text("[data-total]") == str(expected["total"])
    outcomes = page.locator("tbody td:nth-child(2)").all_inner_texts()
    assert outcomes and {o.strip().lower() for o in outcomes} == {"denied"}
    assert page.locator("main").count() == 1 and page.locator("nav[aria-label=Main]").count() == 1
    session.shot("determinations")
    assert session.errors == []


def test_determination_viewer_shows_the_tree(session: Session) -> None:
    page = session.page
    det_id = _determination_id(session.server, "pended")
    machine = httpx.get(f"{session.server.url}/determinations/{det_id}", headers=auth(READ_TOKEN)).json()
    page.goto(f"{session.server.url}/determinations/{det_id}")
    session.give_token()
    page.wait_for_selector("body[data-loaded='200']")
    assert page.inner_text("[data-outcome]").strip().lower() == "pended"
    text = page.inner_text("main")
    for pathway in machine["pathways"]:
        assert pathway["label"] in text
    for item in machine["missingDocumentation"]:
        assert item["item"] in text
    first = machine["criteria"][0]
    assert first["text"] in text
    # Statuses are words as well as colours and icons.
    assert page.locator(".status-not-documented").first.inner_text().strip() == "not documented"
    assert page.locator("a[href^='/ontology#']").count() >= len(machine["criteria"])
    ids = page.evaluate("Array.from(document.querySelectorAll('[id]'), e => e.id)")
    assert len(ids) == len(set(ids)), "ids on the page must be unique"
    session.shot("determination")
    with page.expect_navigation():
        page.click("a[href$='/report']")
    assert "sh:ValidationReport" in page.inner_text("body")
    assert session.errors == []


def test_metrics_page_chart_and_tables(session: Session) -> None:
    page = session.page
    page.goto(f"{session.server.url}/metrics/prior-authorization")
    session.give_token()
    page.wait_for_selector("body[data-loaded='200'] svg.chart")
    figures = httpx.get(f"{session.server.url}/metrics/prior-authorization", headers=auth(READ_TOKEN)).json()
    bars = page.locator("svg.chart g").count()
    assert bars == len(figures["byGuideline"]) > 0
    assert str(figures["overall"][0]["requests"]) in page.inner_text("main table")
    assert "not recorded" in page.inner_text("main")
    session.shot("metrics")
    assert session.errors == []


def test_ontology_documentation_opens_a_criterion(session: Session) -> None:
    page = session.page
    page.goto(f"{session.server.url}/ontology#CG300-ACU-DUR")
    term = page.locator("[id='CG300-ACU-DUR']")
    assert "Duration of pain < 3 months" in term.inner_text()
    assert "INDICATIONS FOR EPIDURAL SPINE INJECTIONS" in term.inner_text()
    assert page.evaluate("document.getElementById('CG300-ACU-DUR').getBoundingClientRect().top") < 200
    session.shot("ontology")
    assert session.errors == []
