"""What the workflow API modules share: the prefix and the parsing of JSON values."""
from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import gettext as _

from ils.errors import ValidationFailed

API = "/api/v1/workflows"


def date_field(value: Any, name: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValidationFailed(_("The field %(name)s must be a date (YYYY-MM-DD).", name=name), field=name) from None


def iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def bilingual(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    if isinstance(value, dict):
        return {"id": value.get("id", ""), "en": value.get("en", "")}
    return {"id": getattr(value, "id", ""), "en": getattr(value, "en", "")}
