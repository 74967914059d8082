"""What the catalog API modules share: the prefix, paging, issue and value parsing, and live records."""
from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from catalog.models import Record
from catalog.services import records as services
from catalog.validation import Issue, describe
from ils.api import ApiProblem
from ils.views import MAX_ID

API = "/api/v1/catalog"


def page_json(items: list[Any], *, page: int, total: int, size: int) -> dict[str, Any]:
    """One page of a list: ``{"items", "page", "pages", "total"}``."""
    return {"items": items, "page": page, "pages": (total + size - 1) // size, "total": total}


def iso(value: Any) -> str | None:
    """A date or datetime in ISO 8601 (None stays None)."""
    return value.isoformat() if value is not None else None


def issue_json(issue: Issue | dict[str, Any]) -> dict[str, Any]:
    """A validation issue (or a stored one) with its message in the user's language."""
    stored = issue.as_dict() if isinstance(issue, Issue) else issue
    return {"code": stored.get("code", ""), "severity": stored.get("severity", "error"),
            "tag": stored.get("tag", ""), "message": describe(stored)}


def live_record(record_id: int) -> Record:
    """A record, or 404 (naming the record it was merged into, if it was)."""
    gone = services.tombstone(record_id)
    if gone is not None and gone.merged_into_id:
        raise ApiProblem(404, _("This catalog record was merged into record %(id)s.", id=gone.merged_into_id),
                         merged_into=gone.merged_into_id)
    return services.get_record(record_id)


def bad_value(name: str) -> ApiProblem:
    """The 422 for a field whose value is not valid."""
    return ApiProblem(422, _("The value of %(field)s is not valid.", field=name), field=name)


def text_field(body: dict[str, Any], name: str, limit: int, default: str | None = "") -> Any:
    """A text member of the JSON body, stripped; None only when missing and ``default`` is None."""
    value = body.get(name, default)
    if value is None and default is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise bad_value(name)
    return value.strip()


def int_field(value: Any, name: str, low: int = 1, high: int = MAX_ID) -> int | None:
    """A whole number from JSON or a form (digits in a string) within [low, high]; blank is None."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and value.isdigit())):
        raise bad_value(name)
    if not low <= int(value) <= high:
        raise bad_value(name)
    return int(value)
