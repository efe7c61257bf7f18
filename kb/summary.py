"""Readable one-case summaries for the command line."""

from __future__ import annotations

from kb.pipeline.determination import NOT_DOCUMENTED, PHASE_NAMES, REASON_NAMES, Determination


def summarize(det: Determination) -> str:
    lines = [
        f"{det.source}",
        f"  request:   {det.request}",
        f"  guideline: {det.guideline_number} ({PHASE_NAMES.get(det.phase, str(det.phase))})",
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
    if det.warnings:
        lines.append("  warnings:")
        lines.extend(f"    - {m}" for w in det.warnings for m in w.messages)
    return "\n".join(lines)
