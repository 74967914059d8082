"""Visitor log and in-library use: the kiosk (members, guests, double scans), counts per day,
the circulation metrics, and who may use the screens."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from circulation.models import InHouseUse, Patron, Visit, VisitSeen
from circulation.services import desk, patrons as patron_services, visits
from ils import metrics
from ils.authz import Actor
from ils.errors import Forbidden, ValidationFailed
from ils.extensions import db
from ils.models import Role
from ils.services.libraries import library_today
from tests.conftest import dispose, make_app
from tests.factories import PASSWORD, Network, build_network, login, make_patron

# Monday 16 March 2026, 09:00 WITA.
MONDAY = datetime(2026, 3, 16, 1, 0, tzinfo=timezone.utc)


@pytest.fixture
def people(network: Network) -> dict[str, Any]:
    """A pupil member at A (female) and a general member at B, and desk actors at A and B."""
    rina = make_patron("Rina Wati", network.a, category="pelajar_smp", gender="P", now=MONDAY)
    joko = make_patron("Joko Susilo", network.b, category="umum", gender="L", now=MONDAY)
    db.session.commit()
    return {"rina": rina.card_number, "joko": joko.card_number,
            "desk_a": Actor(label="desk.a", role=Role.CIRCULATION, library_id=network.a.id),
            "desk_b": Actor(label="desk.b", role=Role.CIRCULATION, library_id=network.b.id)}


def all_visits() -> list[Visit]:
    """Every visit row, oldest first."""
    return list(db.session.scalars(select(Visit).order_by(Visit.id).execution_options(populate_existing=True)))


# --- the service ------------------------------------------------------------------------------------------

def test_member_visit_keeps_the_category_and_nothing_that_names_the_member(network: Network,
                                                                          people: dict[str, Any]) -> None:
    """A card scan stores category and gender only; no column holds the card, the name or the patron."""
    result = visits.record_visit(actor=people["desk_a"], library_id=network.a.id, now=MONDAY,
                                 card_number=people["rina"], purpose="")
    db.session.commit()
    assert result.counted and result.member and result.category == "pelajar_smp"
    [visit] = all_visits()
    stored = {column.name: getattr(visit, column.name) for column in Visit.__table__.columns}
    assert {k: v for k, v in stored.items() if k not in ("id", "at")} == {
        "library_id": network.a.id, "local_date": date(2026, 3, 16), "member": True, "category": "pelajar_smp",
        "purpose": "", "gender": "P", "group_size": 1}
    assert people["rina"] not in {str(value) for value in stored.values()}


def test_a_card_scanned_again_within_ten_minutes_counts_once(network: Network, people: dict[str, Any]) -> None:
    """Same card, same library: 9 minutes later is the same visit; 11 minutes after the counted scan is a new one."""
    def scan(at: datetime, library_id: int | None = None, actor: str = "desk_a") -> bool:
        return visits.record_visit(actor=people[actor], library_id=library_id or network.a.id, now=at,
                                   card_number=people["rina"], purpose="").counted

    assert scan(MONDAY)
    assert not scan(MONDAY + timedelta(minutes=1))
    assert not scan(MONDAY + timedelta(minutes=9))
    assert scan(MONDAY + timedelta(minutes=3), library_id=network.b.id, actor="desk_b")  # another library
    assert scan(MONDAY + timedelta(minutes=11))
    db.session.commit()
    assert [(v.library_id, v.at) for v in all_visits()] == [
        (network.a.id, MONDAY), (network.b.id, MONDAY + timedelta(minutes=3)),
        (network.a.id, MONDAY + timedelta(minutes=11))]


def test_the_double_scan_memory_holds_no_card_numbers(network: Network, people: dict[str, Any]) -> None:
    """Only keyed hashes are remembered, and only for the window."""
    visits.record_visit(actor=people["desk_a"], library_id=network.a.id, now=MONDAY, card_number=people["rina"],
                        purpose="")
    remembered = list(db.session.scalars(select(VisitSeen)))
    assert len(remembered) == 1
    key = remembered[0].key_hash
    assert people["rina"] not in key and len(key) == 64
    visits.record_visit(actor=people["desk_a"], library_id=network.a.id, now=MONDAY + timedelta(minutes=30),
                        guest_category="umum", purpose="membaca")
    visits.record_visit(actor=people["desk_a"], library_id=network.a.id, now=MONDAY + timedelta(minutes=30),
                        card_number=people["joko"], purpose="")
    assert db.session.get(VisitSeen, key) is None  # the expired scan was dropped


def test_guest_visit_with_a_group(network: Network, people: dict[str, Any]) -> None:
    """A class visiting: one row, 30 people, category and purpose from the lists."""
    visits.record_visit(actor=people["desk_a"], library_id=network.a.id, now=MONDAY, guest_category="pelajar",
                        purpose="kegiatan", gender="", group_size=30)
    db.session.commit()
    [visit] = all_visits()
    assert (visit.member, visit.category, visit.purpose, visit.group_size) == (False, "pelajar", "kegiatan", 30)


@pytest.mark.parametrize("kwargs, field", [
    ({"card_number": "9999999999"}, "card_number"),
    ({}, "card_number"),
    ({"guest_category": "alien", "purpose": "membaca"}, "category"),
    ({"guest_category": "umum", "purpose": ""}, "purpose"),
    ({"guest_category": "umum", "purpose": "tidur"}, "purpose"),
    ({"guest_category": "umum", "purpose": "membaca", "group_size": 0}, "group_size"),
    ({"guest_category": "umum", "purpose": "membaca", "gender": "X"}, "gender"),
])
def test_invalid_visits_are_refused_with_the_field(network: Network, people: dict[str, Any], kwargs: dict[str, Any],
                                                   field: str) -> None:
    """Unknown cards and values outside the lists are refused on their field; nothing is stored."""
    kwargs.setdefault("purpose", "")
    with pytest.raises(ValidationFailed) as refused:
        visits.record_visit(actor=people["desk_a"], library_id=network.a.id, now=MONDAY, **kwargs)
    assert refused.value.field == field
    assert all_visits() == []


def test_staff_record_only_at_their_own_library(network: Network, people: dict[str, Any]) -> None:
    """A desk at A cannot add visitors or in-library use to B's figures."""
    with pytest.raises(Forbidden):
        visits.record_visit(actor=people["desk_a"], library_id=network.b.id, now=MONDAY, guest_category="umum",
                            purpose="membaca")
    with pytest.raises(Forbidden):
        visits.record_in_house_use(actor=people["desk_a"], library_id=network.b.id, barcode="B0001", now=MONDAY)


def test_daily_counts_per_day_with_zero_days(network: Network, people: dict[str, Any]) -> None:
    """Members and guests (group sizes counted) and in-library uses per local date, every day listed."""
    a = network.a.id
    desk_a = people["desk_a"]
    visits.record_visit(actor=desk_a, library_id=a, now=MONDAY, card_number=people["rina"], purpose="")
    visits.record_visit(actor=desk_a, library_id=a, now=MONDAY, card_number=people["joko"], purpose="")
    visits.record_visit(actor=desk_a, library_id=a, now=MONDAY, guest_category="umum", purpose="membaca")
    visits.record_visit(actor=desk_a, library_id=a, now=MONDAY + timedelta(days=2), guest_category="anak",
                        purpose="kegiatan", group_size=12)
    # 23:30 WITA on Monday is still Monday in Bontang although it is 15:30 UTC.
    visits.record_in_house_use(actor=desk_a, library_id=a, barcode="A0001", now=datetime(2026, 3, 16, 15, 30,
                                                                                        tzinfo=timezone.utc), count=4)
    visits.record_in_house_use(actor=desk_a, library_id=a, barcode="B0001", now=MONDAY + timedelta(days=2))
    visits.record_visit(actor=people["desk_b"], library_id=network.b.id, now=MONDAY, guest_category="umum",
                        purpose="membaca")
    db.session.commit()
    rows = visits.daily_counts(a, date(2026, 3, 15), date(2026, 3, 19))
    assert [(r.day.day, r.members, r.guests, r.in_house, r.visitors) for r in rows] == [
        (15, 0, 0, 0, 0), (16, 2, 1, 4, 3), (17, 0, 0, 0, 0), (18, 0, 12, 1, 12), (19, 0, 0, 0, 0)]


def test_in_house_use_needs_a_known_barcode_and_a_sane_count(network: Network, people: dict[str, Any]) -> None:
    """Unknown barcodes and silly counts are refused on their field."""
    with pytest.raises(ValidationFailed) as unknown:
        visits.record_in_house_use(actor=people["desk_a"], library_id=network.a.id, barcode="NOPE", now=MONDAY)
    assert unknown.value.field == "barcode"
    with pytest.raises(ValidationFailed) as silly:
        visits.record_in_house_use(actor=people["desk_a"], library_id=network.a.id, barcode="A0001", now=MONDAY,
                                   count=0)
    assert silly.value.field == "count"


# --- metrics -----------------------------------------------------------------------------------------------

def test_circulation_metrics_per_library_and_period(app: Flask, network: Network, people: dict[str, Any],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The six circulation metrics read the right rows for a library, the network and a period."""
    monkeypatch.setitem(app.config, "CIRCULATION_ANONYMISE_AFTER_DAYS", 0)
    a, b = network.a.id, network.b.id
    desk_a = people["desk_a"]
    march = (date(2026, 3, 1), date(2026, 3, 31))
    april = (date(2026, 4, 1), date(2026, 4, 30))
    visits.record_visit(actor=desk_a, library_id=a, now=MONDAY, guest_category="pelajar", purpose="kegiatan",
                        group_size=20)
    visits.record_visit(actor=desk_a, library_id=a, now=MONDAY, card_number=people["rina"], purpose="")
    visits.record_visit(actor=desk_a, library_id=a, now=MONDAY + timedelta(days=20), guest_category="umum",
                        purpose="internet")
    visits.record_visit(actor=people["desk_b"], library_id=b, now=MONDAY, guest_category="umum", purpose="membaca")
    visits.record_in_house_use(actor=desk_a, library_id=a, barcode="A0001", now=MONDAY, count=5)
    # network.a opens on Mondays only; a loan made on Monday morning at A counts for A in March.
    result = desk.checkout(actor=desk_a, card_number=people["rina"], barcode="A0001", library_id=a, now=MONDAY)
    desk.checkin(actor=desk_a, barcode="A0001", library_id=a, now=MONDAY + timedelta(hours=2))
    # April: a new general member at A, and a pupil member at B whose card has already expired.
    make_patron("Andi Saputra", network.a, category="umum", now=datetime(2026, 4, 6, 2, 0, tzinfo=timezone.utc))
    expired = make_patron("Sari Dewi", network.b, category="pelajar_sd", now=MONDAY)
    expired.expiry_date = date(2026, 3, 31)
    db.session.commit()
    assert result.loan.patron_id is None  # anonymised on return: the loan still counts

    def value(name: str, library_id: int | None, period: tuple[date, date]) -> float:
        return metrics.value(name, library_id=library_id, start=period[0], end=period[1])

    assert value("circulation.visits", a, march) == 21 and value("circulation.visits", None, march) == 22
    assert value("circulation.visits", a, april) == 1  # 5 April
    assert value("circulation.in_house_use", a, march) == 5 and value("circulation.in_house_use", b, march) == 0
    assert value("circulation.loans", a, march) == 1 and value("circulation.loans", b, march) == 0
    assert value("circulation.loans", a, april) == 0
    assert value("circulation.new_members", a, march) == 1  # Rina
    assert value("circulation.new_members", a, april) == 1  # Andi
    assert value("circulation.new_members", None, march) == 3  # Rina, Joko, Sari
    assert value("circulation.active_members", a, march) == 1 and value("circulation.active_members", a, april) == 2
    assert value("circulation.active_members", b, march) == 2 and value("circulation.active_members", b, april) == 1
    assert value("circulation.pupil_members", None, march) == 2  # Rina and Sari (valid until 31 March)
    assert value("circulation.pupil_members", None, april) == 1  # Sari's card expired
    blocked = db.session.scalar(select(Patron).where(Patron.card_number == people["rina"]))
    patron_services.set_block(actor=desk_a, patron_id=blocked.id, blocked=True, reason="Kartu hilang", now=MONDAY)
    db.session.commit()
    assert value("circulation.pupil_members", a, march) == 0


# --- the screens -------------------------------------------------------------------------------------------

def test_kiosk_member_scan_guest_buttons_and_double_scan(client: FlaskClient, network: Network,
                                                         people: dict[str, Any]) -> None:
    """The kiosk counts a scanned card once, a guest with their choices, and thanks each visitor."""
    login(client, "u.circulation")
    page = client.get("/circulation/visits/kiosk").get_data(as_text=True)
    assert 'name="card_number"' in page and "autofocus" in page and "<script>" not in page
    assert 'value="mahasiswa"' in page and 'value="internet"' in page

    first = client.post("/circulation/visits/kiosk", data={"card_number": people["rina"]}, follow_redirects=True)
    again = client.post("/circulation/visits/kiosk", data={"card_number": f" {people['rina']} "},
                        follow_redirects=True)
    guest = client.post("/circulation/visits/kiosk", data={"category": "mahasiswa", "purpose": "belajar",
                                                          "gender": "L", "group_size": "3"})
    assert first.status_code == again.status_code == 200
    assert 'class="alert alert-success"' in first.get_data(as_text=True)
    assert 'class="alert alert-info"' in again.get_data(as_text=True)
    assert guest.status_code == 302 and guest.headers["Location"].endswith("/circulation/visits/kiosk")
    other = f"/circulation/visits/kiosk?library={network.b.id}"  # another library's figures: refused
    assert client.get(other).status_code == 403
    assert client.post(other, data={"card_number": people["joko"]}).status_code == 403
    assert [(v.member, v.category, v.purpose, v.gender, v.group_size, v.library_id) for v in all_visits()] == [
        (True, "pelajar_smp", "", "P", 1, network.a.id), (False, "mahasiswa", "belajar", "L", 3, network.a.id)]


def test_kiosk_shows_mistakes_on_the_form_and_stores_nothing(client: FlaskClient, network: Network,
                                                             people: dict[str, Any]) -> None:
    """An unknown card or a guest without a purpose: the page comes back with the message."""
    login(client, "u.cataloguer")  # cataloguers staff the visitor desk too
    unknown = client.post("/circulation/visits/kiosk", data={"card_number": "0000000"})
    missing = client.post("/circulation/visits/kiosk", data={"category": "umum"})
    assert unknown.status_code == missing.status_code == 200
    assert "invalid-feedback" in unknown.get_data(as_text=True)
    assert "text-danger" in missing.get_data(as_text=True)
    assert all_visits() == []


def test_visits_page_shows_30_days_and_records_in_house_use(client: FlaskClient, network: Network,
                                                            people: dict[str, Any]) -> None:
    """The daily table covers the last 30 local days; scanning a barcode adds in-library use."""
    login(client, "u.librarian")
    response = client.post("/circulation/visits/in-house", data={"barcode": "A0001", "count": "2"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/circulation/visits")
    page = client.get("/circulation/visits").get_data(as_text=True)
    today = library_today(network.a.id)
    assert page.count("data-day=") == 30
    assert f'data-day="{today.isoformat()}"' in page
    assert f'data-day="{(today - timedelta(days=29)).isoformat()}"' in page
    [use] = db.session.scalars(select(InHouseUse)).all()
    assert (use.library_id, use.item_id, use.count, use.local_date) == (network.a.id, network.item_a.id, 2, today)
    bad = client.post("/circulation/visits/in-house", data={"barcode": "NOPE"})
    assert bad.status_code == 200 and "invalid-feedback" in bad.get_data(as_text=True)


def test_network_role_picks_the_library_first(client: FlaskClient, network: Network, people: dict[str, Any]) -> None:
    """The DPK has no library of its own: the screens ask which one, then work on that one."""
    login(client, "u.dpk")
    chooser = client.get("/circulation/visits/kiosk").get_data(as_text=True)
    assert f"/circulation/visits/kiosk?library={network.b.id}" in chooser
    response = client.post(f"/circulation/visits/kiosk?library={network.b.id}",
                           data={"category": "umum", "purpose": "membaca"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"?library={network.b.id}")
    assert [v.library_id for v in all_visits()] == [network.b.id]


@pytest.mark.parametrize("method, url, data", [
    ("get", "/circulation/visits/kiosk", None),
    ("post", "/circulation/visits/kiosk", {"category": "umum", "purpose": "membaca"}),
    ("get", "/circulation/visits", None),
    ("post", "/circulation/visits/in-house", {"barcode": "A0001"}),
])
def test_an_assessor_is_refused(client: FlaskClient, network: Network, method: str, url: str,
                                data: dict[str, str] | None) -> None:
    """Assessors read reports; they do not count visitors."""
    login(client, "u.assessor")
    response = client.get(url) if method == "get" else client.post(url, data=data)
    assert response.status_code == 403
    assert all_visits() == [] and db.session.scalars(select(InHouseUse)).all() == []


def test_anonymous_visitors_are_sent_to_the_login_page(client: FlaskClient, network: Network) -> None:
    """The kiosk runs under a staff login; without one, nothing is counted."""
    response = client.post("/circulation/visits/kiosk", data={"category": "umum", "purpose": "membaca"})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert all_visits() == []


@pytest.fixture(scope="module")
def strict_app(app: Flask, session_dir: Path) -> Iterator[Flask]:
    """The same database with CSRF protection on."""
    application = make_app(session_dir, WTF_CSRF_ENABLED=True)
    yield application
    dispose(application)


def csrf_token(client: FlaskClient, url: str) -> str:
    """The CSRF token of the (first) form on a page."""
    page = client.get(url).get_data(as_text=True)
    return page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]


def test_kiosk_and_in_house_posts_need_the_csrf_token(strict_app: Flask) -> None:
    """Without the form token nothing is counted; with it, the same posts go through."""
    with strict_app.app_context():
        net = build_network()
        library_id = net.a.id
    client = strict_app.test_client()
    assert client.post("/login", data={"username": "u.circulation", "password": PASSWORD,
                                       "csrf_token": csrf_token(client, "/login")}).status_code == 302
    guest = {"category": "umum", "purpose": "membaca"}
    assert client.post("/circulation/visits/kiosk", data=guest).status_code == 400
    assert client.post("/circulation/visits/in-house", data={"barcode": "A0001"}).status_code == 400
    token = csrf_token(client, "/circulation/visits/kiosk")
    assert client.post("/circulation/visits/kiosk", data={**guest, "csrf_token": token}).status_code == 302
    assert client.post("/circulation/visits/in-house",
                       data={"barcode": "A0001", "csrf_token": token}).status_code == 302
    with strict_app.app_context():
        assert [v.library_id for v in db.session.scalars(select(Visit))] == [library_id]
        assert [u.count for u in db.session.scalars(select(InHouseUse))] == [1]
        db.session.remove()
