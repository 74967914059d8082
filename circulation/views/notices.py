"""Notices outbox: delivery status for staff, and putting failed notices back in the queue."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from circulation.forms.notices import NoticeFilterForm, RetryFailedForm
from circulation.services import notices as services
from circulation.views import bp
from ils.auth import permission_required, require_actor
from ils.authz import Actor
from ils.mixins import utcnow
from ils.services.libraries import list_libraries
from ils.views import id_arg, page_arg, run_form_service


def _scope(actor: Actor) -> int | None:
    """The library chosen with ?library=, else the actor's own (network roles: None, all of them).

    The service checks the choice, so staff of one library asking for another get 403.
    """
    return id_arg("library") or (None if actor.network_wide else actor.library_id)


@bp.route("/circulation/notices", methods=["GET"])
@permission_required("notices.view")
def notice_list() -> str:
    """Delivery status of the notices of my library, filtered by status and kind."""
    actor = require_actor()
    library_id = _scope(actor)
    filters = NoticeFilterForm(formdata=request.args)
    # Unknown filter values are ignored rather than passed on: the choices are the allowlist.
    valid = filters.validate()
    status = (filters.status.data or "") if valid else ""
    kind = (filters.kind.data or "") if valid else ""
    page = page_arg()
    rows, total = services.list_notices(actor=actor, library_id=library_id, status=status, kind=kind, page=page)
    counts = services.status_counts(actor=actor, library_id=library_id)
    libraries = list_libraries(actor=actor, include_inactive=False) if actor.network_wide else []
    return render_template("circulation/notices.html", rows=rows, total=total, page=page,
                           page_size=services.PAGE_SIZE, filters=filters, counts=counts, library_id=library_id,
                           libraries=libraries, retry_form=RetryFailedForm())


@bp.route("/circulation/notices/retry", methods=["POST"])
@permission_required("notices.view")
def notice_retry() -> Response:
    """Send the failed notices of my library again (network roles: of the chosen library, or all)."""
    actor = require_actor()
    library_id = _scope(actor)
    form = RetryFailedForm()
    if form.validate_on_submit():
        count = run_form_service(form, lambda: services.retry_failed(actor=actor, library_id=library_id,
                                                                     now=utcnow()))
        if count is not None:
            flash(_("%(count)d failed notice(s) will be sent again.", count=count), "success")
    else:
        flash(_("The form has expired. Reload the page and try again."), "danger")
    return redirect(url_for("circulation.notice_list", library=request.args.get("library", type=int)))
