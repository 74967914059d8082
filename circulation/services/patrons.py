"""Patrons: registration (desk, OPAC, school class lists), lookups, blocks, PINs and NIK.

One card serves the whole city: any desk may look a patron up by card number, but personal
details and edits belong to the patron's home library and the network roles. Every staff view
of a patron record is audited (UU PDP Pasal 31).
"""
from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy import update as sql_update

from circulation.models import Patron, PatronCategory, PatronConsent, PatronStatus
from circulation.services.common import PatronNotFound
from circulation.services.nik import set_nik
from ils import audit
from ils.authz import Actor, can, require, visible_library_ids
from ils.errors import Conflict, ValidationFailed
from ils.extensions import db
from ils.mixins import MAX_ID
from ils.models import Library, StaffUser
from ils.passwords import hash_password, verify_password

EDITABLE = ("name", "category_code", "home_library_id", "birth_date", "gender", "guardian_id", "guardian_name",
            "guardian_phone", "phone", "whatsapp", "email", "address", "kelurahan", "kecamatan", "institution",
            "nis", "school_class", "school_library_id", "expiry_date", "notice_channel", "locale", "notes",
            "history_opt_in")
# Shown only to the home library and the network roles.
PERSONAL = ("birth_date", "guardian_name", "guardian_phone", "phone", "email", "address", "kelurahan",
            "kecamatan", "institution", "nis", "nik_masked", "notes")
PIN_RE = re.compile(r"^\d{4,8}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# --- card numbers ---------------------------------------------------------------------------------

def luhn_digit(digits: str) -> str:
    """Luhn check digit, so a mistyped card number is caught at the desk."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


def card_number_for(patron_id: int) -> str:
    """City-wide card number: prefix (BPS code of Kota Bontang by default), id, check digit."""
    body = f"{current_app.config['CIRCULATION_CARD_PREFIX']}{patron_id:07d}"
    return body + luhn_digit(body)


# --- lookups ----------------------------------------------------------------------------------------

def categories(*, active_only: bool = True) -> list[PatronCategory]:
    """Patron categories in display order."""
    stmt = select(PatronCategory).order_by(PatronCategory.sort, PatronCategory.code)
    if active_only:
        stmt = stmt.where(PatronCategory.active.is_(True))
    return list(db.session.scalars(stmt))


def by_card(card_number: str) -> Patron | None:
    """The patron with this card number (scanners may add spaces), or None."""
    return db.session.scalar(select(Patron).where(Patron.card_number == card_number.strip()))


def require_by_card(card_number: str) -> Patron:
    """The patron with this card number, or PatronNotFound."""
    patron = by_card(card_number)
    if patron is None or patron.status == PatronStatus.ERASED:
        raise PatronNotFound()
    return patron


def may_see_personal(actor: Actor, patron: Patron) -> bool:
    """Home library staff and the network roles see contact details; other desks see the card."""
    return can(actor, "patron.edit", patron.home_library_id)


def get_patron(*, actor: Actor, patron_id: int, now: datetime, purpose: str = "view") -> Patron:
    """A patron for a staff screen; the view is written to the audit log."""
    require(actor, "patron.view", actor.library_id if not actor.network_wide else None)
    patron = db.session.get(Patron, patron_id)
    if patron is None:
        raise PatronNotFound()
    audit.record(actor, f"patron.{purpose}", object_type="patron", object_id=patron.id,
                 library_id=actor.library_id or patron.home_library_id, now=now)
    return patron


def search_patrons(*, actor: Actor, query: str = "", library_id: int | None = None, status: str = "",
                   limit: int = 50, offset: int = 0) -> tuple[list[Patron], int]:
    """Patrons of the libraries the actor may list; a full card number finds anyone."""
    ids = visible_library_ids(actor)
    require(actor, "patron.view", None if ids is None else actor.library_id)
    query = query.strip()
    stmt = select(Patron).where(Patron.status != PatronStatus.ERASED)
    exact = by_card(query) if query else None
    if exact is not None and exact.status != PatronStatus.ERASED:
        return [exact], 1
    if ids is not None:
        stmt = stmt.where(Patron.home_library_id.in_(ids))
    if library_id:
        stmt = stmt.where(Patron.home_library_id == library_id)
    if status:
        stmt = stmt.where(Patron.status == PatronStatus(status))
    if query:
        text = query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(or_(func.lower(Patron.name).like(f"%{text}%", escape="\\"),
                              Patron.card_number.like(f"{text}%", escape="\\"), Patron.nis == query))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.session.scalars(stmt.order_by(Patron.name, Patron.id).limit(limit).offset(offset))
    return list(rows), total


# --- validation ------------------------------------------------------------------------------------

def _clean(data: dict[str, Any], *, today: date) -> dict[str, Any]:
    clean = {k: _typed(k, v) for k, v in data.items() if k in EDITABLE}
    for key, value in list(clean.items()):
        if isinstance(value, str):
            clean[key] = value.strip()
            limit = getattr(Patron.__table__.c[key].type, "length", None)
            if limit and len(clean[key]) > limit:
                raise ValidationFailed(_l("This field is too long (at most %(n)d characters).", n=limit), field=key)
    if "name" in clean:
        clean["name"] = re.sub(r"\s+", " ", clean["name"])
        if not clean["name"]:
            raise ValidationFailed(_l("The name is required."), field="name")
    if "category_code" in clean and db.session.get(PatronCategory, clean["category_code"]) is None:
        raise ValidationFailed(_l("Unknown member category."), field="category_code")
    for key in ("home_library_id", "school_library_id"):
        if clean.get(key) is not None and db.session.get(Library, clean[key]) is None:
            raise ValidationFailed(_l("Unknown library."), field=key)
    born = clean.get("birth_date")
    if born and (born > today or born.year < 1900):
        raise ValidationFailed(_l("The birth date is not possible."), field="birth_date")
    if clean.get("email") and not EMAIL_RE.match(clean["email"]):
        raise ValidationFailed(_l("The e-mail address is not valid."), field="email")
    for key in ("phone", "guardian_phone"):
        if clean.get(key):
            clean[key] = normalise_phone(clean[key], field=key)
    if clean.get("gender", "") not in ("", "L", "P"):
        raise ValidationFailed(_l("Gender must be L or P."), field="gender")
    if clean.get("notice_channel", "email") not in ("email", "webhook", "none"):
        raise ValidationFailed(_l("Unknown notice channel."), field="notice_channel")
    return clean


def _typed(key: str, value: Any) -> Any:
    """The value in its column's Python type, or ValidationFailed: forms send text, the API sends any
    JSON, and a number where a name belongs must be a clear error, not a crash."""
    if value is None:
        return None
    kind = Patron.__table__.c[key].type.python_type
    if kind is int and isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if kind is int and isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID:
        return value
    if kind is not int and isinstance(value, kind) and (kind is bool or not isinstance(value, bool)):
        return value
    raise ValidationFailed(_l("The field %(name)s is not valid.", name=key), field=key)


def normalise_phone(value: str, *, field: str = "phone") -> str:
    """Indonesian phone numbers in international form (+62...), as WhatsApp gateways expect."""
    digits = re.sub(r"[^\d+]", "", value)
    if digits.startswith("+"):
        digits = digits[1:]
    if digits.startswith("0"):
        digits = "62" + digits[1:]
    if not digits.isdigit() or not 9 <= len(digits) <= 15:
        raise ValidationFailed(_l("The phone number is not valid."), field=field)
    return "+" + digits


def is_minor(patron: Patron, today: date) -> bool:
    """True if the patron is younger than the category's age of consent."""
    age = patron.age(today)
    if age is None:
        return False
    return age < (patron.category.minor_below_age if patron.category else 18)


def _check_guardian(patron: Patron, today: date) -> None:
    if patron.status == PatronStatus.ACTIVE and is_minor(patron, today):
        if not (patron.guardian_id or patron.guardian_name):
            raise ValidationFailed(_l("A member under %(age)d needs a parent or guardian.",
                                      age=patron.category.minor_below_age), field="guardian_name")
        if patron.guardian_consent_at is None:
            raise ValidationFailed(_l("A member under %(age)d needs the guardian's consent before the card is "
                                      "activated.", age=patron.category.minor_below_age), field="guardian_consent")


def _default_expiry(category_code: str, today: date) -> date:
    category = db.session.get(PatronCategory, category_code)
    return today + relativedelta(months=category.card_months if category else 12)


def card_number_taken(name: str) -> bool:
    """True if a patron's card number equals this login name (the staff side of S5)."""
    return db.session.scalar(select(Patron.id).where(func.lower(Patron.card_number) == name.lower())) is not None


def _login_name_free(card_number: str) -> None:
    # S5: one namespace for logins. A card number may never equal a staff username.
    if db.session.scalar(select(StaffUser.id).where(func.lower(StaffUser.username) == card_number.lower())):
        raise Conflict(_l("This card number is already used as a staff login."))


# --- registration and changes -------------------------------------------------------------------

def register(*, actor: Actor, data: dict[str, Any], now: datetime, today: date, nik: str | None = None,
             guardian_consent: bool = False, pin: str | None = None, channel: str = "desk",
             status: PatronStatus = PatronStatus.ACTIVE) -> Patron:
    """Register a patron at the actor's library (or the given home library for network roles)."""
    clean = _clean(data, today=today)
    home = clean.get("home_library_id") or actor.library_id
    if home is None:
        raise ValidationFailed(_l("Choose the member's home library."), field="home_library_id")
    if channel != "opac":
        require(actor, "patron.edit", int(home))
    clean["home_library_id"] = int(home)
    clean.setdefault("category_code", "umum")
    if "name" not in clean:
        raise ValidationFailed(_l("The name is required."), field="name")
    clean.setdefault("expiry_date", _default_expiry(clean["category_code"], today))
    patron = Patron(card_number=f"tmp-{uuid.uuid4().hex[:16]}", status=status, **clean)
    patron.self_registered = channel == "opac"
    patron.approved_at = now if status == PatronStatus.ACTIVE else None
    patron.last_activity_on = today
    if guardian_consent:
        patron.guardian_consent_at = now
    patron.category = db.session.get(PatronCategory, clean["category_code"])
    db.session.add(patron)
    set_nik(patron, nik)
    _check_guardian(patron, today)
    if pin:
        set_pin(patron, pin)
    db.session.flush()
    patron.card_number = card_number_for(patron.id)
    _login_name_free(patron.card_number)
    if guardian_consent:
        _consent(patron, "guardian", True, channel=channel, witness=actor.label, now=now)
    if clean.get("history_opt_in"):
        _consent(patron, "history", True, channel=channel, witness=actor.label, now=now)
    audit.record(actor, "patron.create", object_type="patron", object_id=patron.id,
                 library_id=patron.home_library_id, details={"channel": channel, "category": patron.category_code},
                 now=now)
    db.session.flush()
    return patron


def _consent(patron: Patron, purpose: str, granted: bool, *, channel: str, witness: str, now: datetime) -> None:
    db.session.add(PatronConsent(patron_id=patron.id, purpose=purpose, granted=granted, at=now, channel=channel,
                                 witness=witness))


def editable(*, actor: Actor, patron_id: int) -> Patron:
    """A patron the actor may change (home library or network role)."""
    patron = db.session.get(Patron, patron_id)
    if patron is None or patron.status == PatronStatus.ERASED:
        raise PatronNotFound()
    require(actor, "patron.edit", patron.home_library_id)
    return patron


def update(*, actor: Actor, patron_id: int, data: dict[str, Any], now: datetime, today: date,
           nik: str | None = None, clear_nik: bool = False, guardian_consent: bool | None = None) -> Patron:
    """Change a patron's details; the audit row lists the changed fields (not their values)."""
    patron = editable(actor=actor, patron_id=patron_id)
    clean = _clean(data, today=today)
    if "home_library_id" in clean and int(clean["home_library_id"]) != patron.home_library_id:
        require(actor, "patron.edit", int(clean["home_library_id"]))
    if clean.get("guardian_id") == patron.id:
        raise ValidationFailed(_l("A member cannot be their own guardian."), field="guardian_id")
    changed = sorted(k for k, v in clean.items() if getattr(patron, k) != v)
    history_before = patron.history_opt_in
    for key in changed:
        setattr(patron, key, clean[key])
    if "category_code" in changed:
        patron.category = db.session.get(PatronCategory, patron.category_code)
    if nik or clear_nik:
        set_nik(patron, None if clear_nik else nik)
        changed.append("nik")
    if guardian_consent is not None and bool(patron.guardian_consent_at) != guardian_consent:
        patron.guardian_consent_at = now if guardian_consent else None
        _consent(patron, "guardian", guardian_consent, channel="desk", witness=actor.label, now=now)
        changed.append("guardian_consent")
    if patron.history_opt_in != history_before:
        _consent(patron, "history", patron.history_opt_in, channel="desk", witness=actor.label, now=now)
    _check_guardian(patron, today)
    patron.session_version += 1 if {"email", "phone"} & set(changed) else 0
    audit.record(actor, "patron.update", object_type="patron", object_id=patron.id,
                 library_id=patron.home_library_id, details={"fields": changed}, now=now)
    db.session.flush()
    return patron


def approve(*, actor: Actor, patron_id: int, now: datetime, today: date) -> Patron:
    """Activate a self-registration after the library has checked the person."""
    patron = editable(actor=actor, patron_id=patron_id)
    if patron.status != PatronStatus.PENDING:
        raise Conflict(_l("This registration is not waiting for approval."))
    patron.status = PatronStatus.ACTIVE
    patron.approved_at = now
    _check_guardian(patron, today)
    audit.record(actor, "patron.approve", object_type="patron", object_id=patron.id,
                 library_id=patron.home_library_id, now=now)
    db.session.flush()
    return patron


def set_block(*, actor: Actor, patron_id: int, blocked: bool, reason: str, now: datetime) -> Patron:
    """Block a card with a reason, or lift the block."""
    patron = editable(actor=actor, patron_id=patron_id)
    reason = reason.strip()
    if blocked and not reason:
        raise ValidationFailed(_l("Give the reason for the block."), field="reason")
    if blocked:
        patron.status, patron.block_reason = PatronStatus.BLOCKED, reason[:300]
    elif patron.status == PatronStatus.BLOCKED:
        patron.status, patron.block_reason = PatronStatus.ACTIVE, ""
    audit.record(actor, "patron.block" if blocked else "patron.unblock", object_type="patron",
                 object_id=patron.id, library_id=patron.home_library_id, details={"reason": reason[:300]}, now=now)
    db.session.flush()
    return patron


def renew_membership(*, actor: Actor, patron_id: int, now: datetime, today: date) -> Patron:
    """Extend the card by its category's period from today (or from the current expiry if later)."""
    patron = editable(actor=actor, patron_id=patron_id)
    start = max(today, patron.expiry_date or today)
    patron.expiry_date = start + relativedelta(months=patron.category.card_months)
    audit.record(actor, "patron.renew_card", object_type="patron", object_id=patron.id,
                 library_id=patron.home_library_id, details={"until": patron.expiry_date.isoformat()}, now=now)
    db.session.flush()
    return patron


# --- PINs (OPAC and self-check) ---------------------------------------------------------------------

def set_pin(patron: Patron, pin: str) -> None:
    """Set a 4-8 digit PIN (hashed with argon2 like staff passwords)."""
    if not PIN_RE.match(pin or ""):
        raise ValidationFailed(_l("The PIN must be 4 to 8 digits."), field="pin")
    patron.pin_hash = hash_password(pin)
    patron.session_version = (patron.session_version or 1) + 1


def check_pin(patron: Patron, pin: str, *, now: datetime) -> bool:
    """True if the PIN is right; repeated failures lock the card's PIN for a while (S6).

    Failures are counted with one UPDATE ... RETURNING, so simultaneous wrong PINs (two kiosks, a
    script) each count; a read-modify-write in Python would let some slip through.
    """
    if patron.locked_until is not None and patron.locked_until > now:
        return False
    ok = bool(patron.pin_hash) and verify_password(patron.pin_hash, pin or "")
    if ok:
        if patron.failed_logins or patron.locked_until:
            db.session.execute(sql_update(Patron).where(Patron.id == patron.id).values(failed_logins=0, locked_until=None))
    else:
        failures = db.session.execute(sql_update(Patron).where(Patron.id == patron.id)
                                      .values(failed_logins=Patron.failed_logins + 1)
                                      .returning(Patron.failed_logins)).scalar_one()
        if failures >= current_app.config["CIRCULATION_PIN_LOCKOUT_THRESHOLD"]:
            minutes = current_app.config["CIRCULATION_PIN_LOCKOUT_MINUTES"]
            db.session.execute(sql_update(Patron).where(Patron.id == patron.id)
                               .values(failed_logins=0, locked_until=now + timedelta(minutes=minutes)))
    db.session.expire(patron, ["failed_logins", "locked_until"])
    return ok


def change_pin(*, actor: Actor, patron_id: int, pin: str, now: datetime) -> None:
    """Staff set a new PIN for a patron (at the patron's request, in person)."""
    patron = editable(actor=actor, patron_id=patron_id)
    set_pin(patron, pin)
    audit.record(actor, "patron.pin", object_type="patron", object_id=patron.id,
                 library_id=patron.home_library_id, now=now)
    db.session.flush()
