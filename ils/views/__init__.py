"""The core blueprint (login, staff home, libraries, staff, jobs, audit) and app-wide web plumbing."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, current_app, flash, jsonify, render_template, request, url_for
from flask_babel import format_date, format_datetime, format_decimal, get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter
from werkzeug.wrappers import Response

from ils.auth import current_actor
from ils.authz import PERMISSIONS
from ils.errors import IlsError, NotFound, http_status
from ils.extensions import db, sqlite_write_intent
from ils.forms import LanguageForm
from ils.mixins import MAX_ID, utcnow

bp = Blueprint("ils", __name__)

# Staff navigation: (endpoint, label, permission). Each role sees only what it may use.
NAVIGATION: list[tuple[str, Any, str]] = [
    ("ils.staff_home", _l("Home"), "library.view"),
    ("ils.library_list", _l("Libraries"), "library.view"),
    ("ils.staff_list", _l("Staff"), "staff.view"),
    ("ils.jobs_list", _l("Background jobs"), "jobs.view"),
    ("ils.audit_list", _l("Audit log"), "audit.view"),
]
# Extra entries registered by domains in their init_app (same shape).
DOMAIN_NAVIGATION: list[tuple[str, Any, str]] = []
# Links for everyone (staff or not) after "Public catalogue", added by domains: (endpoint, label).
PUBLIC_NAVIGATION: list[tuple[str, Any]] = []

ERROR_MESSAGES = {
    400: _l("The request was not understood."),
    403: _l("You do not have permission to open this page."),
    404: _l("The page or object you asked for was not found."),
    405: _l("This page cannot be used that way."),
    413: _l("The file is too large."),
    422: _l("Some of the data entered is not valid."),
    429: _l("Too many attempts. Wait a minute and try again."),
    500: _l("Something went wrong on our side. The error has been logged; please try again."),
}

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'")


def _navigation() -> list[tuple[str, Any]]:
    actor = current_actor()
    if actor is None:
        return []
    return [(endpoint, label) for endpoint, label, perm in NAVIGATION + DOMAIN_NAVIGATION
            if actor.role in PERMISSIONS[perm]]


def _context() -> dict[str, Any]:
    return {"navigation": _navigation(), "actor": current_actor(), "language_form": LanguageForm(),
            "public_navigation": PUBLIC_NAVIGATION}


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Permissions-Policy", "camera=(self), geolocation=(), microphone=()")
    if current_app.config.get("ILS_HSTS"):
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if current_user and current_user.is_authenticated:
        response.headers["Cache-Control"] = "no-store"
    return response


MAX_PAGE = 100_000


class IdConverter(IntegerConverter):
    """``<id:name>``: a positive database id; anything larger than a column holds is a 404."""

    def __init__(self, url_map: Any) -> None:
        super().__init__(url_map, min=1, max=MAX_ID)


def page_arg() -> int:
    """The ?page= argument, clamped to 1..MAX_PAGE (junk counts as 1)."""
    return min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)


def id_arg(name: str) -> int | None:
    """An optional integer id from the query string; out of range is a 404."""
    value = request.args.get(name, type=int)
    if value is not None and not 0 < value <= MAX_ID:
        raise NotFound()
    return value


def page_url(page: int) -> str:
    """The current page's URL with another ?page=, keeping the filters."""
    args = {**request.args.to_dict(), **(request.view_args or {}), "page": page}
    return url_for(request.endpoint or "ils.index", **args)


def wants_json() -> bool:
    """API paths answer errors in JSON."""
    return request.path.startswith("/api/") or request.path.endswith(".json")


def _error_response(status: int, message: str) -> tuple[Any, int]:
    if wants_json():
        return jsonify({"error": message, "status": status}), status
    return render_template("errors/error.html", status=status, message=message), status


def register_error_handlers(app: Flask) -> None:
    """One mapping from errors to pages (or JSON under /api/)."""

    @app.errorhandler(IlsError)
    def _ils_error(error: IlsError) -> tuple[Any, int]:
        db.session.rollback()
        return _error_response(http_status(error), error.message)

    @app.errorhandler(CSRFError)
    def _csrf_error(error: CSRFError) -> tuple[Any, int]:
        return _error_response(400, str(_l("The form has expired or was not sent from this site. "
                                           "Reload the page and try again.")))

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Any:
        status = error.code or 500
        if status < 400:
            return error
        return _error_response(status, str(ERROR_MESSAGES.get(status, error.description)))

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> tuple[Any, int]:
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        return _error_response(500, str(ERROR_MESSAGES[500]))


# GET endpoints that write an audit row (views of personal data, UU PDP Pasal 31): on SQLite they
# take the write lock up front like a POST, instead of upgrading a read transaction (R11).
AUDITED_GETS: set[str] = set()


def _declare_write_intent() -> None:
    # GET never mutates domain data (CSRF rule), so its SQLite transactions can be plain readers.
    sqlite_write_intent.set(request.method not in ("GET", "HEAD", "OPTIONS") or request.endpoint in AUDITED_GETS)


def init_app(app: Flask) -> None:
    """Register the core blueprint and the web plumbing."""
    from ils.views import account, audit_log, home, jobs, libraries, staff  # noqa: F401  (routes)

    app.url_map.converters["id"] = IdConverter
    app.register_blueprint(bp)
    # First of all before_request hooks: the session lookup in auth opens the first transaction.
    app.before_request_funcs.setdefault(None, []).insert(0, _declare_write_intent)
    app.context_processor(_context)
    # Globals (not context) so macros imported without context can use them too.
    app.jinja_env.globals.update(now_utc=utcnow, get_locale=get_locale, format_datetime=format_datetime,
                                 format_date=format_date, format_decimal=format_decimal, page_url=page_url)
    app.jinja_env.filters["format_date"] = format_date
    app.after_request(_security_headers)


def run_form_service(form: Any, call: Any) -> Any:
    """Call a service for a submitted form; commit on success.

    A validation error (or conflict) is rolled back and shown on its field, or flashed;
    permission errors propagate to the error handler. Returns the service result or None.
    """
    try:
        result = call()
    except IlsError as exc:
        if exc.status_code in (403, 404):
            raise
        db.session.rollback()
        field = getattr(form, exc.field, None) if exc.field else None
        if field is not None:
            field.errors = list(field.errors) + [exc.message]
        else:
            flash(exc.message, "danger")
        return None
    db.session.commit()
    return result
