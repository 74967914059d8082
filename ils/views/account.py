"""Log in, log out, language choice and one's own password."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from ils.auth import client_ip, end_session, require_actor, start_session
from ils.errors import ValidationFailed
from ils.extensions import db, limiter
from ils.forms import LanguageForm, LoginForm, PasswordForm
from ils.services import staff as staff_services
from ils.views import bp


def _login_limit() -> str:
    return current_app.config["ILS_LOGIN_RATE_LIMIT"]


def _safe_next(target: str | None) -> str | None:
    """Only same-site relative paths are followed after login (no open redirect)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"],
               exempt_when=lambda: not current_app.config.get("RATELIMIT_ENABLED", True))
def login() -> str | Response:
    """Staff login form."""
    if current_user.is_authenticated:
        return redirect(url_for("ils.staff_home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = staff_services.authenticate(username=form.username.data, password=form.password.data,
                                           ip=client_ip())
        db.session.commit()
        if user is not None:
            start_session(user)
            return redirect(_safe_next(request.args.get("next")) or url_for("ils.staff_home"))
        flash(_("Wrong username or password, or the account is locked or inactive."), "danger")
    return render_template("ils/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Response:
    """Log out (POST only, with CSRF)."""
    staff_services.record_logout(actor=require_actor())
    db.session.commit()
    end_session()
    flash(_("You have logged out."), "info")
    return redirect(url_for("ils.login"))


@bp.route("/language", methods=["POST"])
def set_language() -> Response:
    """Switch the interface language (stored on the account for staff)."""
    form = LanguageForm()
    if form.validate_on_submit():
        session["lang"] = form.lang.data
        if current_user.is_authenticated:
            staff_services.set_own_locale(actor=require_actor(), locale=form.lang.data)
            db.session.commit()
    return redirect(_safe_next(request.form.get("next")) or url_for("ils.index"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def own_password() -> str | Response:
    """Change one's own password."""
    form = PasswordForm()
    if form.validate_on_submit():
        actor = require_actor()
        try:
            user = staff_services.set_password(actor=actor, staff_id=actor.user_id,
                                               password=form.password.data,
                                               current_password=form.current_password.data or "")
        except ValidationFailed as exc:
            db.session.rollback()
            getattr(form, exc.field or "password").errors.append(exc.message)
        else:
            db.session.commit()
            start_session(user)  # the old session version is void; keep this one alive
            flash(_("Your password has been changed."), "success")
            return redirect(url_for("ils.staff_home"))
    return render_template("ils/password.html", form=form, own=True)
