"""The real SIP2 backend: each kiosk request runs the circulation services in its own transaction.

The server calls these methods from its connection threads; every call opens an app context, works
with a fresh database session, commits, and removes the session. Refusals come back as screen
messages in Bahasa Indonesia naming the failed check, exactly as at the desk.
"""
from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import TypeVar

from flask import Flask
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select

from catalog.models import Item, ItemStatus
from catalog.services.items import item_by_barcode
from circulation.models import Hold, HoldStatus, Loan, Patron, PatronStatus, SipAccount
from circulation.services import desk, fees, holds, patrons
from circulation.services.common import CheckFailed
from circulation.sip2.backend import (CheckinResult, CirculationResult, CirculationStatus, ItemInfo, KioskSession,
                                      PatronBlock, PatronInfo)
from ils.authz import Actor
from ils.errors import IlsError
from ils.extensions import db
from ils.models import Library, Role
from ils.passwords import verify_password

T = TypeVar("T")

STATUS_CODES = {
    ItemStatus.AVAILABLE: CirculationStatus.AVAILABLE, ItemStatus.ON_LOAN: CirculationStatus.CHARGED,
    ItemStatus.IN_TRANSIT: CirculationStatus.IN_TRANSIT, ItemStatus.ON_HOLD_SHELF: CirculationStatus.WAITING_ON_HOLD_SHELF,
    ItemStatus.LOST: CirculationStatus.LOST, ItemStatus.DAMAGED: CirculationStatus.OTHER,
    ItemStatus.WITHDRAWN: CirculationStatus.MISSING, ItemStatus.IN_REPAIR: CirculationStatus.IN_PROCESS,
}
# Failed checks -> SIP2 patron status positions.
BLOCKS = {
    "patron_active": (PatronBlock.CHARGE_PRIVILEGES_DENIED, PatronBlock.RENEWAL_PRIVILEGES_DENIED,
                      PatronBlock.HOLD_PRIVILEGES_DENIED),
    "card_valid": (PatronBlock.CHARGE_PRIVILEGES_DENIED, PatronBlock.RENEWAL_PRIVILEGES_DENIED,
                   PatronBlock.HOLD_PRIVILEGES_DENIED),
    "guardian_consent": (PatronBlock.CHARGE_PRIVILEGES_DENIED,),
    "fees": (PatronBlock.EXCESSIVE_OUTSTANDING_FINES, PatronBlock.CHARGE_PRIVILEGES_DENIED),
    "overdue": (PatronBlock.TOO_MANY_ITEMS_OVERDUE, PatronBlock.CHARGE_PRIVILEGES_DENIED),
}


def _now() -> datetime:
    return datetime.now(timezone.utc)


# A PIN verified with argon2 is remembered (as a keyed hash, in this process only) for this long, so a
# member borrowing five books at a kiosk pays for one argon2 check, not five (~120 ms each).
PIN_MEMORY = timedelta(minutes=5)


class DatabaseBackend:
    """Sip2Backend over the circulation services of one app."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._pins: dict[tuple[str, str], tuple[str, str, datetime]] = {}
        self._lock = threading.Lock()
        self._key = hmac.new((app.config.get("SECRET_KEY") or "").encode(), b"sip2-pin-memory",
                             hashlib.sha256).digest()

    def _digest(self, card: str, pin: str) -> str:
        return hmac.new(self._key, f"{card}:{pin}".encode(), hashlib.sha256).hexdigest()

    @contextmanager
    def _unit(self) -> Iterator[None]:
        with self.app.app_context(), force_locale("id"):
            try:
                yield
                db.session.commit()
            except Exception:
                db.session.rollback()
                raise
            finally:
                db.session.remove()

    def _run(self, fn: Callable[[], T]) -> T:
        with self._unit():
            return fn()

    @staticmethod
    def _account(session: KioskSession) -> SipAccount:
        account = db.session.scalar(select(SipAccount).where(SipAccount.login == session.kiosk_login))
        if account is None or not account.active:
            raise PermissionError("kiosk account disabled")
        return account

    @staticmethod
    def _actor(account: SipAccount) -> Actor:
        return Actor(label=f"sip2:{account.login}", role=Role.CIRCULATION, library_id=account.library_id)

    @staticmethod
    def _patron(patron_id: str) -> Patron | None:
        patron = patrons.by_card(patron_id)
        return None if patron is None or patron.status == PatronStatus.ERASED else patron

    def login(self, kiosk_login: str, password: str, location: str) -> KioskSession | None:
        """A kiosk account's login (bound to its library)."""
        def work() -> KioskSession | None:
            account = db.session.scalar(select(SipAccount).where(SipAccount.login == kiosk_login))
            if account is None or not account.active or not verify_password(account.password_hash, password):
                return None
            account.last_login_at = _now()
            library = db.session.get(Library, account.library_id)
            return KioskSession(kiosk_login=account.login, library_code=library.code, library_name=library.name,
                                location=location or library.code, timezone=library.timezone)
        return self._run(work)

    def _pin_ok(self, account: SipAccount, patron: Patron, pin: str | None) -> bool | None:
        if pin is None:
            return None if not account.require_pin else False
        now = _now()
        key = (account.login, patron.card_number)
        digest = self._digest(patron.card_number, pin)
        with self._lock:
            remembered = self._pins.get(key)
        # Only the same PIN, against the same stored hash (a PIN change or a lock forgets it), in time.
        if remembered is not None and remembered[0] == digest and remembered[1] == patron.pin_hash \
                and remembered[2] > now and not (patron.locked_until and patron.locked_until > now):
            return True
        ok = patrons.check_pin(patron, pin, now=now)
        with self._lock:
            if ok and patron.pin_hash:
                self._pins[key] = (digest, patron.pin_hash, now + PIN_MEMORY)
            else:
                self._pins.pop(key, None)
        return ok

    def patron_status(self, session: KioskSession, patron_id: str, pin: str | None) -> PatronInfo:
        """Blocks, counts and item lists of a patron (no personal data beyond the name)."""
        def work() -> PatronInfo:
            account = self._account(session)
            patron = self._patron(patron_id)
            if patron is None:
                return PatronInfo(patron_id=patron_id, valid=False, screen_message=_("No member has this card number."))
            now = _now()
            pin_ok = self._pin_ok(account, patron, pin)
            checks = desk.standing(patron, now=now)
            blocks = {block for check in checks if not check.passed for block in BLOCKS.get(check.code, ())}
            loans = desk.patron_loans(patron.id)
            ready = [h for h in holds.patron_holds(patron.id) if h.status == HoldStatus.READY and h.captured_item]
            waiting = [h for h in holds.patron_holds(patron.id) if h.status != HoldStatus.READY]
            message = "; ".join(c.message for c in checks if not c.passed)
            return PatronInfo(
                patron_id=patron.card_number, valid=True, pin_valid=pin_ok, name=patron.name,
                blocks=frozenset(blocks), fines_rupiah=fees.balance(patron.id),
                charged_items=tuple(loan.item.barcode for loan in loans),
                overdue_items=tuple(loan.item.barcode for loan in loans if loan.due_at < now),
                hold_items=tuple(h.captured_item.barcode for h in ready),
                unavailable_holds=tuple(str(h.record_id) for h in waiting),
                screen_message=message)
        return self._run(work)

    def _circulation(self, session: KioskSession, patron_id: str, item_id: str, pin: str | None,
                     action: Callable[[SipAccount, Patron], Loan]) -> CirculationResult:
        def work() -> CirculationResult:
            account = self._account(session)
            patron = self._patron(patron_id)
            if patron is None:
                return CirculationResult(ok=False, item_id=item_id, screen_message=_("No member has this card number."))
            if self._pin_ok(account, patron, pin) is False:
                return CirculationResult(ok=False, item_id=item_id, screen_message=_("The PIN is not right."))
            item = item_by_barcode(item_id.strip())
            title = item.record.title[:200] if item else ""
            try:
                with db.session.begin_nested():
                    loan = action(account, patron)
            except CheckFailed as exc:
                return CirculationResult(ok=False, item_id=item_id, title=title, screen_message=exc.message)
            except IlsError as exc:
                return CirculationResult(ok=False, item_id=item_id, title=title, screen_message=exc.message)
            return CirculationResult(ok=True, item_id=item_id, title=title, due_at=loan.due_at,
                                     renewal_ok=loan.renewals < int(loan.terms.get("renewals", 0)), desensitize=True,
                                     magnetic_media=item.item_type.value == "audio_visual" if item else None,
                                     transaction_id=str(loan.id))
        return self._run(work)

    def checkout(self, session: KioskSession, patron_id: str, item_id: str, pin: str | None, *, no_block: bool,
                 sequence: str | None, renewal_policy: bool, transaction_at: datetime | None,
                 nb_due_at: datetime | None) -> CirculationResult:
        """Lend an item; a resent request (same patron, item and transaction time) returns the same loan."""
        key = f"sip2:{session.kiosk_login}:{patron_id}:{item_id}:{(transaction_at or _now()).isoformat()}"[:100]

        def lend(account: SipAccount, patron: Patron) -> Loan:
            return desk.checkout(actor=self._actor(account), card_number=patron.card_number, barcode=item_id,
                                 library_id=account.library_id, now=_now(), request_key=key if transaction_at else None,
                                 no_block=no_block, channel="sip2", patron=patron).loan
        return self._circulation(session, patron_id, item_id, pin, lend)

    def renew(self, session: KioskSession, patron_id: str, item_id: str, pin: str | None, *, no_block: bool,
              sequence: str | None) -> CirculationResult:
        """Renew a loan of this patron."""
        def extend(account: SipAccount, patron: Patron) -> Loan:
            return desk.renew_by_barcode(actor=self._actor(account), barcode=item_id, now=_now(), channel="sip2",
                                         patron_id=patron.id)
        return self._circulation(session, patron_id, item_id, pin, extend)

    def checkin(self, session: KioskSession, item_id: str, *, return_date: datetime | None, no_block: bool,
                current_location: str) -> CheckinResult:
        """Take an item back at the kiosk's library; the sort bin says where it goes."""
        def work() -> CheckinResult:
            account = self._account(session)
            try:
                with db.session.begin_nested():
                    result = desk.checkin(actor=self._actor(account), barcode=item_id, library_id=account.library_id,
                                          now=_now(), channel="sip2", returned_at=return_date)
            except IlsError as exc:
                return CheckinResult(ok=False, item_id=item_id, screen_message=exc.message)
            library = db.session.get(Library, account.library_id)
            bin_ = result.destination.code if result.destination else ("HOLD" if result.action == "hold_shelf" else "")
            return CheckinResult(ok=True, item_id=item_id, title=result.item.record.title[:200], resensitize=True,
                                 alert=result.action != "shelve", permanent_location=result.item.library.code,
                                 sort_bin=bin_, screen_message="; ".join(result.messages) or library.name)
        return self._run(work)

    def item_information(self, session: KioskSession, item_id: str) -> ItemInfo:
        """Status, due date, owner and hold queue of an item."""
        def work() -> ItemInfo:
            self._account(session)
            item: Item | None = item_by_barcode(item_id.strip())
            if item is None:
                return ItemInfo(item_id=item_id, circulation_status=CirculationStatus.OTHER,
                                screen_message=_("No item has this barcode."))
            loan = desk.active_loan(item.id)
            queue = db.session.scalar(select(func.count()).where(Hold.record_id == item.record_id,
                                                                 Hold.status == HoldStatus.WAITING)) or 0
            return ItemInfo(item_id=item.barcode, circulation_status=STATUS_CODES.get(item.status,
                                                                                       CirculationStatus.OTHER),
                            title=item.record.title[:200], due_at=loan.due_at if loan else None,
                            owner=item.library.code, permanent_location=item.library.code,
                            current_location=item.location_library.code, hold_queue_length=queue)
        return self._run(work)

    def end_session(self, session: KioskSession, patron_id: str) -> None:
        """The member is done at the kiosk: forget their verified PIN."""
        with self._lock:
            self._pins.pop((session.kiosk_login, patron_id), None)


