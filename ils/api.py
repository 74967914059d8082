"""Shared plumbing of the JSON APIs under /api/v1/<domain>.

Authentication
    The staff session cookie, exactly as for the pages (log in through /login). An API request
    without a session gets ``401`` JSON (not the login page's redirect).
CSRF
    Flask-WTF's CSRFProtect guards every write. Send the session's token in the ``X-CSRFToken``
    header; every API response carries the current token in its ``X-CSRFToken`` header.
Errors
    ``{"error": message, "status": code}`` in the user's language, plus extra members where an API
    documents them (``issues``, ``checks``, ``problems``).
"""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, Response, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from ils.auth import permission_required
from ils.errors import IlsError, ValidationFailed
from ils.extensions import db
from ils.mixins import MAX_ID


class ApiProblem(IlsError):
    """An API answer other than success, with extra JSON members (``issues``, ``merged_into``)."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status_code = status
        self.extra = extra


def api_view(permission: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``permission_required`` for JSON clients: no session is 401, not the login page."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        guarded = permission_required(permission)(view)

        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                raise ApiProblem(401, _("Log in to use the API."))
            return guarded(*args, **kwargs)

        return wrapped

    return decorate


def json_response(payload: Any, status: int = 200, **headers: str) -> Response:
    """A JSON answer carrying the session's CSRF token for the client's next write."""
    response = jsonify(payload)
    response.status_code = status
    response.headers["X-CSRFToken"] = generate_csrf()
    response.headers.update(headers)
    return response


def init_app(app: Flask) -> None:
    """Answer ApiProblem with its extra members, on every blueprint."""

    @app.errorhandler(ApiProblem)
    def _api_problem(error: ApiProblem) -> tuple[Response, int]:
        db.session.rollback()
        return jsonify({"error": error.message, "status": error.status_code, **error.extra}), error.status_code


def json_body() -> dict[str, Any]:
    """The request's JSON object; ValidationFailed (422) for anything else."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationFailed(_("Send a JSON object."))
    return body


def positive_int(value: Any, name: str) -> int:
    """A required JSON field holding an id or a positive whole number (at most what an id column holds)."""
    number = optional_positive_int(value, name)
    if number is None:
        raise ValidationFailed(_("The field %(name)s is required.", name=name), field=name)
    return number


def optional_positive_int(value: Any, name: str) -> int | None:
    """As positive_int, but a missing or empty field gives None."""
    if value is None or value == "":
        return None
    # Whole numbers only, as JSON numbers or digits in a string: 1500.7 is not silently 1500, nor true 1.
    if isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        raise ValidationFailed(_("The field %(name)s must be a number.", name=name), field=name)
    if not 0 < number <= MAX_ID:
        raise ValidationFailed(_("The field %(name)s is out of range.", name=name), field=name)
    return number
