"""Criterion statuses and the search for a completion with a wanted status, as the questionnaires and
counterfactual explanations use them: the completion machinery's (``kb.completion``)."""

from kb.completion.search import Budget, Evaluate, search
from kb.completion.status import INVALID, MET, NOT_APPLICABLE, NOT_DOCUMENTED, NOT_MET, RANK, criterion_status

__all__ = [
    "INVALID",
    "MET",
    "NOT_APPLICABLE",
    "NOT_DOCUMENTED",
    "NOT_MET",
    "RANK",
    "Budget",
    "Evaluate",
    "criterion_status",
    "search",
]
