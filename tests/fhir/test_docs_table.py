"""docs/fhir.md shows the mapping and terminology tables exactly as the data files hold them."""

from __future__ import annotations

from kb.fhir.docs import DOC, current, generated
from kb.fhir.tables import load_tables


def test_mapping_table_in_the_docs_is_generated_from_the_data() -> None:
    assert current(DOC.read_text(encoding="utf-8")) == generated(), "run: python -m kb.fhir.docs"


def test_every_row_of_every_table_is_in_the_docs() -> None:
    text = current(DOC.read_text(encoding="utf-8"))
    for resource, table in load_tables().items():
        for profile in table.profiles:
            for element in profile.elements:
                assert f"`{resource}.{element.plain_path()}`" in text
