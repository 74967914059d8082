"""Workflows screens under /workflows: the DPK dashboard, library pages, accreditation, goals,
activities, IPLM and the data documents the DPK edits."""
from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask_babel import lazy_gettext as _l

bp = Blueprint("workflows", __name__, template_folder="../templates")

# Staff navigation entries added to ils.views.DOMAIN_NAVIGATION by workflows.init_app.
NAVIGATION: list[tuple[str, Any, str]] = [
    ("workflows.dashboard", _l("Accreditation and goals"), "workflows.view"),
    ("workflows.activity_list", _l("Activities"), "workflows.activities"),
]
# The workflows tab bar, each tab shown to those who hold its permission.
TABS: list[tuple[str, Any, str]] = [
    ("workflows.dashboard", _l("Dashboard"), "workflows.view"),
    ("workflows.goal_list", _l("Goals"), "workflows.view"),
    ("workflows.activity_list", _l("Activities"), "workflows.activities"),
    ("workflows.iplm", _l("IPLM"), "workflows.view"),
    ("workflows.reports", _l("Reports and exports"), "workflows.view"),
    ("workflows.document_list", _l("Instruments and standards"), "workflows.manage"),
]


def workflow_tabs() -> dict[str, Any]:
    """Template context: the workflows tabs the current staff member may open."""
    from ils.auth import current_actor
    from workflows.services.access import allowed

    actor = current_actor()
    if actor is None:
        return {"workflow_tabs": []}
    scope = None if actor.network_wide else actor.library_id
    return {"workflow_tabs": [(endpoint, label) for endpoint, label, permission in TABS
                              if allowed(actor, permission, scope)]}
