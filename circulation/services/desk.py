"""Desk operations: checkout, check-in, renewal and the explainer that says why.

Each operation locks the item row first (R1), so fifty desks scanning one copy queue up behind
each other and all but the first get a clear "on loan" refusal; the partial unique index on
active loans is the last line of defence. A repeated request returns the loan it already made (R2).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from catalog.models import Item, ItemStatus
from catalog.services import items as catalog_items
from circulation import policy
from circulation.models import Fee, FeeKind, Hold, HoldStatus, Loan, Patron
from circulation.policy import Check, Resolution, Situation
from circulation.services import holds as hold_services
from circulation.services import lookups
from circulation.services import patrons as patron_services
from circulation.services.common import (CheckFailed, ItemNotFound, PatronNotFound, calendar_for, local_today,
                                         rule_rows, rupiah, settings_for)
from ils import audit
from ils.authz import Actor, can, require
from ils.errors import Conflict, NotFound
from ils.extensions import db
from ils.models import Library


@dataclass
class Explanation:
    """What the explainer shows: the rule row and why, every check, the due date it would get."""

    patron: Patron
    item: Item
    resolution: Resolution | None
    checks: list[Check]
    due_at: datetime | None
    active_loan: Loan | None = None

    @property
    def allowed(self) -> bool:
        """True if every check passed."""
        return all(c.passed for c in self.checks)


@dataclass
class CheckoutResult:
    """A loan, and whether this request made it (False: a repeat returned the existing loan)."""

    loan: Loan
    created: bool
    checks: list[Check] = field(default_factory=list)
    overridden: list[str] = field(default_factory=list)
    title: str | None = None  # the record's title, when the checkout read it anyway (None: not read)


@dataclass
class CheckinResult:
    """What happened to a returned item and where it must go now."""

    item: Item
    loan: Loan | None
    fee: Fee | None
    hold: Hold | None
    destination: Library | None  # another library (transit) or None: stays here
    action: str  # shelve | hold_shelf | transit_hold | transit_home | stays
    messages: list[str] = field(default_factory=list)
    title: str = ""  # the record's title


def resolve(item: Item, patron: Patron) -> Resolution | None:
    """The rule for this item (its owner's matrix) and this patron's category."""
    return policy.resolve_rule(rule_rows(item.library_id), library_id=item.library_id,
                               category=patron.category_code, item_type=item.item_type.value)


def situation(patron: Patron, item: Item | None, terms: dict[str, Any] | None, *, now: datetime) -> Situation:
    """Gather the values the policy checks need (one query for all the figures)."""
    today = local_today(item.library_id if item else patron.home_library_id, now)
    settings = settings_for(item.library_id if item else patron.home_library_id)
    counts = lookups.loan_counts(patron.id, item, now=now)
    captured_for = None
    if item is not None and item.status in (ItemStatus.ON_HOLD_SHELF, ItemStatus.IN_TRANSIT):
        captured_for = db.session.scalar(select(Hold.patron_id).where(
            Hold.captured_item_id == item.id, Hold.status.in_([HoldStatus.READY, HoldStatus.IN_TRANSIT])))
    return Situation(
        today=today, patron_status=patron.status.value, block_reason=patron.block_reason,
        expiry_date=patron.expiry_date, is_minor=patron_services.is_minor(patron, today),
        has_guardian_consent=patron.guardian_consent_at is not None, unpaid=int(counts[3] or 0),
        fee_threshold=settings.fee_block_threshold, overdue_count=counts[1],
        block_on_overdue=settings.block_on_overdue, same_home_library=item is None or
        patron.home_library_id == item.library_id, item_status=item.status.value if item else "available",
        item_captured_for_other=captured_for is not None and captured_for != patron.id,
        item_captured_for_patron=captured_for == patron.id, loans_at_library=counts[2],
        loans_in_city=counts[0], terms=terms, holds_on_title=int(counts[4] or 0))


def standing(patron: Patron, *, now: datetime) -> list[Check]:
    """The checks about the patron alone (card, consent, fees, overdue items): what a desk shows first."""
    return policy.patron_checks(situation(patron, None, None, now=now))


def _due(library_id: int, terms: dict[str, Any], now: datetime, *, renewal: bool = False) -> datetime:
    calendar = calendar_for(library_id, local_today(library_id, now))
    if renewal:
        return calendar.due_at(now, days=int(terms["renewal_days"]))
    if terms.get("loan_hours"):
        return calendar.due_at(now, hours=int(terms["loan_hours"]))
    return calendar.due_at(now, days=int(terms["loan_days"]))


def _item(barcode: str) -> Item:
    item = catalog_items.item_by_barcode(barcode.strip())
    if item is None:
        raise ItemNotFound()
    return item


def _locked_item(barcode: str) -> tuple[Item, str]:
    """The scanned item, locked (R1), with its title (the answer shows it)."""
    found = catalog_items.lock_with_title(barcode)
    if found is None:
        raise ItemNotFound()
    return found


def active_loan(item_id: int) -> Loan | None:
    """The item's loan that is still out, if any."""
    return db.session.scalar(select(Loan).where(Loan.item_id == item_id, Loan.returned_at.is_(None)))


def explain(*, actor: Actor, card_number: str, barcode: str, library_id: int, now: datetime) -> Explanation:
    """For a patron and an item: the rule that applies, why that row, and every check.

    Changes nothing but the audit log: the answer shows the patron's name and standing, so the look is
    recorded like any staff view of a patron (the caller commits).
    """
    require(actor, "circulation.desk", library_id)
    patron = patron_services.require_by_card(card_number)
    audit.record(actor, "patron.explain", object_type="patron", object_id=patron.id, library_id=library_id, now=now)
    item = _item(barcode)
    resolution = resolve(item, patron)
    terms = policy.terms_of(resolution.rule) if resolution else None
    checks = policy.checkout_checks(situation(patron, item, terms, now=now))
    loan = active_loan(item.id)
    if loan is not None and loan.patron_id == patron.id:
        checks.append(Check("already_on_loan", True, str(_l("This member already has this item; scanning it "
                                                            "again returns the existing loan"))))
    due = None
    if terms and terms["loanable"]:
        due = _due(library_id, terms, now)
    return Explanation(patron=patron, item=item, resolution=resolution, checks=checks, due_at=due, active_loan=loan)


def checkout(*, actor: Actor, card_number: str, barcode: str, library_id: int, now: datetime,
             override_reason: str = "", request_key: str | None = None, no_block: bool = False,
             channel: str = "desk", patron: Patron | None = None) -> CheckoutResult:
    """Lend an item to a patron at a desk (or a self-check kiosk) in one transaction.

    ``patron`` may be given when the caller already loaded the card's patron (a kiosk that checked
    the PIN); it must be the patron of ``card_number``.
    """
    require(actor, "circulation.desk", library_id)
    patron, previous = lookups.patron_and_repeat(card_number, request_key or None, patron)
    if previous is not None:
        return _repeat(previous, card_number, barcode)
    if patron is None:
        raise PatronNotFound()
    item, title = _locked_item(barcode)
    # Status and loans change together (both here), so an available copy has no loan; were the two
    # ever out of step, the partial unique index still refuses a second loan.
    current = None if item.status == ItemStatus.AVAILABLE else active_loan(item.id)
    if current is not None and current.patron_id == patron.id:
        return CheckoutResult(loan=current, created=False, title=title)
    resolution = resolve(item, patron)
    terms = policy.terms_of(resolution.rule) if resolution else None
    state = situation(patron, item, terms, now=now)
    checks = policy.checkout_checks(state)
    if current is not None:
        checks = [c for c in checks if c.code != "item_available"] + [
            Check("item_available", False, str(_l("Item is on loan to another member")), hard=True)]
    failed = policy.failed(checks)
    overridden: list[str] = []
    if failed:
        overridden = _override(actor, failed, library_id=library_id, reason=override_reason, no_block=no_block,
                               checks=checks)
    assert terms is not None  # a missing rule is a hard failure above
    loan = Loan(item_id=item.id, record_id=item.record_id, patron_id=patron.id,
                patron_category=patron.category_code, patron_home_library_id=patron.home_library_id,
                library_id=library_id, item_library_id=item.library_id, rule_id=resolution.rule.id,
                terms=terms, checked_out_at=now, due_at=_due(library_id, terms, now), channel=channel,
                request_key=request_key, no_block=no_block, override_reason=override_reason.strip()[:300],
                actor_label=actor.label)
    set_committed_value(loan, "item", item)  # the answer reads loan.item; the locked row is that item
    db.session.add(loan)
    try:
        # The status change writes the search outbox, which flushes the new loan and the item together.
        catalog_items.circulate(item, ItemStatus.ON_LOAN, now=now)
        db.session.flush()
    except IntegrityError:
        # The item row lock makes this unreachable on SQLite and PostgreSQL; were another transaction
        # to win anyway, the partial unique index refuses (R1) and the caller rolls back.
        raise CheckFailed([Check("item_available", False, str(_l("Item is on loan to another member")),
                                 hard=True)]) from None
    if state.holds_on_title:
        hold_services.fill_on_checkout(item=item, patron=patron, loan=loan, now=now)
    patron.last_activity_on = local_today(library_id, now)
    audit.write(actor, "loan.checkout", object_type="loan", object_id=loan.id, library_id=library_id,
                details={"item": item.id, "channel": channel, "override": overridden,
                         "reason": override_reason.strip()[:300], "no_block": no_block}, now=now)
    db.session.flush()
    return CheckoutResult(loan=loan, created=True, checks=checks, overridden=overridden, title=title)


def _repeat(loan: Loan, card_number: str, barcode: str) -> CheckoutResult:
    patron = patron_services.by_card(card_number)
    if patron is None or loan.patron_id != patron.id or loan.item.barcode != barcode.strip():
        raise Conflict(_l("This request key was already used for another checkout."))
    return CheckoutResult(loan=loan, created=False)


def _override(actor: Actor, failed: list[Check], *, library_id: int, reason: str, no_block: bool,
              checks: list[Check]) -> list[str]:
    hard = [c for c in failed if c.hard]
    if hard:
        raise CheckFailed(checks)
    if no_block:
        # SIP2 no-block: the kiosk already lent the item offline; record it and flag it (R7).
        return [c.code for c in failed]
    if not reason.strip():
        raise CheckFailed(checks)
    if not can(actor, "circulation.override", library_id):
        raise CheckFailed(checks, message=str(_l("Only a head librarian may override: %(checks)s",
                                                 checks="; ".join(c.message for c in failed))))
    return [c.code for c in failed]


def checkin(*, actor: Actor, barcode: str, library_id: int, now: datetime, channel: str = "desk",
            returned_at: datetime | None = None) -> CheckinResult:
    """Take an item back at any library: close the loan, charge a fine, fill a hold or send it home."""
    require(actor, "circulation.desk", library_id)
    item, title = _locked_item(barcode)
    when = min(returned_at or now, now)
    loan, waiting = lookups.checkin_loan(item)
    fee = None
    messages: list[str] = []
    if loan is not None:
        fee = _close_loan(loan, library_id=library_id, when=when, actor=actor, now=now)
        if fee is not None:
            messages.append(str(_l("Overdue fine charged: %(amount)s", amount=rupiah(fee.amount))))
    elif item.status == ItemStatus.LOST:
        messages.append(str(_l("This item was marked lost and has been found")))
        _found(item, actor=actor, now=now)
    route = hold_services.route_item(item=item, at_library_id=library_id, actor=actor, now=now,
                                     holds_waiting=waiting)
    messages.extend(route.messages)
    audit.write(actor, "loan.checkin", object_type="item", object_id=item.id, library_id=library_id,
                details={"loan": loan.id if loan else None, "action": route.action, "channel": channel,
                         "fee": fee.amount if fee else 0}, now=now)
    db.session.flush()
    if loan is None and not route.received and route.action == "shelve":
        messages.append(str(_l("This item was not on loan")))
    return CheckinResult(item=item, loan=loan, fee=fee, hold=route.hold, destination=route.destination,
                         action=route.action, messages=messages, title=title)


def _close_loan(loan: Loan, *, library_id: int, when: datetime, actor: Actor, now: datetime) -> Fee | None:
    patron = loan.patron
    with db.session.no_autoflush:  # the loan row is written once, at the end, not half-done by a lookup
        settings = settings_for(loan.library_id)
        calendar = calendar_for(loan.library_id, local_today(loan.library_id, loan.due_at))
    loan.returned_at = when
    loan.return_library_id = library_id
    late = calendar.late_days(loan.due_at, when, skip_closed=settings.fines_skip_closed)
    amount = policy.fine_for(late, loan.terms)
    fee = None
    if amount and loan.patron_id is not None:
        fee = Fee(patron_id=loan.patron_id, library_id=loan.library_id, loan_id=loan.id, item_id=loan.item_id,
                  kind=FeeKind.OVERDUE, amount=amount, actor_label=actor.label, created_at=now,
                  description=str(_l("%(days)d day(s) late", days=late)))
        db.session.add(fee)
    if patron is not None:
        patron.last_activity_on = local_today(library_id, now)
        if not patron.history_opt_in and current_app.config["CIRCULATION_ANONYMISE_AFTER_DAYS"] == 0:
            anonymise(loan)
    return fee


def anonymise(loan: Loan) -> None:
    """Cut a returned loan's link to the patron; the category and libraries stay for statistics."""
    loan.patron_id = None
    loan.anonymised = True
    loan.request_key = None


def _found(item: Item, *, actor: Actor, now: datetime) -> None:
    # A lost item that turns up: forgive what is still owed for it (Koha's "refund lost item fee").
    for fee in db.session.scalars(select(Fee).where(Fee.item_id == item.id, Fee.kind == FeeKind.LOST,
                                                    Fee.settled_at.is_(None))):
        from circulation.services.fees import waive_fee

        waive_fee(fee, amount=fee.balance, reason=str(_l("Item found")), actor=actor, library_id=item.library_id,
                  now=now)


def renew(*, actor: Actor, loan_id: int, now: datetime, channel: str = "desk",
          patron_id: int | None = None) -> Loan:
    """Extend a loan by its renewal period; refused when another patron waits for the title."""
    loan = db.session.get(Loan, loan_id)
    if loan is None or loan.returned_at is not None:
        raise NotFound(_l("This loan is not active."))
    if patron_id is not None and loan.patron_id != patron_id:
        raise NotFound(_l("This loan is not active."))
    if channel == "desk":
        require(actor, "circulation.desk", actor.library_id if not actor.network_wide else loan.library_id)
    catalog_items.lock_item(loan.item_id)
    patron = loan.patron
    if patron is None:
        raise NotFound(_l("This loan is not active."))
    checks = renewal_checks(loan, patron, now=now)
    if policy.failed(checks):
        raise CheckFailed(checks)
    new_due = max(_due(loan.library_id, loan.terms, now, renewal=True), loan.due_at)
    old_due = loan.due_at
    loan.due_at = new_due
    loan.renewals += 1
    loan.last_renewed_at = now
    audit.record(actor, "loan.renew", object_type="loan", object_id=loan.id, library_id=loan.library_id,
                 details={"channel": channel, "from": old_due.isoformat(), "to": new_due.isoformat()}, now=now)
    db.session.flush()
    return loan


def renewal_checks(loan: Loan, patron: Patron, *, now: datetime) -> list[Check]:
    """The checks a renewal of this loan would face now."""
    held = hold_services.others_waiting(record_id=loan.record_id, item_id=loan.item_id, patron_id=patron.id)
    s = situation(patron, None, loan.terms, now=now)
    # The loan being renewed may itself be overdue; renewing it is how the patron fixes that.
    s.overdue_count = max(0, s.overdue_count - (1 if loan.due_at < now else 0))
    return policy.renewal_checks(s, renewals_done=loan.renewals, held_by_other=held)


def renew_by_barcode(*, actor: Actor, barcode: str, now: datetime, channel: str = "desk",
                     patron_id: int | None = None) -> Loan:
    """Renew the active loan of the item with this barcode."""
    item = _item(barcode)
    loan = active_loan(item.id)
    if loan is None:
        raise NotFound(_l("This item is not on loan."))
    return renew(actor=actor, loan_id=loan.id, now=now, channel=channel, patron_id=patron_id)


def mark_lost(*, actor: Actor, loan_id: int, now: datetime) -> Fee | None:
    """Close a loan as lost and charge the item's price (or the city default)."""
    loan = db.session.get(Loan, loan_id)
    if loan is None or loan.returned_at is not None:
        raise NotFound(_l("This loan is not active."))
    require(actor, "circulation.desk", loan.item_library_id if not actor.network_wide else None)
    item = catalog_items.lock_item(loan.item_id)
    assert item is not None
    loan.returned_at = now
    loan.lost_at = now
    price = item.price if item.price else int(current_app.config["CIRCULATION_LOST_ITEM_PRICE"])
    fee = None
    if loan.patron_id is not None and price > 0:
        fee = Fee(patron_id=loan.patron_id, library_id=loan.item_library_id, loan_id=loan.id, item_id=item.id,
                  kind=FeeKind.LOST, amount=price, actor_label=actor.label, created_at=now,
                  description=str(_l("Lost item: %(title)s", title=item.record.title[:200])))
        db.session.add(fee)
    catalog_items.circulate(item, ItemStatus.LOST, now=now)
    audit.record(actor, "loan.lost", object_type="loan", object_id=loan.id, library_id=loan.item_library_id,
                 details={"item": item.id, "price": price}, now=now)
    db.session.flush()
    return fee


def patron_loans(patron_id: int, *, active: bool = True) -> list[Loan]:
    """A patron's loans (active ones by due date, or returned ones newest first)."""
    stmt = select(Loan).where(Loan.patron_id == patron_id)
    stmt = stmt.where(Loan.returned_at.is_(None)).order_by(Loan.due_at) if active else \
        stmt.where(Loan.returned_at.is_not(None)).order_by(Loan.returned_at.desc())
    return list(db.session.scalars(stmt))
