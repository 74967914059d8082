"""Circulation screens: the desk under /circulation, patron self-service in the OPAC."""
from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask_babel import lazy_gettext as _l

bp = Blueprint("circulation", __name__, template_folder="../templates")

# Staff navigation entries added to ils.views.DOMAIN_NAVIGATION by circulation.init_app.
NAVIGATION: list[tuple[str, Any, str]] = [
    ("circulation.desk", _l("Circulation"), "circulation.desk"),
    ("circulation.patron_list", _l("Members"), "patron.view"),
    ("circulation.visits_daily", _l("Visitors"), "visits.record"),
]
# The desk's own tab bar: the rest of circulation, each shown to those who hold its permission.
DESK_TABS: list[tuple[str, Any, str]] = [
    ("circulation.desk", _l("Desk"), "circulation.desk"),
    ("circulation.checkin", _l("Check in"), "circulation.desk"),
    ("circulation.holds", _l("Holds and transits"), "circulation.desk"),
    ("circulation.explain", _l("Explain a rule"), "circulation.desk"),
    ("circulation.notice_list", _l("Notices"), "notices.view"),
    ("circulation.cash_report", _l("Cash report"), "circulation.reports"),
    ("circulation.rules_list", _l("Circulation rules"), "circulation.rules"),
]


def desk_tabs() -> dict[str, Any]:
    """Template context: the desk tabs the current staff member may open."""
    from ils import authz
    from ils.auth import current_actor

    actor = current_actor()
    if actor is None:
        return {"desk_tabs": []}
    tabs = [(endpoint, label) for endpoint, label, permission in DESK_TABS
            if authz.can(actor, permission, None if actor.network_wide else actor.library_id)]
    return {"desk_tabs": tabs}
# Pages whose GET writes an audit row (a staff view of a member's record).
AUDITED = {"circulation.patron_detail", "circulation.checkout", "circulation.fee_pay", "circulation.api_patron",
           "circulation.api_fees", "circulation.explain", "circulation.api_explain"}

# The member's own account, linked from every page's navigation bar.
ACCOUNT_LINK: tuple[str, Any] = ("circulation.opac_account", _l("My library account"))

from circulation.views import admin, desk, notices, opac, patrons, visits  # noqa: E402,F401  (routes)
from circulation import api  # noqa: E402,F401  (JSON routes under /api/v1/circulation)
