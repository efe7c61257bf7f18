"""The small HTTP API: determinations of inline cases, criteria, errors as problem details."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from api.deps import get_settings
from api.main import app
from api.settings import Settings

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "cases" / "cg300-acute-approved.ttl"
client = TestClient(app)


def test_health() -> None:
    response = client.get("/health")
    assert response.status_code == 200 and response.json()["status"] == "ok"


def test_determination_of_a_turtle_case() -> None:
    response = client.post("/determinations", content=EXAMPLE.read_bytes(), headers={"content-type": "text/turtle"})
    assert response.status_code == 200
    assert response.json()["outcome"] == "approved"


def test_malformed_turtle_is_a_400_problem() -> None:
    response = client.post("/determinations", content=b"not turtle at all", headers={"content-type": "text/turtle"})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert "invalid Turtle" in response.json()["detail"]


def test_invalid_case_is_a_422_listing_problems() -> None:
    text = EXAMPLE.read_text(encoding="utf-8").replace("ip:painScore 7", "ip:painScore 11")
    response = client.post("/determinations", content=text.encode(), headers={"content-type": "text/turtle"})
    assert response.status_code == 422
    assert any("0 to 10" in p for p in response.json()["problems"])


def test_unsupported_media_type() -> None:
    response = client.post("/determinations", content=b"<x/>", headers={"content-type": "application/xml"})
    assert response.status_code == 415


def test_oversized_body_is_413() -> None:
    app.dependency_overrides[get_settings] = lambda: Settings(max_body_bytes=100)
    try:
        response = client.post("/determinations", content=EXAMPLE.read_bytes(), headers={"content-type": "text/turtle"})
    finally:
        app.dependency_overrides.clear()
    assert response.status_code == 413


def test_criterion_lookup() -> None:
    response = client.get("/criteria/CG300-PAIN")
    assert response.status_code == 200
    assert response.json()["text"].startswith("Pain causing functional disability")
    assert client.get("/criteria/NOPE").status_code == 404
