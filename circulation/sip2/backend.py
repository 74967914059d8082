"""What the SIP2 server needs from circulation: the Sip2Backend protocol and the plain results it returns.

The server speaks the wire protocol and decides nothing; a backend decides. The real backend is wired
to circulation.services by the caller; the tests use an in-memory one. Datetimes are timezone-aware,
money is integer rupiah, and screen messages are in Bahasa Indonesia (kiosks show them as they are).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class KioskSession:
    """A logged-in self-check kiosk account, bound to one library."""

    kiosk_login: str
    library_code: str  # sent as the institution id (AO) when the kiosk sends none
    library_name: str = ""  # AM in the ACS status
    location: str = ""  # the kiosk's location code: CP at login, AN in the ACS status
    checkin_ok: bool = True
    checkout_ok: bool = True
    renewal_ok: bool = True
    offline_ok: bool = False  # may the kiosk store transactions while offline and send them no-block later?
    timezone: str = ""  # the library's IANA zone: SIP2 dates are its local time ("" = the server's default)


class PatronBlock(enum.IntEnum):
    """The 14 conditions of the SIP2 patron status field; the value is the position in the field."""

    CHARGE_PRIVILEGES_DENIED = 0
    RENEWAL_PRIVILEGES_DENIED = 1
    RECALL_PRIVILEGES_DENIED = 2
    HOLD_PRIVILEGES_DENIED = 3
    CARD_REPORTED_LOST = 4
    TOO_MANY_ITEMS_CHARGED = 5
    TOO_MANY_ITEMS_OVERDUE = 6
    TOO_MANY_RENEWALS = 7
    TOO_MANY_CLAIMS_OF_ITEMS_RETURNED = 8
    TOO_MANY_ITEMS_LOST = 9
    EXCESSIVE_OUTSTANDING_FINES = 10
    EXCESSIVE_OUTSTANDING_FEES = 11
    RECALL_OVERDUE = 12
    TOO_MANY_ITEMS_BILLED = 13


class CirculationStatus(enum.IntEnum):
    """The SIP2 item circulation status codes 01..13."""

    OTHER = 1
    ON_ORDER = 2
    AVAILABLE = 3
    CHARGED = 4
    CHARGED_NOT_TO_BE_RECALLED = 5
    IN_PROCESS = 6
    RECALLED = 7
    WAITING_ON_HOLD_SHELF = 8
    WAITING_TO_BE_RESHELVED = 9
    IN_TRANSIT = 10
    CLAIMED_RETURNED = 11
    LOST = 12
    MISSING = 13


@dataclass(frozen=True)
class PatronInfo:
    """A patron as a kiosk may see them: validity, blocks, fines and item lists (barcodes)."""

    patron_id: str
    valid: bool
    pin_valid: bool | None = None  # None: no PIN was sent, so none was checked
    name: str = ""
    blocks: frozenset[PatronBlock] = frozenset()
    fines_rupiah: int = 0
    charged_items: tuple[str, ...] = ()
    overdue_items: tuple[str, ...] = ()
    hold_items: tuple[str, ...] = ()  # holds waiting on the hold shelf (barcodes)
    unavailable_holds: tuple[str, ...] = ()  # holds still in the queue (barcode, or title for title-level holds)
    fine_items: tuple[str, ...] = ()  # one line per fine, as the kiosk should print it
    charged_limit: int | None = None
    overdue_limit: int | None = None
    hold_limit: int | None = None
    screen_message: str = ""


@dataclass(frozen=True)
class CirculationResult:
    """The outcome of a checkout or a renewal."""

    ok: bool
    item_id: str
    title: str = ""
    due_at: datetime | None = None  # aware; the server writes it in the library's time zone
    renewal_ok: bool = False  # SIP2: the item was already on loan to this patron and has been renewed
    magnetic_media: bool | None = None  # None: unknown
    desensitize: bool | None = None  # True: the kiosk should unlock the item; None: unknown
    screen_message: str = ""
    fee_rupiah: int = 0
    transaction_id: str = ""  # e.g. the loan id, so a kiosk's receipt names the loan


@dataclass(frozen=True)
class CheckinResult:
    """The outcome of a checkin."""

    ok: bool
    item_id: str
    title: str = ""
    resensitize: bool = False  # False for items that must go to staff (holds, transit)
    magnetic_media: bool | None = None  # None: unknown
    alert: bool = False  # the kiosk should set the item aside (hold shelf, transit, problem)
    permanent_location: str = ""
    sort_bin: str = ""  # where the item goes: destination library code (transit) or hold-shelf bin
    screen_message: str = ""


@dataclass(frozen=True)
class ItemInfo:
    """An item as a kiosk may see it."""

    item_id: str
    circulation_status: CirculationStatus
    title: str = ""
    due_at: datetime | None = None  # aware
    owner: str = ""  # owning library code
    permanent_location: str = ""
    current_location: str = ""
    hold_queue_length: int = 0
    screen_message: str = ""


class Sip2Backend(Protocol):
    """What the SIP2 server asks of circulation.

    Calls come from one thread per kiosk connection, several at once, so a backend must be thread-safe.
    A backend that raises makes the server log the error and close that connection (the kiosk then
    shows "out of service" and retries), rather than send an answer it cannot stand behind.
    """

    def login(self, kiosk_login: str, password: str, location: str) -> KioskSession | None:
        """The session of a kiosk account whose credentials are right, else None."""
        ...

    def patron_status(self, session: KioskSession, patron_id: str, pin: str | None) -> PatronInfo:
        """The patron as the kiosk may see them; pin None means none was sent (not checked)."""
        ...

    def checkout(self, session: KioskSession, patron_id: str, item_id: str, pin: str | None, *,
                 no_block: bool, sequence: str | None, renewal_policy: bool,
                 transaction_at: datetime | None, nb_due_at: datetime | None) -> CirculationResult:
        """Lend an item; a repeat of the same patron+item (a resend) returns the existing loan, never a second.

        no_block: the kiosk already lent the item offline, so the loan must be recorded (and flagged if the
        patron is blocked), not refused (R7). sequence is the kiosk's AY digit (0-9, or None), which with
        the kiosk, patron and item can key the idempotency of resends (R2). transaction_at is when the kiosk
        says the loan happened; nb_due_at is a due date the kiosk asks for (None: the rules decide).
        """
        ...

    def checkin(self, session: KioskSession, item_id: str, *, return_date: datetime | None,
                no_block: bool, current_location: str) -> CheckinResult:
        """Return an item (return_date None: now); no_block marks a return the kiosk already accepted offline."""
        ...

    def renew(self, session: KioskSession, patron_id: str, item_id: str, pin: str | None, *,
              no_block: bool, sequence: str | None) -> CirculationResult:
        """Renew a loan; like checkout, a resend must not renew twice."""
        ...

    def item_information(self, session: KioskSession, item_id: str) -> ItemInfo:
        """An item's status, title, due date and locations (status OTHER and a message if unknown)."""
        ...

    def end_session(self, session: KioskSession, patron_id: str) -> None:
        """Forget anything held for this patron at this kiosk."""
        ...
