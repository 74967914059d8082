"""Union catalog: MARC records, items, import/export, search, the OPAC, SRU and OAI-PMH."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the catalog's blueprints, jobs, metrics, CLI commands and session hooks."""
    from catalog import cli, demo, jobs, metrics  # noqa: F401  (jobs and metrics register themselves)
    from catalog.services.outbox import install_session_hooks
    from catalog.views import NAVIGATION, bp
    from ils.views import DOMAIN_NAVIGATION

    from ils.demo import DEMO_LOADERS

    install_session_hooks()
    if demo.load not in DEMO_LOADERS:
        DEMO_LOADERS.append(demo.load)
    app.register_blueprint(bp)
    DOMAIN_NAVIGATION.extend(entry for entry in NAVIGATION if entry not in DOMAIN_NAVIGATION)
    cli.init_app(app)
