"""Whether a failing criterion rests on the patient's diagnoses rather than on the documentation.

The conditions a case records are the patient's diagnoses: a recorded diagnosis is held, one not
recorded is not (``kb.questionnaire.facts``), so no counterfactual adds or removes one. A criterion
that no change of the documentation meets is *bound to the diagnoses* when it is met once the
diagnoses its shape names are different (each recorded one recorded absent, each one not recorded
added) together with at most one of its documentation changes: "a terminal illness is documented"
where the pathway is for non-terminal individuals, "no intractable spasticity is documented" for a
spasticity pump. The outcome then excludes the patient, not the record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from rdflib import RDF, XSD, BNode, Graph, Literal, URIRef
from rdflib.term import Node

from kb.knowledge import CriterionInfo, Knowledge
from kb.namespaces import IP
from kb.questionnaire.facts import copy_graph, date_of_service, patient_of
from kb.questionnaire.patterns import named_values
from kb.questionnaire.search import MET, Budget

# A condition added by the probe was diagnosed this long before the date of service.
DIAGNOSED_DAYS_BEFORE = 400


def named_conditions(knowledge: Knowledge, criterion: CriterionInfo) -> list[URIRef]:
    """The condition types (diagnoses) the criterion's shape names."""
    found = []
    for value in sorted(named_values(knowledge, criterion), key=str):
        types = knowledge.individual_types.get(value, frozenset())
        if types and IP.ConditionType in knowledge.classes_with_superclasses(set(types)):
            found.append(value)
    return found


def with_other_diagnoses(case: Graph, knowledge: Knowledge, criterion: CriterionInfo) -> tuple[Graph, list[str]] | None:
    """The case with the named diagnoses turned around, and what was turned; None when it names none."""
    kinds = named_conditions(knowledge, criterion)
    if not kinds:
        return None
    graph = copy_graph(case)
    patient = patient_of(case)
    day = date_of_service(case) - dt.timedelta(days=DIAGNOSED_DAYS_BEFORE)
    turned: list[str] = []
    for kind in kinds:
        recorded: list[Node] = [c for c in case.objects(patient, IP.hasCondition) if (c, IP.conditionType, kind) in case]
        held = [c for c in recorded if (c, IP.present, Literal(False)) not in case]
        if held:
            for condition in held:
                graph.remove((condition, IP.present, None))
                graph.add((condition, IP.present, Literal(False)))
            turned.append(f"{kind.split('#')[-1]} recorded absent")
        elif not recorded:
            node = BNode()
            graph.add((patient, IP.hasCondition, node))
            graph.add((node, RDF.type, IP.Condition))
            graph.add((node, IP.conditionType, kind))
            graph.add((node, IP.diagnosedOn, Literal(day.isoformat(), datatype=XSD.date)))
            turned.append(f"{kind.split('#')[-1]} diagnosed")
    return (graph, turned) if turned else None


def bound_to_diagnoses(
    case: Graph,
    knowledge: Knowledge,
    criterion: CriterionInfo,
    changes: Sequence[Callable[[Graph], None]],
    evaluate: Callable[[Graph], str],
    budget: Budget,
) -> list[str] | None:
    """What about the diagnoses would meet the criterion (with no or one of ``changes``), or None."""
    probe = with_other_diagnoses(case, knowledge, criterion)
    if probe is None:
        return None
    graph, turned = probe
    for change in [None, *changes]:
        if not budget.spend():
            return None
        trial = copy_graph(graph)
        if change is not None:
            change(trial)
        if evaluate(trial) == MET:
            return turned
    return None
