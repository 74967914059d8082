"""Web behaviour: login/logout, CSRF, rate limits, headers, errors, language, the main forms."""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from ils.extensions import db
from ils.models import AuditEvent, Library, StaffUser
from tests.conftest import dispose, make_app
from tests.factories import PASSWORD, Network, add_circulation, build_network, login
from tests.test_matrix import ROUTES


@pytest.fixture(scope="module")
def strict_app(app: Flask, session_dir: Path) -> Iterator[Flask]:
    """The same database, with CSRF protection and login rate limits switched on."""
    application = make_app(session_dir, WTF_CSRF_ENABLED=True, RATELIMIT_ENABLED=True,
                           ILS_LOGIN_RATE_LIMIT="5 per minute")
    yield application
    dispose(application)


def test_librarian_gets_403_on_other_library_staff_pages(client: FlaskClient, network: Network) -> None:
    """The issue's acceptance check, spelled out."""
    login(client, "u.librarian")
    assert client.get(f"/staff/accounts/?library={network.b.id}").status_code == 403
    assert client.get(f"/staff/accounts/{network.target_b.id}").status_code == 403
    assert client.get(f"/staff/accounts/{network.target_b.id}/edit").status_code == 403
    assert client.get(f"/libraries/{network.b.id}/edit").status_code == 403
    page = client.get("/staff/accounts/").get_data(as_text=True)
    assert "target.a" in page and "target.b" not in page


# Documented exceptions: protocol endpoints that other systems' clients POST to with no session and
# no form token. They only read (catalog.sru_endpoint: SRU form and SOAP POST, tested in test_sru;
# catalog.oai_endpoint: OAI-PMH, whose harvesters may POST every verb, tested in test_oai).
CSRF_EXEMPT = {("catalog.sru_endpoint", "POST"), ("catalog.oai_endpoint", "POST")}


def test_every_post_route_refuses_a_missing_csrf_token(strict_app: Flask) -> None:
    """CSRF on every form: a POST without a token is refused with 400 and changes nothing."""
    with strict_app.app_context():
        net = build_network()
        net.circulation = add_circulation(net)
        urls = [route.url(net, "own") for key, route in ROUTES.items() if key[1] == "POST" and key not in CSRF_EXEMPT]
        before = db.session.scalar(select(db.func.count()).select_from(AuditEvent))
    client = strict_app.test_client()
    for url in urls:
        response = client.post(url, data={"active": "0"})
        assert response.status_code == 400, url
        assert "Formulir sudah kedaluwarsa" in response.get_data(as_text=True), url
    with strict_app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(AuditEvent)) == before


def test_login_rate_limit(strict_app: Flask) -> None:
    """Too many login attempts from one address get 429 in the user's language."""
    with strict_app.app_context():
        build_network()
    client = strict_app.test_client()
    statuses = []
    for _ in range(7):
        page = client.get("/login").get_data(as_text=True)
        token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        statuses.append(client.post("/login", data={"csrf_token": token, "username": "u.admin",
                                                    "password": "wrong password"}).status_code)
    assert statuses[:5] == [200] * 5 and statuses[5:] == [429, 429]


def test_login_logout_and_audit(client: FlaskClient, network: Network) -> None:
    """Login lands on the staff home; logout is a POST; both are in the audit log with the IP."""
    login(client, "u.librarian")
    assert "LIB-A" in client.get("/staff/").get_data(as_text=True)
    assert client.post("/logout").status_code == 302
    assert client.get("/staff/").status_code == 302
    actions = [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions[-2:] == ["login", "logout"]
    assert db.session.scalars(select(AuditEvent.ip).where(AuditEvent.action == "login")).first() == "127.0.0.1"


def test_wrong_password_message_is_indonesian(client: FlaskClient, network: Network) -> None:
    """Failed login re-shows the form with a generic message in Bahasa Indonesia."""
    page = client.post("/login", data={"username": "u.admin", "password": "nope nope nope"})
    assert page.status_code == 200
    assert "Nama pengguna atau kata sandi salah" in page.get_data(as_text=True)


def test_open_redirect_is_refused(client: FlaskClient, network: Network) -> None:
    """?next= only follows local paths."""
    response = client.post("/login?next=https://evil.example/x", data={"username": "u.admin", "password": PASSWORD})
    assert response.headers["Location"].endswith("/staff/")
    client.post("/logout")
    response = client.post("/login?next=/libraries/", data={"username": "u.admin", "password": PASSWORD})
    assert response.headers["Location"].endswith("/libraries/")


def test_security_headers_and_cookie_flags(client: FlaskClient, network: Network) -> None:
    """CSP without inline script, nosniff, frame denial; session cookie HttpOnly + SameSite."""
    response = client.post("/login", data={"username": "u.admin", "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = client.get("/staff/")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in page.headers["Content-Security-Policy"]
    assert page.headers["X-Content-Type-Options"] == "nosniff" and page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Cache-Control"] == "no-store"
    assert not re.search(r"<script(?![^>]*\bsrc=)", page.get_data(as_text=True)), "inline script found"


def test_absolute_session_timeout(app: Flask, client: FlaskClient, network: Network) -> None:
    """A login older than ILS_SESSION_ABSOLUTE_HOURS is ended whatever the activity."""
    login(client, "u.admin")
    with client.session_transaction() as sess:
        sess["login_at"] -= app.config["ILS_SESSION_ABSOLUTE_HOURS"] * 3600 + 1
    assert client.get("/staff/").status_code == 302


def test_idle_timeout(app: Flask, client: FlaskClient, network: Network) -> None:
    """A session unused for longer than PERMANENT_SESSION_LIFETIME is refused (signed expiry)."""
    import time
    from datetime import timedelta

    login(client, "u.admin")
    previous = app.permanent_session_lifetime
    app.permanent_session_lifetime = timedelta(seconds=1)
    try:
        time.sleep(2.1)  # the cookie's signature carries its time; no clock is mocked
        assert client.get("/staff/").status_code == 302
    finally:
        app.permanent_session_lifetime = previous


def test_password_change_ends_other_sessions(client: FlaskClient, app: Flask, network: Network) -> None:
    """Another desk's session of the same account stops working after a password change."""
    other = app.test_client()
    login(other, "u.cataloguer")
    login(client, "u.cataloguer")
    response = client.post("/account/password", data={"current_password": PASSWORD, "password": "brand new secret",
                                                      "confirm": "brand new secret"})
    assert response.status_code == 302
    assert client.get("/staff/").status_code == 200
    assert other.get("/staff/").status_code == 302


def test_error_pages_speak_indonesian_and_english(client: FlaskClient, network: Network) -> None:
    """404/403 pages in the user's language."""
    assert "tidak ditemukan" in client.get("/no/such/page").get_data(as_text=True)
    login(client, "u.circulation")
    assert client.get("/audit/").status_code == 403
    client.post("/language", data={"lang": "en"})
    page = client.get("/audit/")
    assert page.status_code == 403 and "permission" in page.get_data(as_text=True)
    assert db.session.get(StaffUser, network.users["circulation"].id).locale == "en"


def test_default_language_is_indonesian(client: FlaskClient, network: Network) -> None:
    """Bahasa Indonesia first for visitors; the OPAC lists the libraries."""
    page = client.get("/opac/").get_data(as_text=True)
    assert '<html lang="id">' in page and "Cari" in page and "Perpustakaan LIB-A" in page


def test_library_create_edit_deactivate_through_the_ui(client: FlaskClient, network: Network) -> None:
    """DPK creates a library, edits its hours, deactivates it; form errors are shown on fields."""
    login(client, "u.dpk")
    bad = client.post("/libraries/new", data={"code": "LIB-A", "name": "Dup", "type": "kelurahan", "parent_id": 0,
                                              "timezone": "Asia/Makassar", "hours_mon": "8-12"})
    text = bad.get_data(as_text=True)
    assert bad.status_code == 200 and "08:00-16:00" in text
    response = client.post("/libraries/new", data={
        "code": "KEL-TL", "name": "Perpustakaan Kelurahan Tanjung Laut", "type": "kelurahan", "parent_id": network.a.id,
        "timezone": "Asia/Makassar", "hours_mon": "08:00-12:00, 13.00-16.00", "opac_public": "y"})
    assert response.status_code == 302
    lib = db.session.scalar(select(Library).where(Library.code == "KEL-TL"))
    assert lib.opening_hours["mon"] == [["08:00", "12:00"], ["13:00", "16:00"]] and lib.opac_public
    duplicate = client.post(f"/libraries/{lib.id}/edit", data={
        "code": "LIB-A", "name": lib.name, "type": "kelurahan", "parent_id": 0, "timezone": "Asia/Makassar"})
    assert duplicate.status_code == 200 and "sudah" in duplicate.get_data(as_text=True)
    assert client.post(f"/libraries/{lib.id}/active", data={"active": "0"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Library, lib.id).active is False


def test_staff_create_through_the_ui(client: FlaskClient, network: Network) -> None:
    """A librarian creates a circulation account in their own library."""
    login(client, "u.librarian")
    response = client.post("/staff/accounts/new", data={
        "username": "desk.two", "full_name": "Desk Two", "role": "circulation", "locale": "id",
        "password": "a long enough secret"})
    assert response.status_code == 302
    user = db.session.scalar(select(StaffUser).where(StaffUser.username == "desk.two"))
    assert user.library_id == network.a.id
    taken = client.post("/staff/accounts/new", data={
        "username": "desk.two", "full_name": "Again", "role": "circulation", "locale": "id",
        "password": "a long enough secret"})
    assert taken.status_code == 200 and "sudah dipakai" in taken.get_data(as_text=True)


def test_csrf_also_guards_login_and_edit_forms(strict_app: Flask) -> None:
    """Form pages reached by GET refuse a POST without the token too (login included)."""
    with strict_app.app_context():
        net = build_network()
        net.circulation = add_circulation(net)
        urls = ["/login", "/libraries/new", f"/libraries/{net.a.id}/edit", "/staff/accounts/new",
                f"/staff/accounts/{net.target_a.id}/edit", "/account/password"]
    client = strict_app.test_client()
    for url in urls:
        assert client.post(url, data={"username": "u.admin", "password": PASSWORD}).status_code == 400, url


def test_saving_a_library_with_an_email_as_shown(client: FlaskClient, network: Network) -> None:
    """The edit form, submitted as displayed (e-mail included), saves."""
    lib = db.session.get(Library, network.a.id)
    lib.email, lib.timezone = "kecamatan@bontang.example.org", "UTC"
    db.session.commit()
    login(client, "u.librarian")
    page = client.get(f"/libraries/{network.a.id}/edit").get_data(as_text=True)
    assert 'value="kecamatan@bontang.example.org"' in page
    response = client.post(f"/libraries/{network.a.id}/edit", data={
        "name": "Perpustakaan LIB-A", "email": "kecamatan@bontang.example.org", "phone": "0548-1",
        "hours_mon": "08:00-12:00"})
    assert response.status_code == 302
    login_dpk = client.application.test_client()
    login(login_dpk, "u.dpk")
    form = login_dpk.get(f"/libraries/{network.a.id}/edit").get_data(as_text=True)
    assert '<option selected value="UTC">UTC</option>' in form  # a zone set elsewhere stays selectable


def test_logout_voids_a_copied_session_cookie(app: Flask, network: Network) -> None:
    """After logout, a copy of the session cookie taken before is worthless."""
    desk = app.test_client()
    login(desk, "u.admin")
    stolen = desk.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    assert desk.post("/logout").status_code == 302
    thief = app.test_client()
    thief.set_cookie(app.config["SESSION_COOKIE_NAME"], stolen)
    assert thief.get("/staff/").status_code == 302


def test_login_works_while_redis_is_down(session_dir: Path, app: Flask) -> None:
    """Rate-limit counts fall back to memory when Redis is unreachable; nobody is locked out."""
    down = make_app(session_dir, RATELIMIT_ENABLED=True, REDIS_URL="redis://127.0.0.1:1/0")
    try:
        with down.app_context():
            build_network()
        response = down.test_client().post("/login", data={"username": "u.admin", "password": PASSWORD})
        assert response.status_code == 302
    finally:
        dispose(down)


def test_form_errors_in_indonesian(client: FlaskClient, network: Network) -> None:
    """WTForms' own messages are translated too."""
    login(client, "u.librarian")
    page = client.post("/staff/accounts/new", data={"username": "ab", "full_name": "", "role": "x",
                                                    "locale": "id", "password": "short"}).get_data(as_text=True)
    assert "Kolom ini wajib diisi." in page and "Pilihan tidak valid." in page and "antara 3 dan 64" in page
    assert "This field is required" not in page


def test_dpk_cannot_manage_admin_accounts(client: FlaskClient, network: Network) -> None:
    """The DPK may not edit, reset or deactivate an administrator (it cannot grant that role)."""
    login(client, "u.dpk")
    admin_id = network.users["admin"].id
    assert client.get(f"/staff/accounts/{admin_id}").status_code == 200
    assert client.get(f"/staff/accounts/{admin_id}/edit").status_code == 403
    assert client.get(f"/staff/accounts/{admin_id}/password").status_code == 403
    assert "Nonaktifkan" not in client.get(f"/staff/accounts/{admin_id}").get_data(as_text=True)


def test_out_of_range_numbers_are_not_errors(client: FlaskClient, network: Network) -> None:
    """Huge page numbers and ids give a page or a 404, never a 500."""
    login(client, "u.admin")
    assert client.get("/jobs/?page=99999999999999999999").status_code == 200
    assert client.get("/audit/?page=abc").status_code == 200
    assert client.get("/libraries/99999999999").status_code == 404
    assert client.get("/staff/accounts/?library=99999999999999").status_code == 404


def test_audit_paging_keeps_the_filter(client: FlaskClient, network: Network) -> None:
    """Next-page links keep ?action=."""
    for _ in range(60):
        client.post("/login", data={"username": "nobody", "password": "wrong password!"})
    login(client, "u.admin")
    page = client.get("/audit/?action=login").get_data(as_text=True)
    assert "action=login" in page and "page=2" in page
