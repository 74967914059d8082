"""Small pieces the workflows screens share."""
from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import format_decimal, get_locale

from ils.auth import require_actor
from ils.authz import Actor
from ils.models import Library
from ils.services.libraries import library_today, list_libraries
from workflows.services.access import visible_libraries


def today_for(library_id: int | None = None) -> date:
    """Today's date where the library is (or in the city's timezone)."""
    return library_today(library_id)


def libraries_for(permission: str = "workflows.view") -> list[Library]:
    """Active libraries the current staff member may see under ``permission``."""
    actor = require_actor()
    visible = visible_libraries(actor, permission)
    everyone = list_libraries(actor=Actor.system(), include_inactive=False)
    return [lib for lib in everyone if visible is None or lib.id in visible]


def text_of(value: Any) -> str:
    """A bilingual YAML text ({id, en} or an object with .id/.en) in the current language."""
    if value is None:
        return ""
    lang = str(get_locale() or "id")[:2]
    if isinstance(value, dict):
        return str(value.get(lang) or value.get("id") or value.get("en") or "")
    if hasattr(value, "id") and hasattr(value, "en"):
        return str(getattr(value, lang, None) or value.id or value.en or "")
    return str(value)


def number(value: float | None, decimals: int = 0) -> str:
    """A figure in the current locale (1.234,5 in Indonesian); a dash when unknown."""
    if value is None:
        return "–"
    fmt = "#,##0" if decimals == 0 else "#,##0." + "0" * decimals
    return format_decimal(round(value, decimals), format=fmt)


def chart_kwargs() -> dict[str, Any]:
    """Chart options for the current language: Indonesian numbers and the 'no data' text."""
    from flask_babel import gettext as _
    return {"number_format": lambda v: format_decimal(v, format="#,##0.##"), "empty_text": _("No data yet")}


def attach_upload(form: Any, call: Any) -> bool:
    """Run an upload service for a submitted EvidenceForm; flash the outcome; True when stored."""
    from flask import flash
    from flask_babel import gettext as _

    from ils.views import run_form_service

    if not form.validate_on_submit():
        flash(_("Choose a file first."), "danger")
        return False
    upload = form.file.data
    if run_form_service(form, lambda: call(upload.stream, upload.filename or "bukti")) is None:
        for error in form.file.errors:
            flash(error, "danger")
        return False
    flash(_("The file was attached."), "success")
    return True
