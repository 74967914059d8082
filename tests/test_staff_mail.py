"""E-mail to staff: who a workflow step mails, in which language, once per event, and the send job
(SMTP, accounts that lost their address, no SMTP configured, retention)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from ils.authz import Actor
from ils.extensions import db
from ils.models import DeliveryStatus, Role, StaffMessage, StaffUser
from ils.services import staff_mail
from tests.factories import Network, login, make_staff
from tests.mail_servers import SmtpServer
from workflows.models import InstanceEvent
from workflows.services import instances, mail

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)  # Monday 2 March 2026, 09:00 WITA


@pytest.fixture
def people(network: Network) -> dict[str, StaffUser]:
    """Accounts that should and should not get workflow mail (A runs the workflow)."""
    made = {
        "ani": make_staff("ani", Role.LIBRARIAN, network.a, email="ani@perpus-a.example", full_name="Ani Lestari"),
        "ben": make_staff("ben", Role.LIBRARIAN, network.a, email="ben@perpus-a.example", locale="en",
                          full_name="Ben Hartono"),
        "tanpa": make_staff("tanpa", Role.LIBRARIAN, network.a, full_name="Tanpa Surel"),  # no address
        "meja": make_staff("meja", Role.CIRCULATION, network.a, email="meja@perpus-a.example"),  # may not act
        "lain": make_staff("lain", Role.LIBRARIAN, network.b, email="lain@perpus-b.example"),  # other library
        "lama": make_staff("lama", Role.LIBRARIAN, network.a, email="lama@perpus-a.example"),
        "dinas": make_staff("dinas", Role.DPK, None, email="dinas@dpk.example", full_name="Dina Saputri"),
    }
    made["lama"].active = False  # deactivated
    db.session.commit()
    return made


def _messages() -> list[StaffMessage]:
    return list(db.session.scalars(select(StaffMessage).order_by(StaffMessage.staff_user_id)))


def _start(network: Network) -> None:
    librarian = Actor(label="librarian.a", role=Role.LIBRARIAN, library_id=network.a.id)
    instances.start(actor=librarian, library_id=network.a.id, workflow="akreditasi", now=NOW)
    db.session.commit()


def test_a_step_mails_the_librarys_acting_staff_in_their_own_language(network: Network,
                                                                      people: dict[str, StaffUser]) -> None:
    """Entering the NPP step (notify: library) queues one e-mail each for A's active librarians with an
    address: Indonesian for Ani, English for Ben; the timeline line counts them."""
    _start(network)
    rows = _messages()
    assert [r.staff_user_id for r in rows] == [people["ani"].id, people["ben"].id]
    ani, ben = rows
    assert ani.status is DeliveryStatus.PENDING and ani.topic == "workflows.step" and ani.channel == "email"
    assert ani.subject == 'Perpustakaan LIB-A, Akreditasi perpustakaan: "Memperoleh NPP" menunggu Anda'
    assert ben.subject == 'Perpustakaan LIB-A, Library accreditation: "Obtain an NPP" waits for you'
    assert ani.body.startswith("Yth. Ani Lestari,") and "menunggu tindakan Anda" in ani.body
    assert "Tenggat" in ani.body and "2026" in ani.body
    assert ben.body.startswith("Dear Ben Hartono,") and "now waits for you" in ben.body
    assert "Due by" in ben.body and "Accreditation and goals" in ben.body
    notify = db.session.scalar(select(InstanceEvent).where(InstanceEvent.kind == "notify"))
    assert notify.details == {"to": "library", "mailed": 2}
    assert f"wf:{notify.id}:{people['ani'].id}" == ani.dedupe_key


def test_the_dpk_party_is_the_dpk_accounts_and_a_public_url_becomes_a_link(app: Flask, network: Network,
                                                                          people: dict[str, StaffUser],
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "ILS_PUBLIC_URL", "https://sipus.bontangkota.example/")
    _start(network)
    run = instances.open_instance(network.a.id, "akreditasi")
    event = db.session.scalar(select(InstanceEvent).where(InstanceEvent.kind == "notify"))
    assert [u.username for u in mail.recipients(run, "dpk")] == ["dinas"]
    assert mail.mail_event(run, event, to="dpk", now=NOW) == 1
    assert mail.mail_event(run, event, to="dpk", now=NOW) == 0  # the same event never mails twice
    db.session.commit()
    dinas = db.session.scalar(select(StaffMessage).where(StaffMessage.staff_user_id == people["dinas"].id))
    assert f"https://sipus.bontangkota.example/workflows/runs/{run.id}" in dinas.body


def test_reminders_mail_whoever_the_step_waits_for_once(network: Network, people: dict[str, StaffUser]) -> None:
    _start(network)
    before = len(_messages())
    assert instances.send_reminders(now=NOW + timedelta(days=46, hours=1)) == 1
    db.session.commit()
    assert instances.send_reminders(now=NOW + timedelta(days=46, hours=2)) == 0
    db.session.commit()
    reminders = [r for r in _messages() if r.topic == "workflows.reminder"]
    assert len(_messages()) == before + 2 and {r.staff_user_id for r in reminders} == {people["ani"].id,
                                                                                       people["ben"].id}
    by_user = {r.staff_user_id: r.subject for r in reminders}
    assert by_user[people["ani"].id].startswith("Pengingat: Perpustakaan LIB-A")
    assert by_user[people["ben"].id].startswith("Reminder: Perpustakaan LIB-A")


def test_the_send_job_sends_once_and_skips_an_account_that_lost_its_address(
        network: Network, people: dict[str, StaffUser], smtp: SmtpServer) -> None:
    _start(network)
    people["ben"].email = None  # Ben's address was removed after the message was queued
    db.session.commit()
    counts = staff_mail.send_pending(now=NOW + timedelta(minutes=5))
    assert (counts["sent"], counts["skipped"]) == (1, 1)
    assert [m["To"] for m in smtp.messages] == ["ani@perpus-a.example"]
    sent = smtp.messages[0]
    ani = db.session.scalar(select(StaffMessage).where(StaffMessage.staff_user_id == people["ani"].id))
    assert str(sent["Subject"]).strip() == ani.subject  # a long subject is folded onto the next line
    assert sent["Message-ID"] == f"<{ani.dedupe_key.replace(':', '.')}@bontangkota.go.id>"  # a resend: the same mail
    assert "Yth. Ani Lestari" in sent.get_content()
    assert staff_mail.status_counts() == {"sent": 1, "skipped": 1}
    assert staff_mail.send_pending(now=NOW + timedelta(minutes=15))["sent"] == 0
    assert len(smtp.messages) == 1


def test_without_smtp_the_mail_waits_and_old_messages_are_removed(app: Flask, network: Network,
                                                                   people: dict[str, StaffUser]) -> None:
    _start(network)
    counts = staff_mail.send_pending(now=NOW + timedelta(minutes=5))
    assert counts["waiting"] == 1 and counts["sent"] == 0
    rows = _messages()
    assert {r.status for r in rows} == {DeliveryStatus.PENDING} and {r.attempts for r in rows} == {0}
    for row in rows:
        row.status = DeliveryStatus.SENT
    db.session.commit()
    days = app.config["ILS_STAFF_MAIL_RETENTION_DAYS"]
    assert staff_mail.send_pending(now=NOW + timedelta(days=days - 1))["removed"] == 0
    assert staff_mail.send_pending(now=NOW + timedelta(days=days, hours=1))["removed"] == 2
    assert db.session.scalar(select(func.count()).select_from(StaffMessage)) == 0


def test_the_timeline_says_how_many_people_were_mailed(client: FlaskClient, network: Network,
                                                       people: dict[str, StaffUser]) -> None:
    _start(network)
    run = instances.open_instance(network.a.id, "akreditasi")
    login(client, "ani")
    page = client.get(f"/workflows/runs/{run.id}").get_data(as_text=True)
    assert "surel ke 2 orang" in page


def test_the_account_page_shows_the_delivery_of_its_e_mail(client: FlaskClient, network: Network,
                                                           people: dict[str, StaffUser], smtp: SmtpServer) -> None:
    """Ani's page lists her e-mail and whether it went out; an account without an address says so."""
    _start(network)
    staff_mail.send_pending(now=NOW + timedelta(minutes=5))
    login(client, "u.admin")
    page = client.get(f"/staff/accounts/{people['ani'].id}").get_data(as_text=True)
    assert "Surel dari sistem" in page and "Memperoleh NPP" in page and "Terkirim" in page
    page = client.get(f"/staff/accounts/{people['tanpa'].id}").get_data(as_text=True)
    assert "tidak punya alamat surel" in page
