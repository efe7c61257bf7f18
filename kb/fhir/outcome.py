"""Refusals of a bundle, and the OperationOutcome that reports them (and unmapped elements)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Issue:
    """One OperationOutcome issue: an issue-type code, the FHIRPath of the element, a diagnostic."""

    code: str
    expression: str
    diagnostics: str
    severity: str = "error"

    def as_json(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "code": self.code,
            "diagnostics": self.diagnostics,
            "expression": [self.expression],
        }


class BundleError(Exception):
    """A bundle refused before anything is determined or stored."""

    def __init__(self, status: int, issues: list[Issue]) -> None:
        self.status = status
        self.issues = issues
        super().__init__("; ".join(f"{i.expression}: {i.diagnostics}" for i in issues))


def refuse(status: int, code: str, expression: str, diagnostics: str) -> BundleError:
    return BundleError(status, [Issue(code, expression, diagnostics)])


def operation_outcome(issues: list[Issue]) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": [i.as_json() for i in issues]}


def fhirpath(loc: tuple[int | str, ...], root: str = "Bundle") -> str:
    """A pydantic error location (``('entry', 0, 'resource', 'use')``) as FHIRPath."""
    out = root
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out
