"""City-wide circulation: patrons, rules, loans, holds, fines, calendar, visits, notices, SIP2.

The package exists from the platform issue on so its blueprint and init_app are in place; its own
issue fills in the screens.
"""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the circulation blueprint."""
    from circulation.views import bp

    app.register_blueprint(bp)
