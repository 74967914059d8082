"""Network-level figures: metrics for workflows and the network summary report job."""
from __future__ import annotations

import time
from datetime import date
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ils import metrics
from ils.authz import Actor, require
from ils.extensions import db
from ils.jobs import JobContext, enqueue, register_job
from ils.models import JobRecord, Library, LibraryType, StaffUser


@metrics.register("ils.libraries.active", description="Active service points (parents excluded)")
def libraries_active(library_id: int | None, start: date | None, end: date | None) -> float:
    """Active libraries in the network, or 1/0 for one library."""
    stmt = select(func.count()).select_from(Library).where(Library.active.is_(True),
                                                           Library.type != LibraryType.INDUK)
    if library_id is not None:
        stmt = stmt.where(Library.id == library_id)
    return float(db.session.scalar(stmt) or 0)


@metrics.register("ils.staff.active", description="Active staff accounts")
def staff_active(library_id: int | None, start: date | None, end: date | None) -> float:
    """Active staff accounts of a library (or the network)."""
    stmt = select(func.count()).select_from(StaffUser).where(StaffUser.active.is_(True))
    if library_id is not None:
        stmt = stmt.where(StaffUser.library_id == library_id)
    return float(db.session.scalar(stmt) or 0)


@metrics.register("ils.opening_hours.weekly", description="Opening hours per week", unit="hours")
def weekly_hours(library_id: int | None, start: date | None, end: date | None) -> float:
    """Hours open per week (network: the sum over active service points)."""
    stmt = select(Library).where(Library.active.is_(True), Library.type != LibraryType.INDUK)
    if library_id is not None:
        stmt = stmt.where(Library.id == library_id)
    return round(sum(lib.weekly_open_minutes for lib in db.session.scalars(stmt)) / 60, 1)


def start_network_report(*, actor: Actor) -> JobRecord:
    """Start the summary for the actor's library (the whole network for admin and DPK)."""
    library_id = None if actor.network_wide else actor.library_id
    require(actor, "reports.run", library_id)
    return enqueue("ils.network_report", actor=actor, library_id=library_id, args={"library_id": library_id})


@register_job("ils.network_report", queue="reports", timeout=600,
              title=_l("Library network summary"))
def network_report(ctx: JobContext, library_id: int | None = None) -> dict[str, Any]:
    """Build the network summary: one row per library with staff, hours and OPAC visibility."""
    stmt = select(Library).where(Library.type != LibraryType.INDUK).order_by(Library.kecamatan, Library.name)
    if library_id is not None:
        stmt = stmt.where(Library.id == library_id)
    library_ids = list(db.session.scalars(stmt.with_only_columns(Library.id)))
    step_pause = float(current_app.config["ILS_DEMO_REPORT_STEP_SECONDS"])
    rows: list[dict[str, Any]] = []
    by_type: dict[str, int] = {}
    for index, lib_id in enumerate(library_ids, start=1):
        library = db.session.get(Library, lib_id)
        if library is None:  # deleted while the report ran
            continue
        staff = int(metrics.value("ils.staff.active", library_id=lib_id))
        hours = metrics.value("ils.opening_hours.weekly", library_id=lib_id)
        rows.append({"code": library.code, "name": library.name, "type": library.type.value,
                     "kecamatan": library.kecamatan or "", "active": library.active,
                     "staff": staff, "hours_per_week": hours, "opac_public": library.opac_public,
                     "npp": library.npp or ""})
        if library.active:
            by_type[library.type.value] = by_type.get(library.type.value, 0) + 1
        ctx.progress(100 * index / max(len(library_ids), 1),
                     str(_l("%(done)s of %(total)s libraries", done=index, total=len(library_ids))))
        if step_pause:
            time.sleep(step_pause)  # after the commit: the report holds no lock while it pauses
    return {
        "libraries": rows,
        "by_type": by_type,
        "total_active": sum(by_type.values()),
        "total_staff": sum(r["staff"] for r in rows),
    }
