"""Login sessions, the current actor, and view decorators (coarse checks; services scope)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from functools import wraps
from typing import Any

from flask import Flask, current_app, g, has_request_context, request, session
from flask_login import current_user, login_user, logout_user

from ils.authz import PERMISSIONS, Actor
from ils.errors import Forbidden
from ils.extensions import login_manager
from ils.models import StaffUser
from ils.services import staff as staff_services


def client_ip() -> str | None:
    """The client's address (behind a reverse proxy set ILS_PROXY_COUNT so ProxyFix applies)."""
    return request.remote_addr


def current_actor() -> Actor | None:
    """The Actor for the logged-in staff user, or None."""
    if not current_user.is_authenticated:
        return None
    if "ils_actor" not in g:
        g.ils_actor = staff_services.actor_for(current_user, client_ip())
    return g.ils_actor


def require_actor() -> Actor:
    """The current actor; Forbidden when nobody is logged in (views use login_required first)."""
    actor = current_actor()
    if actor is None:
        raise Forbidden()
    return actor


def permission_required(permission: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Log-in plus role check for a view; the library scope is checked by the service."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if require_actor().role not in PERMISSIONS[permission]:
                raise Forbidden()
            return view(*args, **kwargs)

        return wrapped

    return decorate


# Session keys another login lives under (the OPAC patron login): a staff login or logout in the same
# browser starts a fresh session but leaves those alone, so the two logins stay independent.
KEPT_SESSION_KEYS: set[str] = set()


def _clear_session() -> None:
    kept = {key: session[key] for key in KEPT_SESSION_KEYS if key in session}
    session.clear()
    session.update(kept)


def start_session(user: StaffUser) -> None:
    """Log a user in on a fresh session (no fixation), with idle and absolute timeouts."""
    _clear_session()
    login_user(user)
    session.permanent = True
    session["login_at"] = datetime.now(timezone.utc).timestamp()


def end_session() -> None:
    """Log out and forget everything in the session."""
    logout_user()
    _clear_session()


def _enforce_absolute_timeout() -> None:
    login_at = session.get("login_at")
    if login_at is None or not current_user.is_authenticated:
        return
    limit = timedelta(hours=current_app.config["ILS_SESSION_ABSOLUTE_HOURS"]).total_seconds()
    if datetime.now(timezone.utc).timestamp() - float(login_at) > limit:
        end_session()


def init_app(app: Flask) -> None:
    """Configure Flask-Login for staff accounts."""
    login_manager.init_app(app)
    login_manager.login_view = "ils.login"
    login_manager.session_protection = "basic"
    login_manager.login_message = None  # the login page explains itself
    login_manager.user_loader(staff_services.load_session_user)
    app.before_request(_enforce_absolute_timeout)


def select_locale() -> str:
    """Locale for this request: the staff user's choice, else the visitor's, else Indonesian."""
    languages = current_app.config["ILS_LANGUAGES"]
    if not has_request_context():  # CLI and jobs speak the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]
