"""Which ontology terms a criterion reads, as the questionnaires and counterfactual explanations ask
them: the completion machinery's reading (``kb.completion.reads``) with the derivations read one call
deep (``direct``), which over-approximates what a question may decide."""

from __future__ import annotations

from rdflib import URIRef

from kb.completion import reads
from kb.completion.reads import named_terms, shape_text
from kb.knowledge import CriterionInfo, Knowledge

__all__ = ["named_terms", "shape_text", "terms_read"]


def terms_read(knowledge: Knowledge, criterion: CriterionInfo) -> set[URIRef]:
    """The terms the shape names, and the case terms its derived facts are computed from."""
    return reads.terms_read(knowledge, criterion, direct=True)
