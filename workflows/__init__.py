"""Workflows: the engine, accreditation instruments, transformation goals, IPLM, the DPK dashboard."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the workflows blueprint, tables, metrics, jobs and navigation."""
    from workflows import api, cli, demo, jobs, metrics, models  # noqa: F401  (API, tables, metrics, jobs register)
    from ils.demo import DEMO_LOADERS
    from ils.services.overview import ATTENTION_PROVIDERS
    from ils.views import DOMAIN_NAVIGATION
    from workflows.services.instances import waiting_for
    from workflows.views import NAVIGATION, bp, workflow_tabs
    from workflows.views import (activities, assessments, dashboard, documents, goals, instances,  # noqa: F401
                                 iplm, reports)  # (routes)

    if demo.load not in DEMO_LOADERS:
        DEMO_LOADERS.append(demo.load)
    if waiting_for not in ATTENTION_PROVIDERS:
        ATTENTION_PROVIDERS.append(waiting_for)
    app.register_blueprint(bp)
    app.context_processor(workflow_tabs)
    cli.init_app(app)
    DOMAIN_NAVIGATION.extend(entry for entry in NAVIGATION if entry not in DOMAIN_NAVIGATION)
