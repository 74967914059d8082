"""Writing the audit trail: one row per login, failed login and staff change."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ils.authz import Actor
from ils.extensions import db
from ils.mixins import utcnow
from ils.models import AuditEvent

# Never written to the audit trail, whatever a caller passes.
SECRET_FIELDS = frozenset({"password", "password_hash", "nik", "pin", "csrf_token"})


def _clean(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if hasattr(value, "value"):  # enums
        return value.value
    return value


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """Changed fields as {field: [old, new]}, secrets left out."""
    return {
        key: [_clean(before.get(key)), _clean(after.get(key))]
        for key in sorted(set(before) | set(after))
        if key not in SECRET_FIELDS and before.get(key) != after.get(key)
    }


def record(
    actor: Actor,
    action: str,
    *,
    object_type: str | None = None,
    object_id: Any = None,
    library_id: int | None = None,
    details: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> AuditEvent:
    """Add an audit event to the session (the caller commits)."""
    clean = {k: v for k, v in (details or {}).items() if k not in SECRET_FIELDS}
    event = AuditEvent(
        at=now or utcnow(),
        actor_id=actor.user_id,
        actor_label=actor.label,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        library_id=library_id,
        ip=actor.ip,
        details=clean,
    )
    db.session.add(event)
    return event
