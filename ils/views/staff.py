"""Staff account screens: list, create, edit, password reset, deactivate."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from ils.auth import permission_required, require_actor
from ils.authz import GRANTABLE_ROLES, Actor, can
from ils.extensions import db
from ils.forms import PasswordForm, PostForm, StaffForm, staff_initial
from ils.models import Role
from ils.services import libraries as library_services
from ils.services import staff as services
from ils.services import staff_mail
from ils.views import bp, id_arg, run_form_service


def _form(actor: Actor, creating: bool, **kwargs: object) -> StaffForm:
    roles = sorted(GRANTABLE_ROLES.get(actor.role, frozenset()), key=list(Role).index)
    libraries = (library_services.list_libraries(actor=actor, include_inactive=True)
                 if actor.network_wide else None)
    return StaffForm(roles=roles, libraries=libraries, creating=creating, **kwargs)


@bp.route("/staff/accounts/")
@permission_required("staff.view")
def staff_list() -> str:
    """Staff accounts of my library (all libraries for admin and DPK, filterable)."""
    actor = require_actor()
    library_id = id_arg("library")
    library = library_services.get_library(actor=actor, library_id=library_id) if library_id else None
    users = services.list_staff(actor=actor, library_id=library_id)
    return render_template("ils/staff_list.html", users=users, library=library,
                           can_create=can(actor, "staff.manage", actor.library_id) or actor.network_wide)


@bp.route("/staff/accounts/new", methods=["GET", "POST"])
@permission_required("staff.manage")
def staff_new() -> str | Response:
    """Create a staff account."""
    actor = require_actor()
    form = _form(actor, creating=True)
    if request.method == "GET" and actor.library_id and "library_id" in form:
        form.library_id.data = actor.library_id
    if form.validate_on_submit():
        user = run_form_service(form, lambda: services.create_staff(
            actor=actor, data=form.to_data(), password=form.password.data))
        if user is not None:
            flash(_("The account %(name)s has been created.", name=user.username), "success")
            return redirect(url_for("ils.staff_detail", staff_id=user.id))
    return render_template("ils/staff_form.html", form=form, user=None)


@bp.route("/staff/accounts/<id:staff_id>")
@permission_required("staff.view")
def staff_detail(staff_id: int) -> str:
    """One staff account."""
    actor = require_actor()
    user = services.get_staff(actor=actor, staff_id=staff_id)
    return render_template("ils/staff_detail.html", user=user, post_form=PostForm(),
                           can_manage=services.may_manage(actor, user), messages=staff_mail.recent_for(user))


@bp.route("/staff/accounts/<id:staff_id>/edit", methods=["GET", "POST"])
@permission_required("staff.manage")
def staff_edit(staff_id: int) -> str | Response:
    """Edit a staff account."""
    actor = require_actor()
    user = services.get_staff(actor=actor, staff_id=staff_id, permission="staff.manage")
    form = _form(actor, creating=False, data=staff_initial(user))
    if form.validate_on_submit():
        saved = run_form_service(form, lambda: services.update_staff(
            actor=actor, staff_id=user.id, data=form.to_data()))
        if saved is not None:
            flash(_("The account has been saved."), "success")
            return redirect(url_for("ils.staff_detail", staff_id=user.id))
    return render_template("ils/staff_form.html", form=form, user=user)


@bp.route("/staff/accounts/<id:staff_id>/password", methods=["GET", "POST"])
@permission_required("staff.manage")
def staff_password(staff_id: int) -> str | Response:
    """Set a new password for another staff member."""
    actor = require_actor()
    user = services.get_staff(actor=actor, staff_id=staff_id, permission="staff.manage")
    if user.id == actor.user_id:
        return redirect(url_for("ils.own_password"))
    form = PasswordForm()
    del form.current_password
    if form.validate_on_submit():
        saved = run_form_service(form, lambda: services.set_password(
            actor=actor, staff_id=user.id, password=form.password.data))
        if saved is not None:
            flash(_("The password has been changed; the account's sessions have ended."), "success")
            return redirect(url_for("ils.staff_detail", staff_id=user.id))
    return render_template("ils/password.html", form=form, own=False, user=user)


@bp.route("/staff/accounts/<id:staff_id>/active", methods=["POST"])
@permission_required("staff.manage")
def staff_set_active(staff_id: int) -> Response:
    """Deactivate or reactivate an account."""
    form = PostForm()
    if form.validate_on_submit():
        active = request.form.get("active") == "1"
        services.set_staff_active(actor=require_actor(), staff_id=staff_id, active=active)
        db.session.commit()
        flash(_("The account has been reactivated.") if active else _("The account has been deactivated."),
              "success")
    return redirect(url_for("ils.staff_detail", staff_id=staff_id))
