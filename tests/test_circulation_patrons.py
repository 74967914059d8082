"""Patrons: registration rules, NIK at rest, card numbers, library scoping, and the staff patron screens."""
from __future__ import annotations

import io
import re
from datetime import date, datetime, timezone
from typing import Any

import pytest
from flask.testing import FlaskClient
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import select, text
from stdnum import luhn

from circulation.services import nik
from circulation.models import Patron, PatronConsent, PatronPhoto, PatronStatus
from circulation.services import patrons as services
from ils.authz import Actor
from ils.errors import Conflict, Forbidden, ValidationFailed
from ils.extensions import db
from ils.models import AuditEvent, LibraryType, Role
from ils.services.staff import actor_for
from tests.factories import Network, login, make_library, make_patron, make_staff

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)
TODAY = date(2026, 3, 2)
NIK = "6474015203110001"  # Kota Bontang (6474), born 12-03-2011, female (+40 on the day)
OTHER_NIK = "6474011505900003"
def adult(**changes: Any) -> dict[str, Any]:
    """Registration data of an adult member."""
    data: dict[str, Any] = {"name": "Budi Santoso", "birth_date": date(1990, 5, 15), "gender": "L",
                            "phone": "0812-5550-1234", "email": "budi@example.org",
                            "address": "Jl. Ahmad Yani No. 12, Api-Api", "kecamatan": "Bontang Utara"}
    data.update(changes)
    return data


def child(**changes: Any) -> dict[str, Any]:
    """Registration data of a twelve-year-old."""
    return adult(**{"name": "Siti Aminah", "birth_date": date(2013, 8, 1), "gender": "P", "category_code": "anak",
                    "phone": "", "email": "", **changes})


def desk(net: Network, role: str = "circulation") -> Actor:
    """A staff member of library A."""
    return actor_for(net.users[role])


def register(actor: Actor, data: dict[str, Any] | None = None, **kwargs: Any) -> Patron:
    """Register and commit a member."""
    patron = services.register(actor=actor, data=data or adult(), now=NOW, today=TODAY, **kwargs)
    db.session.commit()
    return patron


def login_en(client: FlaskClient, username: str) -> None:
    """Log in and switch to English, so page texts do not change when the translation is filled in."""
    login(client, username)
    client.post("/language", data={"lang": "en"})


@pytest.fixture
def net(network: Network) -> Network:
    """The two-library network (the member categories are seeded by the migration)."""
    return network


@pytest.fixture
def staff_b(net: Network) -> Actor:
    """A circulation desk clerk of library B."""
    user = make_staff("desk.b", Role.CIRCULATION, net.b)
    db.session.commit()
    return actor_for(user)


# --- registration -----------------------------------------------------------------------------

def test_register_at_the_desk(net: Network) -> None:
    """An adult gets an active card at the clerk's library, valid for the category's months, audited."""
    patron = register(desk(net), adult(category_code="umum"))
    assert patron.status == PatronStatus.ACTIVE and patron.home_library_id == net.a.id
    assert patron.phone == "+6281255501234"
    assert patron.expiry_date == date(2028, 3, 2)  # "umum": 24 months
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "patron.create"))
    assert event.object_id == str(patron.id) and event.actor_label == "u.circulation"
    assert "Budi" not in str(event.details)


@pytest.mark.parametrize("data, field", [
    ({"name": "   "}, "name"),
    ({"birth_date": date(2030, 1, 1)}, "birth_date"),
    ({"email": "budi-at-example"}, "email"),
    ({"phone": "12"}, "phone"),
    ({"gender": "X"}, "gender"),
    ({"category_code": "astronaut"}, "category_code"),
])
def test_registration_validation(net: Network, data: dict[str, Any], field: str) -> None:
    """Each bad value is refused on its field, and nothing is stored."""
    with pytest.raises(ValidationFailed) as caught:
        services.register(actor=desk(net), data=adult(**data), now=NOW, today=TODAY)
    assert caught.value.field == field
    db.session.rollback()
    assert db.session.scalar(select(Patron.id)) is None


def test_a_minor_needs_a_guardian_and_consent(net: Network) -> None:
    """Under 18: refused without a guardian, then without consent; accepted with both, consent in the ledger."""
    with pytest.raises(ValidationFailed) as caught:
        services.register(actor=desk(net), data=child(), now=NOW, today=TODAY)
    assert caught.value.field == "guardian_name"
    db.session.rollback()
    with pytest.raises(ValidationFailed) as caught:
        services.register(actor=desk(net), data=child(guardian_name="Ahmad Fauzi"), now=NOW, today=TODAY)
    assert caught.value.field == "guardian_consent"
    db.session.rollback()
    patron = register(desk(net), child(guardian_name="Ahmad Fauzi"), guardian_consent=True)
    assert patron.status == PatronStatus.ACTIVE and patron.guardian_consent_at == NOW
    consent = db.session.scalar(select(PatronConsent).where(PatronConsent.patron_id == patron.id))
    assert (consent.purpose, consent.granted, consent.channel, consent.witness) == ("guardian", True, "desk",
                                                                                    "u.circulation")


def test_a_member_guardian_counts_as_guardian(net: Network) -> None:
    """A guardian who is a member is linked by id instead of a typed name."""
    mother = register(desk(net), adult(name="Ratna Dewi", phone="0813-1111-2222", email=""))
    kid = register(desk(net), child(guardian_id=mother.id), guardian_consent=True)
    assert kid.guardian_id == mother.id and kid.guardian_name == ""


def test_nik_is_encrypted_at_rest(net: Network) -> None:
    """A raw read of the row shows neither the NIK nor any run of its first twelve digits; the owner gets it back."""
    patron = register(desk(net), nik=NIK)
    row = db.session.execute(text("SELECT * FROM circ_patron WHERE id = :id"), {"id": patron.id}).mappings().one()
    stored = {key: str(value) for key, value in row.items() if value is not None and key != "nik_last4"}
    windows = {NIK[i:i + 6] for i in range(0, 7)}  # every 6-digit run of the non-displayed part
    assert not any(NIK in value for value in stored.values())
    assert not [w for w in windows for value in stored.values() if w in value]
    assert row["nik_last4"] == NIK[-4:] and patron.nik_masked.endswith(NIK[-4:])
    assert nik.reveal_nik(patron) == NIK
    details = db.session.execute(text("SELECT details FROM audit_event")).scalars().all()
    assert not any(NIK[:8] in str(d) for d in details)


def test_duplicate_nik_is_refused(net: Network) -> None:
    """The keyed hash finds the same NIK again, typed with spaces, at registration and at an edit."""
    register(desk(net), nik=NIK)
    with pytest.raises(Conflict):
        services.register(actor=desk(net), data=adult(name="Budi Lain"), now=NOW, today=TODAY,
                          nik=" ".join(re.findall("....", NIK)))
    db.session.rollback()
    other = register(desk(net), adult(name="Rudi Hartono", phone="0811-222-3333", email=""), nik=OTHER_NIK)
    with pytest.raises(Conflict):
        services.update(actor=desk(net), patron_id=other.id, data={}, now=NOW, today=TODAY, nik=NIK)
    db.session.rollback()
    assert nik.reveal_nik(db.session.get(Patron, other.id)) == OTHER_NIK


def test_an_invalid_nik_is_refused(net: Network) -> None:
    """Not 16 digits, or an impossible birth date inside it: refused on the NIK field."""
    for bad in ("12345", "6474019913110001"):
        with pytest.raises(ValidationFailed) as caught:
            services.register(actor=desk(net), data=adult(), now=NOW, today=TODAY, nik=bad)
        assert caught.value.field == "nik"
        db.session.rollback()


def test_card_number_carries_a_luhn_check_digit(net: Network) -> None:
    """Prefix + zero-padded id + a check digit that an independent Luhn implementation accepts."""
    patron = register(desk(net))
    card = patron.card_number
    assert card == f"6474{patron.id:07d}{card[-1]}" and luhn.is_valid(card)
    for position in range(len(card) - 1):  # any single mistyped digit is caught
        typo = card[:position] + str((int(card[position]) + 1) % 10) + card[position + 1:]
        assert not luhn.is_valid(typo)
    assert services.require_by_card(f" {card} ").id == patron.id


def test_card_number_may_not_equal_a_staff_username(net: Network) -> None:
    """S5: the next card number is already someone's login, so the registration is refused."""
    first = register(desk(net))
    make_staff(services.card_number_for(first.id + 1), Role.CIRCULATION, net.a)
    db.session.commit()
    with pytest.raises(Conflict):
        services.register(actor=desk(net), data=adult(name="Rina Wati", phone="0812-0000-1111", email=""),
                          now=NOW, today=TODAY)
    db.session.rollback()
    assert db.session.scalar(select(Patron.id).where(Patron.name == "Rina Wati")) is None


def test_other_library_sees_the_card_not_the_person(net: Network, staff_b: Actor) -> None:
    """A desk at B may look up A's member (audited) but not their details, and may not change them."""
    patron = register(desk(net))
    seen = services.get_patron(actor=staff_b, patron_id=patron.id, now=NOW)
    db.session.commit()
    assert seen.id == patron.id
    assert not services.may_see_personal(staff_b, patron) and services.may_see_personal(desk(net), patron)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "patron.view"))
    assert (event.actor_label, event.object_id, event.library_id) == ("desk.b", str(patron.id), net.b.id)
    with pytest.raises(Forbidden):
        services.update(actor=staff_b, patron_id=patron.id, data={"phone": "0811-000-0000"}, now=NOW, today=TODAY)
    db.session.rollback()
    with pytest.raises(Forbidden):
        services.set_block(actor=staff_b, patron_id=patron.id, blocked=True, reason="x", now=NOW)
    db.session.rollback()
    found, total = services.search_patrons(actor=staff_b, query="Budi")
    assert (found, total) == ([], 0)
    found, total = services.search_patrons(actor=staff_b, query=patron.card_number)
    assert [p.id for p in found] == [patron.id]


# --- screens ------------------------------------------------------------------------------------

def form_data(**changes: Any) -> dict[str, Any]:
    """A filled registration form."""
    data = {"name": "Budi Santoso", "category_code": "umum", "birth_date": "1990-05-15", "gender": "L",
            "phone": "0812-5550-1234", "email": "budi@example.org", "address": "Jl. Ahmad Yani No. 12, Api-Api",
            "kecamatan": "Bontang Utara", "notice_channel": "email", "locale": "id", "school_library_id": "0"}
    data.update(changes)
    return data


def test_list_search_keeps_the_name_out_of_the_url(client: FlaskClient, net: Network) -> None:
    """POST the query, get redirected to a URL without it, see the match; a card number opens the record."""
    patron = register(desk(net))
    login_en(client, "u.circulation")
    response = client.post("/circulation/patrons", data={"q": "budi"})
    assert response.status_code == 302 and "budi" not in response.headers["Location"].lower()
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Budi Santoso" in page and patron.card_number in page
    response = client.post("/circulation/patrons", data={"q": patron.card_number})
    assert response.headers["Location"].endswith(f"/circulation/patrons/{patron.id}")
    assert client.get("/circulation/patrons?status=pending").status_code == 200


def test_register_screen(client: FlaskClient, net: Network) -> None:
    """The form registers a member; the NIK typed is not sent back when the form is shown again."""
    login_en(client, "u.circulation")
    assert client.get("/circulation/patrons/new").status_code == 200
    response = client.post("/circulation/patrons/new", data=form_data(nik=NIK, birth_date="2031-01-01"))
    assert response.status_code == 200 and NIK not in response.get_data(as_text=True)
    response = client.post("/circulation/patrons/new", data=form_data(nik=NIK))
    patron = db.session.scalar(select(Patron))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/patrons/{patron.id}")
    assert patron.nik_last4 == NIK[-4:] and patron.home_library_id == net.a.id


def test_nik_never_reaches_the_logs(client: FlaskClient, net: Network, caplog: pytest.LogCaptureFixture) -> None:
    """Every logger at DEBUG (SQL statements and their parameters included) while a NIK is typed,
    refused as a duplicate, matched and shown: no record carries it, with or without spaces."""
    caplog.set_level("DEBUG")  # the root logger and so every logger that propagates
    for name in ("sqlalchemy.engine", "werkzeug", "ils", "circulation"):
        caplog.set_level("DEBUG", logger=name)
    login_en(client, "u.circulation")
    assert client.post("/circulation/patrons/new", data=form_data(nik=NIK)).status_code == 302
    spaced = " ".join(re.findall("....", NIK))
    again = client.post("/circulation/patrons/new", data=form_data(name="Rudi Hartono", nik=spaced))
    assert again.status_code == 200  # the duplicate is refused on the form
    patron = db.session.scalar(select(Patron))
    assert client.get(f"/circulation/patrons/{patron.id}").status_code == 200
    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    assert any("circ_patron" in r.getMessage() for r in caplog.records)  # the SQL was really captured
    assert NIK not in logged and NIK[:12] not in logged and spaced not in logged


def test_register_screen_minor_and_guardian_card(client: FlaskClient, net: Network) -> None:
    """A child without consent is refused on the form; with the guardian's card and consent, registered."""
    mother = register(desk(net), adult(name="Ratna Dewi", phone="0813-1111-2222", email=""))
    login_en(client, "u.circulation")
    data = form_data(name="Siti Aminah", category_code="anak", birth_date="2013-08-01", phone="", email="",
                     guardian_card=mother.card_number)
    response = client.post("/circulation/patrons/new", data=data)
    assert response.status_code == 200 and "consent" in response.get_data(as_text=True)
    response = client.post("/circulation/patrons/new", data={**data, "guardian_consent": "y"})
    assert response.status_code == 302
    kid = db.session.scalar(select(Patron).where(Patron.name == "Siti Aminah"))
    assert kid.guardian_id == mother.id and kid.guardian_consent_at is not None


def test_detail_screen_is_audited_and_scoped(client: FlaskClient, net: Network, staff_b: Actor) -> None:
    """Home staff see contact details; B's desk sees the card and loans only; both views are audited."""
    patron = register(desk(net), nik=NIK)
    login_en(client, "u.circulation")
    page = client.get(f"/circulation/patrons/{patron.id}").get_data(as_text=True)
    assert "+6281255501234" in page and "************0001" in page and NIK not in page
    other = client.application.test_client()
    login_en(other, "desk.b")
    response = other.get(f"/circulation/patrons/{patron.id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Budi Santoso" in page and patron.card_number in page
    assert "+6281255501234" not in page and "Ahmad Yani" not in page and "*0001" not in page
    actors = db.session.scalars(select(AuditEvent.actor_label).where(AuditEvent.action == "patron.view",
                                                                     AuditEvent.object_id == str(patron.id)))
    assert sorted(actors) == ["desk.b", "u.circulation"]
    assert other.get(f"/circulation/patrons/{patron.id}/edit").status_code == 403


def test_edit_screen(client: FlaskClient, net: Network) -> None:
    """The edit form shows the masked NIK only; saving changes the phone and lists the field in the audit."""
    patron = register(desk(net), nik=NIK)
    login_en(client, "u.circulation")
    page = client.get(f"/circulation/patrons/{patron.id}/edit").get_data(as_text=True)
    assert "************0001" in page and NIK not in page and NIK[:12] not in page
    response = client.post(f"/circulation/patrons/{patron.id}/edit", data=form_data(phone="0811-9999-0000"))
    assert response.status_code == 302
    db.session.expire_all()
    assert patron.phone == "+6281199990000" and nik.reveal_nik(patron) == NIK
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "patron.update"))
    assert event.details == {"fields": ["phone"]}


def test_approve_screen(client: FlaskClient, net: Network) -> None:
    """A pending self-registration becomes active."""
    patron = register(desk(net), status=PatronStatus.PENDING, channel="opac")
    login_en(client, "u.circulation")
    assert client.post(f"/circulation/patrons/{patron.id}/approve").status_code == 302
    db.session.expire_all()
    assert patron.status == PatronStatus.ACTIVE and patron.approved_at is not None


def test_block_and_unblock_screen(client: FlaskClient, net: Network) -> None:
    """Blocking needs a reason; the block is lifted with the same route."""
    patron = register(desk(net))
    login_en(client, "u.circulation")
    client.post(f"/circulation/patrons/{patron.id}/block", data={"blocked": "1", "reason": ""})
    db.session.expire_all()
    assert patron.status == PatronStatus.ACTIVE
    response = client.post(f"/circulation/patrons/{patron.id}/block",
                           data={"blocked": "1", "reason": "Kartu dilaporkan hilang"})
    assert response.status_code == 302
    db.session.expire_all()
    assert (patron.status, patron.block_reason) == (PatronStatus.BLOCKED, "Kartu dilaporkan hilang")
    client.post(f"/circulation/patrons/{patron.id}/block", data={"blocked": "0"})
    db.session.expire_all()
    assert (patron.status, patron.block_reason) == (PatronStatus.ACTIVE, "")


def test_renew_card_screen(client: FlaskClient, net: Network) -> None:
    """Renewing extends the card from its current expiry by the category's months."""
    patron = register(desk(net), adult(category_code="umum"))
    login_en(client, "u.circulation")
    assert client.post(f"/circulation/patrons/{patron.id}/renew").status_code == 302
    db.session.expire_all()
    assert patron.expiry_date == date(2030, 3, 2)


def test_pin_screen(client: FlaskClient, net: Network) -> None:
    """The PIN is set only when both entries match; it is stored hashed."""
    patron = register(desk(net))
    login_en(client, "u.circulation")
    client.post(f"/circulation/patrons/{patron.id}/pin", data={"pin": "4821", "confirm": "4822"})
    db.session.expire_all()
    assert patron.pin_hash is None
    assert client.post(f"/circulation/patrons/{patron.id}/pin",
                       data={"pin": "4821", "confirm": "4821"}).status_code == 302
    db.session.expire_all()
    assert patron.pin_hash and "4821" not in patron.pin_hash
    assert services.check_pin(patron, "4821", now=NOW)


def test_card_pdf_screen(client: FlaskClient, net: Network, staff_b: Actor) -> None:
    """One member's card as a PDF for the home library; another library may not print it."""
    patron = register(desk(net))
    login_en(client, "u.circulation")
    response = client.get(f"/circulation/patrons/{patron.id}/card.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text_ = PdfReader(io.BytesIO(response.data)).pages[0].extract_text()
    assert "Budi Santoso" in text_ and patron.card_number in text_
    assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "patron.card_print")) is not None
    other = client.application.test_client()
    login_en(other, "desk.b")
    assert other.get(f"/circulation/patrons/{patron.id}/card.pdf").status_code == 403


def test_school_library_staff_register_pupils_of_their_school(net: Network) -> None:
    """A school library registers its own pupils; the school link is kept."""
    school = make_library("SDN-9", LibraryType.SEKOLAH_SD)
    clerk = actor_for(make_staff("desk.sd9", Role.CIRCULATION, school))
    pupil = register(clerk, child(guardian_name="Ahmad Fauzi", category_code="pelajar_sd",
                                  school_library_id=school.id, nis="2301", school_class="5B"),
                     guardian_consent=True)
    assert (pupil.home_library_id, pupil.school_library_id, pupil.nis) == (school.id, school.id, "2301")


def test_photo_is_reencoded_without_metadata_and_only_home_staff_see_it(client: FlaskClient, network: Network) -> None:
    """A JPEG with EXIF comes back as a small JPEG without it; garbage is refused; other libraries get 403."""
    patron = make_patron("Foto Anggota", network.a)
    other = make_patron("Anggota B", network.b)
    db.session.commit()
    picture = Image.new("RGB", (1200, 1600), (200, 120, 40))
    exif = Image.Exif()
    exif[0x010F] = "KameraRahasia"  # Make
    raw = io.BytesIO()
    picture.save(raw, format="JPEG", exif=exif)
    login(client, "u.librarian")
    response = client.post(f"/circulation/patrons/{patron.id}/photo",
                           data={"photo": (io.BytesIO(raw.getvalue()), "foto.jpg")})
    assert response.status_code == 302
    stored = db.session.get(PatronPhoto, patron.id)
    assert stored is not None and b"KameraRahasia" not in stored.data
    with Image.open(io.BytesIO(stored.data)) as image:
        assert image.format == "JPEG" and image.size == (375, 500)
    shown = client.get(f"/circulation/patrons/{patron.id}/photo.jpg")
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    assert client.post(f"/circulation/patrons/{patron.id}/photo",
                       data={"photo": (io.BytesIO(b"not an image"), "x.jpg")}).status_code == 302
    assert db.session.get(PatronPhoto, patron.id).data == stored.data  # nothing stored was lost
    assert client.get(f"/circulation/patrons/{other.id}/photo.jpg").status_code == 403
    client.post(f"/circulation/patrons/{patron.id}/photo", data={"remove": "y"})
    db.session.expire_all()
    assert db.session.get(PatronPhoto, patron.id) is None
