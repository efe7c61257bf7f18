"""The metrics page's chart: horizontal stacked bars of outcomes per guideline, as inline SVG geometry.

The template draws the rectangles; each bar also carries its figures as text, and the page repeats
every figure in a table, so the chart is never the only way to read them. Outcomes are told apart by
pattern-free colours *and* by their order and the legend's labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

OUTCOME_STYLE = (("approved", "#1a7f37"), ("denied", "#b42318"), ("pended", "#9a6700"), ("excluded", "#6e7781"))
LABEL_WIDTH = 190
BAR_WIDTH = 460
ROW_HEIGHT = 30
TOP = 34


@dataclass(frozen=True)
class Segment:
    outcome: str
    colour: str
    x: float
    width: float
    count: int


@dataclass(frozen=True)
class Bar:
    label: str
    y: float
    total: int
    segments: tuple[Segment, ...]
    summary: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    label_width: int
    bar_width: int
    bars: tuple[Bar, ...]
    legend: tuple[tuple[str, str, float], ...]


def outcome_chart(rows: list[dict[str, Any]]) -> Chart:
    """One bar per row (period and guideline), its length proportional to the largest request count."""
    largest = max((int(r["requests"]) for r in rows), default=0) or 1
    bars = []
    for index, row in enumerate(rows):
        x = float(LABEL_WIDTH)
        segments = []
        for outcome, colour in OUTCOME_STYLE:
            count = int(row[outcome])
            width = BAR_WIDTH * count / largest
            if count:
                segments.append(Segment(outcome, colour, x, width, count))
            x += width
        summary = ", ".join(f"{s.count} {s.outcome}" for s in segments) or "no requests"
        label = f"{row['period']} {row['guideline']}"
        bars.append(Bar(label, TOP + index * ROW_HEIGHT, int(row["requests"]), tuple(segments), summary))
    legend = tuple((outcome, colour, float(LABEL_WIDTH + i * 110)) for i, (outcome, colour) in enumerate(OUTCOME_STYLE))
    return Chart(LABEL_WIDTH + BAR_WIDTH + 90, TOP + len(bars) * ROW_HEIGHT + 10, LABEL_WIDTH, BAR_WIDTH, tuple(bars), legend)
