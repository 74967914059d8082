"""Union catalog: MARC records, items, import/export, search, the OPAC, SRU and OAI-PMH.

This issue provides the public OPAC landing page; records and items arrive with the catalog issue.
"""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the catalog blueprint (staff /catalog and public /opac pages)."""
    from catalog.views import bp

    app.register_blueprint(bp)
