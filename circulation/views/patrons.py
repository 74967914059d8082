"""Patron screens: search, register, edit, approve, block, erase, class-list import, member cards."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.utils import secure_filename
from werkzeug.wrappers import Response

from circulation.cards import member_cards_pdf
from circulation.forms.patrons import (BlockForm, ClassListForm, EraseForm, PatronForm, PatronSearchForm, PhotoForm,
                                       PinForm)
from circulation.models import PatronStatus
from circulation.services import classlists, photos, privacy
from circulation.services import desk as desk_services
from circulation.services import fees as fee_services
from circulation.services import holds as hold_services
from circulation.services import patrons as services
from circulation.views import bp
from ils.auth import permission_required, require_actor
from ils.authz import Actor, can
from ils.errors import NotFound
from ils.extensions import db
from ils.forms import PostForm
from ils.mixins import utcnow
from ils.services import jobs as job_services
from ils.services.libraries import library_today, list_libraries
from ils.views import id_arg, page_arg, run_form_service

PAGE_SIZE = 50
SEARCH_KEY = "circulation_patron_query"  # the search text lives in the session, never in the URL (ASVS 14.2.1)
STATUSES = ("pending", "active", "blocked")


def _locale() -> str:
    return str(get_locale() or "id")


def _categories() -> list[tuple[str, str]]:
    locale = _locale()
    return [(c.code, c.label(locale)) for c in services.categories()]


def _patron_form(actor: Actor, *, creating: bool) -> PatronForm:
    libraries = list_libraries(actor=actor, include_inactive=False)
    schools = [lib for lib in libraries if lib.type in classlists.SCHOOL_CATEGORIES]
    return PatronForm(categories=_categories(), libraries=libraries if actor.network_wide else None,
                      schools=schools, creating=creating)


def _guardian_id(form: PatronForm) -> int | None | bool:
    """The guardian's patron id from the card number typed (None: none given; False: unknown card)."""
    card = (form.guardian_card.data or "").strip()
    if not card:
        return None
    guardian = services.by_card(card)
    if guardian is None or guardian.status == PatronStatus.ERASED:
        form.guardian_card.errors = list(form.guardian_card.errors) + [_("No member has this card number.")]
        return False
    return guardian.id


@bp.route("/circulation/patrons", methods=["GET", "POST"])
@permission_required("patron.view")
def patron_list() -> str | Response:
    """Find members (a full card number finds anyone in the city); filter by status."""
    actor = require_actor()
    form = PatronSearchForm()
    if form.validate_on_submit():
        query = (form.q.data or "").strip()
        session[SEARCH_KEY] = query
        found = services.by_card(query) if query else None
        if found is not None and found.status != PatronStatus.ERASED:
            return redirect(url_for("circulation.patron_detail", patron_id=found.id))
        return redirect(url_for("circulation.patron_list", status=request.args.get("status") or None))
    query = session.get(SEARCH_KEY, "")
    form.q.data = query
    status = request.args.get("status", "")
    page = page_arg()
    patrons, total = services.search_patrons(actor=actor, query=query, library_id=id_arg("library"),
                                             status=status if status in STATUSES else "",
                                             limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return render_template("circulation/patron_list.html", form=form, patrons=patrons, total=total, page=page,
                           page_size=PAGE_SIZE, status=status, statuses=STATUSES, query=query,
                           can_register=can(actor, "patron.edit", actor.library_id),
                           can_import=can(actor, "patron.import", actor.library_id))


@bp.route("/circulation/patrons/new", methods=["GET", "POST"])
@permission_required("patron.edit")
def patron_new() -> str | Response:
    """Register a member at the desk of my library."""
    actor = require_actor()
    form = _patron_form(actor, creating=True)
    if form.validate_on_submit():
        guardian_id = _guardian_id(form)
        if guardian_id is not False:
            home = getattr(form, "home_library_id", None)
            today = library_today(home.data if home is not None else actor.library_id)
            patron = run_form_service(form, lambda: services.register(
                actor=actor, data=form.to_data(guardian_id), now=utcnow(), today=today,
                nik=(form.nik.data or "").strip() or None, guardian_consent=bool(form.guardian_consent.data),
                pin=form.pin.data or None))
            if patron is not None:
                flash(_("%(name)s is registered with card number %(card)s.", name=patron.name,
                        card=patron.card_number), "success")
                return redirect(url_for("circulation.patron_detail", patron_id=patron.id))
    return render_template("circulation/patron_form.html", form=form, patron=None)


@bp.route("/circulation/patrons/<id:patron_id>")
@permission_required("patron.view")
def patron_detail(patron_id: int) -> str:
    """A member's card, status, loans, holds and fees; contact details for the home library only."""
    actor = require_actor()
    patron = services.get_patron(actor=actor, patron_id=patron_id, now=utcnow())
    today = library_today(actor.library_id or patron.home_library_id)
    erased = patron.status == PatronStatus.ERASED
    personal = services.may_see_personal(actor, patron) and not erased
    page = render_template(
        "circulation/patron_detail.html", patron=patron, personal=personal, erased=erased,
        expired=patron.expired(today), minor=not erased and services.is_minor(patron, today),
        loans=[] if erased else desk_services.patron_loans(patron.id),
        holds=[] if erased else hold_services.patron_holds(patron.id),
        fees=[] if erased else fee_services.open_fees(patron.id),
        balance=0 if erased else fee_services.balance(patron.id),
        can_edit=personal, can_erase=not erased and can(actor, "patron.erase", patron.home_library_id),
        erase_blockers=[] if erased else privacy.erasure_blockers(patron.id), locale=_locale(),
        post_form=PostForm(), block_form=BlockForm(), pin_form=PinForm(), erase_form=EraseForm(),
        photo_form=PhotoForm(), has_photo=personal and photos.has_photo(patron.id))
    db.session.commit()  # the audit row of this view (UU PDP Pasal 31)
    return page


@bp.route("/circulation/patrons/<id:patron_id>/edit", methods=["GET", "POST"])
@permission_required("patron.edit")
def patron_edit(patron_id: int) -> str | Response:
    """Change a member's details (home library staff and the network roles)."""
    actor = require_actor()
    services.editable(actor=actor, patron_id=patron_id)
    form = _patron_form(actor, creating=False)
    if form.validate_on_submit():
        guardian_id = _guardian_id(form)
        if guardian_id is not False:
            patron = run_form_service(form, lambda: services.update(
                actor=actor, patron_id=patron_id, data=form.to_data(guardian_id), now=utcnow(),
                today=library_today(actor.library_id), nik=(form.nik.data or "").strip() or None,
                clear_nik=bool(form.clear_nik.data), guardian_consent=bool(form.guardian_consent.data)))
            if patron is not None:
                flash(_("The member's details have been saved."), "success")
                return redirect(url_for("circulation.patron_detail", patron_id=patron_id))
    patron = services.get_patron(actor=actor, patron_id=patron_id, now=utcnow())
    if request.method == "GET":
        for name in ("name", "category_code", "birth_date", "gender", "guardian_name", "guardian_phone", "phone",
                     "whatsapp", "email", "address", "kelurahan", "kecamatan", "institution", "nis", "school_class",
                     "notice_channel", "locale", "history_opt_in", "notes"):
            getattr(form, name).data = getattr(patron, name)
        form.school_library_id.data = patron.school_library_id or 0
        form.guardian_card.data = patron.guardian.card_number if patron.guardian else ""
        form.guardian_consent.data = patron.guardian_consent_at is not None
        if form.home_library_id is not None:
            form.home_library_id.data = patron.home_library_id
    page = render_template("circulation/patron_form.html", form=form, patron=patron)
    db.session.commit()  # the audit row of this view
    return page


def _back(patron_id: int) -> Response:
    return redirect(url_for("circulation.patron_detail", patron_id=patron_id))


@bp.route("/circulation/patrons/<id:patron_id>/approve", methods=["POST"])
@permission_required("patron.edit")
def patron_approve(patron_id: int) -> Response:
    """Activate a registration waiting for approval (OPAC or class list)."""
    actor = require_actor()
    services.editable(actor=actor, patron_id=patron_id)
    form = PostForm()
    if form.validate_on_submit() and run_form_service(form, lambda: services.approve(
            actor=actor, patron_id=patron_id, now=utcnow(), today=library_today(actor.library_id))):
        flash(_("The card is active."), "success")
    return _back(patron_id)


@bp.route("/circulation/patrons/<id:patron_id>/block", methods=["POST"])
@permission_required("patron.edit")
def patron_block(patron_id: int) -> Response:
    """Block a card (with the reason) or lift the block."""
    actor = require_actor()
    services.editable(actor=actor, patron_id=patron_id)
    form = BlockForm()
    if not form.validate_on_submit():
        flash(_("Give the reason for the block."), "danger")
        return _back(patron_id)
    blocked = form.blocked.data == "1"
    if run_form_service(form, lambda: services.set_block(actor=actor, patron_id=patron_id, blocked=blocked,
                                                         reason=form.reason.data or "", now=utcnow())):
        flash(_("The card is blocked.") if blocked else _("The block has been lifted."), "success")
    return _back(patron_id)


@bp.route("/circulation/patrons/<id:patron_id>/renew", methods=["POST"])
@permission_required("patron.edit")
def patron_renew(patron_id: int) -> Response:
    """Extend the card by its category's period."""
    actor = require_actor()
    services.editable(actor=actor, patron_id=patron_id)
    form = PostForm()
    if form.validate_on_submit():
        patron = run_form_service(form, lambda: services.renew_membership(
            actor=actor, patron_id=patron_id, now=utcnow(), today=library_today(actor.library_id)))
        if patron is not None:
            flash(_("The card is valid until %(date)s.", date=patron.expiry_date.strftime("%d-%m-%Y")), "success")
    return _back(patron_id)


@bp.route("/circulation/patrons/<id:patron_id>/pin", methods=["POST"])
@permission_required("patron.edit")
def patron_pin(patron_id: int) -> Response:
    """Set a new PIN for the member."""
    actor = require_actor()
    services.editable(actor=actor, patron_id=patron_id)
    form = PinForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "danger")
        return _back(patron_id)

    def set_pin() -> bool:
        services.change_pin(actor=actor, patron_id=patron_id, pin=form.pin.data, now=utcnow())
        return True

    if run_form_service(form, set_pin):
        flash(_("The new PIN has been set."), "success")
    return _back(patron_id)


@bp.route("/circulation/patrons/<id:patron_id>/erase", methods=["POST"])
@permission_required("patron.erase")
def patron_erase(patron_id: int) -> Response:
    """Erase the member's personal data on request (refused while items or fees are outstanding)."""
    actor = require_actor()
    form = EraseForm()
    if not form.validate_on_submit():
        flash(_("Give the reason and tick the confirmation to erase the member's data."), "danger")
        return _back(patron_id)
    if run_form_service(form, lambda: privacy.erase(actor=actor, patron_id=patron_id, now=utcnow(),
                                                    reason=form.reason.data)):
        flash(_("The member's personal data has been erased."), "success")
        return redirect(url_for("circulation.patron_list"))
    return _back(patron_id)


@bp.route("/circulation/patrons/import", methods=["GET", "POST"])
@permission_required("patron.import")
def patron_import() -> str | Response:
    """Upload a school's class list; the import runs as a job whose progress is shown here."""
    actor = require_actor()
    schools = classlists.school_libraries(actor=actor)
    form = ClassListForm().for_actor(actor.network_wide, schools)
    if form.validate_on_submit():
        library_id = form.library_id.data if actor.network_wide else actor.library_id
        upload = form.file.data
        record = None
        if library_id is None:
            flash(_("Choose the school library."), "danger")
        else:
            record = run_form_service(form, lambda: classlists.start_import(
                actor=actor, library_id=library_id, stream=upload.stream, filename=upload.filename or "",
                consent_collected=bool(form.consent.data), now=utcnow()))
        if record is not None:
            flash(_("The class list has been received; the pupils are registered in the background."), "success")
            return redirect(url_for("circulation.patron_import", job=record.id))
    job = None
    job_id = request.args.get("job", "")
    if job_id:
        job = job_services.get_job(actor=actor, job_id=job_id[:64])
        if job.kind != classlists.JOB_KIND:
            raise NotFound()
    return render_template("circulation/patron_import.html", form=form, schools=schools, job=job,
                           imports=classlists.recent_imports(actor=actor),
                           classes=classlists.school_classes(actor=actor))


def _pdf(data: bytes, name: str) -> Response:
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{name}"'})


@bp.route("/circulation/patrons/<id:patron_id>/card.pdf")
@permission_required("patron.edit")
def patron_card_pdf(patron_id: int) -> Response:
    """The member card of one patron, ready to print."""
    card = classlists.patron_card(actor=require_actor(), patron_id=patron_id, now=utcnow(), locale=_locale())
    data = member_cards_pdf([card], network_name=_("Library network of Kota Bontang"))
    db.session.commit()  # the audit row of the printing
    return _pdf(data, "kartu-anggota.pdf")


@bp.route("/circulation/patrons/cards.pdf")
@permission_required("patron.edit")
def patron_class_cards_pdf() -> Response:
    """Member cards of a whole class of a school library: ?school=<library id>&class=7A."""
    school_id = id_arg("school")
    if school_id is None:
        raise NotFound()
    school_class = request.args.get("class", "")[:30]
    cards = classlists.class_cards(actor=require_actor(), school_id=school_id, school_class=school_class,
                                   now=utcnow(), locale=_locale())
    data = member_cards_pdf(cards, network_name=_("Library network of Kota Bontang"))
    db.session.commit()  # the audit row of the printing
    return _pdf(data, f"kartu-kelas-{secure_filename(school_class) or 'kelas'}.pdf")



@bp.route("/circulation/patrons/<id:patron_id>/photo", methods=["POST"])
@permission_required("patron.edit")
def patron_photo(patron_id: int) -> Response:
    """Upload a member's card photo (re-encoded without camera metadata), or remove it."""
    actor = require_actor()
    form = PhotoForm()
    if form.validate_on_submit():
        if form.remove.data:
            run_form_service(form, lambda: photos.remove_photo(actor=actor, patron_id=patron_id, now=utcnow()))
        elif form.photo.data:
            data = form.photo.data.read(photos.MAX_UPLOAD + 1)
            if run_form_service(form, lambda: photos.set_photo(actor=actor, patron_id=patron_id, data=data,
                                                               now=utcnow())) is not None:
                flash(_("The photo has been saved."), "success")
        for error in form.photo.errors:
            flash(error, "danger")
    return _back(patron_id)


@bp.route("/circulation/patrons/<id:patron_id>/photo.jpg")
@permission_required("patron.edit")
def patron_photo_file(patron_id: int) -> Response:
    """The member's photo, for those who see their personal details (never cached)."""
    photo = photos.photo_of(actor=require_actor(), patron_id=patron_id)
    if photo is None:
        raise NotFound()
    response = Response(photo.data, mimetype=photo.content_type)
    response.headers["Cache-Control"] = "no-store"
    return response
