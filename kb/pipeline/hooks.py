"""Registry of guideline-specific enrichment.

The generic enrichment step (kb/pipeline/enrichment.py) knows no guideline. Each guideline's module in
`kb/guidelines/` registers what only it needs, and importing `kb.guidelines` registers them all:

- a *guideline hook* runs after the generic derived facts, may add facts of its own (with properties
  marked ip:derivedBy in the ontology) and may return a phase that replaces the generic one;
- a *state policy* says whether a state's review context applies to a request beyond the member's
  state (e.g. the Washington policy's scope in NIA_CG_300).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from rdflib import URIRef

if TYPE_CHECKING:
    from kb.pipeline.enrichment import Enricher

GuidelineHook = Callable[["Enricher"], URIRef | None]
StatePolicy = Callable[["Enricher"], bool]

GUIDELINE_HOOKS: dict[URIRef, GuidelineHook] = {}
STATE_POLICY_HOOKS: dict[tuple[URIRef, str], StatePolicy] = {}

H = TypeVar("H", bound=GuidelineHook)
P = TypeVar("P", bound=StatePolicy)


def guideline_hook(guideline: URIRef) -> Callable[[H], H]:
    """Register the decorated function as the enrichment hook of `guideline` (one per guideline)."""

    def register(hook: H) -> H:
        if guideline in GUIDELINE_HOOKS:
            raise ValueError(f"a guideline hook is already registered for {guideline}")
        GUIDELINE_HOOKS[guideline] = hook
        return hook

    return register


def state_policy(*scopes: tuple[URIRef, str]) -> Callable[[P], P]:
    """Register the decorated function as the state policy of each (guideline, state) given."""

    def register(policy: P) -> P:
        for scope in scopes:
            if scope in STATE_POLICY_HOOKS:
                raise ValueError(f"a state policy is already registered for {scope}")
            STATE_POLICY_HOOKS[scope] = policy
        return policy

    return register
