"""Staff accounts: list, create, edit, deactivate, passwords, and logging in."""
from __future__ import annotations

from collections.abc import Callable

import re
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm import joinedload

from ils import audit, passwords
from ils.authz import Actor, may_grant, require, visible_library_ids
from ils.errors import Conflict, Forbidden, NotFound, ValidationFailed
from ils.extensions import db
from ils.mixins import utcnow
from ils.models import Library, Role, StaffUser

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
AUDITED = ("username", "full_name", "email", "role", "library_id", "locale", "active")
REQUIRED = {"username": _l("The username is required."), "full_name": _l("The full name is required."),
            "role": _l("Choose a role from the list.")}


def actor_for(user: StaffUser, ip: str | None = None) -> Actor:
    """The Actor a logged-in staff user acts as."""
    return Actor(label=user.username, role=user.role, user_id=user.id,
                 library_id=user.library_id, ip=ip)


def _snapshot(user: StaffUser) -> dict[str, Any]:
    return {field: getattr(user, field) for field in AUDITED}


def _require_staff_scope(actor: Actor, permission: str, user: StaffUser) -> None:
    """Network-wide accounts are visible to network-wide actors only; managing needs the role grant."""
    if user.library_id is None and not actor.network_wide:
        raise Forbidden()
    require(actor, permission, user.library_id)
    if permission == "staff.manage" and not may_grant(actor, user.role):
        raise Forbidden()


def may_manage(actor: Actor, user: StaffUser) -> bool:
    """True if the actor may edit, reset or deactivate this account (for showing buttons)."""
    try:
        _require_staff_scope(actor, "staff.manage", user)
    except Forbidden:
        return False
    return True


def list_staff(*, actor: Actor, library_id: int | None = None) -> list[StaffUser]:
    """Staff the actor may see, optionally of one library."""
    ids = visible_library_ids(actor)
    if library_id is not None:
        require(actor, "staff.view", library_id)
    elif ids is not None:
        require(actor, "staff.view", actor.library_id)
    else:
        require(actor, "staff.view")
    stmt = select(StaffUser).order_by(StaffUser.username)
    if library_id is not None:
        stmt = stmt.where(StaffUser.library_id == library_id)
    elif ids is not None:
        stmt = stmt.where(StaffUser.library_id.in_(ids))
    return list(db.session.scalars(stmt))


def get_staff(*, actor: Actor, staff_id: int, permission: str = "staff.view") -> StaffUser:
    """One staff account, if the actor may see it."""
    user = db.session.get(StaffUser, staff_id)
    if user is None:
        raise NotFound()
    _require_staff_scope(actor, permission, user)
    return user


# Other login names that share the namespace (S5): fn(name) -> True if taken. Circulation adds the
# patrons' card numbers, so a username can never equal a card number (nor the other way round).
LOGIN_NAME_TAKEN: list[Callable[[str], bool]] = []


def _validate(actor: Actor, clean: dict[str, Any], *, creating: bool) -> None:
    if "username" in clean:
        username = (clean["username"] or "").strip().lower()
        if not USERNAME_RE.match(username):
            raise ValidationFailed(
                _l("The username must be 3-64 characters: small letters, digits, dot, dash or underscore."),
                field="username")
        if any(taken(username) for taken in LOGIN_NAME_TAKEN):
            raise ValidationFailed(_l("This username is already a library card number."), field="username")
        clean["username"] = username
    if "full_name" in clean:
        clean["full_name"] = (clean["full_name"] or "").strip()
        if not clean["full_name"]:
            raise ValidationFailed(_l("The full name is required."), field="full_name")
    if "role" in clean:
        try:
            clean["role"] = Role(clean["role"])
        except ValueError:
            raise ValidationFailed(_l("Choose a role from the list."), field="role") from None
        if not may_grant(actor, clean["role"]):
            raise Forbidden(_l("You may not give this role."))
    if "email" in clean:
        clean["email"] = (clean["email"] or "").strip() or None
        if clean["email"] and "@" not in clean["email"]:
            raise ValidationFailed(_l("The e-mail address is not valid."), field="email")
    if "locale" in clean and clean["locale"] not in current_app.config["ILS_LANGUAGES"]:
        raise ValidationFailed(_l("Choose a language from the list."), field="locale")
    if "library_id" in clean:
        clean["library_id"] = int(clean["library_id"]) if clean["library_id"] else None
        if clean["library_id"] is not None and db.session.get(Library, clean["library_id"]) is None:
            raise ValidationFailed(_l("The library does not exist."), field="library_id")


def _check_role_library(role: Role, library_id: int | None) -> int | None:
    """admin and dpk are network-wide; an assessor may be (accreditation data of every library,
    read-only); every other account needs a library."""
    if role.network_wide:
        return None
    if role is Role.ASSESSOR:
        return library_id
    if library_id is None:
        raise ValidationFailed(_l("Staff with this role must belong to a library."), field="library_id")
    return library_id


def create_staff(*, actor: Actor, data: dict[str, Any], password: str,
                 now: datetime | None = None) -> StaffUser:
    """Create a staff account in a library the actor manages."""
    clean = {k: data.get(k) for k in ("username", "full_name", "email", "role", "library_id", "locale")
             if k in data}
    clean.setdefault("locale", "id")
    for field, message in REQUIRED.items():
        if not clean.get(field):
            raise ValidationFailed(message, field=field)
    if not actor.network_wide:
        clean["library_id"] = actor.library_id
    _validate(actor, clean, creating=True)
    clean["library_id"] = _check_role_library(clean["role"], clean.get("library_id"))
    require(actor, "staff.manage", clean["library_id"])
    if clean["library_id"] is None and not actor.network_wide:
        raise Forbidden()
    if db.session.scalar(select(StaffUser.id).where(StaffUser.username == clean["username"])):
        raise Conflict(_l("This username is already taken."), field="username")
    passwords.check_policy(password, username=clean["username"])
    user = StaffUser(**clean, password_hash=passwords.hash_password(password))
    db.session.add(user)
    db.session.flush()
    audit.record(actor, "staff.create", object_type="staff", object_id=user.id,
                 library_id=user.library_id, details={"changes": audit.diff({}, _snapshot(user))}, now=now)
    return user


def update_staff(*, actor: Actor, staff_id: int, data: dict[str, Any],
                 now: datetime | None = None) -> StaffUser:
    """Edit name, e-mail, role, language (and library, for admin/DPK)."""
    user = get_staff(actor=actor, staff_id=staff_id, permission="staff.manage")
    fields = ("full_name", "email", "role", "locale") + (("library_id",) if actor.network_wide else ())
    clean = {k: data[k] for k in fields if k in data}
    if user.role.network_wide and not actor.network_wide:
        raise Forbidden()
    # Changing one's own role would let a librarian promote or lock out themselves.
    if user.id == actor.user_id and "role" in clean and Role(clean["role"]) != user.role:
        raise Forbidden(_l("You cannot change your own role."))
    if not may_grant(actor, user.role):
        raise Forbidden()
    _validate(actor, clean, creating=False)
    role = clean.get("role", user.role)
    clean["library_id"] = _check_role_library(role, clean.get("library_id", user.library_id))
    require(actor, "staff.manage", clean["library_id"])
    before = _snapshot(user)
    for key, value in clean.items():
        setattr(user, key, value)
    if before["role"] != user.role or before["library_id"] != user.library_id:
        user.session_version += 1  # new rights take effect at the next login
    db.session.flush()
    changes = audit.diff(before, _snapshot(user))
    if changes:
        audit.record(actor, "staff.update", object_type="staff", object_id=user.id,
                     library_id=user.library_id, details={"changes": changes}, now=now)
    return user


def set_staff_active(*, actor: Actor, staff_id: int, active: bool,
                     now: datetime | None = None) -> StaffUser:
    """Deactivate or reactivate an account; deactivation ends its sessions."""
    user = get_staff(actor=actor, staff_id=staff_id, permission="staff.manage")
    if user.id == actor.user_id and not active:
        raise Forbidden(_l("You cannot deactivate your own account."))
    if not may_grant(actor, user.role):
        raise Forbidden()
    if user.active != active:
        user.active = active
        user.session_version += 1
        audit.record(actor, "staff.activate" if active else "staff.deactivate", object_type="staff",
                     object_id=user.id, library_id=user.library_id, now=now)
    db.session.flush()
    return user


def set_password(*, actor: Actor, staff_id: int, password: str, current_password: str | None = None,
                 now: datetime | None = None) -> StaffUser:
    """Set a password: one's own (with the current one) or another's (staff.manage)."""
    user = db.session.get(StaffUser, staff_id)
    if user is None:
        raise NotFound()
    if user.id == actor.user_id:
        if current_password is None or not passwords.verify_password(user.password_hash, current_password):
            raise ValidationFailed(_l("The current password is not correct."), field="current_password")
    else:
        _require_staff_scope(actor, "staff.manage", user)
        if not may_grant(actor, user.role):
            raise Forbidden()
    passwords.check_policy(password, username=user.username)
    user.password_hash = passwords.hash_password(password)
    user.session_version += 1
    user.failed_logins = 0
    user.locked_until = None
    audit.record(actor, "staff.password", object_type="staff", object_id=user.id,
                 library_id=user.library_id, now=now)
    db.session.flush()
    return user


def set_own_locale(*, actor: Actor, locale: str) -> None:
    """A staff user picks their interface language."""
    if actor.user_id is None:
        raise Forbidden()
    user = db.session.get(StaffUser, actor.user_id)
    clean = {"locale": locale}
    _validate(actor, clean, creating=False)
    if user is not None and user.locale != clean["locale"]:
        audit.record(actor, "staff.update", object_type="staff", object_id=user.id, library_id=user.library_id,
                     details={"changes": {"locale": [user.locale, clean["locale"]]}})
        user.locale = clean["locale"]
    db.session.flush()


def authenticate(*, username: str, password: str, ip: str | None,
                 now: datetime | None = None) -> StaffUser | None:
    """Check a login; count failures, lock after too many, audit both outcomes.

    Returns the user, or None with the same answer whatever went wrong (no user enumeration).
    """
    now = now or utcnow()
    name = (username or "").strip().lower()[:64]
    user = db.session.scalar(select(StaffUser).where(StaffUser.username == name))
    # Something that cannot be a username (a password typed in the wrong box?) is not recorded.
    anonymous = Actor(label=name if USERNAME_RE.match(name) else "(invalid)", role=Role.ASSESSOR, ip=ip)
    if user is None:
        # Hash anyway so a missing account takes as long as a wrong password.
        passwords.verify_password(_dummy_hash(), password)
        audit.record(anonymous, "login.failed", details={"reason": "unknown_user"}, now=now)
        return None
    who = actor_for(user, ip)
    if user.locked_until is not None and user.locked_until > now:
        passwords.verify_password(_dummy_hash(), password)  # same timing as any other refusal
        audit.record(who, "login.failed", object_type="staff", object_id=user.id,
                     library_id=user.library_id, details={"reason": "locked"}, now=now)
        return None
    if not passwords.verify_password(user.password_hash, password):
        # Counted in the database, not in Python: parallel attempts cannot lose increments.
        failures = db.session.scalar(
            update(StaffUser).where(StaffUser.id == user.id)
            .values(failed_logins=StaffUser.failed_logins + 1).returning(StaffUser.failed_logins)
            .execution_options(synchronize_session=False))
        db.session.refresh(user)
        reason = "bad_password"
        if failures >= current_app.config["ILS_LOCKOUT_THRESHOLD"]:
            user.locked_until = now + timedelta(minutes=current_app.config["ILS_LOCKOUT_MINUTES"])
            user.failed_logins = 0
            reason = "locked_now"
        audit.record(who, "login.failed", object_type="staff", object_id=user.id,
                     library_id=user.library_id, details={"reason": reason}, now=now)
        return None
    if not user.active or (user.library is not None and not user.library.active):
        audit.record(who, "login.failed", object_type="staff", object_id=user.id,
                     library_id=user.library_id, details={"reason": "inactive"}, now=now)
        return None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    audit.record(who, "login", object_type="staff", object_id=user.id, library_id=user.library_id, now=now)
    return user


def record_logout(*, actor: Actor) -> None:
    """Audit a logout and void every session of the account (a copied cookie stops working too)."""
    user = db.session.get(StaffUser, actor.user_id) if actor.user_id else None
    if user is not None:
        user.session_version += 1
    audit.record(actor, "logout", object_type="staff", object_id=actor.user_id, library_id=actor.library_id)


_DUMMY: dict[str, str] = {}


def _dummy_hash() -> str:
    key = "fast" if current_app.config.get("ILS_ARGON2_FAST") else "prod"
    if key not in _DUMMY:
        _DUMMY[key] = passwords.hash_password("not-a-real-password-0")
    return _DUMMY[key]


def load_session_user(session_id: str) -> StaffUser | None:
    """Flask-Login loader: "id:version"; an old version or inactive account gives None."""
    try:
        raw_id, raw_version = session_id.split(":", 1)
        # With its library in the same query: every request of a logged-in user runs this.
        user = db.session.get(StaffUser, int(raw_id), options=[joinedload(StaffUser.library)])
        version = int(raw_version)
    except (ValueError, TypeError):
        return None
    if user is None or user.session_version != version or not user.active:
        return None
    if user.library is not None and not user.library.active:
        return None
    return user


def count_active_staff() -> dict[str, int]:
    """Active staff per role (network statistics)."""
    stmt = select(StaffUser.role, func.count()).where(StaffUser.active.is_(True)).group_by(StaffUser.role)
    return {row[0].value: row[1] for row in db.session.execute(stmt)}
