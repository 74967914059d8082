"""Circulation as JSON under /api/v1/circulation: patrons, checkout, check-in, renewal, holds, fees, explainer.

Same rules as the desk pages: each view carries the page's permission and the services check the
library scope. Authentication and CSRF work as for every API (see ils/api.py): the staff
session cookie, and the ``X-CSRFToken`` header on writes (every response carries a fresh token).

Desk library
    Staff of one library act at their own library. Network staff (admin, DPK) name it with
    ``"library_id"`` in the body (or ``?library_id=`` on GET).

Refusals
    A circulation check that fails answers ``422`` with ``"checks": [{"code", "passed", "message",
    "hard"}, ...]``: every check, so a client can show which one failed and why.

Idempotency
    ``POST /checkout`` takes an optional ``"request_key"`` (any client-made unique string, e.g. a
    UUID per scan): repeating the request returns the same loan with ``200`` instead of ``201``.
    Scanning an item the patron already has returns that loan too.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from flask import Response, request
from flask_babel import gettext as _
from sqlalchemy import select

from catalog.models import Record
from catalog.services.items import item_by_barcode
from circulation.models import Fee, Hold, Loan, Patron
from circulation.policy import Check
from circulation.services import desk, fees, holds, patrons
from circulation.services.common import CheckFailed
from circulation.views import bp
from ils.api import api_view, json_body, json_response, optional_positive_int, positive_int
from ils.auth import require_actor
from ils.errors import NotFound, ValidationFailed
from ils.extensions import db

API = "/api/v1/circulation"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _text(body: dict[str, Any], name: str, *, required: bool = True, limit: int = 100) -> str:
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise ValidationFailed(_("The field %(name)s is required.", name=name), field=name)
        return ""
    if not isinstance(value, (str, int)) or len(str(value)) > limit:
        raise ValidationFailed(_("The field %(name)s is not valid.", name=name), field=name)
    return str(value).strip()


def _library(body: dict[str, Any] | None = None) -> int:
    actor = require_actor()
    if actor.library_id is not None:
        return actor.library_id
    value = (body or {}).get("library_id", request.args.get("library_id"))
    library_id = positive_int(value, "library_id")
    assert library_id is not None
    return library_id


def _checks(checks: list[Check]) -> list[dict[str, Any]]:
    return [{"code": c.code, "passed": c.passed, "message": c.message, "hard": c.hard} for c in checks]


def _refused(exc: CheckFailed) -> Response:
    db.session.rollback()
    return json_response({"error": exc.message, "status": 422, "checks": _checks(exc.checks)}, 422)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _title(record_id: int) -> str:
    # The title column alone: loading the record would bring its whole MARC along.
    return db.session.scalar(select(Record.title).where(Record.id == record_id)) or ""


def _loan(loan: Loan, title: str | None = None) -> dict[str, Any]:
    """A loan as JSON; ``title`` when the service already read it (else one query for it)."""
    return {"id": loan.id, "item_id": loan.item_id, "barcode": loan.item.barcode, "record_id": loan.record_id,
            "title": _title(loan.record_id) if title is None else title, "library_id": loan.library_id,
            "checked_out_at": _iso(loan.checked_out_at),
            "due_at": _iso(loan.due_at), "renewals": loan.renewals, "returned_at": _iso(loan.returned_at),
            "channel": loan.channel, "overridden": bool(loan.override_reason), "no_block": loan.no_block}


def _hold(hold: Hold) -> dict[str, Any]:
    return {"id": hold.id, "record_id": hold.record_id, "item_id": hold.item_id, "status": hold.status.value,
            "pickup_library_id": hold.pickup_library_id, "placed_at": _iso(hold.placed_at),
            "captured_item_id": hold.captured_item_id, "shelf_until": _iso(hold.shelf_until),
            "queue_position": holds.queue_position(hold)}


def _fee(fee: Fee) -> dict[str, Any]:
    return {"id": fee.id, "kind": fee.kind.value, "library_id": fee.library_id, "loan_id": fee.loan_id,
            "amount": fee.amount, "paid": fee.paid, "waived": fee.waived, "balance": fee.balance,
            "description": fee.description, "created_at": _iso(fee.created_at)}


def _patron(patron: Patron, *, personal: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": patron.id, "card_number": patron.card_number, "name": patron.name,
        "category": patron.category_code, "home_library_id": patron.home_library_id, "status": patron.status.value,
        "block_reason": patron.block_reason, "expiry_date": _iso(patron.expiry_date)}
    if personal:
        data.update({"birth_date": _iso(patron.birth_date), "phone": patron.phone, "email": patron.email,
                     "address": patron.address, "kelurahan": patron.kelurahan, "institution": patron.institution,
                     "school_class": patron.school_class, "nik": patron.nik_masked,
                     "history_opt_in": patron.history_opt_in})
    return data


@bp.route(f"{API}/patrons", methods=["GET"])
@api_view("patron.view")
def api_patrons() -> Response:
    """Find patrons: a full card number finds anyone in the city; names search the actor's libraries.

    Like the search page, the list carries card, name, category, home library, status and expiry only:
    contact details and the masked NIK come with ``GET /patrons/<id>``, whose every call is audited.
    """
    actor = require_actor()
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    found, total = patrons.search_patrons(actor=actor, query=request.args.get("q", "")[:100], limit=25,
                                          offset=(page - 1) * 25)
    return json_response({"items": [_patron(p, personal=False) for p in found],
                          "page": page, "pages": (total + 24) // 25, "total": total})


@bp.route(f"{API}/patrons/<id:patron_id>", methods=["GET"])
@api_view("patron.view")
def api_patron(patron_id: int) -> Response:
    """One patron with loans, holds and fees (the view is audited)."""
    actor = require_actor()
    patron = patrons.get_patron(actor=actor, patron_id=patron_id, now=_now(), purpose="api")
    data = _patron(patron, personal=patrons.may_see_personal(actor, patron))
    data.update({"loans": [_loan(loan) for loan in desk.patron_loans(patron.id)],
                 "holds": [_hold(h) for h in holds.patron_holds(patron.id)],
                 "fees": [_fee(f) for f in fees.open_fees(patron.id)], "balance": fees.balance(patron.id)})
    db.session.commit()
    return json_response(data)


@bp.route(f"{API}/patrons", methods=["POST"])
@api_view("patron.edit")
def api_patron_create() -> Response:
    """Register a patron (JSON fields of the desk form; ``home_library_id`` defaults to the actor's)."""
    body = json_body()
    data = {key: body[key] for key in patrons.EDITABLE if key in body and key not in ("birth_date", "expiry_date")}
    for key in ("birth_date", "expiry_date"):
        if body.get(key):
            try:
                data[key] = datetime.strptime(str(body[key]), "%Y-%m-%d").date()
            except ValueError:
                raise ValidationFailed(_("Dates are written YYYY-MM-DD."), field=key) from None
    now = _now()
    patron = patrons.register(actor=require_actor(), data=data, now=now, today=now.date(),
                              nik=body.get("nik") or None, guardian_consent=bool(body.get("guardian_consent")),
                              pin=body.get("pin") or None)
    db.session.commit()
    return json_response(_patron(patron, personal=True), 201)


@bp.route(f"{API}/checkout", methods=["POST"])
@api_view("circulation.desk")
def api_checkout() -> Response:
    """Lend an item: ``{"card", "barcode", "request_key"?, "override_reason"?}``."""
    body = json_body()
    try:
        result = desk.checkout(actor=require_actor(), card_number=_text(body, "card"),
                               barcode=_text(body, "barcode"), library_id=_library(body), now=_now(),
                               request_key=_text(body, "request_key", required=False) or None,
                               override_reason=_text(body, "override_reason", required=False, limit=300),
                               channel="api")
    except CheckFailed as exc:
        return _refused(exc)
    # The answer is built before the commit, which expires every object (reading them again after it
    # would open a second transaction per request).
    payload = _loan(result.loan, result.title)
    payload.update({"created": result.created, "overridden": result.overridden})
    db.session.commit()
    return json_response(payload, 201 if result.created else 200)


@bp.route(f"{API}/checkin", methods=["POST"])
@api_view("circulation.desk")
def api_checkin() -> Response:
    """Take an item back: ``{"barcode"}``; says where it goes next."""
    body = json_body()
    result = desk.checkin(actor=require_actor(), barcode=_text(body, "barcode"), library_id=_library(body),
                          now=_now(), channel="api")
    payload = {"item_id": result.item.id, "barcode": result.item.barcode, "action": result.action,
               "loan": _loan(result.loan, result.title) if result.loan else None,
               "fee": _fee(result.fee) if result.fee else None,
               "hold_id": result.hold.id if result.hold else None,
               "destination_library_id": result.destination.id if result.destination else None,
               "messages": result.messages}
    db.session.commit()
    return json_response(payload)


@bp.route(f"{API}/renew", methods=["POST"])
@api_view("circulation.desk")
def api_renew() -> Response:
    """Renew the loan of an item: ``{"barcode"}``."""
    body = json_body()
    _library(body)
    try:
        loan = desk.renew_by_barcode(actor=require_actor(), barcode=_text(body, "barcode"), now=_now(), channel="api")
    except CheckFailed as exc:
        return _refused(exc)
    payload = _loan(loan)
    db.session.commit()
    return json_response(payload)


@bp.route(f"{API}/explain", methods=["GET"])
@api_view("circulation.desk")
def api_explain() -> Response:
    """The rule that applies to ``?card=&barcode=``, why that row, and every check."""
    card, barcode = request.args.get("card", "")[:40], request.args.get("barcode", "")[:40]
    if not card or not barcode:
        raise ValidationFailed(_("Give card and barcode."))
    e = desk.explain(actor=require_actor(), card_number=card, barcode=barcode, library_id=_library(), now=_now())
    db.session.commit()  # the audit row of the look
    rule = e.resolution.rule if e.resolution else None
    return json_response({"allowed": e.allowed, "checks": _checks(e.checks), "due_at": _iso(e.due_at),
                          "rule": None if rule is None else {"id": rule.id, "library_id": rule.library_id,
                                                             "category": rule.category_code,
                                                             "item_type": rule.item_type,
                                                             "why": e.resolution.why,
                                                             "shadowed": [r.id for r in e.resolution.shadowed]}})


@bp.route(f"{API}/holds", methods=["POST"])
@api_view("circulation.desk")
def api_hold_place() -> Response:
    """Place a hold: ``{"card", "record_id" | "barcode", "pickup_library_id"}`` (barcode: that copy only)."""
    body = json_body()
    patron = patrons.require_by_card(_text(body, "card"))
    record_id = optional_positive_int(body.get("record_id"), "record_id")
    item_id = None
    if body.get("barcode"):
        item = item_by_barcode(_text(body, "barcode"))
        if item is None:
            raise NotFound(_("No item has this barcode."))
        item_id, record_id = item.id, item.record_id
    if record_id is None:
        raise ValidationFailed(_("Give a title number or a copy barcode."), field="record_id")
    pickup = optional_positive_int(body.get("pickup_library_id"), "pickup_library_id") or _library(body)
    try:
        hold = holds.place(actor=require_actor(), patron=patron, record_id=record_id, item_id=item_id,
                           pickup_library_id=pickup, now=_now(), channel="api")
    except CheckFailed as exc:
        return _refused(exc)
    payload = _hold(hold)
    db.session.commit()
    return json_response(payload, 201)


@bp.route(f"{API}/holds/<id:hold_id>/cancel", methods=["POST"])
@api_view("circulation.desk")
def api_hold_cancel(hold_id: int) -> Response:
    """Cancel a hold (optional ``{"reason"}``)."""
    body = request.get_json(silent=True) or {}
    hold = holds.cancel(actor=require_actor(), hold_id=hold_id, now=_now(),
                        reason=str(body.get("reason", ""))[:300] if isinstance(body, dict) else "")
    db.session.commit()
    return json_response(_hold(hold))


@bp.route(f"{API}/patrons/<id:patron_id>/fees", methods=["GET"])
@api_view("fees.collect")
def api_fees(patron_id: int) -> Response:
    """A patron's unsettled fees and balance."""
    patrons.get_patron(actor=require_actor(), patron_id=patron_id, now=_now(), purpose="api")
    data = {"items": [_fee(f) for f in fees.open_fees(patron_id)], "balance": fees.balance(patron_id)}
    db.session.commit()
    return json_response(data)


@bp.route(f"{API}/patrons/<id:patron_id>/payments", methods=["POST"])
@api_view("fees.collect")
def api_pay(patron_id: int) -> Response:
    """Take a payment: ``{"amount", "method"?}`` (cash, transfer, qris); answers the receipt."""
    body = json_body()
    amount = positive_int(body.get("amount"), "amount")
    assert amount is not None
    receipt = fees.pay(actor=require_actor(), patron_id=patron_id, amount=amount, library_id=_library(body),
                       now=_now(), method=_text(body, "method", required=False) or "cash")
    db.session.commit()
    return json_response({"receipt": receipt.number, "total": receipt.total,
                          "lines": [{"fee_id": line.fee_id, "amount": line.amount} for line in receipt.lines],
                          "balance": fees.balance(patron_id)}, 201)


@bp.route(f"{API}/fees/<id:fee_id>/waive", methods=["POST"])
@api_view("fees.waive")
def api_waive(fee_id: int) -> Response:
    """Waive part or all of a fee: ``{"amount", "reason"}``."""
    body = json_body()
    amount = positive_int(body.get("amount"), "amount")
    assert amount is not None
    line = fees.waive(actor=require_actor(), fee_id=fee_id, amount=amount, reason=_text(body, "reason", limit=300),
                      now=_now())
    db.session.commit()
    return json_response({"fee": _fee(line.fee), "waived": line.amount})


