"""The circulation desk: checkout, check-in, renewal, the explainer, holds, fees and receipts.

Scanner first: every screen has one focused field that a barcode scanner fills and submits with
Enter. Views parse, call one service, commit and redirect (house style habit 2).
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, flash, redirect, render_template as render, request, session, url_for
from flask_babel import gettext as _

from catalog.services.items import item_by_barcode
from circulation.forms.desk import (BarcodeForm, CheckoutForm, DeskLibraryForm, ExplainForm, HoldForm, PatronScanForm,
                                    PayForm, ReasonForm, WaiveForm)
from catalog.models import Item
from circulation.models import Fee, FeeTransaction, Hold, Loan
from circulation.services import desk as services
from circulation.services import fees as fee_services
from circulation.services import holds as hold_services
from circulation.services import patrons as patron_services
from circulation.services.common import CheckFailed, local_today
from circulation.services.desk import CheckinResult
from circulation.views import bp
from ils import authz
from ils.auth import permission_required, require_actor
from ils.errors import IlsError, NotFound, ValidationFailed
from ils.extensions import db
from ils.forms import PostForm, choices
from ils.models import Library
from ils.views import id_arg


def _now() -> datetime:
    return datetime.now(timezone.utc)


def desk_library() -> int | None:
    """The library this desk works for: the actor's own, or the one network staff chose."""
    actor = require_actor()
    if actor.library_id is not None:
        return actor.library_id
    asked = id_arg("library")
    if asked is not None and db.session.get(Library, asked) is not None:
        session["circulation_desk_library"] = asked
        return asked
    chosen = session.get("circulation_desk_library")
    return chosen if isinstance(chosen, int) and db.session.get(Library, chosen) else None


def _require_library() -> int:
    library_id = desk_library()
    if library_id is None:
        raise ValidationFailed(_("Choose the library this desk belongs to."))
    authz.require(require_actor(), "circulation.desk", library_id)
    return library_id


def _library_choices() -> list[Any]:
    return choices((lib.id, f"{lib.code} · {lib.name}") for lib in
                   db.session.scalars(db.select(Library).where(Library.active.is_(True)).order_by(Library.code)))


@bp.route("/circulation", methods=["GET"])
@permission_required("circulation.desk")
def desk() -> str:
    """The desk's home: scan a card to lend, or an item to take back."""
    library_id = desk_library()
    chooser = DeskLibraryForm()
    chooser.library_id.choices = _library_choices()
    summary: dict[str, Any] = {}
    if library_id is not None:
        summary = {"shelf": len(hold_services.shelf(library_id)), "pull": len(hold_services.pull_list(library_id)),
                   "incoming": len(hold_services.transits(library_id, incoming=True))}
    return render("circulation/desk.html", scan_form=PatronScanForm(formdata=None), checkin_form=BarcodeForm(
        formdata=None), chooser=chooser, library=db.session.get(Library, library_id) if library_id else None,
        summary=summary, may_report=library_id is not None and authz.can(require_actor(), "circulation.reports",
                                                                          library_id))


@bp.route("/circulation/desk-library", methods=["POST"])
@permission_required("circulation.desk")
def desk_library_choose() -> Response:
    """Network staff pick the library whose desk they are working at."""
    form = DeskLibraryForm()
    form.library_id.choices = _library_choices()
    if form.validate_on_submit():
        authz.require(require_actor(), "circulation.desk", form.library_id.data)
        session["circulation_desk_library"] = form.library_id.data
    return redirect(url_for("circulation.desk"))


def _patron_panel(card: str, library_id: int) -> dict[str, Any]:
    actor = require_actor()
    patron = patron_services.require_by_card(card)
    now = _now()
    patron = patron_services.get_patron(actor=actor, patron_id=patron.id, now=now, purpose="desk")
    checks = services.standing(patron, now=now)
    db.session.commit()  # the audit row of this view
    return {"patron": patron, "patron_checks": checks, "loans": services.patron_loans(patron.id),
            "holds": hold_services.patron_holds(patron.id), "balance": fee_services.balance(patron.id),
            "fees": fee_services.open_fees(patron.id), "now": now,
            "personal": patron_services.may_see_personal(actor, patron)}


@bp.route("/circulation/checkout", methods=["GET", "POST"])
@permission_required("circulation.desk")
def checkout() -> str | Response:
    """Scan the card, then the items; each scan is one transaction."""
    library_id = _require_library()
    actor = require_actor()
    card = (request.values.get("card") or "").strip()
    if not card:
        return redirect(url_for("circulation.desk"))
    form = CheckoutForm()
    refusal: CheckFailed | None = None
    if form.validate_on_submit():
        try:
            result = services.checkout(actor=actor, card_number=card, barcode=form.barcode.data,
                                       library_id=library_id, now=_now(), request_key=form.request_key.data or None,
                                       override_reason=form.override_reason.data or "")
        except CheckFailed as exc:
            db.session.rollback()
            refusal = exc
        except IlsError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            loan = result.loan
            message = _("Lent: %(title)s, due %(due)s.", title=loan.item.record.title[:120],
                        due=_local(loan.due_at, loan.library))
            if not result.created:
                message = _("Already lent to this member: %(title)s, due %(due)s.",
                            title=loan.item.record.title[:120], due=_local(loan.due_at, loan.library))
            flash(message, "success" if result.created else "info")
            if result.overridden:
                flash(_("Lent despite: %(checks)s", checks=", ".join(result.overridden)), "warning")
            return redirect(url_for("circulation.checkout", card=card))
    panel = _patron_panel(card, library_id)
    fresh = CheckoutForm(formdata=None, card=card, request_key=uuid.uuid4().hex)
    if refusal is not None:
        fresh.barcode.data = form.barcode.data
    return render("circulation/checkout.html", form=fresh, refusal=refusal,
                  may_override=authz.can(actor, "circulation.override", library_id), **panel)


def _attempt(call: Any, done: str) -> Any:
    """Run a desk action: commit and flash ``done``, or roll back and flash the refusal (403/404 propagate)."""
    try:
        result = call()
    except IlsError as exc:
        db.session.rollback()
        if exc.status_code in (403, 404):
            raise
        flash(exc.message, "danger")
        return None
    db.session.commit()
    if done:
        flash(done, "success")
    return result


def _local(at: datetime, library: Library) -> str:
    return at.astimezone(ZoneInfo(library.timezone)).strftime("%d-%m-%Y %H:%M")


@bp.route("/circulation/checkin", methods=["GET", "POST"])
@permission_required("circulation.desk")
def checkin() -> str | Response:
    """Take items back; the screen says where each one goes next (post, then redirect: F5 is harmless)."""
    library_id = _require_library()
    form = BarcodeForm()
    if form.validate_on_submit():
        try:
            result = services.checkin(actor=require_actor(), barcode=form.barcode.data, library_id=library_id,
                                      now=_now())
        except IlsError as exc:
            db.session.rollback()
            if exc.status_code == 403:
                raise
            flash(exc.message, "danger")
        else:
            db.session.commit()
            session["circulation_checkin"] = {
                "item": result.item.id, "loan": result.loan.id if result.loan else None,
                "fee": result.fee.id if result.fee else None, "hold": result.hold.id if result.hold else None,
                "destination": result.destination.id if result.destination else None, "action": result.action,
                "messages": result.messages}
        return redirect(url_for("circulation.checkin"))
    return render("circulation/checkin.html", form=BarcodeForm(formdata=None), result=_last_checkin(),
                  library=db.session.get(Library, library_id))


def _last_checkin() -> Any:
    """The result of this desk's last check-in, rebuilt from ids kept in the session."""
    last = session.get("circulation_checkin")
    if not isinstance(last, dict) or db.session.get(Item, last.get("item") or 0) is None:
        return None
    get = db.session.get
    return CheckinResult(item=get(Item, last["item"]), loan=get(Loan, last["loan"]) if last.get("loan") else None,
                         fee=get(Fee, last["fee"]) if last.get("fee") else None,
                         hold=get(Hold, last["hold"]) if last.get("hold") else None,
                         destination=get(Library, last["destination"]) if last.get("destination") else None,
                         action=str(last.get("action", "")), messages=[str(m) for m in last.get("messages", [])])


@bp.route("/circulation/loans/<id:loan_id>/receipt", methods=["GET"])
@permission_required("circulation.desk")
def return_receipt(loan_id: int) -> str:
    """A printable receipt of one returned loan (for the member who asks)."""
    loan = db.session.get(Loan, loan_id)
    if loan is None or loan.returned_at is None or loan.return_library_id is None:
        raise NotFound()
    authz.require(require_actor(), "circulation.desk", loan.return_library_id)
    fee = db.session.scalar(db.select(Fee).where(Fee.loan_id == loan.id))
    return render("circulation/return_receipt.html", loan=loan, fee=fee,
                  library=db.session.get(Library, loan.return_library_id))


@bp.route("/circulation/renew", methods=["POST"])
@permission_required("circulation.desk")
def renew() -> Response:
    """Renew a loan at the desk (by barcode)."""
    _require_library()
    form = BarcodeForm()
    card = request.form.get("card", "")
    if form.validate_on_submit():
        loan = _attempt(lambda: services.renew_by_barcode(actor=require_actor(), barcode=form.barcode.data,
                                                          now=_now()), "")
        if loan is not None:
            flash(_("Renewed until %(due)s.", due=_local(loan.due_at, loan.library)), "success")
    return redirect(url_for("circulation.checkout", card=card) if card else url_for("circulation.desk"))


@bp.route("/circulation/explain", methods=["GET"])
@permission_required("circulation.desk")
def explain() -> str:
    """Why a patron may or may not borrow an item: the rule row, why that row, every check."""
    library_id = _require_library()
    form = ExplainForm(request.args)
    explanation = None
    if request.args and form.validate():
        try:
            explanation = services.explain(actor=require_actor(), card_number=form.card.data,
                                           barcode=form.barcode.data, library_id=library_id, now=_now())
            db.session.commit()  # the audit row of the look
        except IlsError as exc:
            flash(exc.message, "danger")
    return render("circulation/explain.html", form=form, explanation=explanation,
                  library=db.session.get(Library, library_id))


@bp.route("/circulation/holds", methods=["GET"])
@permission_required("circulation.desk")
def holds() -> str:
    """The hold shelf, the pick list of copies to fetch, and items in transit."""
    library_id = _require_library()
    form = HoldForm(formdata=None)
    form.pickup_library_id.choices = _library_choices()
    form.pickup_library_id.data = library_id
    return render("circulation/holds.html", shelf=hold_services.shelf(library_id),
                  pull=hold_services.pull_list(library_id),
                  incoming=hold_services.transits(library_id, incoming=True),
                  outgoing=hold_services.transits(library_id, incoming=False), form=form,
                  cancel_form=ReasonForm(), today=local_today(library_id, _now()),
                  library=db.session.get(Library, library_id))


@bp.route("/circulation/holds/place", methods=["POST"])
@permission_required("circulation.desk")
def hold_place() -> Response:
    """Place a hold for a patron at the desk (a title, or one copy by barcode)."""
    _require_library()
    form = HoldForm()
    form.pickup_library_id.choices = _library_choices()
    if form.validate_on_submit():
        hold = _attempt(lambda: _place(form), "")
        if hold is not None:
            flash(_("Hold placed; place in the queue: %(n)d.", n=hold_services.queue_position(hold)), "success")
    else:
        flash(_("Scan the member card and give a title number or a copy barcode."), "danger")
    return redirect(request.form.get("next") or url_for("circulation.holds"))


def _place(form: HoldForm) -> Any:
    patron = patron_services.require_by_card(form.card.data)
    item_id = None
    record_id = form.record_id.data
    if form.barcode.data:
        item = item_by_barcode(form.barcode.data.strip())
        if item is None:
            raise NotFound(_("No item has this barcode."))
        item_id, record_id = item.id, item.record_id
    if not record_id:
        raise ValidationFailed(_("Give a title number or a copy barcode."))
    return hold_services.place(actor=require_actor(), patron=patron, record_id=record_id, item_id=item_id,
                               pickup_library_id=form.pickup_library_id.data, now=_now())


@bp.route("/circulation/holds/<id:hold_id>/cancel", methods=["POST"])
@permission_required("circulation.desk")
def hold_cancel(hold_id: int) -> Response:
    """Cancel a hold (staff)."""
    form = ReasonForm()
    if form.validate_on_submit():
        _attempt(lambda: hold_services.cancel(actor=require_actor(), hold_id=hold_id, now=_now(),
                                              reason=form.reason.data or _("Cancelled by the library")),
                 _("The hold has been cancelled."))
    return redirect(request.form.get("next") or url_for("circulation.holds"))


@bp.route("/circulation/loans/<id:loan_id>/lost", methods=["POST"])
@permission_required("circulation.desk")
def loan_lost(loan_id: int) -> Response:
    """Mark a loan lost and charge the item's price."""
    form = PostForm()
    loan = db.session.get(Loan, loan_id)
    if loan is None or not form.validate_on_submit():
        raise NotFound()
    card = loan.patron.card_number if loan.patron else ""
    fee = services.mark_lost(actor=require_actor(), loan_id=loan_id, now=_now())
    db.session.commit()
    flash(_("Marked lost; charged %(amount)s.", amount=f"Rp {fee.amount:,}".replace(",", ".") if fee else "Rp 0"),
          "warning")
    return redirect(url_for("circulation.checkout", card=card) if card else url_for("circulation.desk"))


@bp.route("/circulation/patrons/<id:patron_id>/pay", methods=["GET", "POST"])
@permission_required("fees.collect")
def fee_pay(patron_id: int) -> str | Response:
    """Take a payment (partial is fine) and print a receipt."""
    library_id = _require_library()
    actor = require_actor()
    patron = patron_services.get_patron(actor=actor, patron_id=patron_id, now=_now(), purpose="fees")
    form = PayForm()
    if form.validate_on_submit():
        try:
            receipt = fee_services.pay(actor=actor, patron_id=patron_id, amount=form.amount.data,
                                       library_id=library_id, now=_now(), method=form.method.data)
        except IlsError as exc:
            db.session.rollback()
            if exc.status_code in (403, 404):
                raise
            form.amount.errors = [exc.message]
        else:
            db.session.commit()
            return redirect(url_for("circulation.receipt", number=receipt.number))
    db.session.commit()  # the audited view
    return render("circulation/fees.html", patron=patron, form=form, waive_form=WaiveForm(formdata=None),
                  fees=fee_services.open_fees(patron_id), balance=fee_services.balance(patron_id),
                  may_waive=authz.can(actor, "fees.waive", library_id))


@bp.route("/circulation/fees/<id:fee_id>/waive", methods=["POST"])
@permission_required("fees.waive")
def fee_waive(fee_id: int) -> Response:
    """Waive part or all of a fee, with a reason."""
    fee = db.session.get(Fee, fee_id)
    if fee is None:
        raise NotFound()
    form = WaiveForm()
    if form.validate_on_submit():
        _attempt(lambda: fee_services.waive(actor=require_actor(), fee_id=fee_id, amount=form.amount.data,
                                            reason=form.reason.data, now=_now()), _("The fee has been waived."))
    return redirect(url_for("circulation.fee_pay", patron_id=fee.patron_id) if fee.patron_id
                    else url_for("circulation.desk"))


@bp.route("/circulation/receipts/<number>", methods=["GET"])
@permission_required("fees.collect")
def receipt(number: str) -> str:
    """A printable receipt of one desk payment."""
    lines = list(db.session.scalars(db.select(FeeTransaction).where(FeeTransaction.receipt_no == number[:40])))
    if not lines:
        raise NotFound()
    authz.require(require_actor(), "fees.collect", lines[0].library_id)
    return render("circulation/receipt.html", number=number, lines=lines, library=db.session.get(
        Library, lines[0].library_id), patron=lines[0].fee.patron, total=sum(line.amount for line in lines))


@bp.route("/circulation/cash-report", methods=["GET"])
@permission_required("circulation.reports")
def cash_report() -> str:
    """The day's takings at this library, by payment method and by staff member."""
    library_id = _require_library()
    try:
        day = datetime.strptime(request.args.get("day", ""), "%Y-%m-%d").date()
    except ValueError:
        day = local_today(library_id, _now())
    report = fee_services.cash_report(actor=require_actor(), library_id=library_id, day=day)
    return render("circulation/cash_report.html", report=report)
