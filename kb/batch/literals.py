"""Which literals an Oxigraph store keeps exactly as written.

An Oxigraph store keeps typed values in a canonical form: ``"05"^^xsd:integer`` is read back as
``"5"``, ``"50.0"^^xsd:decimal`` as ``"50"``, ``"1"^^xsd:boolean`` as ``"true"``, a derived integer
type such as ``xsd:int`` as ``xsd:integer``, and language tags in lower case. rdflib and pySHACL keep
the literal as the case wrote it, which a report shows (``sh:value``, messages) and a datatype
constraint reads. The set-based paths therefore load only the cases whose literals are all stable,
and hand any other case to pySHACL.
"""

from __future__ import annotations

import re
from functools import lru_cache

from rdflib import XSD, Literal
from rdflib.term import Node

# The lexical forms Oxigraph reads back unchanged, by datatype (a form that Oxigraph cannot parse
# as a value of the datatype is also kept, but it is refused here too: such a literal is rare).
_STABLE: dict[str, re.Pattern[str] | None] = {
    str(XSD.string): None,
    str(XSD.integer): re.compile(r"0|-?[1-9][0-9]{0,17}"),
    str(XSD.decimal): re.compile(r"-?(0|[1-9][0-9]{0,15})(\.[0-9]{0,15}[1-9])?"),
    str(XSD.boolean): re.compile(r"true|false"),
    str(XSD.date): re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"),
    str(XSD.gYearMonth): re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])"),
    str(XSD.gYear): re.compile(r"[0-9]{4}"),
}
_DECIMAL_ZERO = "-0"


def stable_in_oxigraph(term: Node) -> bool:
    """False for a literal an Oxigraph store would read back in another form or datatype."""
    if not isinstance(term, Literal):
        return True
    # By its parts: rdflib's Literal equality ignores the case of language tags, which matters here.
    return _stable(str(term), term.language, str(term.datatype) if term.datatype is not None else None)


@lru_cache(maxsize=65536)
def _stable(text: str, language: str | None, datatype: str | None) -> bool:
    if language is not None:
        return language == language.lower()
    kind = datatype or str(XSD.string)
    if kind not in _STABLE:
        return False
    pattern = _STABLE[kind]
    return pattern is None or (pattern.fullmatch(text) is not None and text != _DECIMAL_ZERO)
