"""What the OpenAPI document says about bodies and errors that FastAPI cannot infer by itself."""

from __future__ import annotations

from typing import Any

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
    },
    "required": ["type", "title", "status", "detail"],
}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {"schema": PROBLEM_SCHEMA}}}


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _problem("Malformed request, case or query"),
    401: _problem("No valid bearer token"),
    403: _problem("The token lacks the scope, or the query is refused (update, SERVICE, outside graph)"),
    404: _problem("No such case, determination, guideline, criterion or code"),
    405: _problem("Method not allowed"),
    406: _problem("None of the accepted media types is available"),
    413: _problem("The request body exceeds the limit"),
    414: _problem("The request path is too long"),
    415: _problem("Unsupported Content-Type"),
    422: _problem("The request is well-formed but invalid (case form, parameters, result over the row cap)"),
    503: _problem("Store unavailable or query time limit exceeded"),
}

RDF_TYPES = ("text/turtle", "application/ld+json", "application/n-triples")
STRING = {"schema": {"type": "string"}}
OBJECT = {"schema": {"type": "object"}}


def rdf_doc(description: str) -> dict[int | str, dict[str, Any]]:
    return {200: {"description": description, "content": {t: OBJECT if t.endswith("json") else STRING for t in RDF_TYPES}}}


CASE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "A case in Turtle, or in JSON-LD with the project's context (see docs/case-format.md)",
        "content": {"text/turtle": STRING, "application/ld+json": OBJECT},
    }
}
DETERMINATION_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": 'A case inline (Turtle or JSON-LD), or {"caseId": ...} naming a stored case',
        "content": {
            "text/turtle": STRING,
            "application/ld+json": OBJECT,
            "application/json": {
                "schema": {"type": "object", "required": ["caseId"], "properties": {"caseId": {"type": "string"}}}
            },
        },
    }
}
DETERMINATION_RESPONSES: dict[int | str, dict[str, Any]] = {
    201: {
        "description": "The determination (JSON by default; RDF by Accept)",
        "content": {"application/json": OBJECT, **{t: OBJECT if t.endswith("json") else STRING for t in RDF_TYPES}},
    },
}
SPARQL_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "A SPARQL 1.1 query (queries only)",
        "content": {
            "application/sparql-query": STRING,
            "application/x-www-form-urlencoded": {
                "schema": {"type": "object", "required": ["query"], "properties": {"query": {"type": "string"}}}
            },
        },
    }
}
SPARQL_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Query results: SPARQL JSON, XML, CSV or TSV for SELECT/ASK; Turtle, JSON-LD or N-Triples "
        "for CONSTRUCT/DESCRIBE",
        "content": {
            t: STRING
            for t in (
                "application/sparql-results+json",
                "application/sparql-results+xml",
                "text/csv",
                "text/tab-separated-values",
                *RDF_TYPES,
            )
        },
    },
}
