"""The service lines of a request, and the guideline(s) they fall under.

A request carries either one ``ip:cptCode`` of its own (one line: the request itself) or
``ip:hasServiceLine`` lines, each with one ``ip:cptCode`` and its own levels, side and units. The
rules (docs/case-format.md "Service lines", docs/ambiguities.md "Requests with several lines"):

- every code is either listed by a guideline's CPT table (``CptInfo``) or is the code of a procedure
  a guideline's EXCLUSIONS section names (``ExcludedCodeInfo``); anything else is refused earlier as
  an unknown code (kb/pipeline/caseform.py);
- an add-on line needs a line with one of its primary codes (``ip:addOnTo``) in the same request;
- the primary line (the first line, by ``ip:lineNumber`` then code, with a listed non-add-on code)
  selects the guideline and phase as a single code does; every other line must be reviewable under
  that guideline (listed by it, or excluded by one of its exclusions), else the request is refused
  naming the lines;
- a request whose every line is an excluded procedure's code has no primary line: it is screened
  against the exclusions of the guideline(s) that review every one of its codes
  (``ip:requestedGuideline`` picks one of them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rdflib import Graph, Literal, URIRef
from rdflib.term import Node

from kb.errors import CaseFormError
from kb.knowledge import CptInfo, ExcludedCodeInfo, Knowledge
from kb.namespaces import IP
from kb.pipeline.caseform import short

# The guideline a primary code is reviewed under (kb.pipeline.enrichment applies the request's
# ip:requestedGuideline and purpose), passed in so that this module knows no selection rule.
PrimaryChooser = Callable[[CptInfo], URIRef]


@dataclass(frozen=True)
class ServiceLine:
    """One line of a request: the line node (the request itself for the single-code form)."""

    node: Node
    code: URIRef
    number: int | None
    levels: tuple[str, ...]
    side: Node | None
    units: int | None


@dataclass(frozen=True)
class LineSelection:
    """The lines of a request and what they decide."""

    lines: tuple[ServiceLine, ...]
    primary: ServiceLine | None  # None: every line is an excluded procedure's code
    guidelines: tuple[URIRef, ...]  # the guideline(s) the request is reviewed under; the first decides

    @property
    def codes(self) -> tuple[URIRef, ...]:
        return tuple(line.code for line in self.lines)

    @property
    def screening(self) -> bool:
        return self.primary is None


def _int(value: Node | None) -> int | None:
    if isinstance(value, Literal) and isinstance(value.toPython(), int):
        return int(value.toPython())
    return None


def request_lines(case: Graph, request: URIRef) -> tuple[ServiceLine, ...]:
    """The lines of the request, ordered by line number (unnumbered last), then code, then node."""
    nodes: list[Node] = list(case.objects(request, IP.hasServiceLine))
    if not nodes:
        nodes = [request]
    lines = []
    for node in nodes:
        code = case.value(node, IP.cptCode)
        assert isinstance(code, URIRef), "case form checks guarantee one ip:cptCode per line"
        lines.append(
            ServiceLine(
                node=node,
                code=code,
                number=_int(case.value(node, IP.lineNumber)) if node != request else None,
                levels=tuple(sorted(str(level) for level in case.objects(node, IP.spinalLevel))),
                side=case.value(node, IP.side),
                units=_int(case.value(node, IP.units)),
            )
        )
    return tuple(sorted(lines, key=lambda line: (line.number is None, line.number or 0, str(line.code), str(line.node))))


def code_name(knowledge: Knowledge, code: URIRef) -> str:
    info = knowledge.cpt_by_iri.get(code) or knowledge.excluded_codes.get(code)
    return f"CPT {info.code}" if info is not None else short(code)


def _numbers(knowledge: Knowledge, codes: list[URIRef] | set[URIRef] | frozenset[URIRef]) -> str:
    return ", ".join(sorted(code_name(knowledge, c) for c in codes))


def _add_on_problems(lines: tuple[ServiceLine, ...], knowledge: Knowledge) -> list[str]:
    codes = {line.code for line in lines}
    problems = []
    for line in lines:
        info = knowledge.cpt_by_iri.get(line.code)
        if info is None or not info.add_on:
            continue
        if not info.primaries & codes:
            primaries = _numbers(knowledge, info.primaries) or "its primary code"
            problems.append(
                f"CPT {info.code} is an add-on code: the request needs a line with its primary code "
                f"({primaries}) as well; list the additional levels as add-on lines beside it"
            )
    return problems


def _region_problems(lines: tuple[ServiceLine, ...], region: Node | None, knowledge: Knowledge) -> list[str]:
    problems = []
    for code in dict.fromkeys(line.code for line in lines):
        cpt = knowledge.cpt_by_iri.get(code)
        if cpt is not None and cpt.regions and region not in cpt.regions:
            problems.append(
                f"CPT {cpt.code} is listed for the {short(cpt.region_group or IP.AnyRegion)} group, "
                f"which does not include the requested region {short(region) if region else '?'}"
            )
    return problems


def reviewing_guidelines(knowledge: Knowledge, code: URIRef) -> frozenset[URIRef]:
    """The guidelines a code can be reviewed under: those that list it, or those whose exclusions name it."""
    listed: CptInfo | None = knowledge.cpt_by_iri.get(code)
    if listed is not None:
        return listed.guidelines
    excluded: ExcludedCodeInfo | None = knowledge.excluded_codes.get(code)
    return excluded.guidelines if excluded is not None else frozenset()


def _guideline_names(knowledge: Knowledge, guidelines: frozenset[URIRef]) -> str:
    return " or ".join(sorted(knowledge.guidelines[g].number for g in guidelines)) or "no guideline"


def _across_guidelines(knowledge: Knowledge, lines: tuple[ServiceLine, ...]) -> str:
    parts = [
        f"{code_name(knowledge, code)} under {_guideline_names(knowledge, reviewing_guidelines(knowledge, code))}"
        for code in dict.fromkeys(line.code for line in lines)
    ]
    return (
        "the lines of one request must fall under one guideline: " + "; ".join(parts) + " are reviewed; request them separately"
    )


def select_lines(
    case: Graph,
    request: URIRef,
    knowledge: Knowledge,
    source: str,
    choose_for_primary: PrimaryChooser,
) -> LineSelection:
    """Check the lines against each other and choose the guideline(s) of the request."""
    lines = request_lines(case, request)
    problems = _add_on_problems(lines, knowledge)
    problems.extend(_region_problems(lines, case.value(request, IP.spinalRegion), knowledge))
    if problems:
        raise CaseFormError(source, problems)
    primaries = [line for line in lines if line.code in knowledge.cpt_by_iri and not knowledge.cpt_by_iri[line.code].add_on]
    requested = case.value(request, IP.requestedGuideline)
    if primaries:
        primary = primaries[0]
        chosen = choose_for_primary(knowledge.cpt_by_iri[primary.code])
        strays = [line for line in lines if chosen not in reviewing_guidelines(knowledge, line.code)]
        if strays:
            raise CaseFormError(source, [_across_guidelines(knowledge, lines)])
        return LineSelection(lines, primary, (chosen,))
    common: frozenset[URIRef] | None = None
    for line in lines:
        under = reviewing_guidelines(knowledge, line.code)
        common = under if common is None else common & under
    assert common is not None
    if not common:
        raise CaseFormError(source, [_across_guidelines(knowledge, lines)])
    if isinstance(requested, URIRef):
        if requested not in common:
            raise CaseFormError(
                source,
                [
                    f"{_numbers(knowledge, {line.code for line in lines})} is not reviewed under the requested guideline "
                    f"{short(requested)} (reviewed under {_guideline_names(knowledge, common)})"
                ],
            )
        common = frozenset({requested})
    order = {g: i for i, g in enumerate(knowledge.guidelines)}
    return LineSelection(lines, None, tuple(sorted(common, key=lambda g: (order.get(g, len(order)), str(g)))))
