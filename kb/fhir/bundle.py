"""Reading a PAS Request Bundle: JSON, the FHIR R4 models, the Claim, and references inside the bundle."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.resource import Resource
from pydantic import ValidationError

from kb.fhir.outcome import BundleError, Issue, fhirpath, refuse
from kb.pipeline.caselimits import json_nesting

MAX_SHOWN_ISSUES = 20


@dataclass(frozen=True)
class Entry:
    index: int
    resource: dict[str, Any]

    @property
    def type(self) -> str:
        return str(self.resource.get("resourceType", ""))

    @property
    def path(self) -> str:
        return f"Bundle.entry[{self.index}].resource"

    @property
    def reference(self) -> str:
        return f"{self.type}/{self.resource.get('id', '')}"


@dataclass(frozen=True)
class RequestBundle:
    """A bundle that parsed, validated against the R4 models, and whose references all resolve."""

    raw: dict[str, Any]
    entries: tuple[Entry, ...]
    claim: Entry
    by_reference: dict[str, Entry]

    def resolve(self, reference: str) -> Entry | None:
        return self.by_reference.get(reference)


def read_bundle(body: bytes, max_depth: int) -> RequestBundle:
    """Parse and check a bundle; BundleError (with FHIRPath expressions) on anything refused."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise refuse(400, "structure", "Bundle", f"the body is not UTF-8 text (byte {exc.start})") from None
    depth = json_nesting(text)
    if depth > max_depth:
        raise refuse(400, "structure", "Bundle", f"the JSON nests {depth} deep; at most {max_depth} is accepted")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise refuse(400, "structure", "Bundle", f"not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(raw, dict) or raw.get("resourceType") != "Bundle":
        kind = raw.get("resourceType") if isinstance(raw, dict) else type(raw).__name__
        raise refuse(422, "structure", "Bundle", f"send a PAS Request Bundle (resourceType Bundle), not {kind!r}")
    _check_resource_types(raw)
    try:
        Bundle.model_validate(raw)
    except ValidationError as exc:
        issues = [
            Issue("structure", fhirpath(tuple(e["loc"])), f"{e['msg']}") for e in exc.errors()[:MAX_SHOWN_ISSUES]
        ]
        raise BundleError(422, issues) from None
    except (ValueError, TypeError, KeyError, AttributeError) as exc:  # the models raise these for some malformed values
        raise refuse(422, "structure", "Bundle", f"not a valid FHIR R4 Bundle: {exc}") from None
    listed = raw.get("entry") or []
    entries = tuple(Entry(i, e["resource"]) for i, e in enumerate(listed) if isinstance(e.get("resource"), dict))
    by_reference: dict[str, Entry] = {}
    for i, e in enumerate(raw.get("entry") or []):
        if not isinstance(e.get("resource"), dict):
            continue
        entry = Entry(i, e["resource"])
        if "id" in entry.resource:
            by_reference[entry.reference] = entry
        if isinstance(e.get("fullUrl"), str):
            by_reference[e["fullUrl"]] = entry
            # An absolute fullUrl ending in Type/id also answers the relative reference.
            tail = "/".join(e["fullUrl"].rstrip("/").split("/")[-2:])
            by_reference.setdefault(tail, entry)
    claims = [e for e in entries if e.type == "Claim"]
    if not claims:
        raise refuse(422, "required", "Bundle.entry", "the bundle holds no Claim")
    if len(claims) > 1:
        raise refuse(422, "not-supported", claims[1].path, "the bundle holds more than one Claim; send one request per bundle")
    claim = claims[0]
    if claim.resource.get("use") != "preauthorization":
        raise refuse(
            422, "value", f"{claim.path}.use", f"Claim.use is {claim.resource.get('use')!r}; only 'preauthorization' is reviewed"
        )
    bundle = RequestBundle(raw, entries, claim, by_reference)
    _check_references(bundle)
    return bundle


def _check_resource_types(raw: dict[str, Any]) -> None:
    """Every entry's resource names a FHIR R4 resource type (before the models look it up)."""
    entries = raw.get("entry")
    if entries is None:
        return
    if not isinstance(entries, list):
        raise refuse(422, "structure", "Bundle.entry", "entry must be a list")
    for i, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if resource is None:
            continue
        kind = resource.get("resourceType") if isinstance(resource, dict) else None
        if not isinstance(kind, str) or not _known_type(kind):
            raise refuse(422, "structure", f"Bundle.entry[{i}].resource", f"{str(kind)[:60]!r} is not a FHIR R4 resource type")


def _known_type(kind: str) -> bool:
    try:
        model = get_fhir_model_class(kind)
    except (KeyError, ValueError):
        return False
    return issubclass(model, Resource)


def _references(value: Any, path: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if isinstance(value, dict):
        ref = value.get("reference")
        if isinstance(ref, str):
            found.append((ref, f"{path}.reference"))
        for key, item in value.items():
            if key != "contained":
                found.extend(_references(item, f"{path}.{key}"))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found.extend(_references(item, f"{path}[{i}]"))
    return found


def _check_references(bundle: RequestBundle) -> None:
    issues = []
    for entry in bundle.entries:
        contained = {f"#{c.get('id')}" for c in entry.resource.get("contained") or [] if isinstance(c, dict)}
        for ref, path in _references(entry.resource, entry.path):
            if ref in contained or bundle.resolve(ref) is not None:
                continue
            issues.append(Issue("not-found", path, f"the reference {ref[:100]!r} does not resolve inside the bundle"))
    if issues:
        raise BundleError(422, issues[:MAX_SHOWN_ISSUES])
