"""The mapping tables (``data/mapping/<Resource>.toml``): which FHIR element fills which case property."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent / "data"
MAPPING_DIR = DATA_DIR / "mapping"


@dataclass(frozen=True)
class Element:
    """One row: a FHIR element path (``[]`` marks a list) and the case property it fills."""

    path: str
    property: str
    kind: str
    scope: str = "node"
    role: str = ""
    systems: tuple[str, ...] = ()
    values: dict[str, Any] = field(default_factory=dict)
    first: bool = False
    note: str = ""

    def plain_path(self) -> str:
        """The path without list markers, as FHIR writes element names (``item.productOrService.coding``)."""
        return self.path.replace("[]", "")


@dataclass(frozen=True)
class Profile:
    """One kind of case node a resource becomes, chosen by the term of its ``selector`` coding."""

    cls: str
    link: str
    selector: str = ""
    selects: str = ""
    term: str = ""
    elements: tuple[Element, ...] = ()


@dataclass(frozen=True)
class ResourceTable:
    resource: str
    accepted: tuple[str, ...]
    profiles: tuple[Profile, ...]
    settings: dict[str, Any]

    def covers(self, plain_path: str) -> bool:
        """Whether an element (dotted, no indices) is read by a row or accepted without a case fact."""
        known = [e.plain_path() for p in self.profiles for e in p.elements] + list(self.accepted)
        return any(plain_path == k or plain_path.startswith(k + ".") for k in known)


def _table(path: Path) -> ResourceTable:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    profiles = tuple(
        Profile(
            cls=p["class"],
            link=p["link"],
            selector=p.get("selector", ""),
            selects=p.get("selects", ""),
            term=p.get("term", ""),
            elements=tuple(Element(**{**e, "systems": tuple(e.get("systems", ()))}) for e in p.get("element", [])),
        )
        for p in data.get("profile", [])
    )
    settings = {k: v for k, v in data.items() if k not in ("resource", "accepted", "profile")}
    settings.setdefault("template", {})
    return ResourceTable(data["resource"], tuple(data.get("accepted", [])), profiles, settings)


@lru_cache(maxsize=1)
def load_tables() -> dict[str, ResourceTable]:
    """Every mapping table, by resource type."""
    tables = (_table(p) for p in sorted(MAPPING_DIR.glob("*.toml")))
    return {t.resource: t for t in tables}
