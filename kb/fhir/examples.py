"""Writes ``examples/fhir/``: one PAS Request Bundle per example case in ``examples/cases/``.

Run ``python -m kb.fhir.examples`` after changing an example case or a mapping table;
``tests/fhir/test_examples.py`` checks that the committed bundles are what this writes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from kb import resources
from kb.fhir.export import export_case
from kb.pipeline.caseio import read_case_file


def bundle_name(case: Path) -> str:
    """``x.ttl`` -> ``x``; ``x.jsonld`` -> ``x-jsonld`` (both forms of a case get a bundle)."""
    return case.stem if case.suffix == ".ttl" else f"{case.stem}-{case.suffix.lstrip('.')}"


def case_files() -> list[Path]:
    return sorted(p for p in (resources.examples_dir() / "cases").iterdir() if p.suffix in (".ttl", ".jsonld"))


def bundle_text(bundle: dict[str, Any]) -> str:
    return json.dumps(bundle, indent=1, ensure_ascii=False) + "\n"


def expected_bundles() -> dict[str, str]:
    """File name -> text of every bundle, as the current cases and tables give them."""
    out = {}
    for case in case_files():
        name = bundle_name(case)
        out[f"{name}.json"] = bundle_text(export_case(read_case_file(case), name))
    return out


def main() -> int:
    target = resources.examples_dir() / "fhir"
    target.mkdir(exist_ok=True)
    expected = expected_bundles()
    for stale in target.glob("*.json"):
        if stale.name not in expected:
            stale.unlink()
    for name, text in expected.items():
        (target / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(expected)} bundles to {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
