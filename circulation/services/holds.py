"""Holds: placing and cancelling them, the fair queue, capture at check-in, transit and the shelf.

Invariants (R3): an item fills at most one hold that is in transit or on the shelf (a partial
unique index), a hold captures one item (one column), and the queue is first come, first served
among the patrons allowed to borrow the copy in hand.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from catalog.models import Item, ItemStatus, Record
from catalog.services import items as catalog_items
from circulation import policy
from circulation.models import Hold, HoldStatus, Loan, NoticeKind, Patron, PatronStatus, Transit
from circulation.policy import Check
from circulation.services import notices
from circulation.services.common import CheckFailed, RuleRow, calendar_for, local_today, rule_rows, settings_for
from ils import audit
from ils.authz import Actor, can, require
from ils.errors import NotFound, ValidationFailed
from ils.extensions import db
from ils.models import Library

OPEN = (HoldStatus.WAITING, HoldStatus.IN_TRANSIT, HoldStatus.READY)
UNAVAILABLE = (ItemStatus.WITHDRAWN, ItemStatus.LOST)


@dataclass
class Route:
    """Where an item goes after it was scanned in."""

    action: str  # shelve | hold_shelf | transit_hold | transit_home | stays
    hold: Hold | None = None
    destination: Library | None = None
    messages: list[str] = field(default_factory=list)
    received: bool = False  # the scan ended a transit


def may_fill(item: Item, patron: Patron, rules: dict[int, list[RuleRow]] | None = None) -> bool:
    """True if this copy may go to this patron: loanable, holdable, and lent to their library."""
    rows = (rules or {}).get(item.library_id) or rule_rows(item.library_id)
    found = policy.resolve_rule(rows, library_id=item.library_id, category=patron.category_code,
                                item_type=item.item_type.value)
    if found is None:
        return False
    rule = found.rule
    return bool(rule.loanable and rule.holds_allowed and
                (rule.other_libraries or patron.home_library_id == item.library_id))


def holdable_items(record_id: int, patron: Patron, item_id: int | None = None) -> list[Item]:
    """Copies of the record this patron could receive through a hold."""
    stmt = select(Item).where(Item.record_id == record_id, Item.status.not_in(UNAVAILABLE), Item.public.is_(True))
    if item_id is not None:
        stmt = stmt.where(Item.id == item_id)
    cache: dict[int, list[RuleRow]] = {}
    found = []
    for item in db.session.scalars(stmt):
        cache.setdefault(item.library_id, rule_rows(item.library_id))
        if may_fill(item, patron, cache):
            found.append(item)
    return found


def hold_checks(patron: Patron, *, record_id: int, pickup_library_id: int, item_id: int | None,
                now: datetime) -> list[Check]:
    """Every check of placing a hold, in the order the patron or the desk sees them."""
    from circulation.services.desk import standing  # desk imports this module

    checks = standing(patron, now=now)
    pickup = db.session.get(Library, pickup_library_id)
    pickup_ok = pickup is not None and pickup.active and settings_for(pickup_library_id).pickup_point
    checks.append(Check("pickup", pickup_ok, str(_l("Pickup library accepts holds") if pickup_ok
                                                 else _l("This library is not a pickup point for holds"))))
    copies = holdable_items(record_id, patron, item_id)
    checks.append(Check("holdable", bool(copies), str(
        _l("%(count)d copy(ies) may be held for this member", count=len(copies)) if copies
        else _l("No copy of this title may be held for this member"))))
    duplicate = db.session.scalar(select(Hold.id).where(Hold.patron_id == patron.id, Hold.record_id == record_id,
                                                        Hold.status.in_(OPEN)))
    checks.append(Check("no_duplicate", duplicate is None, str(
        _l("No other hold on this title") if duplicate is None else _l("This member already has a hold on this title"))))
    on_loan = db.session.scalar(select(Loan.id).where(Loan.patron_id == patron.id, Loan.record_id == record_id,
                                                      Loan.returned_at.is_(None)))
    checks.append(Check("not_on_loan", on_loan is None, str(
        _l("Member does not have this title on loan") if on_loan is None
        else _l("This member already has a copy of this title on loan"))))
    count = db.session.scalar(select(func.count()).where(Hold.patron_id == patron.id, Hold.status.in_(OPEN))) or 0
    limit = int(current_app.config["CIRCULATION_MAX_HOLDS"])
    checks.append(Check("hold_limit", count < limit, str(
        _l("Holds: %(count)d of %(limit)d", count=count, limit=limit) if count < limit
        else _l("Hold limit reached (%(count)d of %(limit)d)", count=count, limit=limit))))
    return checks


def place(*, actor: Actor, patron: Patron, record_id: int, pickup_library_id: int, now: datetime,
          item_id: int | None = None, channel: str = "desk") -> Hold:
    """Place a title-level (any copy) or copy-level hold for a patron."""
    if channel == "desk":
        require(actor, "circulation.desk", actor.library_id if not actor.network_wide else None)
    if db.session.get(Record, record_id) is None:
        raise NotFound()
    if item_id is not None:
        item = db.session.get(Item, item_id)
        if item is None or item.record_id != record_id:
            raise ValidationFailed(_l("This copy does not belong to the title."), field="item_id")
    checks = hold_checks(patron, record_id=record_id, pickup_library_id=pickup_library_id, item_id=item_id, now=now)
    if policy.failed(checks):
        raise CheckFailed(checks)
    hold = Hold(record_id=record_id, item_id=item_id, patron_id=patron.id, patron_category=patron.category_code,
                pickup_library_id=pickup_library_id, status=HoldStatus.WAITING, placed_at=now, channel=channel,
                actor_label=actor.label)
    db.session.add(hold)
    db.session.flush()
    audit.record(actor, "hold.place", object_type="hold", object_id=hold.id, library_id=pickup_library_id,
                 details={"record": record_id, "item": item_id, "channel": channel}, now=now)
    return hold


def queue_position(hold: Hold) -> int:
    """1-based place in the title's queue among waiting holds (0 once captured or closed)."""
    if hold.status != HoldStatus.WAITING:
        return 0
    ahead = db.session.scalar(select(func.count()).where(
        Hold.record_id == hold.record_id, Hold.status == HoldStatus.WAITING,
        or_(Hold.placed_at < hold.placed_at, (Hold.placed_at == hold.placed_at) & (Hold.id < hold.id)))) or 0
    return ahead + 1


def cancel(*, actor: Actor, hold_id: int, now: datetime, reason: str = "", patron_id: int | None = None) -> Hold:
    """Cancel an open hold (patron from the OPAC, or staff); a captured copy moves on."""
    hold = db.session.get(Hold, hold_id)
    if hold is None or (patron_id is not None and hold.patron_id != patron_id):
        raise NotFound()
    if patron_id is None and not (can(actor, "circulation.desk", hold.pickup_library_id)
                                  or can(actor, "circulation.desk", _home(hold))):
        require(actor, "circulation.desk", hold.pickup_library_id)
    if not hold.status.open:
        raise ValidationFailed(_l("This hold is already closed."))
    _close(hold, HoldStatus.CANCELLED, reason or str(_l("Cancelled")), now=now)
    audit.record(actor, "hold.cancel", object_type="hold", object_id=hold.id, library_id=hold.pickup_library_id,
                 details={"by_patron": patron_id is not None}, now=now)
    if hold.captured_item_id is not None and hold.status == HoldStatus.CANCELLED:
        item = catalog_items.lock_item(hold.captured_item_id)
        if item is not None and item.status == ItemStatus.ON_HOLD_SHELF:
            route_item(item=item, at_library_id=hold.pickup_library_id, actor=actor, now=now)
    db.session.flush()
    return hold


def _home(hold: Hold) -> int | None:
    return hold.patron.home_library_id if hold.patron is not None else None


def _close(hold: Hold, status: HoldStatus, reason: str, *, now: datetime) -> None:
    hold.status = status
    hold.closed_at = now
    hold.close_reason = reason[:300]


def others_waiting(*, record_id: int, item_id: int, patron_id: int) -> bool:
    """True if another patron holds the title (or this very copy) and the renewal must wait."""
    return db.session.scalar(select(Hold.id).where(
        Hold.record_id == record_id, Hold.status.in_(OPEN), Hold.patron_id != patron_id,
        or_(Hold.item_id.is_(None), Hold.item_id == item_id)).limit(1)) is not None


def fill_on_checkout(*, item: Item, patron: Patron, loan: Loan, now: datetime) -> None:
    """The patron took a copy: their hold on the title is fulfilled."""
    for hold in db.session.scalars(select(Hold).where(Hold.patron_id == patron.id, Hold.record_id == item.record_id,
                                                      Hold.status.in_(OPEN))):
        if hold.captured_item_id not in (None, item.id):
            continue  # another copy is on its way for this hold; leave it
        _close(hold, HoldStatus.FULFILLED, "", now=now)
        hold.loan_id = loan.id
        hold.captured_item_id = hold.captured_item_id or item.id


def _shelf_until(library_id: int, days: int, now: datetime) -> date:
    calendar = calendar_for(library_id, local_today(library_id, now))
    day = calendar.local_date(now)
    counted = 0
    while counted < days:  # the patron gets this many open days to come
        day = calendar.next_open_day(day + timedelta(days=1))
        counted += 1
    return day


def _candidates(item: Item) -> list[Hold]:
    stmt = (select(Hold).where(Hold.record_id == item.record_id, Hold.status == HoldStatus.WAITING,
                               or_(Hold.item_id.is_(None), Hold.item_id == item.id))
            .order_by(Hold.placed_at, Hold.id).limit(50).execution_options(populate_existing=True))
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=Hold)
    return list(db.session.scalars(stmt))


def _capture(item: Item, at_library_id: int, *, now: datetime) -> Hold | None:
    for hold in _candidates(item):
        patron = hold.patron
        if patron is None or patron.status != PatronStatus.ACTIVE or not may_fill(item, patron):
            continue
        try:
            with db.session.begin_nested():
                hold.captured_item_id = item.id
                hold.captured_at = now
                hold.status = HoldStatus.IN_TRANSIT
                db.session.flush()
        except IntegrityError:
            db.session.refresh(item)
            return None  # the copy was captured by another check-in at the same moment
        return hold
    return None


def _transit(item: Item, *, to_library_id: int, from_library_id: int, reason: str, hold: Hold | None,
             actor: Actor, now: datetime) -> None:
    db.session.add(Transit(item_id=item.id, from_library_id=from_library_id, to_library_id=to_library_id,
                           hold_id=hold.id if hold else None, reason=reason, sent_at=now, actor_label=actor.label))
    catalog_items.circulate(item, ItemStatus.IN_TRANSIT, now=now)


def _open_transit(item_id: int) -> Transit | None:
    return db.session.scalar(select(Transit).where(Transit.item_id == item_id, Transit.received_at.is_(None)))


def _to_shelf(hold: Hold, item: Item, *, now: datetime) -> None:
    terms_days = _shelf_days(item, hold)
    hold.status = HoldStatus.READY
    hold.ready_at = now
    hold.shelf_until = _shelf_until(hold.pickup_library_id, terms_days, now)
    catalog_items.circulate(item, ItemStatus.ON_HOLD_SHELF, now=now)
    if hold.patron is not None:
        notices.queue(kind=NoticeKind.HOLD_READY, patron=hold.patron, library_id=hold.pickup_library_id,
                      key=f"hold_ready:{hold.id}", context={"hold": hold, "item": item}, now=now)


def _shelf_days(item: Item, hold: Hold) -> int:
    found = policy.resolve_rule(rule_rows(item.library_id), library_id=item.library_id,
                                category=hold.patron_category, item_type=item.item_type.value)
    return int(found.rule.hold_shelf_days) if found else 3


def route_item(*, item: Item, at_library_id: int, actor: Actor, now: datetime,
               holds_waiting: bool | None = None) -> Route:
    """Decide where a scanned-in item goes: a hold's shelf, a transit, home, or the shelf here.

    ``holds_waiting`` False: the caller found no waiting hold this copy could fill earlier in the
    transaction, so the queue is not read again (None: unknown, read it).
    """
    # Only a copy in transit has an open transit row (both change together here).
    transit = _open_transit(item.id) if item.status == ItemStatus.IN_TRANSIT else None
    if transit is not None:
        transit.received_at = now
    route = _route(item=item, at_library_id=at_library_id, actor=actor, now=now, transit=transit,
                   holds_waiting=holds_waiting)
    if transit is not None:
        route.received = True
        route.messages.insert(0, str(_l("Received from %(library)s", library=transit.from_library.name)))
    return route


def _route(*, item: Item, at_library_id: int, actor: Actor, now: datetime, transit: Transit | None,
           holds_waiting: bool | None) -> Route:
    messages: list[str] = []
    if transit is not None:
        hold = db.session.get(Hold, transit.hold_id) if transit.hold_id else None
        if hold is not None and hold.status == HoldStatus.IN_TRANSIT and hold.captured_item_id == item.id:
            if hold.pickup_library_id == at_library_id:
                _to_shelf(hold, item, now=now)
                return Route("hold_shelf", hold=hold, messages=[str(_l("Put on the hold shelf"))])
            _transit(item, to_library_id=hold.pickup_library_id, from_library_id=at_library_id, reason="hold",
                     hold=hold, actor=actor, now=now)
            return Route("transit_hold", hold=hold, destination=hold.pickup_library)
    if item.status in (ItemStatus.DAMAGED, ItemStatus.IN_REPAIR, ItemStatus.WITHDRAWN):
        return Route("stays", messages=[str(_l("Item status is %(status)s; it stays here", status=item.status.label))])
    if item.status == ItemStatus.ON_HOLD_SHELF:
        ready = db.session.scalar(select(Hold).where(Hold.captured_item_id == item.id,
                                                     Hold.status == HoldStatus.READY))
        if ready is not None:
            return Route("hold_shelf", hold=ready, messages=[str(_l("Already on the hold shelf"))])
    hold = None if holds_waiting is False else _capture(item, at_library_id, now=now)
    if hold is not None:
        if hold.pickup_library_id == at_library_id:
            _to_shelf(hold, item, now=now)
            return Route("hold_shelf", hold=hold, messages=[str(_l("Put on the hold shelf"))])
        _transit(item, to_library_id=hold.pickup_library_id, from_library_id=at_library_id, reason="hold",
                 hold=hold, actor=actor, now=now)
        destination = db.session.get(Library, hold.pickup_library_id)
        return Route("transit_hold", hold=hold, destination=destination,
                     messages=[str(_l("Send to %(library)s for a hold", library=destination.name))])
    if at_library_id != item.library_id and not settings_for(item.library_id).floating:
        _transit(item, to_library_id=item.library_id, from_library_id=at_library_id, reason="home", hold=None,
                 actor=actor, now=now)
        return Route("transit_home", destination=item.library,
                     messages=[str(_l("Send home to %(library)s", library=item.library.name))])
    catalog_items.circulate(item, ItemStatus.AVAILABLE, now=now, location_library_id=at_library_id)
    return Route("shelve", messages=messages)


def expire_shelf(*, now: datetime, actor: Actor) -> int:
    """Close holds left on the shelf past their last day and pass the copies on; returns how many."""
    count = 0
    for hold in db.session.scalars(select(Hold).where(Hold.status == HoldStatus.READY)).all():
        if hold.shelf_until is None or hold.shelf_until >= local_today(hold.pickup_library_id, now):
            continue
        _close(hold, HoldStatus.EXPIRED, str(_l("Not collected in time")), now=now)
        item = catalog_items.lock_item(hold.captured_item_id) if hold.captured_item_id else None
        if item is not None and item.status == ItemStatus.ON_HOLD_SHELF:
            route_item(item=item, at_library_id=hold.pickup_library_id, actor=actor, now=now)
        audit.record(actor, "hold.expire", object_type="hold", object_id=hold.id, library_id=hold.pickup_library_id,
                     now=now)
        count += 1
    db.session.flush()
    return count


def patron_holds(patron_id: int, *, open_only: bool = True) -> list[Hold]:
    """A patron's holds, oldest first."""
    stmt = select(Hold).where(Hold.patron_id == patron_id).order_by(Hold.placed_at)
    if open_only:
        stmt = stmt.where(Hold.status.in_(OPEN))
    return list(db.session.scalars(stmt))


def pull_list(library_id: int) -> list[tuple[Hold, Item]]:
    """Waiting holds that a copy on this library's shelves could fill now (the morning pick list)."""
    rows = db.session.execute(
        select(Hold, Item).join(Item, Item.record_id == Hold.record_id)
        .where(Hold.status == HoldStatus.WAITING, Item.location_library_id == library_id,
               Item.status == ItemStatus.AVAILABLE, or_(Hold.item_id.is_(None), Hold.item_id == Item.id))
        .order_by(Hold.placed_at, Hold.id)).all()
    seen: set[int] = set()
    picked = []
    for hold, item in rows:
        if hold.id in seen or hold.patron is None or not may_fill(item, hold.patron):
            continue
        seen.add(hold.id)
        picked.append((hold, item))
    return picked


def shelf(library_id: int) -> list[Hold]:
    """Holds waiting on this library's shelf, the oldest deadline first."""
    return list(db.session.scalars(select(Hold).where(Hold.pickup_library_id == library_id,
                                                      Hold.status == HoldStatus.READY)
                                   .order_by(Hold.shelf_until, Hold.id)))


def transits(library_id: int, *, incoming: bool) -> list[Transit]:
    """Items on their way to (or from) a library."""
    column = Transit.to_library_id if incoming else Transit.from_library_id
    return list(db.session.scalars(select(Transit).where(column == library_id, Transit.received_at.is_(None))
                                   .order_by(Transit.sent_at)))
