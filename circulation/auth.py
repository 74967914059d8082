"""Patron sessions for the OPAC: card number + PIN, kept apart from staff logins (Flask-Login).

A patron login lives under its own key in the signed session cookie: the patron id, the
patron's ``session_version`` (a PIN change or a staff edit of e-mail/phone bumps it, which ends
every other session of that card), the login time (absolute lifetime) and the last request
(idle timeout, shorter than staff because OPAC kiosks are shared; reliability-security.md 7.3).
Staff and patron logins may coexist in one browser; neither reads the other's keys.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, g, make_response, redirect, request, session, url_for
from werkzeug.wrappers import Response

from circulation.models import Patron, PatronStatus
from circulation.services import selfservice
from ils.auth import client_ip
from ils.authz import Actor
from ils.extensions import db
from ils.mixins import utcnow

PATRON_KEY = "opac_patron"
# Keys of a staff login (Flask-Login's own and ils.auth's login time) and the visitor's language.
# A patron login keeps these, so a librarian helping a member at the desk stays logged in, and
# drops everything else, including the CSRF secret (ASVS 7.2.4: a fresh session at login).
KEEP_ON_LOGIN = ("_user_id", "_fresh", "_id", "_remember", "_remember_seconds", "login_at", "lang")
# Defaults of the settings below (override with CIRCULATION_OPAC_* in the deploy config).
DEFAULT_IDLE_MINUTES = 15  # ASVS 7.3.1: OPAC kiosks are shared, so shorter than staff's 30
DEFAULT_LOGIN_RATE_LIMIT = "20 per minute"  # per IP, like ILS_LOGIN_RATE_LIMIT for staff
DEFAULT_REGISTER_RATE_LIMIT = "20 per hour"  # per IP; a library kiosk may register a class
# The "seen" stamp is rewritten at most this often, so the cookie does not change on every request.
SEEN_GRANULARITY_SECONDS = 30
# Statuses that may not hold an OPAC session: not yet approved, or no longer a person we know.
NO_LOGIN = (PatronStatus.PENDING, PatronStatus.ERASED)


def idle_seconds() -> float:
    """Idle timeout of a patron session (CIRCULATION_OPAC_IDLE_MINUTES, default 15)."""
    return 60.0 * float(current_app.config.get("CIRCULATION_OPAC_IDLE_MINUTES", DEFAULT_IDLE_MINUTES))


def absolute_seconds() -> float:
    """Absolute lifetime of a patron session (CIRCULATION_OPAC_SESSION_ABSOLUTE_HOURS, else the staff value)."""
    hours = (current_app.config.get("CIRCULATION_OPAC_SESSION_ABSOLUTE_HOURS")
             or current_app.config["ILS_SESSION_ABSOLUTE_HOURS"])
    return 3600.0 * float(hours)


def login_rate_limit() -> str:
    """Per-IP limit on OPAC login POSTs (CIRCULATION_OPAC_LOGIN_RATE_LIMIT)."""
    return str(current_app.config.get("CIRCULATION_OPAC_LOGIN_RATE_LIMIT", DEFAULT_LOGIN_RATE_LIMIT))


def register_rate_limit() -> str:
    """Per-IP limit on self-registration POSTs (CIRCULATION_OPAC_REGISTER_RATE_LIMIT)."""
    return str(current_app.config.get("CIRCULATION_OPAC_REGISTER_RATE_LIMIT", DEFAULT_REGISTER_RATE_LIMIT))


def rate_limits_off() -> bool:
    """True when this app has rate limiting switched off (the limiter object is shared by test apps)."""
    return not current_app.config.get("RATELIMIT_ENABLED", True)


def start_patron_session(patron: Patron) -> None:
    """Log a patron in on a fresh session; a staff login in the same browser survives."""
    kept = {key: session[key] for key in KEEP_ON_LOGIN if key in session}
    session.clear()
    session.update(kept)
    session.permanent = True
    stamp = utcnow().timestamp()
    session[PATRON_KEY] = {"id": patron.id, "v": patron.session_version, "at": stamp, "seen": stamp}
    g.pop("opac_patron", None)


def end_patron_session() -> None:
    """Forget the patron login only; a staff login in the same browser is left alone."""
    session.pop(PATRON_KEY, None)
    g.pop("opac_patron", None)


def _load() -> Patron | None:
    data = session.get(PATRON_KEY)
    if data is None:
        return None
    try:
        patron_id, version = int(data["id"]), int(data["v"])
        login_at, seen = float(data["at"]), float(data["seen"])
    except (KeyError, TypeError, ValueError):
        end_patron_session()
        return None
    now = utcnow().timestamp()
    if now - login_at > absolute_seconds() or now - seen > idle_seconds():
        end_patron_session()
        return None
    patron = db.session.get(Patron, patron_id)
    # A PIN change, a staff edit of contact details or an erasure ends every session of the card.
    if patron is None or patron.session_version != version or patron.status in NO_LOGIN:
        end_patron_session()
        return None
    if now - seen >= SEEN_GRANULARITY_SECONDS:
        session[PATRON_KEY] = {**data, "seen": now}
    return patron


def current_patron() -> Patron | None:
    """The patron logged in to the OPAC in this browser, or None (checked once per request)."""
    if "opac_patron" not in g:
        g.opac_patron = _load()
    patron: Patron | None = g.opac_patron
    return patron


def patron_actor(patron: Patron) -> Actor:
    """The actor for the logged-in patron's own actions, with this request's address."""
    return selfservice.actor_for(patron, client_ip())


def safe_next(target: str | None) -> str | None:
    """Only same-site relative paths are followed after login (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc else target


def no_store(response: Response) -> Response:
    """Keep a page with personal data out of shared and browser caches (ASVS 14.3.2)."""
    response.headers["Cache-Control"] = "no-store"
    return response


def login_url_for_here() -> str:
    """The login page, coming back to this page (GET) or to the account (after a POST)."""
    if request.method == "GET":
        here = request.full_path.rstrip("?")
    else:
        here = url_for("circulation.opac_account")
    return url_for("circulation.opac_login", next=here)


def patron_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Only a logged-in patron gets through; others go to the OPAC login. Responses are not cached."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_patron() is None:
            return no_store(redirect(login_url_for_here()))
        return no_store(make_response(view(*args, **kwargs)))

    return wrapped
