"""Goal progress: how far a figure has moved from its baseline toward its target, and whether
that is on track for the deadline. Pure: plain numbers and dates in, a verdict out."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l

STATUS_LABELS = {
    "done": _l("Reached"),
    "on_track": _l("On track"),
    "at_risk": _l("At risk"),
    "late": _l("Late"),
    "no_data": _l("No figure yet"),
}


@dataclass(frozen=True)
class Progress:
    """Where a goal stands on one day."""

    value: float | None
    share: float | None      # of the way from baseline to target: 0 at baseline, 1 at target
    expected: float          # the share a straight line from baseline to deadline expects by today
    status: str              # done, on_track, at_risk, late, no_data

    @property
    def label(self) -> str:
        """Translated status."""
        return str(STATUS_LABELS[self.status])


def progress(*, baseline: float, target: float, baseline_on: date, deadline: date, value: float | None,
             today: date, margin: float = 0.1) -> Progress:
    """Judge a goal: reached, on track (no more than ``margin`` behind a straight line), at risk or late.

    A target below the baseline is a goal to reduce something; the share is measured the same way.
    """
    span = (deadline - baseline_on).days
    expected = 1.0 if span <= 0 else min(1.0, max(0.0, (today - baseline_on).days / span))
    if value is None:
        return Progress(None, None, expected, "no_data")
    distance = target - baseline
    if distance == 0:
        reached = value >= target if target >= baseline else value <= target
        share = 1.0 if reached else 0.0
    else:
        share = (value - baseline) / distance
    if share >= 1.0:
        return Progress(value, share, expected, "done")
    if today > deadline:
        return Progress(value, share, expected, "late")
    status = "on_track" if share >= expected - margin else "at_risk"
    return Progress(value, share, expected, status)
