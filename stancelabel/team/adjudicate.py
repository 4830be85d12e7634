"""Settling disagreements into gold labels: automatically where nobody disputes, by hand for the rest."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from stancelabel.core.errors import StanceLabelError
from stancelabel.store.project import Project

RULES = ("majority", "unanimous")


@dataclass
class AdjudicationReport:
    decided: int = 0
    already: int = 0
    left: int = 0
    single: int = 0


def settle(labels: dict[str, str], rule: str) -> str | None:
    """The label the rule settles on, or None when it does not decide (a tie, or any dissent for unanimous)."""
    counts = Counter(labels.values()).most_common()
    if not counts or len(labels) < 2:
        return None
    top, votes = counts[0]
    if rule == "unanimous":
        return top if votes == len(labels) else None
    return top if votes * 2 > len(labels) else None


def adjudicate_auto(project: Project, rule: str, adjudicator: str | None = None) -> AdjudicationReport:
    """Gold labels for the items labelled by at least two annotators that the rule settles.

    Items that already have a gold label keep it. The adjudicator is recorded as
    ``auto (majority)`` or ``auto (unanimous)`` unless named.
    """
    if rule not in RULES:
        raise StanceLabelError(f"unknown rule {rule!r} (one of {', '.join(RULES)})")
    who = adjudicator or f"auto ({rule})"
    report = AdjudicationReport()
    gold = project.gold()
    with project.transaction():
        for attribution_id, labels in project.labels_by_item().items():
            if len(labels) < 2:
                report.single += 1
                continue
            if attribution_id in gold:
                report.already += 1
                continue
            decided = settle(labels, rule)
            if decided is None:
                report.left += 1
                continue
            project.set_gold(attribution_id, who, decided)
            report.decided += 1
    return report
