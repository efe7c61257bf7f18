"""The process's shared rdflib terms (kb.terms): equal to the terms rdflib makes, made once, bounded."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from rdflib import XSD, Literal, URIRef

from kb import terms


def test_computed_literals_equal_the_literals_rdflib_makes_and_are_made_once() -> None:
    cases = [
        (terms.integer_literal(42), Literal(42, datatype=XSD.integer)),
        (terms.integer_literal(-3), Literal(-3, datatype=XSD.integer)),
        (terms.date_literal(dt.date(2024, 2, 29)), Literal(dt.date(2024, 2, 29), datatype=XSD.date)),
        (terms.decimal_literal(Decimal("1.50")), Literal(Decimal("1.50"), datatype=XSD.decimal)),
        (terms.boolean_literal(True), Literal(True)),
        (terms.boolean_literal(False), Literal(False)),
    ]
    for shared, made in cases:
        assert shared == made and str(shared) == str(made) and shared.datatype == made.datatype
    assert terms.integer_literal(42) is terms.integer_literal(42)
    assert terms.date_literal(dt.date(2024, 2, 29)) is terms.date_literal(dt.date(2024, 2, 29))
    assert terms.shared_iri("https://example.org/a") is terms.shared_iri("https://example.org/a")


def test_literals_that_differ_in_form_stay_apart() -> None:
    """1.5 and 1.50 are equal decimals but different literals; the integer 1 is not the boolean true;
    a datetime is not its date."""
    assert str(terms.decimal_literal(Decimal("1.5"))) == "1.5"
    assert str(terms.decimal_literal(Decimal("1.50"))) == "1.50"
    assert terms.integer_literal(1) != terms.boolean_literal(True)
    assert str(terms.integer_literal(True)) == "1" and terms.integer_literal(True) is terms.integer_literal(1)
    noon = dt.datetime(2024, 1, 1, 12, 0)
    assert str(terms.date_literal(noon)) == str(Literal(noon, datatype=XSD.date)) != str(terms.date_literal(noon.date()))


def test_the_tables_empty_themselves_when_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(terms, "_IRIS", {})
    monkeypatch.setattr(terms, "_LITERALS", {})
    monkeypatch.setattr(terms, "_IRIS_LIMIT", 5)
    monkeypatch.setattr(terms, "_LITERALS_LIMIT", 5)
    for n in range(23):
        assert terms.integer_literal(n) == Literal(n, datatype=XSD.integer)
        assert terms.shared_iri(f"https://example.org/{n}") == URIRef(f"https://example.org/{n}")
    assert 0 < len(terms._LITERALS) <= 5 and 0 < len(terms._IRIS) <= 5
