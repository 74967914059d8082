"""Rules matrix, circulation settings, closures and SIP2 kiosk accounts."""
from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from circulation.forms.admin import (CITY_WIDE, CategoryForm, CirculationSettingsForm, ClosureForm, PreviewForm,
                                     RuleForm, SipAccountForm, SipPasswordForm, library_choices)
from circulation.models import PatronCategory
from circulation.services import categories as category_services
from circulation.services import rules as rule_services
from circulation.services import settings as setting_services
from circulation.views import bp
from ils import authz
from ils.auth import permission_required, require_actor
from ils.authz import Actor
from ils.errors import ValidationFailed
from ils.forms import PostForm
from ils.mixins import utcnow
from ils.services.libraries import library_today, list_libraries
from ils.views import id_arg, run_form_service


def _categories(actor: Actor) -> list[PatronCategory]:
    return [use.category for use in category_services.list_categories(actor=actor)]


def _writable_libraries(actor: Actor, permission: str, *, city_wide: bool) -> list[tuple[int, Any]] | None:
    """Library choices for admin and DPK (None: the actor's own library is used, no select)."""
    if not actor.network_wide:
        return None
    libraries = list_libraries(actor=actor, include_inactive=False)
    return library_choices(libraries, city_wide=city_wide and authz.can(actor, permission, None))


def _chosen_library(permission: str) -> int | None:
    """My library, or for admin and DPK the one chosen with ?library= (None: not chosen yet)."""
    actor = require_actor()
    library_id = id_arg("library") or actor.library_id
    if library_id is not None:
        authz.require(actor, permission, library_id)
    return library_id


def _choose_library(title: str, endpoint: str, **args: Any) -> str:
    """The page asking admin and DPK which library they mean."""
    libraries = list_libraries(actor=require_actor(), include_inactive=False)
    return render_template("circulation/settings_choose.html", title=title, libraries=libraries, endpoint=endpoint,
                           args=args)


# --- the rules matrix ---------------------------------------------------------------------------------------

@bp.route("/circulation/rules")
@permission_required("circulation.rules")
def rules_list() -> str:
    """The matrix, grouped by library, with the specificity order explained."""
    actor = require_actor()
    library_id = id_arg("library")
    groups = rule_services.rule_matrix(actor=actor, library_id=library_id)
    names = {c.code: c.name_id for c in _categories(actor)}
    return render_template("circulation/rules.html", groups=groups, category_names=names,
                           item_types=dict(rule_services.item_type_choices()), library_id=library_id,
                           post_form=PostForm(), label_any=rule_services.label_any)


@bp.route("/circulation/rules/new", methods=["GET", "POST"])
@permission_required("circulation.rules")
def rule_new() -> str | Response:
    """Add a row: admin and DPK for any library or city-wide, a librarian for their own library."""
    actor = require_actor()
    form = RuleForm(categories=_categories(actor),
                    libraries=_writable_libraries(actor, "circulation.rules", city_wide=True))
    if request.method == "GET" and "library_id" in form:
        form.library_id.data = id_arg("library") or CITY_WIDE
    if form.validate_on_submit():
        library_id = (form.library_id.data or None) if "library_id" in form else actor.library_id
        rule = run_form_service(form, lambda: rule_services.create_rule(
            actor=actor, library_id=library_id, data=form.rule_input(), now=utcnow()))
        if rule is not None:
            flash(_("The rule has been added."), "success")
            return redirect(url_for("circulation.rules_list", _anchor=f"rule-{rule.id}"))
    return render_template("circulation/rules_form.html", form=form, rule=None)


@bp.route("/circulation/rules/<id:rule_id>/edit", methods=["GET", "POST"])
@permission_required("circulation.rules")
def rule_edit(rule_id: int) -> str | Response:
    """Change a row of my library (admin and DPK: any row)."""
    actor = require_actor()
    rule = rule_services.editable_rule(actor=actor, rule_id=rule_id)
    form = RuleForm(obj=rule, categories=_categories(actor), libraries=None)
    if form.validate_on_submit():
        saved = run_form_service(form, lambda: rule_services.update_rule(
            actor=actor, rule_id=rule.id, data=form.rule_input(), now=utcnow()))
        if saved is not None:
            flash(_("The rule has been saved."), "success")
            return redirect(url_for("circulation.rules_list", _anchor=f"rule-{rule.id}"))
    return render_template("circulation/rules_form.html", form=form, rule=rule, post_form=PostForm(),
                           label_any=rule_services.label_any)


@bp.route("/circulation/rules/<id:rule_id>/delete", methods=["POST"])
@permission_required("circulation.rules")
def rule_delete(rule_id: int) -> Response:
    """Delete a row of my library (admin and DPK: any row)."""
    actor = require_actor()
    form = PostForm()
    if form.validate_on_submit() and run_form_service(form, lambda: rule_services.delete_rule(
            actor=actor, rule_id=rule_id, now=utcnow())):
        flash(_("The rule has been deleted."), "success")
    return redirect(url_for("circulation.rules_list"))


@bp.route("/circulation/rules/preview")
@permission_required("circulation.rules")
def rule_preview() -> str:
    """Which row applies to a library, patron category and item type, and which rows it shadows."""
    actor = require_actor()
    libraries = list_libraries(actor=actor, include_inactive=False)
    form = PreviewForm(request.args, categories=_categories(actor), libraries=library_choices(libraries,
                                                                                             city_wide=False))
    if "library_id" not in request.args:
        form.library_id.data = actor.library_id or (libraries[0].id if libraries else None)
    result = None
    asked = id_arg("library_id")
    if asked is not None:
        # Another library's rows are not the librarian's to see: refuse before the select says "not a choice".
        authz.require(actor, "circulation.rules", asked)
    if asked is not None and form.validate():
        try:
            result = rule_services.preview(actor=actor, library_id=form.library_id.data,
                                           category_code=form.category_code.data, item_type=form.item_type.data)
        except ValidationFailed as exc:
            getattr(form, exc.field or "library_id").errors = [exc.message]
    return render_template("circulation/rules_preview.html", form=form, result=result,
                           category_names={c.code: c.name_id for c in _categories(actor)},
                           item_types=dict(rule_services.item_type_choices()), label_any=rule_services.label_any)


# --- patron categories --------------------------------------------------------------------------------------

@bp.route("/circulation/categories")
@permission_required("circulation.rules")
def category_list() -> str:
    """Patron categories with their use; admin and DPK may change them."""
    actor = require_actor()
    return render_template("circulation/rules_categories.html", uses=category_services.list_categories(actor=actor),
                           can_edit=category_services.may_edit_categories(actor), post_form=PostForm())


@bp.route("/circulation/categories/new", methods=["GET", "POST"])
@permission_required("circulation.categories")
def category_new() -> str | Response:
    """Add a patron category (admin and DPK)."""
    actor = require_actor()
    category_services.require_category_admin(actor)
    form = CategoryForm(creating=True)
    if form.validate_on_submit():
        category = run_form_service(form, lambda: category_services.create_category(
            actor=actor, code=form.code.data, data=form.category_input(), now=utcnow()))
        if category is not None:
            flash(_("The category %(code)s has been added.", code=category.code), "success")
            return redirect(url_for("circulation.category_list"))
    return render_template("circulation/rules_category_form.html", form=form, category=None)


@bp.route("/circulation/categories/<code>/edit", methods=["GET", "POST"])
@permission_required("circulation.categories")
def category_edit(code: str) -> str | Response:
    """Rename, re-order or deactivate a patron category (admin and DPK)."""
    actor = require_actor()
    category = category_services.get_category(actor=actor, code=code)
    form = CategoryForm(obj=category, creating=False)
    if form.validate_on_submit():
        saved = run_form_service(form, lambda: category_services.update_category(
            actor=actor, code=category.code, data=form.category_input(), now=utcnow()))
        if saved is not None:
            flash(_("The category has been saved."), "success")
            return redirect(url_for("circulation.category_list"))
    return render_template("circulation/rules_category_form.html", form=form, category=category,
                           post_form=PostForm())


@bp.route("/circulation/categories/<code>/delete", methods=["POST"])
@permission_required("circulation.categories")
def category_delete(code: str) -> Response:
    """Delete an unused patron category (one in use can only be deactivated)."""
    actor = require_actor()
    form = PostForm()
    if form.validate_on_submit() and run_form_service(form, lambda: category_services.delete_category(
            actor=actor, code=code, now=utcnow())):
        flash(_("The category has been deleted."), "success")
    return redirect(url_for("circulation.category_list"))


# --- settings and calendar ----------------------------------------------------------------------------------

@bp.route("/circulation/settings", methods=["GET", "POST"])
@permission_required("library.settings")
def circulation_settings() -> str | Response:
    """My library's circulation settings (admin and DPK choose the library with ?library=)."""
    actor = require_actor()
    library_id = _chosen_library("library.settings")
    if library_id is None:
        return _choose_library(_("Circulation settings"), "circulation.circulation_settings")
    settings = setting_services.get_settings(actor=actor, library_id=library_id)
    form = CirculationSettingsForm(obj=settings)
    if form.validate_on_submit():
        saved = run_form_service(form, lambda: setting_services.update_settings(
            actor=actor, library_id=library_id, data=form.settings_input(), now=utcnow()))
        if saved is not None:
            flash(_("The settings have been saved."), "success")
            return redirect(url_for("circulation.circulation_settings", library=library_id))
    return render_template("circulation/settings.html", form=form, library_id=library_id)


def _calendar_page(library_id: int, year: int, form: ClosureForm) -> str:
    actor = require_actor()
    calendar = setting_services.year_calendar(actor=actor, library_id=library_id, year=year)
    return render_template("circulation/calendar.html", calendar=calendar, form=form, post_form=PostForm(),
                           may_write=lambda row: setting_services.may_write_closures(actor, row.library_id))


@bp.route("/circulation/calendar")
@permission_required("library.settings")
def calendar_page() -> str:
    """A year's closed days (national holidays, cuti bersama, local closures) with add and remove forms."""
    actor = require_actor()
    library_id = _chosen_library("library.settings")
    year = request.args.get("year", type=int)
    if library_id is None:
        return _choose_library(_("Calendar"), "circulation.calendar_page", year=year)
    year = year or library_today(library_id, utcnow()).year
    return _calendar_page(library_id, year, ClosureForm(city_wide=authz.can(actor, "library.settings", None)))


@bp.route("/circulation/calendar/closures", methods=["POST"])
@permission_required("library.settings")
def closure_add() -> str | Response:
    """Add a closed day or an "open despite the holiday" day for ?library= (or, for admin/DPK, every library)."""
    actor = require_actor()
    library_id = _chosen_library("library.settings")
    if library_id is None:
        raise ValidationFailed(_("Choose the library first."))
    form = ClosureForm(city_wide=authz.can(actor, "library.settings", None))
    if form.validate_on_submit():
        target = None if "city_wide" in form and form.city_wide.data else library_id
        row = run_form_service(form, lambda: setting_services.add_closure(
            actor=actor, library_id=target, on_date=form.on_date.data, closed=form.status.data == "closed",
            reason=form.reason.data, now=utcnow()))
        if row is not None:
            flash(_("%(day)s has been added to the calendar.", day=row.on_date.strftime("%d-%m-%Y")), "success")
            return redirect(url_for("circulation.calendar_page", library=library_id, year=row.on_date.year))
    year = form.on_date.data.year if form.on_date.data else library_today(library_id, utcnow()).year
    return _calendar_page(library_id, year, form)


@bp.route("/circulation/calendar/closures/<id:closure_id>/delete", methods=["POST"])
@permission_required("library.settings")
def closure_remove(closure_id: int) -> Response:
    """Remove a closed or "open" day (city-wide rows: admin and DPK)."""
    actor = require_actor()
    form = PostForm()
    row = None
    if form.validate_on_submit():
        row = run_form_service(form, lambda: setting_services.remove_closure(actor=actor, closure_id=closure_id,
                                                                             now=utcnow()))
    if row is not None:
        flash(_("The day has been removed from the calendar."), "success")
    library_id = id_arg("library") or (row.library_id if row is not None else None) or actor.library_id
    return redirect(url_for("circulation.calendar_page", library=library_id,
                            year=row.on_date.year if row is not None else None))


# --- SIP2 kiosk accounts ------------------------------------------------------------------------------------

def _sip_page(actor: Actor, form: SipAccountForm) -> str:
    library_id = id_arg("library")
    return render_template("circulation/sip_accounts.html", form=form, password_form=SipPasswordForm(),
                           post_form=PostForm(), library_id=library_id,
                           accounts=setting_services.list_sip_accounts(actor=actor, library_id=library_id))


@bp.route("/circulation/sip-accounts")
@permission_required("sip.manage")
def sip_accounts() -> str:
    """Self-check kiosk logins of my library (admin and DPK: every library, ?library= to filter)."""
    actor = require_actor()
    form = SipAccountForm(libraries=_writable_libraries(actor, "sip.manage", city_wide=False))
    if "library_id" in form:
        form.library_id.data = id_arg("library")
    return _sip_page(actor, form)


@bp.route("/circulation/sip-accounts/new", methods=["POST"])
@permission_required("sip.manage")
def sip_account_new() -> str | Response:
    """Create a kiosk login (a librarian's goes to their own library)."""
    actor = require_actor()
    form = SipAccountForm(libraries=_writable_libraries(actor, "sip.manage", city_wide=False))
    if form.validate_on_submit():
        library_id = form.library_id.data if "library_id" in form else actor.library_id
        account = run_form_service(form, lambda: setting_services.create_sip_account(
            actor=actor, library_id=library_id, login=form.login.data, password=form.password.data,
            label=form.label.data or "", require_pin=bool(form.require_pin.data), now=utcnow()))
        if account is not None:
            flash(_("The kiosk account %(login)s has been created.", login=account.login), "success")
            return redirect(url_for("circulation.sip_accounts"))
    return _sip_page(actor, form)


@bp.route("/circulation/sip-accounts/<id:account_id>/password", methods=["POST"])
@permission_required("sip.manage")
def sip_account_password(account_id: int) -> Response:
    """Give a kiosk account a new password."""
    actor = require_actor()
    setting_services.get_sip_account(actor=actor, account_id=account_id)  # 403/404 before looking at the form
    form = SipPasswordForm()
    if not form.validate_on_submit():
        for message in form.password.errors:
            flash(str(message), "danger")
    elif run_form_service(form, lambda: setting_services.reset_sip_password(
            actor=actor, account_id=account_id, password=form.password.data, now=utcnow())):
        flash(_("The kiosk password has been changed. Enter it in the kiosk's settings too."), "success")
    return redirect(url_for("circulation.sip_accounts"))


@bp.route("/circulation/sip-accounts/<id:account_id>/deactivate", methods=["POST"])
@permission_required("sip.manage")
def sip_account_deactivate(account_id: int) -> Response:
    """Stop a kiosk account from logging in."""
    actor = require_actor()
    form = PostForm()
    if form.validate_on_submit() and run_form_service(form, lambda: setting_services.deactivate_sip_account(
            actor=actor, account_id=account_id, now=utcnow())):
        flash(_("The kiosk account has been deactivated."), "success")
    return redirect(url_for("circulation.sip_accounts"))
