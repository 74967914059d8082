"""Circulation settings, closures and their effect on the calendar, SIP2 kiosk accounts, and their screens.

Dates (the holidays package's 2026 calendar): 2026-03-23 is a Monday of cuti bersama (Idul Fitri),
2026-08-17 a Monday national holiday (Hari Kemerdekaan), 2026-10-12 an ordinary Monday (HUT Kota
Bontang). The test libraries open on Mondays only, so every date below is a normal opening day.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, timezone

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale
from sqlalchemy import select

from circulation.models import CirculationSettings, LibraryClosure, SipAccount
from circulation.services import settings
from circulation.services.common import calendar_for, settings_for
from circulation.services.settings import SettingsInput
from ils.authz import Actor
from ils.errors import Conflict, Forbidden, NotFound, ValidationFailed
from ils.extensions import db
from ils.models import AuditEvent
from ils.passwords import verify_password
from ils.services.staff import actor_for
from tests.factories import Network, login


@pytest.fixture(autouse=True)
def _english(ctx: Flask) -> Iterator[None]:
    """Service messages in English (outside a request the default locale, Indonesian, would apply)."""
    with force_locale("en"):
        yield


NOW = datetime(2026, 2, 2, 3, 0, tzinfo=timezone.utc)
CUTI = date(2026, 3, 23)
MERDEKA = date(2026, 8, 17)
HUT_BONTANG = date(2026, 10, 12)
KIOSK_PASSWORD = "kiosk sandi panjang 2026"


def _actor(network: Network, role: str) -> Actor:
    return actor_for(network.users[role])


def _audit(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def _open(library_id: int, day: date) -> bool:
    """What circulation itself will decide (due dates, fines): the calendar of common.calendar_for."""
    db.session.expire_all()
    return calendar_for(library_id, day).is_open(day)


def _login(client: FlaskClient, username: str) -> None:
    """Log ``username`` in (whoever was logged in before is logged out) with English pages.

    English, so the assertions on messages keep holding once the lead translates them.
    """
    client.post("/logout")
    login(client, username)
    assert client.post("/language", data={"lang": "en"}).status_code == 302


# --- settings ---------------------------------------------------------------------------------------------

def test_settings_row_is_created_on_first_save_and_audited(network: Network) -> None:
    """Defaults until the first save; each save audits only what changed."""
    librarian = _actor(network, "librarian")
    assert db.session.get(CirculationSettings, network.a.id) is None
    assert settings.get_settings(actor=librarian, library_id=network.a.id).fee_block_threshold == 10000
    settings.update_settings(actor=librarian, library_id=network.a.id,
                             data=SettingsInput(fee_block_threshold=25000, floating=True), now=NOW)
    db.session.commit()
    row = db.session.get(CirculationSettings, network.a.id)
    assert row is not None and row.fee_block_threshold == 25000 and row.floating
    settings.update_settings(actor=librarian, library_id=network.a.id,
                             data=SettingsInput(fee_block_threshold=25000, floating=True, due_soon_days=3), now=NOW)
    settings.update_settings(actor=librarian, library_id=network.a.id,
                             data=SettingsInput(fee_block_threshold=25000, floating=True, due_soon_days=3), now=NOW)
    db.session.commit()
    first, second = _audit("circulation.settings")  # the identical third save is not audited
    assert first.details == {"changes": {"fee_block_threshold": [10000, 25000], "floating": [False, True]}}
    assert second.details == {"changes": {"due_soon_days": [2, 3]}}
    assert first.library_id == network.a.id and first.actor_label == "u.librarian" and first.at == NOW
    assert settings_for(network.b.id).fee_block_threshold == 10000  # B keeps its defaults


@pytest.mark.parametrize("changes, field", [({"fee_block_threshold": -1}, "fee_block_threshold"),
                                            ({"due_soon_days": 15}, "due_soon_days"),
                                            ({"due_soon_days": -1}, "due_soon_days")])
def test_invalid_settings_are_refused(network: Network, changes: dict, field: str) -> None:
    """Out-of-range numbers name their field; nothing is saved."""
    with pytest.raises(ValidationFailed) as info:
        settings.update_settings(actor=_actor(network, "dpk"), library_id=network.a.id,
                                 data=replace(SettingsInput(), **changes), now=NOW)
    db.session.rollback()
    assert info.value.field == field
    assert db.session.get(CirculationSettings, network.a.id) is None


def test_settings_are_scoped(network: Network) -> None:
    """A librarian changes only their own library; desk staff none; the network roles any."""
    with pytest.raises(Forbidden):
        settings.update_settings(actor=_actor(network, "librarian"), library_id=network.b.id, data=SettingsInput(),
                                 now=NOW)
    with pytest.raises(Forbidden):
        settings.get_settings(actor=_actor(network, "circulation"), library_id=network.a.id)
    with pytest.raises(NotFound):
        settings.update_settings(actor=_actor(network, "admin"), library_id=99999, data=SettingsInput(), now=NOW)
    settings.update_settings(actor=_actor(network, "dpk"), library_id=network.b.id,
                             data=SettingsInput(self_registration=False), now=NOW)
    assert settings_for(network.b.id).self_registration is False


def test_holiday_settings_change_the_calendar(network: Network) -> None:
    """Ignoring cuti bersama opens CUTI; ignoring national holidays opens MERDEKA as well."""
    dpk = _actor(network, "dpk")
    assert not _open(network.a.id, CUTI) and not _open(network.a.id, MERDEKA)
    settings.update_settings(actor=dpk, library_id=network.a.id, data=SettingsInput(cuti_bersama=False), now=NOW)
    assert _open(network.a.id, CUTI) and not _open(network.a.id, MERDEKA)
    settings.update_settings(actor=dpk, library_id=network.a.id, data=SettingsInput(national_holidays=False), now=NOW)
    assert _open(network.a.id, CUTI) and _open(network.a.id, MERDEKA)
    assert not _open(network.b.id, CUTI)


# --- closures and the calendar ------------------------------------------------------------------------------

def test_a_local_closure_closes_that_library_only(network: Network) -> None:
    """After adding HUT Kota Bontang for A, calendar_for(A).is_open is False there; B stays open."""
    assert _open(network.a.id, HUT_BONTANG)
    row = settings.add_closure(actor=_actor(network, "librarian"), library_id=network.a.id, on_date=HUT_BONTANG,
                               closed=True, reason=" HUT Kota Bontang ", now=NOW)
    db.session.commit()
    assert row.reason == "HUT Kota Bontang" and row.library_key == network.a.id
    assert not _open(network.a.id, HUT_BONTANG) and _open(network.b.id, HUT_BONTANG)
    event, = _audit("closure.add")
    assert event.library_id == network.a.id and event.details["changes"]["on_date"] == [None, "2026-10-12"]
    settings.remove_closure(actor=_actor(network, "librarian"), closure_id=row.id, now=NOW)
    db.session.commit()
    assert _open(network.a.id, HUT_BONTANG)
    assert _audit("closure.remove")[0].object_id == str(row.id)


def test_open_despite_cuti_bersama(network: Network) -> None:
    """An "open" row on a cuti bersama day opens that library; the national calendar stays for the others."""
    assert not _open(network.a.id, CUTI)
    settings.add_closure(actor=_actor(network, "librarian"), library_id=network.a.id, on_date=CUTI, closed=False,
                         reason="Layanan tetap buka", now=NOW)
    db.session.commit()
    assert _open(network.a.id, CUTI) and not _open(network.b.id, CUTI)


def test_city_wide_rows_and_a_library_exception(network: Network) -> None:
    """The DPK closes every library; A's librarian keeps A open that day; only the network roles touch city rows."""
    dpk, librarian = _actor(network, "dpk"), _actor(network, "librarian")
    with pytest.raises(Forbidden):
        settings.add_closure(actor=librarian, library_id=None, on_date=HUT_BONTANG, closed=True, reason="HUT",
                             now=NOW)
    city = settings.add_closure(actor=dpk, library_id=None, on_date=HUT_BONTANG, closed=True,
                                reason="HUT Kota Bontang", now=NOW)
    db.session.commit()
    assert not _open(network.a.id, HUT_BONTANG) and not _open(network.b.id, HUT_BONTANG)
    own = settings.add_closure(actor=librarian, library_id=network.a.id, on_date=HUT_BONTANG, closed=False,
                               reason="Pameran buku di perpustakaan", now=NOW)
    db.session.commit()
    assert _open(network.a.id, HUT_BONTANG) and not _open(network.b.id, HUT_BONTANG)
    with pytest.raises(Forbidden):
        settings.remove_closure(actor=librarian, closure_id=city.id, now=NOW)
    assert [r.id for r in settings.list_closures(actor=librarian, library_id=network.a.id, year=2026)] == [
        city.id, own.id]
    assert [r.id for r in settings.list_closures(actor=dpk, library_id=network.b.id, year=2026)] == [city.id]
    assert settings.list_closures(actor=dpk, library_id=network.b.id, year=2025) == []
    settings.remove_closure(actor=dpk, closure_id=city.id, now=NOW)
    db.session.commit()
    assert _open(network.b.id, HUT_BONTANG)


def test_closure_scoping(network: Network) -> None:
    """A librarian adds and removes rows of their own library only."""
    librarian = _actor(network, "librarian")
    row_b = settings.add_closure(actor=_actor(network, "admin"), library_id=network.b.id, on_date=HUT_BONTANG,
                                 closed=True, reason="Renovasi", now=NOW)
    for attempt in (
        lambda: settings.add_closure(actor=librarian, library_id=network.b.id, on_date=HUT_BONTANG, closed=True,
                                     reason="x", now=NOW),
        lambda: settings.remove_closure(actor=librarian, closure_id=row_b.id, now=NOW),
        lambda: settings.list_closures(actor=librarian, library_id=network.b.id, year=2026),
        lambda: settings.year_calendar(actor=librarian, library_id=network.b.id, year=2026),
        lambda: settings.add_closure(actor=_actor(network, "circulation"), library_id=network.a.id,
                                     on_date=HUT_BONTANG, closed=True, reason="x", now=NOW),
    ):
        with pytest.raises(Forbidden):
            attempt()
    with pytest.raises(NotFound):
        settings.remove_closure(actor=librarian, closure_id=99999, now=NOW)


@pytest.mark.parametrize("day, closed, reason, error, field", [
    (HUT_BONTANG, False, "Buka", ValidationFailed, "on_date"),  # an ordinary day is open anyway
    (HUT_BONTANG, True, "   ", ValidationFailed, "reason"),
    (HUT_BONTANG, True, "x" * 201, ValidationFailed, "reason"),
    (date(1999, 12, 31), True, "Y2K", ValidationFailed, "year"),
    (MERDEKA, True, "Sudah ditutup", Conflict, "on_date"),  # the fixture's row for that day
])
def test_invalid_closures_are_refused(network: Network, day: date, closed: bool, reason: str, error: type,
                                      field: str) -> None:
    """Rows that change nothing, have no reason or repeat a day are refused naming the field."""
    librarian = _actor(network, "librarian")
    settings.add_closure(actor=librarian, library_id=network.a.id, on_date=MERDEKA, closed=False,
                         reason="Upacara dan layanan", now=NOW)
    with pytest.raises(error) as info:
        settings.add_closure(actor=librarian, library_id=network.a.id, on_date=day, closed=closed, reason=reason,
                             now=NOW)
    assert info.value.field == field


def test_year_calendar_lists_holidays_cuti_and_local_rows(network: Network) -> None:
    """The page's view of 2026: kinds, names, the deciding row, and the effective answer."""
    librarian, dpk = _actor(network, "librarian"), _actor(network, "dpk")
    settings.add_closure(actor=dpk, library_id=None, on_date=HUT_BONTANG, closed=True, reason="HUT Kota Bontang",
                         now=NOW)
    settings.add_closure(actor=librarian, library_id=network.a.id, on_date=HUT_BONTANG, closed=False,
                         reason="Pameran", now=NOW)
    settings.add_closure(actor=librarian, library_id=network.a.id, on_date=CUTI, closed=False, reason="Buka",
                         now=NOW)
    db.session.commit()
    year = settings.year_calendar(actor=librarian, library_id=network.a.id, year=2026)
    days = {entry.day: entry for entry in year.entries}
    assert days[MERDEKA].kind == "national" and days[MERDEKA].holiday == "Hari Kemerdekaan Republik Indonesia"
    assert days[MERDEKA].closed and days[MERDEKA].row is None
    assert days[CUTI].kind == "cuti_bersama" and not days[CUTI].closed and days[CUTI].row.reason == "Buka"
    hut = days[HUT_BONTANG]
    assert hut.kind == "local" and not hut.closed and hut.row.reason == "Pameran"
    assert hut.shadowed_row.reason == "HUT Kota Bontang"
    assert [e.day for e in year.entries] == sorted(days) and all(e.day.year == 2026 for e in year.entries)
    assert year.closed_count == len(year.entries) - 2
    on_b = {e.day: e for e in settings.year_calendar(actor=dpk, library_id=network.b.id, year=2026).entries}
    assert on_b[HUT_BONTANG].closed and on_b[HUT_BONTANG].shadowed_row is None and on_b[CUTI].closed
    settings.update_settings(actor=librarian, library_id=network.a.id, data=SettingsInput(national_holidays=False),
                             now=NOW)
    ignored = {e.day: e for e in settings.year_calendar(actor=librarian, library_id=network.a.id, year=2026).entries}
    assert not ignored[MERDEKA].observed and not ignored[MERDEKA].closed
    with pytest.raises(ValidationFailed):
        settings.year_calendar(actor=librarian, library_id=network.a.id, year=1900)


# --- SIP2 kiosk accounts ------------------------------------------------------------------------------------

def test_create_a_kiosk_account(network: Network) -> None:
    """The password is stored as an argon2 hash only, and never reaches the audit trail."""
    account = settings.create_sip_account(actor=_actor(network, "librarian"), library_id=network.a.id,
                                          login=" kiosk-a1 ", password=KIOSK_PASSWORD, label="Lobi",
                                          require_pin=False, now=NOW)
    db.session.commit()
    assert account.login == "kiosk-a1" and account.active and not account.require_pin
    assert account.password_hash != KIOSK_PASSWORD and verify_password(account.password_hash, KIOSK_PASSWORD)
    event, = _audit("sip.create")
    assert event.library_id == network.a.id and KIOSK_PASSWORD not in str(event.details)
    assert "password_hash" not in event.details["changes"]


@pytest.mark.parametrize("login, password, error, field", [
    ("kiosk-a1", KIOSK_PASSWORD, Conflict, "login"),
    ("k", KIOSK_PASSWORD, ValidationFailed, "login"),
    ("kiosk a2", KIOSK_PASSWORD, ValidationFailed, "login"),
    ("kiosk-a2", "pendek", ValidationFailed, "password"),
    ("kiosk-a2", "perpustakaan", ValidationFailed, "password"),
    ("bontang-kiosk", "bontang-kiosk-1", ValidationFailed, "password"),
])
def test_invalid_kiosk_accounts_are_refused(network: Network, login: str, password: str, error: type,
                                            field: str) -> None:
    """Logins are unique slugs; passwords follow the staff password policy."""
    librarian = _actor(network, "librarian")
    settings.create_sip_account(actor=librarian, library_id=network.a.id, login="kiosk-a1", password=KIOSK_PASSWORD,
                                now=NOW)
    with pytest.raises(error) as info:
        settings.create_sip_account(actor=librarian, library_id=network.a.id, login=login, password=password, now=NOW)
    assert info.value.field == field


def test_kiosk_accounts_are_scoped(network: Network) -> None:
    """A librarian lists and changes their own library's kiosks only; desk staff none."""
    admin, librarian = _actor(network, "admin"), _actor(network, "librarian")
    own = settings.create_sip_account(actor=admin, library_id=network.a.id, login="kiosk-a", password=KIOSK_PASSWORD,
                                      now=NOW)
    other = settings.create_sip_account(actor=admin, library_id=network.b.id, login="kiosk-b",
                                        password=KIOSK_PASSWORD, now=NOW)
    assert [a.login for a in settings.list_sip_accounts(actor=librarian)] == ["kiosk-a"]
    assert [a.login for a in settings.list_sip_accounts(actor=admin)] == ["kiosk-a", "kiosk-b"]
    assert [a.login for a in settings.list_sip_accounts(actor=admin, library_id=network.b.id)] == ["kiosk-b"]
    for attempt in (
        lambda: settings.create_sip_account(actor=librarian, library_id=network.b.id, login="kiosk-x",
                                            password=KIOSK_PASSWORD, now=NOW),
        lambda: settings.reset_sip_password(actor=librarian, account_id=other.id, password=KIOSK_PASSWORD + "!",
                                            now=NOW),
        lambda: settings.deactivate_sip_account(actor=librarian, account_id=other.id, now=NOW),
        lambda: settings.list_sip_accounts(actor=librarian, library_id=network.b.id),
        lambda: settings.list_sip_accounts(actor=_actor(network, "circulation")),
    ):
        with pytest.raises(Forbidden):
            attempt()
    assert own.active and other.active


def test_reset_and_deactivate_a_kiosk_account(network: Network) -> None:
    """A new password replaces the old one; deactivating is audited once."""
    librarian = _actor(network, "librarian")
    account = settings.create_sip_account(actor=librarian, library_id=network.a.id, login="kiosk-a",
                                          password=KIOSK_PASSWORD, now=NOW)
    settings.reset_sip_password(actor=librarian, account_id=account.id, password="sandi kiosk yang baru", now=NOW)
    assert verify_password(account.password_hash, "sandi kiosk yang baru")
    assert not verify_password(account.password_hash, KIOSK_PASSWORD)
    with pytest.raises(ValidationFailed):
        settings.reset_sip_password(actor=librarian, account_id=account.id, password="pendek", now=NOW)
    settings.deactivate_sip_account(actor=librarian, account_id=account.id, now=NOW)
    settings.deactivate_sip_account(actor=librarian, account_id=account.id, now=NOW)
    db.session.commit()
    assert db.session.get(SipAccount, account.id).active is False
    assert len(_audit("sip.password")) == 1 and len(_audit("sip.deactivate")) == 1
    assert "sandi" not in str(_audit("sip.password")[0].details)


# --- screens: one client test per route -------------------------------------------------------------------

SETTINGS_FORM = {"fines_skip_closed": "y", "national_holidays": "y", "cuti_bersama": "y", "pickup_point": "y",
                 "fee_block_threshold": "20000", "block_on_overdue": "y", "self_registration": "y",
                 "due_soon_days": "2"}


def test_settings_screen(client: FlaskClient, network: Network) -> None:
    """GET and POST /circulation/settings: my library; admin and DPK choose with ?library=."""
    _login(client, "u.librarian")
    assert "Circulation settings" in client.get("/circulation/settings").get_data(as_text=True)
    assert client.post("/circulation/settings", data=SETTINGS_FORM).status_code == 302
    assert client.get(f"/circulation/settings?library={network.b.id}").status_code == 403
    assert client.post(f"/circulation/settings?library={network.b.id}", data=SETTINGS_FORM).status_code == 403
    bad = client.post("/circulation/settings", data={**SETTINGS_FORM, "due_soon_days": "30"})
    assert bad.status_code == 200 and "0 to 14 days" in bad.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(CirculationSettings, network.a.id).fee_block_threshold == 20000
    _login(client, "u.dpk")
    chooser = client.get("/circulation/settings").get_data(as_text=True)
    assert f"/circulation/settings?library={network.b.id}" in chooser
    assert client.post(f"/circulation/settings?library={network.b.id}",
                       data={**SETTINGS_FORM, "floating": "y"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(CirculationSettings, network.b.id).floating is True


def test_calendar_screen(client: FlaskClient, network: Network) -> None:
    """GET /circulation/calendar?year=2026: holidays, cuti bersama and local rows with their status."""
    settings.add_closure(actor=_actor(network, "librarian"), library_id=network.a.id, on_date=HUT_BONTANG,
                         closed=True, reason="HUT Kota Bontang", now=NOW)
    db.session.commit()
    _login(client, "u.librarian")
    page = client.get("/circulation/calendar?year=2026").get_data(as_text=True)
    assert "Hari Kemerdekaan Republik Indonesia" in page and "Cuti Bersama Hari Raya Idul Fitri" in page
    assert "HUT Kota Bontang" in page and 'datetime="2026-10-12"' in page
    assert client.get(f"/circulation/calendar?year=2026&library={network.b.id}").status_code == 403
    assert client.get("/circulation/calendar").status_code == 200
    _login(client, "u.dpk")
    assert "Hari Kemerdekaan" in client.get(f"/circulation/calendar?year=2026&library={network.b.id}").get_data(
        as_text=True)


def test_add_closure_screen(client: FlaskClient, network: Network) -> None:
    """POST /circulation/calendar/closures: a librarian's row is for their library; DPK may tick city-wide."""
    _login(client, "u.librarian")
    form = {"on_date": "2026-10-12", "status": "closed", "reason": "HUT Kota Bontang", "city_wide": "y"}
    assert client.post("/circulation/calendar/closures", data=form).status_code == 302
    assert not _open(network.a.id, HUT_BONTANG) and _open(network.b.id, HUT_BONTANG)
    assert client.post(f"/circulation/calendar/closures?library={network.b.id}", data=form).status_code == 403
    again = client.post("/circulation/calendar/closures", data=form)
    assert again.status_code == 200 and "Remove it first" in again.get_data(as_text=True)
    opened = client.post("/circulation/calendar/closures",
                         data={"on_date": "2026-03-23", "status": "open", "reason": "Tetap buka"})
    assert opened.status_code == 302 and _open(network.a.id, CUTI)
    _login(client, "u.dpk")
    city = {"on_date": "2026-06-01", "status": "closed", "reason": "Hari Lahir Pancasila", "city_wide": "y"}
    assert client.post(f"/circulation/calendar/closures?library={network.b.id}", data=city).status_code == 302
    assert db.session.scalar(select(LibraryClosure).where(LibraryClosure.on_date == date(2026, 6, 1))).library_id \
        is None


def test_remove_closure_screen(client: FlaskClient, network: Network) -> None:
    """POST /circulation/calendar/closures/<id>/delete: own rows only for a librarian."""
    dpk = _actor(network, "dpk")
    own = settings.add_closure(actor=dpk, library_id=network.a.id, on_date=HUT_BONTANG, closed=True, reason="A",
                               now=NOW)
    other = settings.add_closure(actor=dpk, library_id=network.b.id, on_date=HUT_BONTANG, closed=True, reason="B",
                                 now=NOW)
    city = settings.add_closure(actor=dpk, library_id=None, on_date=date(2026, 11, 9), closed=True, reason="Kota",
                                now=NOW)
    db.session.commit()
    _login(client, "u.librarian")
    assert client.post(f"/circulation/calendar/closures/{other.id}/delete").status_code == 403
    assert client.post(f"/circulation/calendar/closures/{city.id}/delete").status_code == 403
    response = client.post(f"/circulation/calendar/closures/{own.id}/delete?library={network.a.id}")
    assert response.status_code == 302 and "year=2026" in response.headers["Location"]
    assert _open(network.a.id, HUT_BONTANG) and not _open(network.b.id, HUT_BONTANG)


def test_sip_accounts_screen(client: FlaskClient, network: Network) -> None:
    """GET /circulation/sip-accounts: my library's kiosks, never a password or hash."""
    settings.create_sip_account(actor=_actor(network, "admin"), library_id=network.a.id, login="kiosk-a",
                                password=KIOSK_PASSWORD, label="Lobi A", now=NOW)
    settings.create_sip_account(actor=_actor(network, "admin"), library_id=network.b.id, login="kiosk-b",
                                password=KIOSK_PASSWORD, now=NOW)
    db.session.commit()
    _login(client, "u.librarian")
    page = client.get("/circulation/sip-accounts").get_data(as_text=True)
    assert "kiosk-a" in page and "Lobi A" in page and "kiosk-b" not in page and "argon2" not in page
    assert client.get(f"/circulation/sip-accounts?library={network.b.id}").status_code == 403
    _login(client, "u.circulation")
    assert client.get("/circulation/sip-accounts").status_code == 403


def test_new_sip_account_screen(client: FlaskClient, network: Network) -> None:
    """POST /circulation/sip-accounts/new: a librarian's kiosk belongs to their library; errors on the form."""
    _login(client, "u.librarian")
    form = {"login": "kiosk-a", "password": KIOSK_PASSWORD, "label": "Lobi", "require_pin": "y",
            "library_id": str(network.b.id)}
    assert client.post("/circulation/sip-accounts/new", data=form).status_code == 302
    account = db.session.scalar(select(SipAccount).where(SipAccount.login == "kiosk-a"))
    assert account.library_id == network.a.id and account.require_pin
    again = client.post("/circulation/sip-accounts/new", data=form)
    assert again.status_code == 200 and "already used" in again.get_data(as_text=True)
    _login(client, "u.dpk")
    assert client.post("/circulation/sip-accounts/new", data={**form, "login": "kiosk-b"}).status_code == 302
    assert db.session.scalar(select(SipAccount).where(SipAccount.login == "kiosk-b")).library_id == network.b.id


def test_sip_password_screen(client: FlaskClient, network: Network) -> None:
    """POST /circulation/sip-accounts/<id>/password."""
    admin = _actor(network, "admin")
    own = settings.create_sip_account(actor=admin, library_id=network.a.id, login="kiosk-a", password=KIOSK_PASSWORD,
                                      now=NOW)
    other = settings.create_sip_account(actor=admin, library_id=network.b.id, login="kiosk-b",
                                        password=KIOSK_PASSWORD, now=NOW)
    db.session.commit()
    _login(client, "u.librarian")
    assert client.post(f"/circulation/sip-accounts/{other.id}/password",
                       data={"password": "sandi kiosk yang baru"}).status_code == 403
    assert client.post(f"/circulation/sip-accounts/{own.id}/password",
                       data={"password": "sandi kiosk yang baru"}).status_code == 302
    short = client.post(f"/circulation/sip-accounts/{own.id}/password", data={"password": "pendek"},
                        follow_redirects=True)
    assert "between 10 and 128 characters" in short.get_data(as_text=True)
    db.session.expire_all()
    assert verify_password(db.session.get(SipAccount, own.id).password_hash, "sandi kiosk yang baru")
    assert client.post("/circulation/sip-accounts/99999/password", data={"password": "x" * 12}).status_code == 404


def test_deactivate_sip_account_screen(client: FlaskClient, network: Network) -> None:
    """POST /circulation/sip-accounts/<id>/deactivate."""
    admin = _actor(network, "admin")
    own = settings.create_sip_account(actor=admin, library_id=network.a.id, login="kiosk-a", password=KIOSK_PASSWORD,
                                      now=NOW)
    other = settings.create_sip_account(actor=admin, library_id=network.b.id, login="kiosk-b",
                                        password=KIOSK_PASSWORD, now=NOW)
    db.session.commit()
    _login(client, "u.librarian")
    assert client.post(f"/circulation/sip-accounts/{other.id}/deactivate").status_code == 403
    assert client.post(f"/circulation/sip-accounts/{own.id}/deactivate").status_code == 302
    db.session.expire_all()
    assert db.session.get(SipAccount, own.id).active is False and db.session.get(SipAccount, other.id).active
