"""Visitor log (buku tamu) kiosk and in-library use counts."""
from __future__ import annotations

from datetime import timedelta

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from circulation.forms.visits import GuestVisitForm, InHouseUseForm, MemberVisitForm
from circulation.services import visits as services
from circulation.views import bp
from ils import authz
from ils.auth import permission_required, require_actor
from ils.errors import NotFound
from ils.extensions import db
from ils.mixins import utcnow
from ils.models import Library
from ils.services.libraries import library_today, list_libraries
from ils.views import id_arg, run_form_service

DAYS_SHOWN = 30


def _library() -> Library | None:
    """The library chosen with ?library=, else my own (None: a network role has not chosen yet)."""
    actor = require_actor()
    library_id = id_arg("library") or actor.library_id
    if library_id is None:
        return None
    authz.require(actor, "visits.record", library_id)
    library = db.session.get(Library, library_id)
    if library is None:
        raise NotFound()
    return library


def _choose_library() -> str:
    return render_template("circulation/visits.html", library=None, days=[], totals=None,
                           libraries=list_libraries(actor=require_actor(), include_inactive=False),
                           form=InHouseUseForm(), endpoint=request.endpoint)


def _here(endpoint: str) -> str:
    # Back to the same page, keeping the library the staff member chose.
    return url_for(endpoint, library=request.args.get("library", type=int))


@bp.route("/circulation/visits/kiosk", methods=["GET", "POST"])
@permission_required("visits.record")
def visits_kiosk() -> str | Response:
    """The visitor kiosk: members scan their card, guests tap who they are and why they came."""
    actor = require_actor()
    library = _library()
    if library is None:
        return _choose_library()
    member_form, guest_form = MemberVisitForm(), GuestVisitForm()
    result = None
    # One page, two forms: the card field is only in the member form.
    if "card_number" in request.form:
        if member_form.validate_on_submit():
            result = run_form_service(member_form, lambda: services.record_visit(
                actor=actor, library_id=library.id, now=utcnow(), card_number=member_form.card_number.data,
                purpose=""))
    elif guest_form.validate_on_submit():
        result = run_form_service(guest_form, lambda: services.record_visit(
            actor=actor, library_id=library.id, now=utcnow(), guest_category=guest_form.category.data,
            purpose=guest_form.purpose.data, gender=guest_form.gender.data or "",
            group_size=guest_form.group_size.data or 1))
    if result is not None:
        if result.counted:
            flash(_("Thank you, and welcome to the library!"), "success")
        else:
            flash(_("Welcome back! Your visit has already been counted."), "info")
        return redirect(_here("circulation.visits_kiosk"))
    return render_template("circulation/visits_kiosk.html", library=library, member_form=member_form,
                           guest_form=guest_form)


def _daily(library: Library, form: InHouseUseForm) -> str:
    end = library_today(library.id)
    days = services.daily_counts(library.id, end - timedelta(days=DAYS_SHOWN - 1), end)
    totals = {"members": sum(d.members for d in days), "guests": sum(d.guests for d in days),
              "in_house": sum(d.in_house for d in days)}
    return render_template("circulation/visits.html", library=library, days=list(reversed(days)), totals=totals,
                           libraries=[], form=form, endpoint=request.endpoint)


@bp.route("/circulation/visits", methods=["GET"])
@permission_required("visits.record")
def visits_daily() -> str:
    """Visitors and in-library use per day for the last 30 days at my library."""
    library = _library()
    if library is None:
        return _choose_library()
    return _daily(library, InHouseUseForm())


@bp.route("/circulation/visits/in-house", methods=["POST"])
@permission_required("visits.record")
def in_house_use() -> str | Response:
    """Count items read in the library (scan each barcode left on the tables)."""
    actor = require_actor()
    library = _library()
    if library is None:
        return _choose_library()
    form = InHouseUseForm()
    if form.validate_on_submit():
        row = run_form_service(form, lambda: services.record_in_house_use(
            actor=actor, library_id=library.id, barcode=form.barcode.data, now=utcnow(), count=form.count.data or 1))
        if row is not None:
            flash(_("In-library use recorded for %(barcode)s.", barcode=form.barcode.data.strip()), "success")
            return redirect(_here("circulation.visits_daily"))
    return _daily(library, form)
