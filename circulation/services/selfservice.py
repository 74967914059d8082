"""Patron self-service in the OPAC: PIN login, own PIN, history consent, pickup changes, registration.

The patron acts on their own rows only: every function takes the patron id from the session
(never from the form) and answers NotFound for anything that belongs to someone else, so an
id guessed in a URL tells nothing. Consent changes write the ledger (UU PDP Pasal 20-22).
"""
from __future__ import annotations

import functools
import io
import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from sqlalchemy import select

from circulation import policy
from circulation.models import Hold, HoldStatus, Loan, Patron, PatronCategory, PatronConsent, PatronStatus
from circulation.policy import Check
from circulation.services import patrons as patron_services
from circulation.services.common import local_today, rupiah, settings_for
from circulation.services.desk import anonymise, standing
from ils import audit
from ils.authz import Actor
from ils.errors import NotFound, ValidationFailed
from ils.extensions import db
from ils.models import Library, LibraryType, Role
from ils.passwords import hash_password, verify_password
from ils.pdf import fonts as pdf_fonts
from ils.services.libraries import public_directory

# Registration fields a visitor may fill (an allowlist: ASVS 15.3.3); the rest is the library's.
REGISTRATION_FIELDS = ("name", "category_code", "home_library_id", "birth_date", "phone", "whatsapp", "email",
                       "address", "kelurahan", "guardian_name", "guardian_phone")


@dataclass
class LoginOutcome:
    """A login attempt: the patron on success, else a message that gives nothing away."""

    patron: Patron | None
    message: str = ""


@functools.lru_cache(maxsize=2)
def _dummy_hash(fast: bool) -> str:
    return hash_password("0000")


def _spend_hash_time(pin: str) -> None:
    # An unknown card or a locked PIN takes as long as a wrong PIN, so timing tells nothing.
    verify_password(_dummy_hash(bool(current_app.config.get("ILS_ARGON2_FAST"))), pin or "")


def actor_for(patron: Patron | None, ip: str | None) -> Actor:
    """The actor for a patron's own actions: named by patron id (no name or card in the logs).

    Services skip staff permission checks on the "opac" channel and check ownership through
    ``patron_id`` instead; the least-privileged staff role means a forgotten channel is refused.
    """
    return Actor(label=f"patron:{patron.id}" if patron else "opac", role=Role.ASSESSOR, ip=ip)


def authenticate(*, card_number: str, pin: str, ip: str | None, now: datetime) -> LoginOutcome:
    """Check a card number and PIN; failures count towards the card's lockout and are audited."""
    refused = str(_l("Wrong card number or PIN, or the PIN is locked for a while after too many attempts."))
    patron = patron_services.by_card((card_number or "")[:40])
    if patron is None or patron.status == PatronStatus.ERASED:
        _spend_hash_time(pin)
        audit.record(actor_for(None, ip), "patron.login_failed", details={"reason": "unknown_card"}, now=now)
        return LoginOutcome(None, refused)
    actor = actor_for(patron, ip)
    where = {"object_type": "patron", "object_id": patron.id, "library_id": patron.home_library_id, "now": now}
    if patron.locked_until is not None and patron.locked_until > now:
        _spend_hash_time(pin)
        audit.record(actor, "patron.login_failed", details={"reason": "locked"}, **where)
        return LoginOutcome(None, refused)
    if not patron_services.check_pin(patron, pin, now=now):
        reason = "locked_now" if patron.locked_until is not None and patron.locked_until > now else "bad_pin"
        audit.record(actor, "patron.login_failed", details={"reason": reason}, **where)
        return LoginOutcome(None, refused)
    if patron.status == PatronStatus.PENDING:
        # Said only after the right PIN, so nobody learns a stranger's registration state.
        audit.record(actor, "patron.login_failed", details={"reason": "pending"}, **where)
        return LoginOutcome(None, str(_l("Your registration still waits for approval at %(library)s. Bring an "
                                         "identity document there to activate your card.",
                                         library=patron.home_library.name)))
    audit.record(actor, "patron.login", **where)
    patron.last_activity_on = local_today(patron.home_library_id, now)
    db.session.flush()
    return LoginOutcome(patron)


def _own_patron(patron_id: int) -> Patron:
    patron = db.session.get(Patron, patron_id)
    if patron is None or patron.status == PatronStatus.ERASED:
        raise NotFound()
    return patron


def check_pin_strength(pin: str, *, birth_date: date | None = None, field: str = "pin") -> None:
    """Refuse PINs that anyone would try first: one digit repeated, a run like 1234, the birth date."""
    if not patron_services.PIN_RE.match(pin or ""):
        raise ValidationFailed(_l("The PIN must be 4 to 8 digits."), field=field)
    steps = {int(b) - int(a) for a, b in zip(pin, pin[1:])}
    obvious = len(set(pin)) == 1 or steps in ({1}, {-1})
    if birth_date is not None:
        obvious = obvious or pin in {birth_date.strftime(f) for f in ("%d%m%y", "%d%m%Y", "%Y", "%y%m%d",
                                                                          "%Y%m%d", "%m%d", "%d%m")}
    if obvious:
        raise ValidationFailed(_l("This PIN is too easy to guess (repeated digits, a run like 1234, or your "
                                  "birth date). Choose another one."), field=field)


def change_own_pin(*, actor: Actor, patron_id: int, current_pin: str, new_pin: str, now: datetime) -> bool:
    """Change one's PIN after giving the current one; False when that was wrong (the failure counts).

    The caller commits in both cases: a wrong current PIN must count towards the lockout, or this
    form would be an unlimited PIN-guessing oracle.
    """
    patron = _own_patron(patron_id)
    if not patron_services.check_pin(patron, current_pin, now=now):
        audit.record(actor, "patron.pin_failed", object_type="patron", object_id=patron.id,
                     library_id=patron.home_library_id, now=now)
        return False
    check_pin_strength(new_pin, birth_date=patron.birth_date, field="new_pin")
    patron_services.set_pin(patron, new_pin)  # bumps session_version: other browsers are logged out
    audit.record(actor, "patron.pin", object_type="patron", object_id=patron.id,
                 library_id=patron.home_library_id, details={"channel": "opac"}, now=now)
    db.session.flush()
    return True


def set_history(*, actor: Actor, patron_id: int, opt_in: bool, now: datetime, channel: str = "opac") -> bool:
    """Grant or withdraw consent to keep a reading history; returns False when nothing changed.

    Withdrawal stops the processing at once: returned loans past the retention window lose their
    link to the patron now (UU PDP Pasal 42-44), the younger ones when the nightly job runs.
    """
    patron = _own_patron(patron_id)
    if patron.history_opt_in == opt_in:
        return False
    patron.history_opt_in = opt_in
    db.session.add(PatronConsent(patron_id=patron.id, purpose="history", granted=opt_in, at=now, channel=channel,
                                 witness=actor.label if channel != "opac" else ""))
    anonymised = 0
    if not opt_in:
        cutoff = now - timedelta(days=int(current_app.config["CIRCULATION_ANONYMISE_AFTER_DAYS"]))
        for loan in db.session.scalars(select(Loan).where(Loan.patron_id == patron.id, Loan.returned_at.is_not(None),
                                                          Loan.returned_at <= cutoff)):
            anonymise(loan)
            anonymised += 1
    audit.record(actor, "patron.consent", object_type="patron", object_id=patron.id,
                 library_id=patron.home_library_id,
                 details={"purpose": "history", "granted": opt_in, "channel": channel, "anonymised": anonymised},
                 now=now)
    db.session.flush()
    return True


def pickup_libraries() -> list[Library]:
    """Libraries where a hold may be collected, by name."""
    return [lib for lib in public_directory() if settings_for(lib.id).pickup_point]


def _lock_hold(hold_id: int) -> Hold | None:
    stmt = select(Hold).where(Hold.id == hold_id).execution_options(populate_existing=True)
    if db.session.get_bind().dialect.name == "postgresql":
        # The same row lock a check-in takes before capturing: no copy leaves for the old pickup.
        stmt = stmt.with_for_update(of=Hold)
    return db.session.scalar(stmt)


def change_pickup(*, actor: Actor, patron_id: int, hold_id: int, pickup_library_id: int, now: datetime) -> Hold:
    """Move a patron's waiting hold to another pickup library (not once a copy is on its way)."""
    hold = _lock_hold(hold_id)
    if hold is None or hold.patron_id != patron_id:
        raise NotFound()
    if hold.status != HoldStatus.WAITING:
        raise ValidationFailed(_l("The pickup library can only be changed while the hold is waiting; a copy is "
                                  "already set aside for you."), field="pickup_library_id")
    if pickup_library_id not in {lib.id for lib in pickup_libraries()}:
        raise ValidationFailed(_l("This library is not a pickup point for holds"), field="pickup_library_id")
    before = hold.pickup_library_id
    if before == pickup_library_id:
        return hold
    hold.pickup_library_id = pickup_library_id
    audit.record(actor, "hold.pickup", object_type="hold", object_id=hold.id, library_id=pickup_library_id,
                 details={"from": before, "to": pickup_library_id, "channel": "opac"}, now=now)
    db.session.flush()
    return hold


def standing_checks(patron: Patron, *, now: datetime) -> list[Check]:
    """The patron checks that fail now (blocked, expired, fees, overdue): why borrowing is refused."""
    return policy.failed(standing(patron, now=now))


def registration_libraries() -> list[Library]:
    """Libraries that accept registrations from the OPAC (CirculationSettings.self_registration)."""
    return [lib for lib in public_directory()
            if lib.type != LibraryType.INDUK and settings_for(lib.id).self_registration]


def _age(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def register_online(*, data: dict[str, Any], pin: str, guardian_consent: bool, history_consent: bool,
                    ip: str | None, now: datetime, today: date) -> Patron:
    """A visitor registers: a PENDING patron that the chosen library approves after checking an ID.

    UU PDP Pasal 25: under the category's age of consent a guardian's name, phone and consent are
    required. Lending rests on the public-service basis; only the reading history asks for consent.
    """
    clean = {key: data[key] for key in REGISTRATION_FIELDS if key in data}
    home = clean.get("home_library_id")
    if home not in {lib.id for lib in registration_libraries()}:
        raise ValidationFailed(_l("This library does not accept registrations online."), field="home_library_id")
    born = clean.get("birth_date")
    if born is None:
        raise ValidationFailed(_l("The birth date is required."), field="birth_date")
    category = db.session.get(PatronCategory, clean.get("category_code") or "")
    if category is None or not category.active:
        raise ValidationFailed(_l("Unknown member category."), field="category_code")
    if born <= today and _age(born, today) < category.minor_below_age:
        for key, message in (("guardian_name", _l("A member under %(age)d needs a parent or guardian.",
                                                  age=category.minor_below_age)),
                             ("guardian_phone", _l("Give the parent's or guardian's phone number."))):
            if not str(clean.get(key) or "").strip():
                raise ValidationFailed(message, field=key)
        if not guardian_consent:
            raise ValidationFailed(_l("A member under %(age)d needs the guardian's consent.",
                                      age=category.minor_below_age), field="guardian_consent")
    else:
        # An adult's registration carries no guardian, and so no guardian consent row either.
        clean.pop("guardian_name", None)
        clean.pop("guardian_phone", None)
        guardian_consent = False
    check_pin_strength(pin, birth_date=born)
    clean["history_opt_in"] = history_consent
    actor = Actor(label="opac", role=Role.ASSESSOR, library_id=home, ip=ip)
    return patron_services.register(actor=actor, data=clean, now=now, today=today, guardian_consent=guardian_consent,
                                    pin=pin, channel="opac", status=PatronStatus.PENDING)


# --- "Unduh data saya": the export of circulation.services.privacy as JSON and as a readable PDF -----

def _json_value(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if hasattr(value, "value"):  # enums
        return value.value
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return str(value)


def export_json(data: dict[str, Any]) -> bytes:
    """The export as UTF-8 JSON (readable names, ISO dates), for the patron or another service."""
    return json.dumps(data, ensure_ascii=False, indent=2, default=_json_value).encode("utf-8")


ACRONYMS = {"nik": "NIK", "nis": "NIS", "pin": "PIN", "no": "no."}
# Keys whose numbers are rupiah in privacy.export_data (money is integer rupiah everywhere).
MONEY_KEYS = frozenset({"amount", "paid", "waived", "balance"})
# A longer text (a staff note pasted in) is cut in the PDF; the JSON download keeps all of it.
PDF_CELL_LIMIT = 1500


def _label(key: Any) -> str:
    words = [ACRONYMS.get(word, word) for word in str(key).split("_") if word]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def _cell(value: Any, *, key: str = "", zone: ZoneInfo) -> str:
    """One value as a person reads it: local times, dd-mm-yyyy dates, rupiah, yes/no."""
    if value is None or value == "" or value == []:
        return "–"
    if isinstance(value, dict) and "base64" in value:
        # A card photo as base64 is unreadable on paper and one unbroken word that cannot wrap.
        return str(_l("%(type)s image: included in the JSON download", type=value.get("content_type", "")))
    if isinstance(value, bool):
        return str(_l("yes") if value else _l("no"))
    if isinstance(value, int) and key in MONEY_KEYS:
        return rupiah(value)
    if isinstance(value, str) and ISO_MOMENT.fullmatch(value):
        return datetime.fromisoformat(value).astimezone(zone).strftime("%d-%m-%Y %H:%M")
    if isinstance(value, str) and ISO_DAY.fullmatch(value):
        return date.fromisoformat(value).strftime("%d-%m-%Y")
    if isinstance(value, dict):  # nested rows (payments of a fee, details of a log entry) read as one line
        text = "; ".join(f"{_label(k)}: {_cell(v, key=k, zone=zone)}" for k, v in value.items())
    elif isinstance(value, (list, tuple)):
        text = " | ".join(_cell(v, key=key, zone=zone) for v in value)
    else:
        text = str(value) if isinstance(value, (str, int, float)) else str(_json_value(value))
    return text if len(text) <= PDF_CELL_LIMIT else text[:PDF_CELL_LIMIT] + "…"


ISO_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z)")
ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def export_pdf(data: dict[str, Any], *, title: str, intro: str, tz_name: str) -> bytes:
    """The export as an A4 PDF a person can read: one section per part, one table per row.

    Times are shown on the clock of ``tz_name`` (the patron's home library); the JSON keeps UTC.
    """
    zone = ZoneInfo(tz_name)
    regular, bold = pdf_fonts()
    body = ParagraphStyle("body", fontName=regular, fontSize=8.5, leading=11)
    key_style = ParagraphStyle("key", parent=body, fontName=bold)
    heading = ParagraphStyle("heading", fontName=bold, fontSize=12, leading=15, spaceBefore=10, spaceAfter=4)
    story: list[Any] = [Paragraph(escape(title), ParagraphStyle("title", fontName=bold, fontSize=16, leading=20)),
                        Paragraph(escape(intro), body), Spacer(1, 4 * mm)]

    def table(mapping: dict[str, Any]) -> Table:
        rows = [[Paragraph(escape(_label(k)), key_style), Paragraph(escape(_cell(v, key=k, zone=zone)), body)]
                for k, v in mapping.items()]
        grid = Table(rows or [[Paragraph("–", body), ""]], colWidths=[45 * mm, 125 * mm], hAlign="LEFT")
        grid.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.25, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        return grid

    for key, value in data.items():
        story.append(Paragraph(escape(_label(key)), heading))
        if isinstance(value, dict):
            story.append(table(value))
        elif isinstance(value, (list, tuple)):
            if not value:
                story.append(Paragraph(escape(str(_l("Nothing recorded."))), body))
            for number, entry in enumerate(value, start=1):
                if isinstance(entry, dict):
                    story += [Paragraph(f"{number}.", key_style), table(entry), Spacer(1, 2 * mm)]
                else:
                    story.append(Paragraph(escape(f"{number}. {_cell(entry, zone=zone)}"), body))
        else:
            story.append(Paragraph(escape(_cell(value, key=key, zone=zone)), body))
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=18 * mm,
                      bottomMargin=18 * mm, title=title).build(story)
    return out.getvalue()


def record_logout(*, actor: Actor, patron_id: int, now: datetime) -> None:
    """Audit an OPAC logout and void every session of the card, as staff logout does.

    Signed-cookie sessions cannot be revoked one by one, so a copied cookie (a shared kiosk) only
    stops working when the version moves on (ASVS 7.4.1).
    """
    patron = db.session.get(Patron, patron_id)
    if patron is not None:
        patron.session_version += 1
    audit.record(actor, "patron.logout", object_type="patron", object_id=patron_id,
                 library_id=patron.home_library_id if patron else None, now=now)
    db.session.flush()
