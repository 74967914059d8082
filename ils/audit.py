"""Writing the audit trail: one row per login, failed login and staff change."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, TypedDict, Unpack

from sqlalchemy import insert

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


class EventFields(TypedDict, total=False):
    """The optional parts of an audit event (``record`` and ``write`` take them as keywords)."""

    object_type: str | None
    object_id: Any
    library_id: int | None
    details: dict[str, Any] | None
    now: datetime | None  # when it happened (default: now)


def _row(actor: Actor, action: str, *, object_type: str | None = None, object_id: Any = None,
         library_id: int | None = None, details: dict[str, Any] | None = None,
         now: datetime | None = None) -> dict[str, Any]:
    """The column values of one audit row (an unknown keyword is a TypeError, as it should be)."""
    clean = {k: v for k, v in (details or {}).items() if k not in SECRET_FIELDS}
    return {"at": now or utcnow(), "actor_id": actor.user_id, "actor_label": actor.label, "action": action,
            "object_type": object_type, "object_id": None if object_id is None else str(object_id),
            "library_id": library_id, "ip": actor.ip, "details": clean}


def record(actor: Actor, action: str, **fields: Unpack[EventFields]) -> AuditEvent:
    """Add an audit event to the session (the caller commits)."""
    event = AuditEvent(**_row(actor, action, **fields))
    db.session.add(event)
    return event


# Built once: the statement keeps its compiled form and cache key between requests.
_INSERT = insert(AuditEvent.__table__)


def write(actor: Actor, action: str, **fields: Unpack[EventFields]) -> None:
    """``record`` for the busiest paths (checkout, check-in): the row is inserted at once, without an ORM object.

    Same row, same transaction (the caller commits or rolls back); it saves the unit-of-work flush
    that one new object costs. Code that writes many events in one go keeps using ``record``, whose
    rows the ORM inserts together.
    """
    db.session.execute(_INSERT, _row(actor, action, **fields))
