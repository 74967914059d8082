"""Circulation screens (filled in by the circulation issue)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("circulation", __name__, url_prefix="/circulation", template_folder="templates")
