"""Turning what a person typed into clean field values (and saying plainly what is wrong)."""
from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l

from workflows.engine.model import Definition, Field

INTEGER = re.compile(r"^[+-]?\d+$")
# Indonesian forms write 58,3 for 58.3; both are accepted.
NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)$")
ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
LOCAL_DATE = re.compile(r"^(\d{1,2})[-/](\d{1,2})[-/](\d{4})$")


class _Invalid(Exception):
    """A value does not fit its field; ``message`` says why."""

    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = message


def validate_values(definition: Definition, state: str, values: Mapping[str, Any]
                    ) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    """Clean the values of ``state``'s fields: (cleaned, [(field, message)]).

    Cleaned values are JSON-ready: text stripped, integer int, number float, date an ISO string,
    choice the choice value, url the address. An empty value cleans to None, which clears the field
    when merged (presence is a guard's business, not the form's: a step may be saved half done).
    """
    step = definition.states[state]
    cleaned: dict[str, Any] = {}
    problems: list[tuple[str, Any]] = []
    for name, raw in values.items():
        field = step.field(name)
        if field is None:
            problems.append((name, _l("This step has no field called %(name)s", name=name)))
            continue
        try:
            cleaned[name] = convert(field, raw)
        except _Invalid as invalid:
            problems.append((name, invalid.message))
    return cleaned, problems


def merge(data: Mapping[str, Any], cleaned: Mapping[str, Any]) -> dict[str, Any]:
    """The instance data with cleaned values applied (None removes a value)."""
    merged = dict(data)
    for name, value in cleaned.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = value
    return merged


def convert(field: Field, raw: Any) -> Any:
    """One value cleaned for ``field`` (None for empty); _Invalid with a message otherwise."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    text = raw.strip() if isinstance(raw, str) else raw
    if field.type in ("text", "textarea"):
        if not isinstance(text, str):
            raise _Invalid(_l("%(label)s must be text", label=field.label))
        return text
    if field.type == "integer":
        return _integer(field, text)
    if field.type == "number":
        return _number(field, text)
    if field.type == "date":
        return _date(field, text).isoformat()
    if field.type == "choice":
        allowed = [choice.value for choice in field.choices]
        if str(text) not in allowed:
            raise _Invalid(_l("%(label)s must be one of: %(choices)s", label=field.label,
                              choices=", ".join(allowed)))
        return str(text)
    return _url(field, text)


def _integer(field: Field, value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and INTEGER.match(value):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise _Invalid(_l("%(label)s must be a whole number", label=field.label))


def _number(field: Field, value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    if isinstance(value, str) and NUMBER.match(value):
        return float(value.replace(",", "."))
    raise _Invalid(_l("%(label)s must be a number", label=field.label))


def _date(field: Field, value: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        iso, local = ISO_DATE.match(value), LOCAL_DATE.match(value)
        parts = (iso.group(1), iso.group(2), iso.group(3)) if iso else (
            (local.group(3), local.group(2), local.group(1)) if local else None)
        if parts is not None:
            try:
                return date(int(parts[0]), int(parts[1]), int(parts[2]))
            except ValueError:
                pass  # 31-02-2024 has the right shape but is no date
    raise _Invalid(_l("%(label)s must be a date (YYYY-MM-DD or DD-MM-YYYY)", label=field.label))


def _url(field: Field, value: Any) -> str:
    if isinstance(value, str) and not any(c.isspace() for c in value):
        try:
            parts = urlsplit(value)
            if parts.scheme in ("http", "https") and parts.hostname:
                return value
        except ValueError:
            pass  # e.g. an unclosed "[" of an IPv6 host
    raise _Invalid(_l("%(label)s must be a web address starting with http:// or https://", label=field.label))


def as_date(value: Any) -> date | None:
    """A stored date value (ISO string or date) as a date; None when absent or unreadable."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and ISO_DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None
