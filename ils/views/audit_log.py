"""The audit log screen."""
from __future__ import annotations

from flask import render_template, request

from ils.auth import permission_required, require_actor
from ils.services import overview
from ils.views import bp, page_arg

ACTION_FILTERS = ("login", "logout", "library.", "staff.", "job.")


@bp.route("/audit/")
@permission_required("audit.view")
def audit_list() -> str:
    """Logins, failed logins and every staff change, newest first (scoped to my library)."""
    actor = require_actor()
    page = page_arg()
    action = request.args.get("action") or None
    if action not in ACTION_FILTERS:
        action = None
    events, total = overview.list_audit(actor=actor, page=page, action=action)
    return render_template("ils/audit_list.html", events=events, total=total, page=page,
                           page_size=overview.PAGE_SIZE, action=action, filters=ACTION_FILTERS)
