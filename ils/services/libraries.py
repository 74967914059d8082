"""Library network services: list, read, create, edit, deactivate. Every call is scoped."""
from __future__ import annotations

import re
from datetime import date, datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ils import audit
from ils.authz import Actor, can, require, visible_library_ids
from ils.errors import Conflict, NotFound, ValidationFailed
from ils.extensions import db
from ils.models import WEEKDAYS, Library, LibraryType

CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,15}$")
TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
# Fields a library's own librarian may change; the rest is network-level (library.manage).
SETTINGS_FIELDS = ("name", "address", "phone", "email", "website", "opening_hours", "opac_public",
                   "kelurahan", "kecamatan")
MANAGE_FIELDS = SETTINGS_FIELDS + ("code", "type", "npp", "parent_id", "timezone")
AUDITED = MANAGE_FIELDS + ("active",)
REQUIRED = {"code": _l("The code is required."), "name": _l("The name is required."),
            "type": _l("Choose a library type from the list.")}


def _snapshot(library: Library) -> dict[str, Any]:
    return {field: getattr(library, field) for field in AUDITED}


def normalise_opening_hours(value: Any) -> dict[str, list[list[str]]]:
    """Validate {"mon": [["08:00","12:00"], ...], ...}; sort intervals; refuse overlaps."""
    if value is None:
        return {day: [] for day in WEEKDAYS}
    if not isinstance(value, dict) or set(value) - set(WEEKDAYS):
        raise ValidationFailed(_l("Opening hours must be given per weekday."), field="opening_hours")
    result: dict[str, list[list[str]]] = {}
    for day in WEEKDAYS:
        intervals = []
        for pair in value.get(day) or []:
            if (not isinstance(pair, (list, tuple)) or len(pair) != 2
                    or not all(isinstance(t, str) and TIME_RE.match(t) for t in pair)):
                raise ValidationFailed(_l("Use the form 08:00-16:00 for opening hours."),
                                       field="opening_hours")
            if pair[0] >= pair[1]:
                raise ValidationFailed(_l("Closing time must be after opening time."),
                                       field="opening_hours")
            intervals.append([pair[0], pair[1]])
        intervals.sort()
        for earlier, later in zip(intervals, intervals[1:], strict=False):
            if later[0] < earlier[1]:
                raise ValidationFailed(_l("Opening hours on one day must not overlap."),
                                       field="opening_hours")
        result[day] = intervals
    return result


def _clean(data: dict[str, Any], allowed: tuple[str, ...]) -> dict[str, Any]:
    """Keep allowed fields, strip strings, validate shapes."""
    clean: dict[str, Any] = {}
    for key in allowed:
        if key not in data:
            continue
        value = data[key]
        if isinstance(value, str):
            value = value.strip() or None
        clean[key] = value
    if "code" in clean:
        code = (clean["code"] or "").upper()
        if not CODE_RE.match(code):
            raise ValidationFailed(
                _l("The code must be 2-16 capital letters, digits or dashes (for example PUKB)."),
                field="code")
        clean["code"] = code
    if "name" in clean and not clean["name"]:
        raise ValidationFailed(_l("The name is required."), field="name")
    if "type" in clean:
        try:
            clean["type"] = LibraryType(clean["type"])
        except ValueError:
            raise ValidationFailed(_l("Choose a library type from the list."), field="type") from None
    if "timezone" in clean:
        clean["timezone"] = clean["timezone"] or "Asia/Makassar"
        try:
            ZoneInfo(clean["timezone"])
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationFailed(_l("Unknown time zone."), field="timezone") from None
    if "opening_hours" in clean:
        clean["opening_hours"] = normalise_opening_hours(clean["opening_hours"])
    if "opac_public" in clean:
        clean["opac_public"] = bool(clean["opac_public"])
    if clean.get("email") and "@" not in clean["email"]:
        raise ValidationFailed(_l("The e-mail address is not valid."), field="email")
    return clean


def _check_unique(clean: dict[str, Any], library_id: int | None) -> None:
    for field, message in (("code", _l("Another library already uses this code.")),
                           ("npp", _l("Another library already has this NPP."))):
        value = clean.get(field)
        if value is None:
            continue
        stmt = select(Library.id).where(getattr(Library, field) == value)
        if library_id is not None:
            stmt = stmt.where(Library.id != library_id)
        if db.session.scalar(stmt) is not None:
            raise Conflict(message, field=field)


def _check_parent(parent_id: Any, library_id: int | None) -> int | None:
    if parent_id in (None, "", 0):
        return None
    parent = db.session.get(Library, int(parent_id))
    if parent is None:
        raise ValidationFailed(_l("The parent library does not exist."), field="parent_id")
    seen = set()
    node: Library | None = parent
    while node is not None and node.id not in seen:
        if node.id == library_id:
            raise ValidationFailed(_l("A library cannot be its own parent."), field="parent_id")
        seen.add(node.id)
        node = node.parent
    return parent.id


def list_libraries(*, actor: Actor, include_inactive: bool = True,
                   type_: LibraryType | None = None) -> list[Library]:
    """Libraries the actor may see, ordered by name."""
    stmt = select(Library).order_by(Library.name)
    ids = visible_library_ids(actor)
    if ids is not None:
        stmt = stmt.where(Library.id.in_(ids))
    if not include_inactive:
        stmt = stmt.where(Library.active.is_(True))
    if type_ is not None:
        stmt = stmt.where(Library.type == type_)
    return list(db.session.scalars(stmt))


def public_directory() -> list[Library]:
    """Active service points for the public directory (no parent organisations)."""
    stmt = (select(Library).where(Library.active.is_(True), Library.type != LibraryType.INDUK)
            .order_by(Library.name))
    return list(db.session.scalars(stmt))


def get_library(*, actor: Actor, library_id: int) -> Library:
    """One library, if the actor may view it."""
    library = db.session.get(Library, library_id)
    if library is None:
        raise NotFound()
    require(actor, "library.view", library.id)
    return library


def get_by_code(code: str) -> Library | None:
    """Look a library up by its code (for CLI and demo; not scoped)."""
    return db.session.scalar(select(Library).where(Library.code == code.upper()))


def create_library(*, actor: Actor, data: dict[str, Any], now: datetime | None = None) -> Library:
    """Create a library (network level: admin or DPK)."""
    require(actor, "library.manage")
    clean = _clean(data, MANAGE_FIELDS)
    for field, message in REQUIRED.items():
        if not clean.get(field):
            raise ValidationFailed(message, field=field)
    _check_unique(clean, None)
    clean["parent_id"] = _check_parent(clean.get("parent_id"), None)
    clean.setdefault("opening_hours", normalise_opening_hours(None))
    clean.setdefault("timezone", "Asia/Makassar")
    library = Library(**clean)
    db.session.add(library)
    db.session.flush()
    audit.record(actor, "library.create", object_type="library", object_id=library.id,
                 library_id=library.id, details={"changes": audit.diff({}, _snapshot(library))}, now=now)
    return library


def update_library(*, actor: Actor, library_id: int, data: dict[str, Any],
                   now: datetime | None = None) -> Library:
    """Edit a library: its librarian may change settings; admin/DPK everything."""
    library = get_library(actor=actor, library_id=library_id)
    require(actor, "library.settings", library.id)
    # Fields outside the librarian's settings need the network-level permission.
    allowed = MANAGE_FIELDS if can(actor, "library.manage") else SETTINGS_FIELDS
    clean = _clean(data, allowed)
    _check_unique(clean, library.id)
    if "parent_id" in clean:
        clean["parent_id"] = _check_parent(clean["parent_id"], library.id)
    before = _snapshot(library)
    for key, value in clean.items():
        setattr(library, key, value)
    db.session.flush()
    changes = audit.diff(before, _snapshot(library))
    if changes:
        audit.record(actor, "library.update", object_type="library", object_id=library.id,
                     library_id=library.id, details={"changes": changes}, now=now)
    return library


def set_library_active(*, actor: Actor, library_id: int, active: bool,
                       now: datetime | None = None) -> Library:
    """Deactivate (or reactivate) a library; its data stays, its staff can no longer log in."""
    library = get_library(actor=actor, library_id=library_id)
    require(actor, "library.manage")
    if library.active != active:
        library.active = active
        audit.record(actor, "library.activate" if active else "library.deactivate",
                     object_type="library", object_id=library.id, library_id=library.id, now=now)
    db.session.flush()
    return library


def count_by_type(*, only_active: bool = True) -> dict[str, int]:
    """Number of libraries per type (network statistics, not scoped)."""
    stmt = select(Library.type, func.count()).group_by(Library.type)
    if only_active:
        stmt = stmt.where(Library.active.is_(True))
    return {row[0].value: row[1] for row in db.session.execute(stmt)}


def library_today(library_id: int | None, now: datetime | None = None) -> date:
    """Today's date in the library's timezone (the network default when unknown)."""
    library = db.session.get(Library, library_id) if library_id is not None else None
    zone = library.timezone if library is not None else current_app.config["ILS_DEFAULT_TIMEZONE"]
    return (now or datetime.now(timezone.utc)).astimezone(ZoneInfo(zone)).date()
