"""A linear scan of a SPARQL request's text, run before the parser sees it.

It bounds what a parser would otherwise spend stack and time on (nesting depth, number of
``FROM`` / ``FROM NAMED`` clauses) and gives friendly early answers (``SERVICE`` is refused, an
update is named as such). It is not the protection against outbound access: the process that
evaluates queries has no network at all (``kb.store.sandbox``), whatever this scan concludes.

The scan tokenizes the way the SPARQL grammar does (comments, strings, IRIs, variables and
prefixed names are single tokens, so brackets or keywords inside them do not count). ``SERVICE``
is looked for twice, in the text as written and after decoding ``\\uXXXX`` / ``\\UXXXXXXXX``
escapes, so that parsers that disagree on where escapes apply cannot hide it from the scan.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin

from kb.store.base import QueryRefusedError

TOKEN = re.compile(
    r"""
      (?P<comment>\#[^\n\r]*)
    | (?P<string>'''(?:[^'\\]|\\.|'(?!''))*'''|\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
        |'(?:[^'\\\n\r]|\\.)*'|"(?:[^"\\\n\r]|\\.)*")
    | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
    | (?P<var>[?$][A-Za-z0-9_\u00b7\u00c0-\uffff]+)
    | (?P<pname>(?:[A-Za-z_\u00c0-\uffff][\w.\-\u00b7\u00c0-\uffff]*)?:[\w.\-:%\\\u00b7\u00c0-\uffff]*)
    | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<open>[({\[])
    | (?P<close>[)}\]])
    """,
    re.VERBOSE | re.DOTALL,
)
ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
UPDATE_KEYWORDS = {"insert", "delete", "load", "clear", "create", "drop", "copy", "move", "add", "with"}
PROLOGUE_KEYWORDS = {"base", "prefix"}

UPDATE_REFUSED = "this endpoint answers queries only; SPARQL Update is refused"
SERVICE_REFUSED = "federated queries (SERVICE) are not evaluated: this endpoint never reaches the network"


@dataclass(frozen=True)
class Scan:
    depth: int
    dataset_clauses: int
    has_service: bool
    first_keyword: str
    dataset_iris: tuple[str, ...] = ()
    """The graphs FROM / FROM NAMED name, resolved against PREFIX and BASE where the text says how."""


def _decode_escapes(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        code = int(match.group(1) or match.group(2), 16)
        return chr(code) if code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else match.group(0)

    return ESCAPE.sub(one, text)


def scan(text: str, max_depth: int, base_iri: str | None = None) -> Scan:
    """One pass over the tokens; refuses (400) as soon as the nesting passes ``max_depth``."""
    depth = deepest = froms = 0
    has_service = False
    first = ""
    prefixes: dict[str, str] = {}
    base = base_iri or ""
    graphs: list[str] = []
    previous: list[str] = ["", ""]  # the two tokens before, lower-cased words or the kind of token
    pending_prefix = ""
    for match in TOKEN.finditer(text):
        kind = match.lastgroup
        value = match.group()
        if kind == "comment":
            continue
        if kind == "iri":
            iri = value[1:-1]
            if previous[-1] == "base":
                base = urljoin(base, iri)
            elif previous[-1] == "pname" and previous[-2] == "prefix":
                prefixes[pending_prefix] = urljoin(base, iri)
            elif previous[-1] == "from" or (previous[-1] == "named" and previous[-2] == "from"):
                graphs.append(urljoin(base, iri))
        elif kind == "pname":
            if previous[-1] == "prefix":
                pending_prefix = value[:-1]
            elif previous[-1] == "from" or (previous[-1] == "named" and previous[-2] == "from"):
                prefix, _, local = value.partition(":")
                if prefix in prefixes:
                    graphs.append(prefixes[prefix] + local)
        previous = [previous[-1], value.lower() if kind == "word" else str(kind)]
        if kind == "open":
            depth += 1
            if depth > max_depth:
                raise QueryRefusedError(
                    400, "Query nested too deeply", f"the query nests brackets more than {max_depth} levels deep"
                )
            deepest = max(deepest, depth)
        elif kind == "close":
            depth = max(depth - 1, 0)
        elif kind == "word":
            word = match.group().lower()
            if word == "from":
                froms += 1
            elif word == "service":
                has_service = True
            if not first and word not in PROLOGUE_KEYWORDS:
                first = word
    return Scan(
        depth=deepest, dataset_clauses=froms, has_service=has_service, first_keyword=first, dataset_iris=tuple(graphs)
    )


def mentions_service(text: str) -> bool:
    """Whether SERVICE appears as a keyword, in the text as written or with its escapes decoded."""
    if any(m.lastgroup == "word" and m.group().lower() == "service" for m in TOKEN.finditer(text)):
        return True
    decoded = _decode_escapes(text)
    return decoded != text and any(
        m.lastgroup == "word" and m.group().lower() == "service" for m in TOKEN.finditer(decoded)
    )


def check_text(
    text: str, max_depth: int, max_dataset_graphs: int, protocol_graphs: int, base_iri: str | None = None
) -> Scan:
    """Refuse what the scan can tell before parsing: too deep, too many graphs, SERVICE."""
    result = scan(text, max_depth, base_iri)
    if result.dataset_clauses + protocol_graphs > max_dataset_graphs:
        raise QueryRefusedError(
            400,
            "Too many graphs",
            f"the request names {result.dataset_clauses + protocol_graphs} graphs (FROM, FROM NAMED, default-graph-uri, "
            f"named-graph-uri); the limit is {max_dataset_graphs}",
        )
    if result.has_service or mentions_service(text):
        raise QueryRefusedError(400, "SERVICE is refused", SERVICE_REFUSED)
    return result


def looks_like_update(result: Scan) -> bool:
    return result.first_keyword in UPDATE_KEYWORDS
