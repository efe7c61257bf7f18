"""Conservative therapy as ranges: what the documented episodes guarantee and what they may still give.

A criterion such as "failure to respond to non-operative conservative therapy targeting the requested
spinal region for a minimum of 6 weeks in the last 6 months" (NIA_CG_300 CG300-CT6W) reads episodes
whose response, region or dates may be unrecorded. Following the three-valued rule
(docs/architecture.md, "The three-valued rule"), each count is derived twice:

- **documented**: episodes recorded with ``ip:failedToRespond true``, not documented absent, targeting
  the region (when a region is asked for), over the days their dates make certain (a start known to
  the month counts from the month's last day, an end known to the month up to its first day; an
  episode without a start date contributes no documented day);
- **possible**: every episode whose response is failed or unrecorded, not documented absent,
  targeting the region or with no region recorded, over the days its dates allow at the most (a start
  known to the month counts from the month's first day; an episode without a start date from the
  window start, or, with no window, from the member's birth date when recorded, else from
  ``UNBOUNDED_YEARS`` years before the date of service).

Days after the date of service never count. A recorded history is taken as the whole history: the
unknowns are the attributes of the recorded episodes, never episodes nobody recorded.

Guideline modules call :func:`therapy_days`; :func:`derive_generic` writes the request facts
the shared shapes read (their ``ip:derivedBy`` texts are in ontology/determination.ttl).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rdflib import Literal, URIRef
from rdflib.term import Node

from kb.dates import add_months, covered_days, date_interval
from kb.namespaces import IP
from kb.terms import FALSE, TRUE, boolean_literal, date_literal, integer_literal

if TYPE_CHECKING:
    from kb.pipeline.enrichment import Enricher

UNBOUNDED_YEARS = 120


@dataclass(frozen=True)
class TherapyEpisode:
    """One recorded conservative therapy episode, its dates as intervals capped at the date of service."""

    node: Node
    modality: Node | None
    regions: frozenset[Node]
    response: bool | None  # ip:failedToRespond: True failed, False responded, None unrecorded
    absent: bool
    start_earliest: dt.date | None  # None: no start date recorded
    start_latest: dt.date | None
    end_earliest: dt.date  # the date of service when no end date is recorded (ongoing)
    end_latest: dt.date

    def targets(self, region: Node | None) -> bool | None:
        """True when the episode targets ``region`` (or no region is asked), False when it targets only
        other regions, None when it records no region."""
        if region is None:
            return True
        if region in self.regions:
            return True
        return None if not self.regions else False

    def documented_interval(self, window_start: dt.date | None) -> tuple[dt.date, dt.date] | None:
        if self.start_latest is None:
            return None
        start = max(self.start_latest, window_start) if window_start else self.start_latest
        return (start, self.end_earliest) if start <= self.end_earliest else None

    def possible_interval(self, window_start: dt.date | None, floor: dt.date) -> tuple[dt.date, dt.date] | None:
        start = self.start_earliest if self.start_earliest is not None else (window_start or floor)
        if window_start:
            start = max(start, window_start)
        return (start, self.end_latest) if start <= self.end_latest else None


def episodes(enricher: Enricher) -> tuple[TherapyEpisode, ...]:
    """The patient's therapy episodes that may have begun on or before the date of service.

    Read once per enricher: enrichment writes none of the facts an episode is read from (the
    episodes, their dates, modality, regions, response and documented negatives), and the therapy
    rules ask for the episodes about fifteen times per case. (The reading stays in this function's
    body: the questionnaires read which terms a function reads from its body, kb.completion.reads.)
    """
    if enricher.therapy_episodes is not None:
        return enricher.therapy_episodes
    g, dos = enricher.g, enricher.dos
    found = []
    for node in g.objects(enricher.patient, IP.hasTherapyEpisode):
        start = date_interval(g.value(node, IP.startDate))
        if start is not None and start.earliest > dos:
            continue
        end = date_interval(g.value(node, IP.endDate))
        end_earliest, end_latest = (min(end.earliest, dos), min(end.latest, dos)) if end else (dos, dos)
        response = g.value(node, IP.failedToRespond)
        found.append(
            TherapyEpisode(
                node=node,
                modality=g.value(node, IP.modality),
                regions=frozenset(g.objects(node, IP.targetsRegion)),
                response=response.toPython() if isinstance(response, Literal) else None,
                absent=enricher.absent(node),
                start_earliest=start.earliest if start else None,
                start_latest=min(start.latest, dos) if start else None,
                end_earliest=end_earliest,
                end_latest=end_latest,
            )
        )
    enricher.therapy_episodes = tuple(sorted(found, key=lambda e: str(e.node)))
    return enricher.therapy_episodes


def floor_date(enricher: Enricher) -> dt.date:
    """The earliest day an episode without a start date may have begun (no window)."""
    birth = date_interval(enricher.g.value(enricher.patient, IP.birthDate))
    if birth is not None:
        return min(birth.earliest, enricher.dos)
    return add_months(enricher.dos, -12 * UNBOUNDED_YEARS)


def counts_documented(episode: TherapyEpisode, region: Node | None) -> bool:
    return not episode.absent and episode.response is True and episode.targets(region) is True


def counts_possibly(episode: TherapyEpisode, region: Node | None) -> bool:
    return not episode.absent and episode.response is not False and episode.targets(region) is not False


def therapy_days(
    enricher: Enricher,
    *,
    region: Node | None = None,
    window_start: dt.date | None = None,
    documented: bool,
    predicate: Callable[[TherapyEpisode], bool] | None = None,
) -> int:
    """Days covered by failed conservative therapy up to the date of service, each day counted once.

    ``region``: only episodes targeting it (None: any region). ``window_start``: only days on or after
    it. ``documented``: True for the days the documented facts guarantee, False for the days possible
    if every unrecorded response, region and date came out favourably (module docstring).
    ``predicate``: a further condition on the episode (a modality, say) the guideline asks for.
    """
    floor = floor_date(enricher)
    intervals = []
    for episode in episodes(enricher):
        if predicate is not None and not predicate(episode):
            continue
        if documented:
            if counts_documented(episode, region):
                interval = episode.documented_interval(window_start)
                if interval:
                    intervals.append(interval)
        elif counts_possibly(episode, region):
            interval = episode.possible_interval(window_start, floor)
            if interval:
                intervals.append(interval)
    return covered_days(intervals)


def unknown_episodes(
    enricher: Enricher, *, region: Node | None = None, window_start: dt.date | None = None
) -> list[TherapyEpisode]:
    """Episodes that count toward the possible days but not (fully) toward the documented ones:
    unrecorded response, unrecorded region, or a date not known to the day (the unknowns that can
    change a therapy criterion)."""
    floor = floor_date(enricher)
    unknown = []
    for episode in episodes(enricher):
        if not counts_possibly(episode, region) or episode.possible_interval(window_start, floor) is None:
            continue
        if not counts_documented(episode, region) or episode.documented_interval(window_start) != episode.possible_interval(
            window_start, floor
        ):
            unknown.append(episode)
    return unknown


# ---------------------------------------------------------------- active component (NIA_CG_300 CG300-CT6W)


def is_active(enricher: Enricher, episode: TherapyEpisode) -> bool:
    return isinstance(episode.modality, URIRef) and IP.ActiveModality in enricher.kb.individual_types.get(episode.modality, ())


def hep_counts(enricher: Enricher, episode: TherapyEpisode, *, documented: bool) -> bool:
    """A home exercise program counts with a documented prescription and documented completion or a
    medical reason for non-completion (NIA_CG_300, conservative therapy footnote). Possibly: neither
    is recorded as missing (prescription not false, no non-medical reason without completion)."""
    if episode.modality != IP.HomeExerciseProgram:
        return True
    g, node = enricher.g, episode.node
    prescription = g.value(node, IP.hepPrescriptionDocumented)
    completed = (node, IP.hepCompletionDocumented, TRUE) in g
    reason = g.value(node, IP.hepNonCompletionReason)
    medical = isinstance(reason, URIRef) and IP.MedicalHEPNonCompletionReason in enricher.kb.individual_types.get(reason, ())
    if documented:
        return prescription == TRUE and (completed or medical)
    nonmedical = isinstance(reason, URIRef) and not medical
    return prescription != FALSE and not (nonmedical and not completed)


def active_component(enricher: Enricher, *, region: Node | None, window_start: dt.date | None, documented: bool) -> bool:
    """Whether a failed active episode (physical therapy, chiropractic care, a counting HEP ...)
    targeting the region falls (documented) or may fall (possible) within the window."""
    floor = floor_date(enricher)
    for episode in episodes(enricher):
        if not is_active(enricher, episode) or not hep_counts(enricher, episode, documented=documented):
            continue
        if documented and counts_documented(episode, region) and episode.documented_interval(window_start):
            return True
        if not documented and counts_possibly(episode, region) and episode.possible_interval(window_start, floor):
            return True
    return False


def ongoing_at_service(enricher: Enricher, *, documented: bool) -> bool:
    """Whether some recorded episode (any region, any response) is ongoing on the date of service:
    no end date, or an end on or after it (possibly: an end known to the month of the date of service)."""
    dos = enricher.dos
    for episode in episodes(enricher):
        if episode.absent:
            continue
        raw_end = date_interval(enricher.g.value(episode.node, IP.endDate))
        end = raw_end.earliest if documented and raw_end else (raw_end.latest if raw_end else dos)
        if end >= dos:
            return True
    return False


def derive_generic(enricher: Enricher) -> None:
    """Write the generic therapy facts on the request (and ip:effectiveEndDate on each episode)."""
    region, ref6 = enricher.region, enricher.ref6
    for episode in episodes(enricher):
        enricher.g.add((episode.node, IP.effectiveEndDate, date_literal(episode.end_latest)))
    for prop, window, documented in (
        (IP.failedTherapyDays, None, True),
        (IP.possibleFailedTherapyDays, None, False),
        (IP.failedTherapyDaysLast6Months, ref6, True),
        (IP.possibleFailedTherapyDaysLast6Months, ref6, False),
    ):
        days = therapy_days(enricher, region=region, window_start=window, documented=documented)
        enricher.add(prop, integer_literal(days))
    for episode in unknown_episodes(enricher, region=region):
        enricher.add(IP.unknownTherapyEpisode, episode.node)
    for episode in unknown_episodes(enricher, region=region, window_start=ref6):
        enricher.add(IP.unknownTherapyEpisodeLast6Months, episode.node)
    if any(not e.absent and e.targets(region) is not False for e in episodes(enricher)):
        enricher.add(IP.regionTherapyRecorded, TRUE)
    enricher.add(
        IP.documentedActiveFailedTherapy,
        boolean_literal(active_component(enricher, region=region, window_start=ref6, documented=True)),
    )
    enricher.add(
        IP.possibleActiveFailedTherapy,
        boolean_literal(active_component(enricher, region=region, window_start=ref6, documented=False)),
    )
    for prop, documented in ((IP.documentedActiveFailedTherapyAnyTime, True), (IP.possibleActiveFailedTherapyAnyTime, False)):
        enricher.add(prop, boolean_literal(active_component(enricher, region=region, window_start=None, documented=documented)))
    enricher.add(IP.ongoingTherapyDocumented, boolean_literal(ongoing_at_service(enricher, documented=True)))
    enricher.add(IP.possibleOngoingTherapy, boolean_literal(ongoing_at_service(enricher, documented=False)))


def derive_standard_therapy(enricher: Enricher) -> None:
    """Write the facts of "failure to respond to a minimum of 12 weeks of standard therapies"
    (CG408-TS-THERAPY, also cited by NIA_CG_310): failed therapy of any region and modality, documented
    and possible, and the episodes whose unrecorded facts could change it."""
    enricher.add(IP.failedStandardTherapyDays, integer_literal(therapy_days(enricher, documented=True)))
    enricher.add(IP.possibleFailedStandardTherapyDays, integer_literal(therapy_days(enricher, documented=False)))
    for episode in unknown_episodes(enricher):
        enricher.add(IP.unknownStandardTherapyEpisode, episode.node)


__all__ = [
    "TherapyEpisode",
    "active_component",
    "derive_generic",
    "derive_standard_therapy",
    "episodes",
    "therapy_days",
    "unknown_episodes",
]
