"""The terminology table (``data/terminology.toml``): standard codes <-> ontology terms."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache

from rdflib import RDF, RDFS, Graph, URIRef

from kb.fhir.tables import DATA_DIR
from kb.namespaces import IP

IPKG_SYSTEM = "https://w3id.org/ipkg/ontology"


@dataclass(frozen=True)
class CodeSystem:
    key: str
    uri: str
    name: str
    version: str
    ontology_prefix: str | None

    @property
    def complete(self) -> bool:
        """Whether every code of the system that the review can use is known (the ontology's lists)."""
        return self.ontology_prefix is not None


@dataclass(frozen=True)
class Coding:
    system: str
    code: str
    display: str

    def as_json(self) -> dict[str, str]:
        out = {"system": self.system, "code": self.code}
        if self.display:
            out["display"] = self.display
        return out


@dataclass(frozen=True)
class Terminology:
    version: str
    systems: dict[str, CodeSystem]
    codes: dict[tuple[str, str], tuple[URIRef, str]]

    def system(self, uri: str) -> CodeSystem | None:
        return self.systems.get(uri)

    def term(self, system: str, code: str, ontology: Graph) -> URIRef | None:
        """The ontology term of a coding; None when the system is known but the code is not."""
        listed = self.codes.get((system, code))
        if listed is not None:
            return listed[0]
        known = self.systems.get(system)
        if known is None or known.ontology_prefix is None or not code:
            return None
        candidate = IP[known.ontology_prefix + code]
        return candidate if (candidate, None, None) in ontology else None

    def coding(self, term: URIRef) -> Coding:
        """How a term is written in FHIR: its first listed code, else its ontology code."""
        for (system, code), (listed, display) in self.codes.items():
            if listed == term:
                return Coding(system, code, display)
        name = str(term).removeprefix(str(IP))
        for known in self.systems.values():
            if known.ontology_prefix and name.startswith(known.ontology_prefix):
                return Coding(known.uri, name.removeprefix(known.ontology_prefix), "")
        return Coding(IPKG_SYSTEM, name, "")


def curie(value: str) -> URIRef:
    """``ip:Name`` -> the ontology IRI."""
    prefix, _, name = value.partition(":")
    if prefix != "ip" or not name:
        raise ValueError(f"not an ip: name: {value!r}")
    return IP[name]


@lru_cache(maxsize=1)
def load_terminology() -> Terminology:
    data = tomllib.loads((DATA_DIR / "terminology.toml").read_text(encoding="utf-8"))
    systems = {
        s["uri"]: CodeSystem(key, s["uri"], s["name"], s.get("version", ""), s.get("ontology_prefix"))
        for key, s in data["systems"].items()
    }
    by_key = {s.key: s.uri for s in systems.values()}
    codes = {(by_key[c["system"]], c["code"]): (curie(c["term"]), c["display"]) for c in data["code"]}
    return Terminology(data["version"], systems, codes)


def in_range(ontology: Graph, prop: URIRef, term: URIRef) -> bool:
    """Whether ``term`` is a value the property accepts: typed (through subclasses) with its range."""
    ranges = set(ontology.objects(prop, RDFS.range))
    if not ranges:
        return True
    types = set(ontology.objects(term, RDF.type))
    seen: set[URIRef] = set()
    while types:
        t = types.pop()
        if t in ranges:
            return True
        if isinstance(t, URIRef) and t not in seen:
            seen.add(t)
            types.update(o for o in ontology.objects(t, RDFS.subClassOf) if isinstance(o, URIRef))
    return False
