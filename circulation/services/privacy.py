"""A patron's rights under UU PDP: a copy of everything we hold (Pasal 32) and erasure (Pasal 43).

Erasure hard-deletes personal data and keeps the statistics: loans, holds and fees lose their
patron link but keep the category and libraries they were counted under. There is no "deleted
patrons" table to forget about (reliability-security.md, part b, on Koha's deletedborrowers).
"""
from __future__ import annotations

import base64
import re
import typing
from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Delete, String, Update, cast, delete, func, or_, select, update
from sqlalchemy.engine import CursorResult

from catalog.models import Item, Record
from circulation.models import (Fee, FeeTransaction, Hold, Loan, Notice, Patron, PatronConsent,
                                PatronPhoto, PatronStatus)
from circulation.services import fees as fee_services
from circulation.services import holds as hold_services
from circulation.services import nik
from circulation.services.common import PatronNotFound, rupiah
from ils import audit
from ils.authz import Actor, require
from ils.errors import PolicyViolation, ValidationFailed
from ils.extensions import db
from ils.models import AuditEvent, Library

ERASED_NAME = "Anggota terhapus"
REDACTED = "[dihapus]"
# Personal values shorter than this are not searched for in free text: "Li" would blank half a note.
MIN_REDACT_LENGTH = 4
# Blanked on erasure: every column that says something about the person (UU PDP Pasal 43).
BLANK_TEXT = ("block_reason", "gender", "guardian_name", "guardian_phone", "phone", "email", "address", "kelurahan",
              "kecamatan", "institution", "nis", "school_class", "notes")
BLANK_NULL = ("birth_date", "guardian_id", "guardian_consent_at", "school_library_id", "pin_hash", "import_key",
              "locked_until")


class ErasureRefused(PolicyViolation):
    """The patron still has items or money outstanding; erasure would lose track of them."""


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


class _Names:
    """Library names by id, read once each."""

    def __init__(self) -> None:
        self._cache: dict[int, str] = {}

    def __call__(self, library_id: int | None) -> str | None:
        if library_id is None:
            return None
        if library_id not in self._cache:
            library = db.session.get(Library, library_id)
            self._cache[library_id] = library.name if library else ""
        return self._cache[library_id]


def _title(record_id: int | None) -> str:
    record = db.session.get(Record, record_id) if record_id else None
    return record.title if record else ""


def _barcode(item_id: int | None) -> str:
    item = db.session.get(Item, item_id) if item_id else None
    return item.barcode if item else ""


def _loan(loan: Loan, library: _Names) -> dict[str, Any]:
    return {"title": _title(loan.record_id), "barcode": _barcode(loan.item_id), "library": library(loan.library_id),
            "checked_out_at": _iso(loan.checked_out_at), "due_at": _iso(loan.due_at), "renewals": loan.renewals,
            "returned_at": _iso(loan.returned_at), "returned_at_library": library(loan.return_library_id),
            "lost_at": _iso(loan.lost_at), "channel": loan.channel}


def _hold(hold: Hold, library: _Names) -> dict[str, Any]:
    return {"title": _title(hold.record_id), "status": hold.status.value, "pickup_library": library(hold.pickup_library_id),
            "placed_at": _iso(hold.placed_at), "ready_at": _iso(hold.ready_at), "shelf_until": _iso(hold.shelf_until),
            "closed_at": _iso(hold.closed_at), "close_reason": hold.close_reason, "channel": hold.channel}


def _fee(fee: Fee, library: _Names) -> dict[str, Any]:
    lines = db.session.scalars(select(FeeTransaction).where(FeeTransaction.fee_id == fee.id)
                               .order_by(FeeTransaction.at, FeeTransaction.id))
    return {"kind": fee.kind.value, "description": fee.description, "library": library(fee.library_id),
            "amount": fee.amount, "paid": fee.paid, "waived": fee.waived, "balance": fee.balance,
            "created_at": _iso(fee.created_at), "settled_at": _iso(fee.settled_at),
            "transactions": [{"kind": line.kind.value, "amount": line.amount, "at": _iso(line.at),
                              "receipt_no": line.receipt_no, "method": line.method, "reason": line.reason,
                              "library": library(line.library_id)} for line in lines]}


def _audit_about(patron_id: int) -> list[AuditEvent]:
    """Audit events about the patron's record and about their loans, holds and fees."""
    def ids(column: Any, owner: Any) -> Any:
        return select(cast(column, String)).where(owner == patron_id)

    stmt = select(AuditEvent).where(or_(
        (AuditEvent.object_type == "patron") & (AuditEvent.object_id == str(patron_id)),
        (AuditEvent.object_type == "loan") & AuditEvent.object_id.in_(ids(Loan.id, Loan.patron_id)),
        (AuditEvent.object_type == "hold") & AuditEvent.object_id.in_(ids(Hold.id, Hold.patron_id)),
        (AuditEvent.object_type == "fee") & AuditEvent.object_id.in_(ids(Fee.id, Fee.patron_id)),
    )).order_by(AuditEvent.at, AuditEvent.id)
    return list(db.session.scalars(stmt))


def export_data(*, patron_id: int, now: datetime) -> dict[str, Any]:
    """Everything held about a patron, as JSON-ready values (UU PDP Pasal 32); the export is audited.

    The NIK is the one value given masked, as on every screen: the full number stays out of every
    export (a downloaded file outlives the session). The patron sees it whole at the desk with the KTP.
    """
    patron = db.session.get(Patron, patron_id)
    if patron is None or patron.status == PatronStatus.ERASED:
        raise PatronNotFound()
    library = _Names()
    category = patron.category
    photo = db.session.get(PatronPhoto, patron.id)
    guardian = patron.guardian
    wards = db.session.scalars(select(Patron).where(Patron.guardian_id == patron.id).order_by(Patron.id))
    profile = {
        "card_number": patron.card_number, "name": patron.name, "status": patron.status.value,
        "block_reason": patron.block_reason, "nik": patron.nik_masked or None,
        "birth_date": _iso(patron.birth_date), "gender": patron.gender, "phone": patron.phone,
        "whatsapp": patron.whatsapp, "email": patron.email, "address": patron.address,
        "kelurahan": patron.kelurahan, "kecamatan": patron.kecamatan, "institution": patron.institution,
        "nis": patron.nis, "school_class": patron.school_class, "school_library": library(patron.school_library_id),
        "home_library": library(patron.home_library_id), "expiry_date": _iso(patron.expiry_date),
        "guardian": ({"card_number": guardian.card_number, "name": guardian.name} if guardian is not None else None),
        "guardian_name": patron.guardian_name, "guardian_phone": patron.guardian_phone,
        "guardian_consent_at": _iso(patron.guardian_consent_at),
        "guardian_of": [{"card_number": ward.card_number, "name": ward.name} for ward in wards],
        "history_opt_in": patron.history_opt_in, "notice_channel": patron.notice_channel, "locale": patron.locale,
        # Whether a PIN is set, never its hash.
        "pin_set": patron.pin_hash is not None, "pin_locked_until": _iso(patron.locked_until),
        "self_registered": patron.self_registered, "registered_at": _iso(patron.created_at),
        "approved_at": _iso(patron.approved_at), "updated_at": _iso(patron.updated_at),
        "last_activity_on": _iso(patron.last_activity_on), "staff_notes": patron.notes,
        "photo": ({"content_type": photo.content_type, "base64": base64.b64encode(photo.data).decode()}
                  if photo is not None else None),
    }
    loans = list(db.session.scalars(select(Loan).where(Loan.patron_id == patron.id)
                                    .order_by(Loan.checked_out_at, Loan.id)))
    holds = db.session.scalars(select(Hold).where(Hold.patron_id == patron.id).order_by(Hold.placed_at, Hold.id))
    fees = db.session.scalars(select(Fee).where(Fee.patron_id == patron.id).order_by(Fee.created_at, Fee.id))
    consents = db.session.scalars(select(PatronConsent).where(PatronConsent.patron_id == patron.id)
                                  .order_by(PatronConsent.at, PatronConsent.id))
    notices = db.session.scalars(select(Notice).where(Notice.patron_id == patron.id)
                                 .order_by(Notice.created_at, Notice.id))
    data = {
        "generated_at": now.isoformat(),
        "profile": profile,
        "category": {"code": category.code, "name_id": category.name_id, "name_en": category.name_en},
        "consents": [{"purpose": c.purpose, "granted": c.granted, "at": _iso(c.at), "channel": c.channel,
                      "witness": c.witness, "notice_version": c.notice_version} for c in consents],
        "loans": [_loan(loan, library) for loan in loans if loan.returned_at is None],
        # Returned loans still linked to the patron: the reading history they opted into, or ones
        # not yet anonymised when CIRCULATION_ANONYMISE_AFTER_DAYS keeps them for a while.
        "history": [_loan(loan, library) for loan in loans if loan.returned_at is not None],
        "holds": [_hold(hold, library) for hold in holds],
        "fees": [_fee(fee, library) for fee in fees],
        "balance": fee_services.balance(patron.id),
        "notices": [{"kind": n.kind.value, "channel": n.channel, "status": n.status.value, "subject": n.subject,
                     "body": n.body, "library": library(n.library_id), "created_at": _iso(n.created_at),
                     "sent_at": _iso(n.sent_at)} for n in notices],
        # Who looked at or changed the record, and when (UU PDP Pasal 31-32).
        "processing_log": [{"at": _iso(e.at), "action": e.action, "by": e.actor_label,
                            "library": library(e.library_id), "object": e.object_type, "details": e.details}
                           for e in _audit_about(patron.id)],
    }
    audit.record(Actor.system("opac:self-service"), "patron.export", object_type="patron", object_id=patron.id,
                 library_id=patron.home_library_id, now=now)
    db.session.flush()
    return data


# --- erasure ---------------------------------------------------------------------------------

SEPARATORS = r"[\s.()/-]*"  # how people space out numbers: 0812-5550 1234, 6474.0152...


def _pattern(value: str) -> str:
    """A regex for a personal value as staff may have typed it (spacing and punctuation of numbers vary)."""
    if value.startswith("+62") and value[1:].isdigit():
        return r"(?:\+?62|0)" + SEPARATORS + SEPARATORS.join(value[3:])
    if value.isdigit():
        return SEPARATORS.join(value)
    return r"\s+".join(re.escape(word) for word in value.split())


def _secrets(patron: Patron) -> list[re.Pattern[str]]:
    """Patterns of the personal values that must not survive in free text anywhere (longest first)."""
    values = {patron.name, patron.phone, patron.email, patron.guardian_name, patron.guardian_phone, patron.nis,
              patron.address, nik.reveal_nik(patron)}
    kept = sorted((v.strip() for v in values if v and len(v.strip()) >= MIN_REDACT_LENGTH), key=len, reverse=True)
    return [re.compile(_pattern(v), re.IGNORECASE) for v in kept]


def _redact(text: str, secrets: list[re.Pattern[str]]) -> str:
    for secret in secrets:
        text = secret.sub(REDACTED, text)
    return text


def _redact_value(value: Any, secrets: list[re.Pattern[str]]) -> Any:
    if isinstance(value, str):
        return _redact(value, secrets)
    if isinstance(value, list):
        return [_redact_value(v, secrets) for v in value]
    if isinstance(value, dict):
        return {k: _redact_value(v, secrets) for k, v in value.items()}
    return value


def _redact_free_text(patron: Patron, secrets: list[re.Pattern[str]]) -> None:
    """Staff may have typed the name or phone into reasons and notes; those rows stay, the values go."""
    for event in _audit_about(patron.id):
        cleaned = _redact_value(event.details or {}, secrets)
        if cleaned != event.details:
            event.details = cleaned
    for loan in db.session.scalars(select(Loan).where(Loan.patron_id == patron.id)):
        loan.override_reason = _redact(loan.override_reason, secrets)
    for hold in db.session.scalars(select(Hold).where(Hold.patron_id == patron.id)):
        hold.close_reason = _redact(hold.close_reason, secrets)
    for fee in db.session.scalars(select(Fee).where(Fee.patron_id == patron.id)):
        fee.description = _redact(fee.description, secrets)
        for line in db.session.scalars(select(FeeTransaction).where(FeeTransaction.fee_id == fee.id)):
            line.reason = _redact(line.reason, secrets)


def _rows(statement: Update | Delete) -> int:
    """Run a bulk UPDATE or DELETE; the number of rows it touched."""
    result = db.session.execute(statement)
    return int(typing.cast(CursorResult[Any], result).rowcount)


def _outstanding(patron_id: int) -> tuple[int, int]:
    """Items on loan and rupiah owed."""
    on_loan = db.session.scalar(select(func.count()).where(Loan.patron_id == patron_id,
                                                           Loan.returned_at.is_(None))) or 0
    return int(on_loan), fee_services.balance(patron_id)


def erase(*, actor: Actor, patron_id: int, now: datetime, reason: str) -> Patron:
    """Erase a patron's personal data on request (UU PDP Pasal 43); statistics keep the category only."""
    patron = db.session.get(Patron, patron_id)
    if patron is None or patron.status == PatronStatus.ERASED:
        raise PatronNotFound()
    require(actor, "patron.erase", patron.home_library_id)
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationFailed(_l("Give the reason for the erasure (for example the member's written request)."),
                               field="reason")
    on_loan, owed = _outstanding(patron.id)
    if on_loan:
        raise ErasureRefused(_l("This member still has %(count)d item(s) on loan. They must be returned (or "
                                "marked lost and paid for) before the data can be erased.", count=on_loan))
    if owed:
        raise ErasureRefused(_l("This member still owes %(amount)s. The fees must be paid or waived before the "
                                "data can be erased.", amount=rupiah(owed)))
    secrets = _secrets(patron)
    # Open holds would wait in the queue for nobody: close them first (a copy on the shelf moves on).
    cancelled = 0
    for hold in hold_services.patron_holds(patron.id):
        hold_services.cancel(actor=actor, hold_id=hold.id, now=now, reason=str(_l("Member data erased")))
        cancelled += 1
    _redact_free_text(patron, secrets)
    counts = {
        "loans_unlinked": _rows(update(Loan).where(Loan.patron_id == patron.id).values(
            patron_id=None, anonymised=True, request_key=None)),
        "holds_unlinked": _rows(update(Hold).where(Hold.patron_id == patron.id).values(patron_id=None)),
        "fees_unlinked": _rows(update(Fee).where(Fee.patron_id == patron.id).values(patron_id=None)),
        "notices_deleted": _rows(delete(Notice).where(Notice.patron_id == patron.id)),
        "wards_unlinked": _rows(update(Patron).where(Patron.guardian_id == patron.id).values(guardian_id=None)),
        "consents_deleted": _rows(delete(PatronConsent).where(PatronConsent.patron_id == patron.id)),
        "holds_cancelled": cancelled,
    }
    db.session.execute(delete(PatronPhoto).where(PatronPhoto.patron_id == patron.id))
    nik.set_nik(patron, None)
    patron.name = ERASED_NAME
    for column in BLANK_TEXT:
        setattr(patron, column, "")
    for column in BLANK_NULL:
        setattr(patron, column, None)
    patron.whatsapp = patron.history_opt_in = False
    patron.notice_channel = "none"
    patron.failed_logins = 0
    patron.status = PatronStatus.ERASED
    patron.erased_at = now
    patron.session_version += 1  # any OPAC session of the card ends
    audit.record(actor, "patron.erase", object_type="patron", object_id=patron.id,
                 library_id=patron.home_library_id, details={"reason": _redact(reason, secrets)[:300], **counts},
                 now=now)
    db.session.flush()
    return patron


def erasure_blockers(patron_id: int) -> list[str]:
    """Why an erasure would be refused now (empty: it may go ahead), for the staff screen."""
    on_loan, owed = _outstanding(patron_id)
    blockers = []
    if on_loan:
        blockers.append(str(_l("%(count)d item(s) on loan", count=on_loan)))
    if owed:
        blockers.append(str(_l("%(amount)s unpaid", amount=rupiah(owed))))
    return blockers
