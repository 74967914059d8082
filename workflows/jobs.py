"""Workflows background jobs: the nightly goal snapshot, step reminders, evidence clean-up."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l

from ils.extensions import db
from ils.jobs import JobContext, register_job
from ils.mixins import utcnow
from workflows.services import evidence, goals, instances


def city_today(now: datetime) -> Any:
    """Today's date in the city's timezone (goal figures are daily)."""
    return now.astimezone(ZoneInfo(current_app.config["ILS_DEFAULT_TIMEZONE"])).date()


@register_job("workflows.snapshot_goals", queue="default", timeout=30 * 60, title=_l("Record today's goal figures"))
def snapshot_goals(ctx: JobContext) -> dict[str, Any]:
    """Store today's figure of every open goal measured from live data (a rerun replaces it)."""
    now = utcnow()
    count = goals.snapshot_all(today=city_today(now), now=now)
    db.session.commit()
    return {"goals": count}


@register_job("workflows.purge_evidence", queue="default", timeout=30 * 60,
              title=_l("Remove evidence files no longer used"))
def purge_evidence(ctx: JobContext) -> dict[str, Any]:
    """Delete stored evidence files no row points at any more (older than an hour)."""
    return {"removed": evidence.purge_orphans()}


@register_job("workflows.send_reminders", queue="notices", timeout=30 * 60,
              title=_l("Remind libraries and the DPK of steps due"))
def send_reminders(ctx: JobContext) -> dict[str, Any]:
    """Put the reminders that have come due on their workflow timelines (a rerun sends nothing twice)."""
    count = instances.send_reminders(now=utcnow())
    db.session.commit()
    return {"reminders": count}
