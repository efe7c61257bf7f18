"""The guideline knowledge: ontology, shapes and the indexes the engine reads, loaded once.

``load_knowledge()`` parses the ontology and shapes files a single time per process (it is
cached) and computes the class closure once, so no case ever triggers ontology-wide reasoning.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.query import ResultRow

from kb import resources
from kb.namespaces import IP, OWL, RDF, RDFS, SH
from kb.terms import is_iri


@dataclass(frozen=True)
class CriterionInfo:
    iri: URIRef
    id: str
    kind: str
    guideline: URIRef
    guideline_number: str
    section: URIRef
    section_title: str
    text: str
    label: str
    reason_category: URIRef
    shape: URIRef | None
    severity: URIRef | None
    target_classes: frozenset[URIRef] = field(default_factory=frozenset)
    # Further printings of the same text in other guidelines (ip:alsoStatedIn):
    # (guideline, guideline number, section, section title).
    statements: tuple[tuple[URIRef, str, URIRef, str], ...] = ()

    @property
    def is_deciding(self) -> bool:
        return is_iri(self.severity, SH.Violation)  # asked of every criterion of every case

    def cited_for(self, guideline: URIRef) -> CriterionInfo:
        """The criterion as cited in a review under ``guideline``: a criterion shared by several
        guidelines (ip:alsoStatedIn) names that guideline's own section, where it prints the text."""
        if guideline == self.guideline:
            return self
        for other, number, section, title in self.statements:
            if other == guideline:
                return dataclasses.replace(self, guideline=other, guideline_number=number, section=section, section_title=title)
        return self


@dataclass(frozen=True)
class PathwayInfo:
    iri: URIRef
    label: str
    guideline: URIRef
    phase: URIRef
    criteria: tuple[URIRef, ...]


@dataclass(frozen=True)
class CptInfo:
    iri: URIRef
    code: str
    guidelines: frozenset[URIRef]
    region_group: URIRef | None
    regions: frozenset[URIRef]
    add_on: bool
    technique: URIRef | None
    procedure: URIRef | None
    # For an add-on code, the primary codes it is reported with (ip:addOnTo).
    primaries: frozenset[URIRef] = frozenset()


@dataclass(frozen=True)
class ExcludedCodeInfo:
    """The code of a procedure a guideline's EXCLUSIONS section names (ip:ExcludedProcedureCode)."""

    iri: URIRef
    code: str
    # (exclusion, guideline of the exclusion), sorted
    exclusions: tuple[tuple[URIRef, URIRef], ...]
    procedure: URIRef | None

    @property
    def guidelines(self) -> frozenset[URIRef]:
        return frozenset(g for _, g in self.exclusions)


@dataclass(frozen=True)
class GuidelineInfo:
    iri: URIRef
    number: str
    title: str
    implementation_date: dt.date
    initial_phase_max: int | None
    new_episode_days: int | None


@dataclass(frozen=True)
class ReviewContextInfo:
    iri: URIRef
    guideline: URIRef
    phase: URIRef | None
    state: str | None
    region: URIRef | None = None


# Properties of ontology terms that are copied into a case graph when the case refers to the term,
# so that shapes can read them without reasoning over the whole ontology per case.
TERM_FACT_PROPERTIES = (
    IP.technique,
    IP.listedInGuideline,
    IP.codeRegionGroup,
    IP.isAddOnCode,
    IP.codesProcedure,
    IP.includesImagingGuidance,
    IP.addOnTo,
    IP.excludedBy,
    IP.reviewedUnder,
)


AXIOM_PROPERTIES = (
    RDF.type,
    RDFS.subClassOf,
    RDFS.subPropertyOf,
    RDFS.domain,
    RDFS.range,
    OWL.disjointWith,
    OWL.equivalentClass,
    OWL.inverseOf,
)


def _query(graph: Graph, name: str) -> list[ResultRow]:
    text = resources.query_file(name).read_text(encoding="utf-8")
    return [row for row in graph.query(text) if isinstance(row, ResultRow)]


def _iri(value: object) -> URIRef:
    assert isinstance(value, URIRef), value
    return value


def _opt_iri(value: object) -> URIRef | None:
    return value if isinstance(value, URIRef) else None


def _py(value: object) -> object:
    return value.toPython() if isinstance(value, Literal) else value


def parse_files(paths: list[Path]) -> Graph:
    graph = Graph()
    for path in paths:
        graph.parse(path, format="turtle")
    return graph


class Knowledge:
    """Ontology, criterion shapes, case-form shapes and indexes, immutable after loading."""

    def __init__(self, ontology: Graph, shapes: Graph, form_shapes: Graph) -> None:
        self.ontology = ontology
        self.shapes = shapes
        self.form_shapes = form_shapes
        self.superclasses = self._class_closure()
        self.axioms = self._axioms()
        self.individual_types = self._individual_types()
        self.term_facts = self._term_facts()
        self.guidelines = self._guidelines()
        self.cpt_by_code, self.cpt_by_iri = self._cpt_codes()
        self.excluded_codes = self._excluded_codes()
        joined = ontology + shapes
        self.criteria = self._criteria(joined)
        self.criteria_by_id = {c.id: c for c in self.criteria.values()}
        self.criteria_by_shape = {c.shape: c for c in self.criteria.values() if c.shape is not None}
        self.constraint_status = {row.constraint: _iri(row.status) for row in _query(shapes, "constraint-status.rq")}
        self.pathways = self._pathways()
        self.contexts = [
            ReviewContextInfo(
                iri=_iri(r.context),
                guideline=_iri(r.guideline),
                phase=_opt_iri(r.phase),
                state=str(r.state) if r.state is not None else None,
                region=_opt_iri(r.region),
            )
            for r in _query(ontology, "review-contexts.rq")
        ]

    # -- closures and indexes, computed once -------------------------------------------------

    def _class_closure(self) -> dict[URIRef, frozenset[URIRef]]:
        direct: dict[URIRef, set[URIRef]] = defaultdict(set)
        for sub, sup in self.ontology.subject_objects(RDFS.subClassOf):
            if isinstance(sub, URIRef) and isinstance(sup, URIRef):
                direct[sub].add(sup)
        closure: dict[URIRef, frozenset[URIRef]] = {}

        def up(cls: URIRef, seen: frozenset[URIRef]) -> frozenset[URIRef]:
            if cls in closure:
                return closure[cls]
            result = {cls}
            for sup in direct.get(cls, ()):
                if sup not in seen:
                    result |= up(sup, seen | {cls})
            closure[cls] = frozenset(result)
            return closure[cls]

        for cls in list(direct):
            up(cls, frozenset())
        return closure

    def _axioms(self) -> Graph:
        """The ontology's class and property axioms (no labels, definitions or individuals).

        This is the part of the ontology pySHACL mixes into each case (``ont_graph``); keeping it
        to the axioms makes that per-case mix cheap without changing what the shapes can read.
        """
        axioms = Graph()
        schema_types = {OWL.Class, RDFS.Class, OWL.ObjectProperty, OWL.DatatypeProperty, RDF.Property}
        terms = {s for s, o in self.ontology.subject_objects(RDF.type) if o in schema_types}
        for term in terms:
            for prop in AXIOM_PROPERTIES:
                for value in self.ontology.objects(term, prop):
                    axioms.add((term, prop, value))
        return axioms

    def classes_with_superclasses(self, classes: set[URIRef]) -> set[URIRef]:
        result: set[URIRef] = set()
        for cls in classes:
            result |= self.superclasses.get(cls, frozenset({cls}))
        return result

    def _individual_types(self) -> dict[URIRef, frozenset[URIRef]]:
        declared: dict[URIRef, set[URIRef]] = defaultdict(set)
        for ind, cls in self.ontology.subject_objects(RDF.type):
            if isinstance(ind, URIRef) and isinstance(cls, URIRef) and str(ind).startswith(str(IP)):
                declared[ind].add(cls)
        return {ind: frozenset(self.classes_with_superclasses(cls)) for ind, cls in declared.items()}

    def _term_facts(self) -> dict[URIRef, tuple[tuple[URIRef, object], ...]]:
        facts: dict[URIRef, list[tuple[URIRef, object]]] = defaultdict(list)
        for prop in TERM_FACT_PROPERTIES:
            for s, o in self.ontology.subject_objects(prop):
                if isinstance(s, URIRef):
                    facts[s].append((prop, o))
        return {k: tuple(v) for k, v in facts.items()}

    def _guidelines(self) -> dict[URIRef, GuidelineInfo]:
        result = {}
        for r in _query(self.ontology, "guidelines.rq"):
            impl = _py(r.implementationDate)
            assert isinstance(impl, dt.date)
            result[_iri(r.guideline)] = GuidelineInfo(
                iri=_iri(r.guideline),
                number=str(r.number),
                title=str(r.title),
                implementation_date=impl,
                initial_phase_max=int(r.initialPhaseMax) if r.initialPhaseMax is not None else None,
                new_episode_days=int(r.newEpisodeDays) if r.newEpisodeDays is not None else None,
            )
        return result

    def _cpt_codes(self) -> tuple[dict[str, CptInfo], dict[URIRef, CptInfo]]:
        rows: dict[URIRef, list[ResultRow]] = defaultdict(list)
        for r in _query(self.ontology, "cpt-codes.rq"):
            rows[_iri(r.cpt)].append(r)
        primaries: dict[URIRef, set[URIRef]] = defaultdict(set)
        for r in _query(self.ontology, "add-on-primaries.rq"):
            primaries[_iri(r.cpt)].add(_iri(r.primary))
        by_code: dict[str, CptInfo] = {}
        by_iri: dict[URIRef, CptInfo] = {}
        for iri, group in rows.items():
            first = group[0]
            region_group = _opt_iri(first.regionGroup)
            regions = (
                frozenset(_iri(o) for o in self.ontology.objects(region_group, IP.includesRegion))
                if region_group is not None
                else frozenset()
            )
            info = CptInfo(
                iri=iri,
                code=str(first.code),
                guidelines=frozenset(_iri(r.guideline) for r in group),
                region_group=region_group,
                regions=regions,
                add_on=bool(_py(first.addOn)),
                technique=_opt_iri(first.technique),
                procedure=_opt_iri(first.procedure),
                primaries=frozenset(primaries.get(iri, set())),
            )
            by_code[info.code] = info
            by_iri[iri] = info
        return by_code, by_iri

    def _excluded_codes(self) -> dict[URIRef, ExcludedCodeInfo]:
        rows: dict[URIRef, list[ResultRow]] = defaultdict(list)
        for r in _query(self.ontology, "excluded-codes.rq"):
            rows[_iri(r.cpt)].append(r)
        return {
            iri: ExcludedCodeInfo(
                iri=iri,
                code=str(group[0].code),
                exclusions=tuple(sorted({(_iri(r.exclusion), _iri(r.guideline)) for r in group})),
                procedure=_opt_iri(group[0].procedure),
            )
            for iri, group in rows.items()
        }

    def _criteria(self, joined: Graph) -> dict[URIRef, CriterionInfo]:
        targets: dict[URIRef, set[URIRef]] = defaultdict(set)
        for r in _query(self.shapes, "shape-targets.rq"):
            targets[_iri(r.criterion)].add(_iri(r.targetClass))
        statements: dict[URIRef, list[tuple[URIRef, str, URIRef, str]]] = defaultdict(list)
        for r in _query(self.ontology, "criterion-statements.rq"):
            statements[_iri(r.criterion)].append(
                (_iri(r.guideline), str(r.guidelineNumber), _iri(r.section), str(r.sectionTitle))
            )
        result: dict[URIRef, CriterionInfo] = {}
        for r in _query(joined, "criteria.rq"):
            kind = _iri(r.kind)
            if kind == IP.Criterion:
                continue
            iri = _iri(r.criterion)
            result[iri] = CriterionInfo(
                iri=iri,
                id=str(r.id),
                kind=str(kind).rsplit("#", 1)[-1],
                guideline=_iri(r.guideline),
                guideline_number=str(r.guidelineNumber),
                section=_iri(r.section),
                section_title=str(r.sectionTitle),
                text=str(r.text),
                label=str(r.label),
                reason_category=_iri(r.reasonCategory),
                shape=_opt_iri(r.shape),
                severity=_opt_iri(r.severity),
                target_classes=frozenset(targets.get(iri, set())),
                statements=tuple(sorted(statements.get(iri, []))),
            )
        return result

    def _pathways(self) -> dict[URIRef, list[PathwayInfo]]:
        grouped: dict[URIRef, dict[str, object]] = {}
        members: dict[URIRef, list[URIRef]] = defaultdict(list)
        for r in _query(self.ontology, "pathways.rq"):
            pw = _iri(r.pathway)
            grouped[pw] = {
                "label": str(r.label),
                "guideline": _iri(r.guideline),
                "phase": _iri(r.phase),
            }
            members[pw].append(_iri(r.criterion))
        result: dict[URIRef, list[PathwayInfo]] = defaultdict(list)
        for pw, meta in sorted(grouped.items()):
            guideline = meta["guideline"]
            phase = meta["phase"]
            assert isinstance(guideline, URIRef) and isinstance(phase, URIRef)
            criteria = tuple(sorted(members[pw], key=lambda c: self.criteria[c].id))
            result[guideline].append(
                PathwayInfo(
                    iri=pw,
                    label=str(meta["label"]),
                    guideline=guideline,
                    phase=phase,
                    criteria=criteria,
                )
            )
        return dict(result)

    # -- lookups -----------------------------------------------------------------------------

    def pathway(self, iri: URIRef) -> PathwayInfo | None:
        for pathways in self.pathways.values():
            for pw in pathways:
                if pw.iri == iri:
                    return pw
        return None

    def is_modeled(self, guideline: URIRef) -> bool:
        return any(c.guideline == guideline for c in self.contexts)


@lru_cache(maxsize=1)
def load_knowledge() -> Knowledge:
    """Parse the ontology and shapes once per process."""
    ontology = parse_files(resources.ontology_files())
    shapes = parse_files(resources.criterion_shape_files())
    form_shapes = parse_files(resources.case_form_shapes_files())
    return Knowledge(ontology, shapes, form_shapes)
