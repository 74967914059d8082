"""Staff copy screens: add a copy (also in one step from a scanned ISBN), edit, withdraw, delete, settings."""
from __future__ import annotations

from flask import Response, flash, redirect, request, url_for
from flask_babel import gettext as _

from catalog.forms import ItemForm, SettingsForm, WithdrawForm
from catalog.services import items as services
from catalog.services.records import get_record
from catalog.views import bp, render
from ils import authz
from ils.auth import permission_required, require_actor
from ils.errors import ValidationFailed
from ils.forms import PostForm
from ils.services.libraries import library_today
from ils.views import id_arg, run_form_service


def _target_library(permission: str) -> int:
    """My library, or for network-wide staff the one chosen with ?library=; checked for ``permission``."""
    actor = require_actor()
    library_id = id_arg("library") or actor.library_id
    if library_id is None:
        raise ValidationFailed(_("Choose the library first (open this page from the library's page)."))
    authz.require(actor, permission, library_id)
    return library_id


@bp.route("/catalog/records/<id:record_id>/items/new", methods=["GET", "POST"])
@permission_required("catalog.edit")
def item_new(record_id: int) -> str | Response:
    """Add a copy of this record to my library (barcode and accession number may be generated)."""
    actor = require_actor()
    record = get_record(record_id)
    library_id = _target_library("catalog.edit")
    form = ItemForm()
    if request.method == "GET":
        form.public.data = services.settings_for(library_id).items_public
    if form.validate_on_submit():
        data = form.item_input()
        data.public = bool(form.public.data)
        item = run_form_service(form, lambda: services.add_item(record_id=record_id, library_id=library_id,
                                                                data=data, actor=actor,
                                                                today=library_today(library_id)))
        if item is not None:
            flash(_("Copy %(barcode)s has been added (accession number %(acc)s).", barcode=item.barcode,
                    acc=item.accession_number), "success")
            return redirect(url_for("catalog.record_detail", record_id=record_id))
    return render("catalog/item_form.html", form=form, record=record, item=None, library_id=library_id)


@bp.route("/catalog/items/<id:item_id>/edit", methods=["GET", "POST"])
@permission_required("catalog.edit")
def item_edit(item_id: int) -> str | Response:
    """Edit a copy of my library."""
    actor = require_actor()
    item = services.editable_item(item_id, actor=actor)
    form = ItemForm()
    if request.method == "GET":
        for name in ("barcode", "accession_number", "collection", "price", "acquired_on", "lendable_network",
                     "public", "call_class", "call_author", "call_title"):
            getattr(form, name).data = getattr(item, name)
        form.item_type.data, form.source.data = item.item_type.value, item.source.value
        form.item_notes.data = item.notes
    if form.validate_on_submit():
        saved = run_form_service(form, lambda: services.update_item(item_id=item_id, changes=form.changes(),
                                                                    actor=actor))
        if saved is not None:
            flash(_("The copy has been saved."), "success")
            return redirect(url_for("catalog.record_detail", record_id=item.record_id))
    return render("catalog/item_form.html", form=form, record=item.record, item=item,
                  withdraw_form=WithdrawForm(), post_form=PostForm())


@bp.route("/catalog/items/<id:item_id>/withdraw", methods=["POST"])
@permission_required("catalog.edit")
def item_withdraw(item_id: int) -> Response:
    """Withdraw (weed) a copy with a reason."""
    actor = require_actor()
    item = services.get_item(item_id)
    form = WithdrawForm()
    if not form.validate_on_submit():
        flash(_("Give the reason for withdrawing this item."), "danger")
        return redirect(url_for("catalog.item_edit", item_id=item_id))
    if run_form_service(form, lambda: services.withdraw(item_id=item_id, reason=form.reason.data, actor=actor,
                                                        today=library_today(item.library_id))):
        flash(_("The copy has been withdrawn."), "success")
    return redirect(url_for("catalog.record_detail", record_id=item.record_id))


@bp.route("/catalog/items/<id:item_id>/delete", methods=["POST"])
@permission_required("catalog.edit")
def item_delete(item_id: int) -> Response:
    """Delete a copy entered by mistake."""
    item = services.get_item(item_id)
    record_id = item.record_id
    form = PostForm()
    if form.validate_on_submit() and run_form_service(
            form, lambda: services.delete_item(item_id=item_id, actor=require_actor()) or True):
        flash(_("The copy has been deleted."), "success")
    return redirect(url_for("catalog.record_detail", record_id=record_id))


@bp.route("/catalog/settings", methods=["GET", "POST"])
@permission_required("library.settings")
def catalog_settings() -> str | Response:
    """My library's accession number pattern, barcode prefix and defaults."""
    actor = require_actor()
    library_id = _target_library("library.settings")
    settings = services.settings_for(library_id)
    form = SettingsForm(obj=settings)
    if form.validate_on_submit():
        saved = run_form_service(form, lambda: services.update_settings(
            library_id=library_id, actor=actor, accession_pattern=form.accession_pattern.data.strip(),
            barcode_prefix=form.barcode_prefix.data.strip(), default_collection=form.default_collection.data.strip(),
            items_public=bool(form.items_public.data)))
        if saved is not None:
            flash(_("The settings have been saved."), "success")
            return redirect(url_for("catalog.catalog_settings", library=library_id if actor.network_wide else None))
    example = services.preview_accession(library_id, form.accession_pattern.data or settings.accession_pattern)
    return render("catalog/settings.html", form=form, example=example, library_id=library_id)
