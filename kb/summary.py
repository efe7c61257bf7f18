"""Readable one-case summaries for the command line."""

from __future__ import annotations

from kb.pipeline.caseform import short
from kb.pipeline.determination import NOT_DOCUMENTED, PHASE_NAMES, REASON_NAMES, CoveredLine, Determination


def _line(line: CoveredLine) -> str:
    details = [", ".join(line.levels)] if line.levels else []
    if line.side is not None:
        details.append(short(line.side))
    if line.units is not None:
        details.append(f"{line.units} unit{'s' if line.units != 1 else ''}")
    return f"CPT {line.code}" + (f" ({'; '.join(details)})" if details else "")


def summarize(det: Determination) -> str:
    lines = [
        f"{det.source}",
        f"  request:   {det.request}",
        f"  guideline: {', '.join(det.guideline_numbers or (det.guideline_number,))}"
        f" ({PHASE_NAMES.get(det.phase, str(det.phase))})",
        "  lines:     " + "; ".join(_line(line) for line in det.lines),
        f"  outcome:   {det.outcome.upper()}"
        + (f" ({', '.join(REASON_NAMES[r] for r in det.reason_categories)})" if det.reason_categories else ""),
    ]
    if det.satisfied_pathways:
        lines.append("  pathway met: " + "; ".join(p.label for p in det.satisfied_pathways))
    if det.deciding:
        lines.append("  deciding criteria:")
        for result in det.deciding:
            c = result.criterion
            lines.append(f"    {c.id} [{result.status}] {c.guideline_number}, {c.section_title}")
            lines.append(f'      "{c.text}"')
            if result.status != NOT_DOCUMENTED:
                lines.extend(f"      - {m}" for m in result.messages)
    if det.missing_documentation:
        lines.append("  missing documentation:")
        lines.extend(f"    - {item}" for _, item in det.missing_documentation)
    if det.explanation is not None:
        lines.extend(det.explanation.summary_lines())
    if det.warnings:
        lines.append("  warnings:")
        lines.extend(f"    - {m}" for w in det.warnings for m in w.messages)
    return "\n".join(lines)
