"""Patron self-service in the OPAC: login, loans, holds, fines, history, data download, registration.

Every account route takes the patron from the session (circulation.auth), never from the URL or
the form; the services answer NotFound for another patron's loan or hold, so a guessed id is a 404.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime as babel_datetime
from flask import abort, flash, make_response, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup
from werkzeug.wrappers import Response

from catalog.services import discovery
from catalog.services import records as record_services
from catalog.views import opac as catalog_opac
from circulation.auth import (current_patron, end_patron_session, login_rate_limit, no_store, patron_actor,
                              patron_required, rate_limits_off, register_rate_limit, safe_next, start_patron_session)
from circulation.forms.opac import (DataDownloadForm, HistoryForm, PatronLoginForm, PickupForm, PinChangeForm,
                                    PlaceHoldForm, RegistrationForm)
from circulation.models import Patron
from circulation.services import desk, fees, holds, privacy, selfservice
from circulation.services import patrons as patron_services
from circulation.services.common import local_today, rupiah
from circulation.views import bp
from ils.auth import client_ip
from ils.errors import ValidationFailed
from ils.extensions import db, limiter
from ils.mixins import utcnow
from ils.models import Library
from ils.views import run_form_service

# Indonesian names of the zones the network's libraries may use (a loan is due in its library's zone).
ZONE_NAMES = {"Asia/Jakarta": "WIB", "Asia/Pontianak": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}
REGISTRATION_KEY = "opac_registration"


def local_time(moment: datetime | None, tz_name: str) -> str:
    """A moment as the library's clock shows it, with the zone's name (WITA, WIB, WIT)."""
    if moment is None:
        return "–"
    text = babel_datetime(moment, "d MMM y, HH:mm", tzinfo=ZoneInfo(tz_name), locale=str(get_locale()))
    return f"{text} {ZONE_NAMES.get(tz_name, tz_name)}"


def _page(template: str, **context: Any) -> Response:
    # Every self-service page carries personal data or a PIN field: never cached (ASVS 14.3.2).
    return no_store(make_response(render_template(template, local_time=local_time, rupiah=rupiah, **context)))


def _patron() -> Patron:
    patron = current_patron()
    assert patron is not None  # patron_required let the request in
    return patron


def _to_account() -> Response:
    return redirect(url_for("circulation.opac_account"))


# --- the "place a hold" button on the catalog's OPAC record page ---------------------------------------

def hold_action(record: Any) -> Markup:
    """The record page's hold button; anonymous visitors follow it to the login first."""
    if not any(item.public and item.status not in holds.UNAVAILABLE for item in record.items):
        return Markup("")
    label = _("Place a hold") if current_patron() is not None else _("Log in to place a hold")
    return Markup('<p class="mt-3"><a class="btn btn-primary" href="{}">{}</a></p>').format(
        url_for("circulation.opac_place_hold", record_id=record.id), label)


def _register_record_action(action: Callable[[Any], Any]) -> None:
    # The module may be imported again (a reload in a shell, a second app): one button only.
    key = (action.__module__, action.__qualname__)
    if not any((getattr(f, "__module__", None), getattr(f, "__qualname__", None)) == key
               for f in catalog_opac.RECORD_ACTIONS):
        catalog_opac.RECORD_ACTIONS.append(action)


_register_record_action(hold_action)


# --- login and logout ----------------------------------------------------------------------------------

@bp.route("/opac/account/login", methods=["GET", "POST"])
@limiter.limit(login_rate_limit, methods=["POST"], exempt_when=rate_limits_off)
def opac_login() -> Response:
    """Members log in with their card number and PIN."""
    target = safe_next(request.args.get("next")) or url_for("circulation.opac_account")
    if current_patron() is not None:
        return redirect(target)
    form = PatronLoginForm()
    if form.validate_on_submit():
        outcome = selfservice.authenticate(card_number=form.card_number.data, pin=form.pin.data, ip=client_ip(),
                                           now=utcnow())
        db.session.commit()  # failed attempts count towards the lockout even when refused
        if outcome.patron is not None:
            start_patron_session(outcome.patron)
            return redirect(target)
        flash(outcome.message, "danger")
    return _page("circulation/opac_login.html", form=form, can_register=bool(selfservice.registration_libraries()))


@bp.route("/opac/account/logout", methods=["POST"])
def opac_logout() -> Response:
    """Log the member out (POST with CSRF); a staff login in the same browser stays."""
    patron = current_patron()
    if patron is not None:
        selfservice.record_logout(actor=patron_actor(patron), patron_id=patron.id, now=utcnow())
        db.session.commit()
    end_patron_session()
    flash(_("You have logged out."), "info")
    return redirect(url_for("catalog.opac_home"))


# --- the account page and its buttons ------------------------------------------------------------------

@bp.route("/opac/account")
@patron_required
def opac_account() -> Response:
    """Loans with due dates, holds with queue places, fees, history and the member's choices."""
    patron = _patron()
    now = utcnow()
    open_holds = holds.patron_holds(patron.id)
    return _page("circulation/opac_account.html", patron=patron, now=now, loans=desk.patron_loans(patron.id),
                 holds=open_holds, positions={h.id: holds.queue_position(h) for h in open_holds},
                 fees=fees.open_fees(patron.id), balance=fees.balance(patron.id),
                 history=desk.patron_loans(patron.id, active=False) if patron.history_opt_in else [],
                 problems=selfservice.standing_checks(patron, now=now), pickups=selfservice.pickup_libraries(),
                 expired=patron.expired(local_today(patron.home_library_id, now)))


@bp.route("/opac/account/loans/<id:loan_id>/renew", methods=["POST"])
@patron_required
def opac_renew(loan_id: int) -> Response:
    """Renew one of the member's own loans; a refusal shows the rule that refused it."""
    patron = _patron()
    loan = run_form_service(None, lambda: desk.renew(actor=patron_actor(patron), loan_id=loan_id, now=utcnow(),
                                                     channel="opac", patron_id=patron.id))
    if loan is not None:
        flash(_("Renewed. Now due %(due)s.", due=local_time(loan.due_at, loan.library.timezone)), "success")
    return _to_account()


@bp.route("/opac/account/holds/<id:hold_id>/cancel", methods=["POST"])
@patron_required
def opac_hold_cancel(hold_id: int) -> Response:
    """Cancel one of the member's own holds."""
    patron = _patron()
    hold = run_form_service(None, lambda: holds.cancel(actor=patron_actor(patron), hold_id=hold_id, now=utcnow(),
                                                       reason=_("Cancelled by the member"), patron_id=patron.id))
    if hold is not None:
        flash(_("The hold on %(title)s is cancelled.", title=hold.record.title), "success")
    return _to_account()


@bp.route("/opac/account/holds/<id:hold_id>/pickup", methods=["POST"])
@patron_required
def opac_hold_pickup(hold_id: int) -> Response:
    """Collect a waiting hold at another library."""
    patron = _patron()
    form = PickupForm()
    form.pickup_library_id.choices = [(lib.id, lib.name) for lib in selfservice.pickup_libraries()]
    if not form.validate_on_submit():
        flash(_("Choose a pickup library from the list."), "danger")
        return _to_account()
    hold = run_form_service(None, lambda: selfservice.change_pickup(
        actor=patron_actor(patron), patron_id=patron.id, hold_id=hold_id,
        pickup_library_id=form.pickup_library_id.data, now=utcnow()))
    if hold is not None:
        flash(_("The hold will be waiting for you at %(library)s.", library=hold.pickup_library.name), "success")
    return _to_account()


@bp.route("/opac/account/history", methods=["POST"])
@patron_required
def opac_history() -> Response:
    """Grant or withdraw consent to keep a reading history (a ledger row either way)."""
    patron = _patron()
    form = HistoryForm()
    if form.validate_on_submit():
        opt_in = form.opt_in.data == "1"
        changed = run_form_service(None, lambda: selfservice.set_history(actor=patron_actor(patron),
                                                                        patron_id=patron.id, opt_in=opt_in,
                                                                        now=utcnow()))
        if changed:
            flash(_("From now on the books you return are listed here.") if opt_in else
                  _("Your reading history is switched off and the list of returned books has been removed."),
                  "success")
    return _to_account()


@bp.route("/opac/account/pin", methods=["GET", "POST"])
@patron_required
def opac_pin() -> Response:
    """Change the PIN (the current one is asked first); other browsers are logged out."""
    patron = _patron()
    form = PinChangeForm()
    if form.validate_on_submit():
        try:
            changed = selfservice.change_own_pin(actor=patron_actor(patron), patron_id=patron.id,
                                                 current_pin=form.current_pin.data, new_pin=form.new_pin.data,
                                                 now=utcnow())
        except ValidationFailed as exc:
            db.session.rollback()
            form.new_pin.errors = [*form.new_pin.errors, exc.message]
        else:
            db.session.commit()  # a wrong current PIN counts towards the lockout
            if changed:
                start_patron_session(patron)  # the new session version keeps this browser logged in
                flash(_("Your PIN has been changed."), "success")
                return _to_account()
            form.current_pin.errors = [*form.current_pin.errors, _("The current PIN is wrong, or locked for a "
                                                                   "while after too many attempts.")]
    return _page("circulation/opac_pin.html", form=form, patron=patron)


@bp.route("/opac/account/data", methods=["POST"])
@patron_required
def opac_data() -> Response:
    """"Unduh data saya": everything the network holds about the member, as JSON or as a PDF."""
    patron = _patron()
    form = DataDownloadForm()
    if not form.validate_on_submit():
        abort(400)
    now = utcnow()
    data = privacy.export_data(patron_id=patron.id, now=now)
    db.session.commit()  # the export itself is in the processing log
    stamp = local_today(patron.home_library_id, now).strftime("%Y%m%d")
    if form.format.data == "json":
        body, mimetype, name = selfservice.export_json(data), "application/json", f"data-saya-{stamp}.json"
    else:
        body = selfservice.export_pdf(data, title=_("My data in the Bontang library network"),
                                      intro=_("Everything the library network holds about card %(card)s, as of "
                                              "%(when)s.", card=patron.card_number,
                                              when=local_time(now, patron.home_library.timezone)),
                                      tz_name=patron.home_library.timezone)
        mimetype, name = "application/pdf", f"data-saya-{stamp}.pdf"
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})


# --- placing a hold from the record page ---------------------------------------------------------------

@bp.route("/opac/records/<id:record_id>/hold", methods=["GET", "POST"])
@patron_required
def opac_place_hold(record_id: int) -> Response:
    """Choose the pickup library (and, if needed, one copy), then place the hold."""
    if not discovery.record_visible(record_id, actor=None):
        abort(404)
    patron = _patron()
    record = record_services.get_record(record_id)
    pickups = selfservice.pickup_libraries()
    form = PlaceHoldForm()
    form.pickup_library_id.choices = [(lib.id, lib.name) for lib in pickups]
    form.item_id.choices = [(0, _("Any copy")), *(
        (c.id, " · ".join(filter(None, (c.library.name, c.call_number, c.status.label))))
        for c in holds.holdable_items(record_id, patron))]
    if request.method == "GET" and patron.home_library_id in {lib.id for lib in pickups}:
        form.pickup_library_id.data = patron.home_library_id
    if form.validate_on_submit():
        hold = run_form_service(form, lambda: holds.place(
            actor=patron_actor(patron), patron=patron, record_id=record_id,
            pickup_library_id=form.pickup_library_id.data, item_id=form.item_id.data or None, now=utcnow(),
            channel="opac"))
        if hold is not None:
            flash(_("Your hold is placed. You are number %(place)d in the queue.",
                    place=holds.queue_position(hold)), "success")
            return _to_account()
    pickup = form.pickup_library_id.data or (pickups[0].id if pickups else 0)
    problems = [c for c in holds.hold_checks(patron, record_id=record_id, pickup_library_id=pickup, item_id=None,
                                             now=utcnow()) if not c.passed]
    return _page("circulation/opac_hold.html", form=form, record=record, patron=patron, problems=problems)


# --- self-registration ---------------------------------------------------------------------------------

@bp.route("/opac/register", methods=["GET", "POST"])
@limiter.limit(register_rate_limit, methods=["POST"], exempt_when=rate_limits_off)
def opac_register() -> Response:
    """Register online; the card is activated at the chosen library after an identity check."""
    libraries = selfservice.registration_libraries()
    form = RegistrationForm()
    locale = str(get_locale())
    form.category_code.choices = [(c.code, c.label(locale)) for c in patron_services.categories()]
    form.home_library_id.choices = [(lib.id, lib.name) for lib in libraries]
    if libraries and form.validate_on_submit():
        now = utcnow()
        data = {name: getattr(form, name).data for name in selfservice.REGISTRATION_FIELDS}
        patron = run_form_service(form, lambda: selfservice.register_online(
            data=data, pin=form.pin.data, guardian_consent=form.guardian_consent.data,
            history_consent=form.history.data, ip=client_ip(), now=now,
            today=local_today(form.home_library_id.data, now)))
        if patron is not None:
            session[REGISTRATION_KEY] = {"library": patron.home_library_id, "card": patron.card_number}
            return redirect(url_for("circulation.opac_register_done"))
    return _page("circulation/opac_register.html", form=form, libraries=libraries)


@bp.route("/opac/register/done")
def opac_register_done() -> Response:
    """Where to go next; shown once (the next visitor of a kiosk does not see it)."""
    info = session.pop(REGISTRATION_KEY, None)
    library = db.session.get(Library, int(info["library"])) if isinstance(info, dict) else None
    if library is None:
        return redirect(url_for("circulation.opac_register"))
    return _page("circulation/opac_register_done.html", library=library, card_number=str(info["card"]))
