"""Where the ontology, shapes, SPARQL and example files live: at the repository root beside ``kb/``.

The project is installed in editable mode from its checkout (``scripts/bootstrap.sh``), so the data
files stay where maintainers edit them.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def _root_for(name: str) -> Path:
    return _PACKAGE_DIR.parent / name


def ontology_dir() -> Path:
    return _root_for("ontology")


def shapes_dir() -> Path:
    return _root_for("shapes")


def examples_dir() -> Path:
    return _root_for("examples")


def ontology_files() -> list[Path]:
    return sorted(p for p in ontology_dir().glob("*.ttl"))


def criterion_shape_files() -> list[Path]:
    return sorted(p for p in shapes_dir().glob("*.ttl") if not p.name.startswith("case-form"))


def case_form_shapes_files() -> list[Path]:
    """shapes/case-form.ttl and any shapes/case-form-*.ttl (form checks of later vocabulary)."""
    return sorted(shapes_dir().glob("case-form*.ttl"))


def jsonld_context_file() -> Path:
    return ontology_dir() / "case-context.jsonld"


def query_file(name: str) -> Path:
    """A SPARQL file of the engine (``kb/queries/NAME``)."""
    return _PACKAGE_DIR / "queries" / name


def cookbook_dir() -> Path:
    """The SPARQL cookbook queries (docs/cookbook/*.rq), offered as example queries."""
    return _root_for("docs") / "cookbook"


def questionnaires_dir() -> Path:
    """The generated FHIR Questionnaires of the pathways (docs/questionnaires/*.json)."""
    return _root_for("docs") / "questionnaires"
