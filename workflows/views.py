"""Workflows screens (filled in by the workflows issue)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("workflows", __name__, url_prefix="/workflows", template_folder="templates")
