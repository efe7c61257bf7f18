"""Rewrite a SHACL-SPARQL constraint so that one query answers it for every focus node of a store.

pySHACL evaluates a constraint once per focus node with ``$this`` pre-bound (rdflib keeps an
initial binding visible everywhere in the query, so it behaves like a substitution of ``$this``
by the node), over the case's graph alone. Here the same text is evaluated once over a store in
which each case is a named graph:

- the WHERE pattern is evaluated inside ``GRAPH ?ipkgCase { ... }``, so every pattern, also one that
  is not connected to ``$this`` (an OPTIONAL on a variable the group leaves unbound), reads the
  focus node's own case only;
- every group graph pattern ``{ ... }`` that mentions ``$this`` (at any depth) starts with a
  pattern that binds ``$this`` to the focus nodes of the shape, recorded beforehand in each case's
  graph. ``$this`` is then bound wherever the original text reads it: in the main pattern, in each
  UNION branch, in OPTIONAL groups, in FILTER (NOT) EXISTS patterns and in sub-selects, so each
  focus node's solutions are exactly those of the pre-bound query, and an aggregate grouped by
  ``$this`` groups per focus node.

The scan skips strings, IRIs and comments, so a brace or ``$this`` inside them is never touched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Each case is a named graph of the store, which also records the focus nodes of each shape in it:
# GRAPH ?ipkgCase { ?this FOCUS_OF ?shape }.
FOCUS_OF = "urn:ipkg:batch:focusOf"
CASE_GRAPH_VARIABLE = "ipkgCase"
# rdflib's STR() of a blank node is the node's label, where SPARQL (and Oxigraph) make it an error;
# constraint texts call this function instead, which answers as rdflib does.
RDFLIB_STR = "urn:ipkg:batch:rdflibStr"
_STR_CALL = re.compile(r"(?<![\w:])STR(\s*\()", re.IGNORECASE)

_IRI = re.compile(r"<[^<>\"{}|^`\\\x00-\x20]*>")
_THIS = re.compile(r"(?<![\w$?])[?$]this(?![\w])")
_SELECT_AFTER = re.compile(r"\s*select\b", re.IGNORECASE)
# The pre-bound variables pySHACL substitutes other than $this; a text that reads one of them is
# not rewritten (its shape is validated by pySHACL).
UNSUPPORTED_VARIABLES = re.compile(r"(?<![\w$?])[?$](value|PATH|currentShape|shapesGraph|failure)(?![\w])")


class RewriteError(ValueError):
    """The constraint text cannot be rewritten (unbalanced braces, an unterminated string ...)."""


@dataclass(frozen=True)
class _Group:
    start: int  # index of "{"
    end: int  # index of the matching "}"
    subselect: bool


def _code_spans(text: str) -> tuple[list[tuple[int, int]], list[_Group]]:
    """The spans of query text outside strings, IRIs and comments, and the brace groups."""
    spans: list[tuple[int, int]] = []
    groups: list[_Group] = []
    stack: list[int] = []
    i = 0
    code_start = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == "#":
            spans.append((code_start, i))
            j = text.find("\n", i)
            i = n if j < 0 else j
            code_start = i
            continue
        if c in "\"'":
            spans.append((code_start, i))
            quote = c * 3 if text.startswith(c * 3, i) else c
            j = i + len(quote)
            while True:
                if j >= n:
                    raise RewriteError("unterminated string")
                if text[j] == "\\":
                    j += 2
                    continue
                if text.startswith(quote, j):
                    j += len(quote)
                    break
                if len(quote) == 1 and text[j] == "\n":
                    raise RewriteError("line break in a short string")
                j += 1
            i = j
            code_start = i
            continue
        if c == "<":
            m = _IRI.match(text, i)
            if m:
                spans.append((code_start, i))
                i = m.end()
                code_start = i
                continue
        if c == "{":
            stack.append(i)
        elif c == "}":
            if not stack:
                raise RewriteError("unbalanced braces")
            start = stack.pop()
            groups.append(_Group(start, i, bool(_SELECT_AFTER.match(text, start + 1))))
        i += 1
    spans.append((code_start, n))
    if stack:
        raise RewriteError("unbalanced braces")
    return spans, groups


def mentions_this(text: str) -> bool:
    spans, _ = _code_spans(text)
    return any(_THIS.search(text, a, b) for a, b in spans)


def reads_unsupported_variable(text: str) -> bool:
    """Whether the text reads a pre-bound variable other than $this ($value, $PATH ...).

    ``?value`` as an ordinary result variable is allowed: it is pre-bound only for property shapes.
    """
    spans, _ = _code_spans(text)
    for a, b in spans:
        for m in UNSUPPORTED_VARIABLES.finditer(text, a, b):
            if m.group(1) != "value":
                return True
    return False


def with_rdflib_str(text: str) -> str:
    """The text with each call of STR(...) outside strings, IRIs and comments replaced by RDFLIB_STR."""
    spans, _ = _code_spans(text)
    out = []
    last = 0
    for a, b in spans:
        out.append(text[last:a])
        out.append(_STR_CALL.sub(lambda m: f"<{RDFLIB_STR}>{m.group(1)}", text[a:b]))
        last = b
    out.append(text[last:])
    return "".join(out)


def _top_group(groups: list[_Group]) -> _Group:
    return min(groups, key=lambda g: g.start)


def wrap_in_case_graph(text: str) -> str:
    """The text with its WHERE pattern evaluated inside ``GRAPH ?ipkgCase`` (one case's graph)."""
    _, groups = _code_spans(text)
    if not groups:
        raise RewriteError("the constraint has no group pattern")
    top = _top_group(groups)
    return text[: top.start + 1] + f" GRAPH ?{CASE_GRAPH_VARIABLE} {{ " + text[top.start + 1 : top.end] + " } " + text[top.end :]


def bind_this_to_focus(text: str, shape_iri: str) -> str:
    """The constraint text for every focus node at once: its pattern inside its case's graph, and every
    group that reads ``$this`` bound to the shape's focus nodes (recorded in each case's graph)."""
    spans, groups = _code_spans(text)
    this_positions = [m.start() for a, b in spans for m in _THIS.finditer(text, a, b)]
    if not this_positions:
        raise RewriteError("the constraint does not read $this")
    top = _top_group(groups)
    focus = f" ?this <{FOCUS_OF}> <{shape_iri}> . "
    inserts: list[tuple[int, str]] = [(top.end, " } ")]
    for g in groups:
        if g.subselect or not any(g.start < p < g.end for p in this_positions):
            continue
        prefix = f" GRAPH ?{CASE_GRAPH_VARIABLE} {{" if g is top else ""
        inserts.append((g.start + 1, prefix + focus))
    if not any(pos == top.start + 1 for pos, _ in inserts):
        inserts.append((top.start + 1, f" GRAPH ?{CASE_GRAPH_VARIABLE} {{ "))
    out = text
    for pos, insert in sorted(inserts, key=lambda item: item[0], reverse=True):
        out = out[:pos] + insert + out[pos:]
    return out
