"""City-wide circulation: patrons, rules, loans, holds, fines, calendar, visits, notices, SIP2."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the circulation blueprint, jobs, navigation and CLI commands."""
    from circulation import cli, demo, jobs, models  # noqa: F401  (tables and jobs register themselves)
    from ils.demo import DEMO_LOADERS
    from circulation.auth import PATRON_KEY
    from circulation.services.common import install_session_hooks, rupiah
    from ils.auth import KEPT_SESSION_KEYS
    from ils.services.staff import LOGIN_NAME_TAKEN
    from ils.views import AUDITED_GETS, PUBLIC_NAVIGATION
    from circulation.services.patrons import card_number_taken
    from circulation.views import ACCOUNT_LINK, AUDITED, NAVIGATION, bp, desk_tabs
    from ils.views import DOMAIN_NAVIGATION

    KEPT_SESSION_KEYS.add(PATRON_KEY)
    AUDITED_GETS.update(AUDITED)
    if card_number_taken not in LOGIN_NAME_TAKEN:
        LOGIN_NAME_TAKEN.append(card_number_taken)  # a staff login in the same browser leaves the member logged in
    if demo.load not in DEMO_LOADERS:
        DEMO_LOADERS.append(demo.load)
    install_session_hooks()
    app.register_blueprint(bp)
    app.context_processor(desk_tabs)
    app.jinja_env.filters["rupiah"] = rupiah
    DOMAIN_NAVIGATION.extend(entry for entry in NAVIGATION if entry not in DOMAIN_NAVIGATION)
    if ACCOUNT_LINK not in PUBLIC_NAVIGATION:
        PUBLIC_NAVIGATION.append(ACCOUNT_LINK)
    cli.init_app(app)
