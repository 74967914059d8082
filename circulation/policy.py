"""Circulation policy as pure functions: which rule applies, what each check says, fines.

Nothing here touches the database or Flask's request: services gather plain values into a
``Situation`` and these functions decide. Tests call them with plain values (house style habit 4).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol, Sequence

from flask_babel import lazy_gettext as _l

ANY = "*"

# The terms a loan keeps from its rule at checkout (Loan.terms).
TERM_FIELDS = ("loanable", "loan_days", "loan_hours", "max_loans_library", "max_loans_city", "renewals",
               "renewal_days", "fine_per_day", "fine_cap", "grace_days", "holds_allowed", "hold_shelf_days",
               "other_libraries")


class RuleLike(Protocol):
    """What resolve_rule needs of a rule row (a CirculationRule or a plain object)."""

    id: int
    library_id: int | None
    category_code: str
    item_type: str


@dataclass(frozen=True)
class Resolution:
    """The rule that applies, why that row, and the other rows that matched less specifically."""

    rule: Any
    why: list[str]
    shadowed: list[Any] = field(default_factory=list)


def specificity(rule: RuleLike) -> tuple[int, int, int]:
    """Rank of a row: a named library beats a named category beats a named item type."""
    return (rule.library_id is not None, rule.category_code != ANY, rule.item_type != ANY)


def matches(rule: RuleLike, *, library_id: int, category: str, item_type: str) -> bool:
    """True if the row applies to this library, patron category and item type."""
    return (rule.library_id in (None, library_id) and rule.category_code in (ANY, category)
            and rule.item_type in (ANY, item_type))


def resolve_rule(rules: Sequence[RuleLike], *, library_id: int, category: str, item_type: str) -> Resolution | None:
    """The most specific matching row (ties broken by lowest id, i.e. the older row), or None."""
    matching = [r for r in rules if matches(r, library_id=library_id, category=category, item_type=item_type)]
    if not matching:
        return None
    matching.sort(key=lambda r: (tuple(not part for part in specificity(r)), r.id))
    best = matching[0]
    lib, cat, typ = specificity(best)
    why = [
        str(_l("library: this library's own row") if lib else _l("library: any library (city-wide row)")),
        str(_l("patron category: %(value)s", value=best.category_code) if cat
            else _l("patron category: any")),
        str(_l("item type: %(value)s", value=best.item_type) if typ else _l("item type: any")),
    ]
    return Resolution(rule=best, why=why, shadowed=matching[1:])


def terms_of(rule: Any) -> dict[str, Any]:
    """The rule's terms as a plain dict (kept on the loan)."""
    return {name: getattr(rule, name) for name in TERM_FIELDS}


@dataclass(frozen=True)
class Check:
    """One check of the explainer: its code, whether it passed, and what it means for a person."""

    code: str
    passed: bool
    message: str
    # Staff may override a failed check that is not hard (with a reason, audited).
    hard: bool = False


@dataclass
class Situation:
    """Everything the checkout checks need, gathered by the service."""

    today: date
    patron_status: str
    block_reason: str
    expiry_date: date | None
    is_minor: bool
    has_guardian_consent: bool
    unpaid: int
    fee_threshold: int
    overdue_count: int
    block_on_overdue: bool
    same_home_library: bool
    item_status: str
    item_captured_for_other: bool
    item_captured_for_patron: bool
    loans_at_library: int
    loans_in_city: int
    terms: dict[str, Any] | None
    # The patron's open holds on this title (a checkout fulfils them); not a check, just carried along.
    holds_on_title: int = 0


def _rupiah(amount: int) -> str:
    return "Rp " + f"{amount:,}".replace(",", ".")


def patron_checks(s: Situation) -> list[Check]:
    """Checks about the patron alone (they also guard renewals and holds)."""
    checks = []
    active = s.patron_status == "active"
    reason = {
        "pending": _l("the registration still waits for the library's approval"),
        "blocked": _l("the card is blocked: %(reason)s", reason=s.block_reason or "-"),
        "erased": _l("the card was closed and its data erased"),
    }.get(s.patron_status, "")
    checks.append(Check("patron_active", active, str(_l("Card is active") if active
                                                         else _l("Card is not active: %(why)s", why=reason))))
    fresh = s.expiry_date is None or s.expiry_date >= s.today
    checks.append(Check("card_valid", fresh, str(
        _l("Card valid until %(day)s", day=s.expiry_date.strftime("%d-%m-%Y")) if fresh and s.expiry_date
        else _l("Card has no expiry date") if fresh
        else _l("Card expired on %(day)s; renew the membership first", day=s.expiry_date.strftime("%d-%m-%Y")))))
    if s.is_minor:
        checks.append(Check("guardian_consent", s.has_guardian_consent, str(
            _l("A guardian has given consent for this minor") if s.has_guardian_consent
            else _l("This member is a minor and no guardian consent is recorded"))))
    ok_fees = s.unpaid <= s.fee_threshold
    checks.append(Check("fees", ok_fees, str(
        _l("Unpaid fees %(amount)s (limit %(limit)s)", amount=_rupiah(s.unpaid), limit=_rupiah(s.fee_threshold))
        if ok_fees else _l("Unpaid fees %(amount)s are above the limit of %(limit)s",
                           amount=_rupiah(s.unpaid), limit=_rupiah(s.fee_threshold)))))
    if s.block_on_overdue:
        ok_overdue = s.overdue_count == 0
        checks.append(Check("overdue", ok_overdue, str(
            _l("No overdue items") if ok_overdue
            else _l("Has %(count)d overdue item(s); return them first", count=s.overdue_count))))
    return checks


def checkout_checks(s: Situation) -> list[Check]:
    """Every check of a checkout, in the order the explainer shows them."""
    checks = patron_checks(s)
    terms = s.terms
    if terms is None:
        checks.append(Check("rule", False, str(_l("No circulation rule covers this patron category and item type")),
                            hard=True))
        return checks
    checks.append(Check("loanable", bool(terms["loanable"]), str(
        _l("This item type may be borrowed") if terms["loanable"]
        else _l("This item is for use in the library only (not for loan)"))))
    other_ok = s.same_home_library or bool(terms["other_libraries"])
    checks.append(Check("other_libraries", other_ok, str(
        _l("Patrons of other libraries may borrow this item") if other_ok
        else _l("This library lends this item only to its own members"))))
    status_ok = s.item_status == "available" or (s.item_status == "on_hold_shelf" and s.item_captured_for_patron)
    hard = s.item_status in ("on_loan", "withdrawn", "lost")
    checks.append(Check("item_available", status_ok, str(
        _l("Item is available") if status_ok
        else _l("Item is not available: %(status)s", status=_status_text(s.item_status))), hard=hard))
    checks.append(Check("held_for_other", not s.item_captured_for_other, str(
        _l("Item is not set aside for another patron") if not s.item_captured_for_other
        else _l("Item is set aside for another patron's hold"))))
    lib_ok = s.loans_at_library < terms["max_loans_library"]
    checks.append(Check("library_limit", lib_ok, str(
        _l("Loans at this library: %(count)d of %(limit)d", count=s.loans_at_library,
           limit=terms["max_loans_library"]) if lib_ok
        else _l("Loan limit at this library reached (%(count)d of %(limit)d)", count=s.loans_at_library,
                limit=terms["max_loans_library"]))))
    city_ok = s.loans_in_city < terms["max_loans_city"]
    checks.append(Check("city_limit", city_ok, str(
        _l("Loans city-wide: %(count)d of %(limit)d", count=s.loans_in_city, limit=terms["max_loans_city"])
        if city_ok else _l("City-wide loan limit reached (%(count)d of %(limit)d)", count=s.loans_in_city,
                           limit=terms["max_loans_city"]))))
    return checks


def renewal_checks(s: Situation, *, renewals_done: int, held_by_other: bool) -> list[Check]:
    """Checks of a renewal: the patron's blocks, renewals left, and nobody else waiting."""
    checks = patron_checks(s)
    terms = s.terms or {}
    allowed = int(terms.get("renewals", 0))
    left = renewals_done < allowed
    checks.append(Check("renewals_left", left, str(
        _l("Renewals used: %(done)d of %(allowed)d", done=renewals_done, allowed=allowed) if left
        else _l("No renewals left (%(done)d of %(allowed)d used)", done=renewals_done, allowed=allowed))))
    checks.append(Check("no_holds", not held_by_other, str(
        _l("Nobody else is waiting for this title") if not held_by_other
        else _l("Another patron has placed a hold on this title"))))
    return checks


def _status_text(status: str) -> str:
    return str({
        "on_loan": _l("on loan"), "in_transit": _l("in transit"), "on_hold_shelf": _l("on the hold shelf"),
        "lost": _l("lost"), "damaged": _l("damaged"), "withdrawn": _l("withdrawn"), "in_repair": _l("in repair"),
    }.get(status, status))


def failed(checks: Sequence[Check]) -> list[Check]:
    """The checks that did not pass."""
    return [c for c in checks if not c.passed]


def fine_for(late_days: int, terms: dict[str, Any]) -> int:
    """Overdue fine in rupiah: nothing within the grace days, then per day up to the cap (0 = none)."""
    if late_days <= 0 or late_days <= int(terms.get("grace_days", 0)):
        return 0
    amount = late_days * int(terms.get("fine_per_day", 0))
    cap = int(terms.get("fine_cap", 0))
    return min(amount, cap) if cap else amount
