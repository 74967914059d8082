"""Library network screens: list, detail, create, edit, deactivate."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from ils.auth import permission_required, require_actor
from ils.authz import can
from ils.errors import Forbidden
from ils.extensions import db
from ils.forms import WEEKDAY_LABELS, LibraryForm, PostForm
from ils.models import WEEKDAYS, LibraryType
from ils.services import libraries as services
from ils.services import staff as staff_services
from ils.views import bp, run_form_service


def _parents() -> list:
    # Inactive ones too: a library whose parent was deactivated must still be savable.
    return services.list_libraries(actor=require_actor(), include_inactive=True)


def _save(form: LibraryForm, library_id: int | None) -> Response | None:
    """Create or update through the service; None when the form shows an error."""
    actor = require_actor()
    if library_id is None:
        library = run_form_service(form, lambda: services.create_library(actor=actor, data=form.to_data()))
    else:
        library = run_form_service(form, lambda: services.update_library(
            actor=actor, library_id=library_id, data=form.to_data()))
    if library is None:
        return None
    flash(_("The library has been saved."), "success")
    return redirect(url_for("ils.library_detail", library_id=library.id))


@bp.route("/libraries/")
@permission_required("library.view")
def library_list() -> str:
    """Libraries the user may see, filterable by type."""
    actor = require_actor()
    type_value = request.args.get("type") or None
    type_ = LibraryType(type_value) if type_value in {t.value for t in LibraryType} else None
    libraries = services.list_libraries(actor=actor, type_=type_)
    return render_template("ils/library_list.html", libraries=libraries, types=list(LibraryType),
                           selected_type=type_, can_create=can(actor, "library.manage"))


@bp.route("/libraries/new", methods=["GET", "POST"])
@permission_required("library.manage")
def library_new() -> str | Response:
    """Create a library (admin and DPK)."""
    form = LibraryForm(parents=_parents())
    if form.validate_on_submit():
        response = _save(form, None)
        if response is not None:
            return response
    return render_template("ils/library_form.html", form=form, library=None)


@bp.route("/libraries/<id:library_id>")
@permission_required("library.view")
def library_detail(library_id: int) -> str:
    """One library's profile, opening hours and (for managers) its staff."""
    actor = require_actor()
    library = services.get_library(actor=actor, library_id=library_id)
    staff = (staff_services.list_staff(actor=actor, library_id=library.id)
             if can(actor, "staff.view", library.id) else None)
    return render_template("ils/library_detail.html", library=library, staff=staff, weekdays=WEEKDAYS,
                           weekday_labels=WEEKDAY_LABELS, post_form=PostForm(),
                           can_edit=can(actor, "library.settings", library.id),
                           can_manage=can(actor, "library.manage"))


@bp.route("/libraries/<id:library_id>/edit", methods=["GET", "POST"])
@permission_required("library.settings")
def library_edit(library_id: int) -> str | Response:
    """Edit a library: settings for its librarian, everything for admin and DPK."""
    actor = require_actor()
    library = services.get_library(actor=actor, library_id=library_id)
    if not can(actor, "library.settings", library.id):
        raise Forbidden()
    network = can(actor, "library.manage")
    parents = [p for p in _parents() if p.id != library.id] if network else []
    form = LibraryForm(obj=library, parents=parents, network=network)
    if request.method == "GET":
        form.fill_hours(library)
        if network:
            form.parent_id.data = library.parent_id or 0
            form.type.data = library.type.value
    if form.validate_on_submit():
        response = _save(form, library.id)
        if response is not None:
            return response
    return render_template("ils/library_form.html", form=form, library=library)


@bp.route("/libraries/<id:library_id>/active", methods=["POST"])
@permission_required("library.manage")
def library_set_active(library_id: int) -> Response:
    """Deactivate or reactivate a library."""
    form = PostForm()
    if form.validate_on_submit():
        active = request.form.get("active") == "1"
        services.set_library_active(actor=require_actor(), library_id=library_id, active=active)
        db.session.commit()
        flash(_("The library has been reactivated.") if active else _("The library has been deactivated."),
              "success")
    return redirect(url_for("ils.library_detail", library_id=library_id))
