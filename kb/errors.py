"""Domain errors. Each names the problem in words a requester can act on."""

from __future__ import annotations


class KnowledgeGraphError(Exception):
    """Base class of every error the engine raises on purpose."""


class CaseSyntaxError(KnowledgeGraphError):
    """The case file is not well-formed Turtle or JSON-LD."""

    def __init__(self, source: str, problem: str, line: int | None = None) -> None:
        self.source = source
        self.problem = problem
        self.line = line
        where = f"{source}, line {line}" if line is not None else source
        super().__init__(f"{where}: {problem}")


class CaseFormError(KnowledgeGraphError):
    """The case parses but is not a valid case: wrong types, impossible values, unknown codes."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        listing = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{source}: the case is not valid:\n{listing}")


class UnsupportedRequestError(KnowledgeGraphError):
    """The request is valid but no modeled guideline can review it."""

    def __init__(self, source: str, problem: str) -> None:
        self.source = source
        self.problem = problem
        super().__init__(f"{source}: {problem}")
