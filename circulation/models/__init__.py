"""Circulation tables: patrons, rules, calendars, loans, holds, transits, fees, visits, notices.

Split by screen family so no module grows past the house limit; import from here.
"""
from __future__ import annotations

from circulation.models.fees import Fee, FeeKind, FeeTransaction, TransactionKind
from circulation.models.loans import Hold, HoldStatus, Loan, Transit
from circulation.models.notices import Notice, NoticeKind, NoticeStatus
from circulation.models.patrons import (Patron, PatronCategory, PatronConsent, PatronPhoto, PatronStatus)
from circulation.models.rules import CirculationRule, CirculationSettings, LibraryClosure, SipAccount
from circulation.models.visits import InHouseUse, Visit, VisitSeen

__all__ = [
    "CirculationRule", "CirculationSettings", "Fee", "FeeKind", "FeeTransaction", "Hold", "HoldStatus",
    "InHouseUse", "LibraryClosure", "Loan", "Notice", "NoticeKind", "NoticeStatus", "Patron",
    "PatronCategory", "PatronConsent", "PatronPhoto", "PatronStatus", "SipAccount", "Transit",
    "TransactionKind", "Visit", "VisitSeen",
]
