"""Workflows: the engine, accreditation instruments, transformation goals, IPLM, the DPK dashboard.

The package exists from the platform issue on so its blueprint and init_app are in place; its own
issue fills in the screens.
"""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the workflows blueprint."""
    from workflows.views import bp

    app.register_blueprint(bp)
