"""The service's index of the determinations it stores: the lists (GET /determinations) without a store query.

A list of determinations filters and sorts every stored determination; as a SPARQL query
(``kb/queries/list-determinations.rq``) that is a scan of the whole case base on every request, and
it must wait for a store snapshot that holds every acknowledged write. Where the service is the only
writer of its store (the embedded store, whose database lock admits one writer process), it keeps
this index instead: built once from the store with that same query, then given each determination
as its write is acknowledged (``Repository.save_prepared``). A list is then a filter and a sort of
the entries in memory, and holds every write acknowledged before it, like the query it replaces.
The entries carry exactly the query's columns, and a determination the query would leave out (one
without a requested code or a date of service) is left out here too.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property

from kb.namespaces import IP
from kb.store.base import Triple

DETERMINATION_GRAPH_PREFIX = "https://w3id.org/ipkg/graph/determination/"
COLUMNS = ("id", "outcome", "guideline", "code", "dos", "at")
_IRI = "u"  # a wire term's tag for an IRI (kb/store/terms.py)


@dataclass(frozen=True)
class DeterminationFilter:
    """The filters of a list (each None when not given)."""

    outcome: str | None = None
    guideline: str | None = None
    procedure: str | None = None
    service_from: dt.date | None = None
    service_to: dt.date | None = None


@dataclass(frozen=True)
class Entry:
    """One determination as a list shows it (lexical forms, as the query returns them)."""

    id: str
    outcome: str
    guideline: str
    code: str
    dos: str
    at: str

    def row(self) -> dict[str, str]:
        return dict(zip(COLUMNS, (self.id, self.outcome, self.guideline, self.code, self.dos, self.at), strict=True))

    def instant(self) -> dt.datetime:
        return self._instant

    def service_date(self) -> dt.date | None:
        return self._service_date

    # Parsed once per entry: every list sorts and may filter all of them.
    @cached_property
    def _instant(self) -> dt.datetime:
        return instant(self.at)

    @cached_property
    def _service_date(self) -> dt.date | None:
        try:
            return dt.date.fromisoformat(self.dos)
        except ValueError:
            return None

    def matches(self, flt: DeterminationFilter) -> bool:
        if flt.outcome is not None and self.outcome != flt.outcome:
            return False
        if flt.guideline is not None and self.guideline != flt.guideline:
            return False
        if flt.procedure is not None and self.code != flt.procedure:
            return False
        if flt.service_from is not None or flt.service_to is not None:
            day = self.service_date()
            if day is None:
                return False
            if flt.service_from is not None and day < flt.service_from:
                return False
            if flt.service_to is not None and day > flt.service_to:
                return False
        return True


def instant(lexical: str) -> dt.datetime:
    """An ``xsd:dateTime`` as a comparable instant (one without a time zone is taken as UTC)."""
    try:
        when = dt.datetime.fromisoformat(lexical.replace("Z", "+00:00"))
    except ValueError:
        return dt.datetime.min.replace(tzinfo=dt.UTC)
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


# The determination graph's properties behind the list's columns.
_COLUMN_OF = {
    str(IP.outcome): "outcome",
    str(IP.underGuideline): "guideline",
    str(IP.requestedCode): "code",
    str(IP.serviceDate): "dos",
    str(IP.determinedAt): "at",
}


def entry_from_graph(det_id: str, triples: Iterable[Triple], guideline_numbers: Mapping[str, str]) -> Entry | None:
    """The entry of a determination from its graph's triples (wire terms), or None when the list query
    would not show it (a column missing)."""
    values: dict[str, str] = {}
    determination = False
    for _, predicate, obj in triples:
        if predicate[1] in _COLUMN_OF:
            values.setdefault(_COLUMN_OF[predicate[1]], obj[1])
        if obj[0] == _IRI and obj[1] == str(IP.Determination):
            determination = True
    if not determination or len(values) < len(_COLUMN_OF):
        return None
    number = guideline_numbers.get(values["guideline"])
    if number is None:
        return None
    outcome = values["outcome"].rpartition("#")[2].lower()
    return Entry(det_id, outcome, number, values["code"], values["dos"], _canonical_instant(values["at"]))


def _canonical_instant(lexical: str) -> str:
    """An xsd:dateTime as the store returns it (its canonical form writes UTC as "Z")."""
    return lexical[: -len("+00:00")] + "Z" if lexical.endswith(("+00:00", "-00:00")) else lexical


class DeterminationIndex:
    """The entries by determination id; safe to use from several threads."""

    def __init__(self, entries: Iterable[Entry] = ()) -> None:
        self._lock = threading.Lock()
        self._entries = {e.id: e for e in entries}

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def add(self, entry: Entry) -> None:
        with self._lock:
            self._entries[entry.id] = entry

    def page(self, flt: DeterminationFilter, limit: int, offset: int) -> tuple[int, list[dict[str, str]]]:
        """The number of entries that match and one page of them, newest first (then by id)."""
        with self._lock:
            matching = [e for e in self._entries.values() if e.matches(flt)]
        matching.sort(key=lambda e: e.id)
        matching.sort(key=Entry.instant, reverse=True)
        start = max(int(offset), 0)
        return len(matching), [e.row() for e in matching[start : start + max(int(limit), 0)]]
