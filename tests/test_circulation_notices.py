"""Notices: the outbox (one row per key), the daily scan, delivery by SMTP and webhook, a worker
killed mid-send, Redis down at the desk, the staff delivery page, and the other circulation jobs."""
from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, insert, select

from circulation import jobs as circ_jobs
from circulation.models import Hold, HoldStatus, Loan, Notice, NoticeKind, NoticeStatus, Patron
from circulation.services import desk, holds, notices
from circulation.services.notices import NoticeLine
from ils import jobs
from ils import notify
from ils.authz import Actor
from ils.extensions import db
from ils.models import AuditEvent, JobRecord, JobStatus, LibraryType, Role
from tests.factories import SYSTEM, WEEKDAY_HOURS, Network, login, make_library, make_patron, make_record
from tests.mail_servers import HookServer, SmtpServer

WITA = ZoneInfo("Asia/Makassar")
# Monday 16 March 2026, 10:00 WITA: a 7-day loan is due Wednesday 25 March at 16:00 WITA (Nyepi,
# Idul Fitri and cuti bersama fall in between; circulation.calendar moves the due date past them).
MONDAY = datetime(2026, 3, 16, 2, 0, tzinfo=timezone.utc)
TITLE = 'Kisah "Pesut" Mahakam — edisi 2'  # a quote and a non-ASCII dash: escaping is exercised


def wita(month: int, day: int, hour: int = 7, minute: int = 15) -> datetime:
    """An instant given in Bontang's local time, in UTC."""
    return datetime(2026, month, day, hour, minute, tzinfo=WITA).astimezone(timezone.utc)


# --- the little city ---------------------------------------------------------------------------------

@pytest.fixture
def city(ctx: Flask) -> dict[str, Any]:
    """Two libraries open Monday to Saturday, two titles at A, Siti (e-mail) and Budi (WhatsApp)."""
    a = make_library("KEL-A", LibraryType.KELURAHAN, opening_hours=WEEKDAY_HOURS, name="Perpustakaan Kelurahan Api-Api")
    b = make_library("KEL-B", LibraryType.KELURAHAN, opening_hours=WEEKDAY_HOURS)
    record, _item = make_record(TITLE, a, barcode="A-0001")
    make_record("Laskar Pelangi", a, barcode="A-0002")
    siti = make_patron("Siti Aminah", a, now=MONDAY, email="siti@example.org")
    budi = make_patron("Budi Santoso", b, now=MONDAY, phone="0812-5555-0101", whatsapp=True,
                       notice_channel="webhook")
    quiet = make_patron("Rahmat Hidayat", a, now=MONDAY, email="rahmat@example.org", notice_channel="none")
    db.session.commit()
    return {"a": a, "b": b, "record": record, "siti": siti, "budi": budi, "quiet": quiet,
            "desk_a": Actor(label="desk.a", role=Role.CIRCULATION, library_id=a.id)}


def lend(city: dict[str, Any], who: str, barcode: str, at: datetime = MONDAY) -> Loan:
    """Check an item out at library A and commit."""
    result = desk.checkout(actor=city["desk_a"], card_number=city[who].card_number, barcode=barcode,
                           library_id=city["a"].id, now=at)
    db.session.commit()
    return result.loan


def queue_due_soon(patron: Patron, library_id: int, key: str) -> Notice | None:
    """Queue a due-soon notice with one line (the way the scan does)."""
    return notices.queue(kind=NoticeKind.DUE_SOON, patron=patron, library_id=library_id, key=key,
                         context={"lines": [NoticeLine(title=TITLE, due=MONDAY.date())]}, now=MONDAY)


def send_runs_requested() -> int:
    """Send jobs asked for so far (after commits)."""
    return len(db.session.scalars(select(JobRecord.id).where(JobRecord.kind == "circulation.send_notices")).all())


def all_notices() -> list[Notice]:
    """Every outbox row, oldest first, freshly read."""
    return list(db.session.scalars(select(Notice).order_by(Notice.id).execution_options(populate_existing=True)))


# --- the outbox --------------------------------------------------------------------------------------

def test_queue_twice_gives_one_row(city: dict[str, Any]) -> None:
    """The dedupe key is unique: a second queue() with the same key adds nothing."""
    first = queue_due_soon(city["siti"], city["a"].id, "due_soon:test:1")
    second = queue_due_soon(city["siti"], city["a"].id, "due_soon:test:1")
    db.session.commit()
    assert first is not None and second is None
    assert [(n.dedupe_key, n.status, n.channel) for n in all_notices()] == [
        ("due_soon:test:1", NoticeStatus.PENDING, "email")]


def test_a_duplicate_inserted_after_the_check_only_loses_the_savepoint(city: dict[str, Any],
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Another transaction inserting the same key between the check and the insert: queue() returns
    None and the caller's own work in the same transaction survives."""
    real_channel_for = notices.channel_for

    def racing_channel_for(patron: Patron) -> str | None:
        # Runs after the existence check and before the insert: the other desk wins the race here.
        db.session.execute(insert(Notice).values(dedupe_key="hold_ready:race", kind=NoticeKind.HOLD_READY,
                                                 channel="email", patron_id=patron.id, library_id=city["a"].id,
                                                 subject="x", body="x", status=NoticeStatus.PENDING, attempts=0,
                                                 last_error="", created_at=MONDAY))
        return real_channel_for(patron)

    db.session.add(AuditEvent(at=MONDAY, actor_label="desk.a", action="loan.checkin", details={}))
    monkeypatch.setattr(notices, "channel_for", racing_channel_for)
    assert queue_due_soon(city["siti"], city["a"].id, "hold_ready:race") is None
    db.session.commit()
    assert [n.dedupe_key for n in all_notices()] == ["hold_ready:race"]
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "loan.checkin")) == 1


def test_two_sessions_queueing_the_same_key_at_once_make_one_row(app: Flask, city: dict[str, Any]) -> None:
    """Real concurrency: two threads queue the same key behind a barrier; both commit, one row."""
    patron_id, library_id = city["siti"].id, city["a"].id
    db.session.rollback()  # this thread holds no transaction (SQLite: no write lock) while the others run
    barrier = threading.Barrier(2)
    outcomes: list[bool] = []
    errors: list[BaseException] = []

    def worker() -> None:
        with app.app_context():
            try:
                barrier.wait(10)
                patron = db.session.get(Patron, patron_id)
                outcomes.append(queue_due_soon(patron, library_id, "due_soon:race:1") is not None)
                db.session.commit()
            except BaseException as exc:  # noqa: BLE001 - reported to the test thread below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert sorted(outcomes) == [False, True]
    assert len(all_notices()) == 1


def test_patron_who_chose_no_notices_gets_a_skipped_row(city: dict[str, Any]) -> None:
    """No channel: the row records the decision (status skipped) and is never sent."""
    notice = queue_due_soon(city["quiet"], city["a"].id, "due_soon:quiet:1")
    db.session.commit()
    assert notice is not None and notice.status == NoticeStatus.SKIPPED and notice.channel == "none"


# --- the daily scan ------------------------------------------------------------------------------------

def test_scan_queues_one_due_soon_notice_listing_every_loan_and_a_rerun_adds_nothing(city: dict[str, Any]) -> None:
    """Two loans due the same day: one notice for the patron and library; a second scan is a no-op."""
    loan = lend(city, "siti", "A-0001")
    lend(city, "siti", "A-0002")
    assert loan.due_at.astimezone(WITA).date().isoformat() == "2026-03-25"
    assert circ_jobs.scan(now=wita(3, 22))["due_soon"] == 0  # Sunday: three days ahead, outside the window
    first = circ_jobs.scan(now=wita(3, 23))
    assert send_runs_requested() == 1  # one send run for the whole scan, pushed after its commit
    again = circ_jobs.scan(now=wita(3, 23, 9, 0))
    next_day = circ_jobs.scan(now=wita(3, 24))
    assert (first["due_soon"], again["due_soon"], next_day["due_soon"]) == (1, 0, 0)
    assert send_runs_requested() == 1 and jobs.queue("notices").count == 1
    [notice] = all_notices()
    assert notice.dedupe_key == f"due_soon:{city['siti'].id}:{city['a'].id}:2026-03-23"
    assert notice.kind == NoticeKind.DUE_SOON and notice.status == NoticeStatus.PENDING
    # Structure rather than wording (the lead translates): name, both titles, local due date, library.
    for part in ("Siti Aminah", TITLE, "Laskar Pelangi", "25-03-2026", "Perpustakaan Kelurahan Api-Api"):
        assert part in notice.body, part


def test_a_loan_lent_after_the_reminder_gets_its_own_reminder(city: dict[str, Any]) -> None:
    """The once-per-loan rule looks at each loan: a new loan in the window is reminded the next day."""
    lend(city, "siti", "A-0001")
    circ_jobs.scan(now=wita(3, 23))
    lend(city, "siti", "A-0002", at=wita(3, 23, 10, 0))  # a 7-day loan: due 31 March
    assert circ_jobs.scan(now=wita(3, 24))["due_soon"] == 0
    assert circ_jobs.scan(now=wita(3, 29))["due_soon"] == 1
    assert [n.dedupe_key.rsplit(":", 1)[1] for n in all_notices() if n.kind == NoticeKind.DUE_SOON] == [
        "2026-03-23", "2026-03-29"]


def test_overdue_reminders_at_1_7_and_14_days_then_no_more(city: dict[str, Any]) -> None:
    """A batch gets exactly three overdue reminders, whatever the number of daily scans."""
    lend(city, "siti", "A-0001")
    day = wita(3, 25)
    while day < wita(4, 30):
        circ_jobs.scan(now=day)
        circ_jobs.scan(now=day)  # every scan twice: reruns never add a row
        day += timedelta(days=1)
    overdue = [n for n in all_notices() if n.kind == NoticeKind.OVERDUE]
    prefix = f"overdue:{city['siti'].id}:{city['a'].id}:2026-03-25:"
    assert [n.dedupe_key for n in overdue] == [prefix + "1", prefix + "7", prefix + "14"]
    assert [n.created_at.astimezone(WITA).date().isoformat() for n in overdue] == [
        "2026-03-26", "2026-04-01", "2026-04-08"]
    assert all(TITLE in n.body and "25-03-2026" in n.body for n in overdue)


def test_a_level_missed_while_the_scan_was_down_is_skipped_not_sent_late(city: dict[str, Any]) -> None:
    """First scan at 8 days late: only the 7-day reminder, never the 1-day one as well."""
    lend(city, "siti", "A-0001")
    assert circ_jobs.scan(now=wita(4, 2))["overdue"] == 1
    assert [n.dedupe_key.rsplit(":", 1)[1] for n in all_notices()] == ["7"]


def test_returned_and_erased_loans_are_not_reminded(city: dict[str, Any]) -> None:
    """Only active loans count."""
    lend(city, "siti", "A-0001")
    desk.checkin(actor=city["desk_a"], barcode="A-0001", library_id=city["a"].id, now=wita(3, 20, 9))
    db.session.commit()
    assert circ_jobs.scan(now=wita(3, 26)) == {"due_soon": 0, "overdue": 0, "existing": 0, "libraries": 0}


# --- sending ---------------------------------------------------------------------------------------------

def test_send_delivers_each_notice_once_by_email_and_webhook(city: dict[str, Any], smtp: SmtpServer,
                                                             hook: HookServer) -> None:
    """Normal path: one e-mail to Siti, one gateway POST for Budi; a rerun sends nothing."""
    queue_due_soon(city["siti"], city["a"].id, "due_soon:siti:1")
    queue_due_soon(city["budi"], city["a"].id, "due_soon:budi:1")
    db.session.commit()
    counts = circ_jobs.send_pending(now=MONDAY)
    assert counts["sent"] == 2
    assert circ_jobs.send_pending(now=MONDAY + timedelta(minutes=10))["sent"] == 0

    [mail] = smtp.messages
    assert mail["To"] == "siti@example.org" and mail["From"] == "perpustakaan@bontangkota.go.id"
    assert mail["Message-ID"] == "<due_soon.siti.1@bontangkota.go.id>"
    assert "Siti Aminah" in mail.get_content() and TITLE in mail.get_content()

    [(headers, body)] = hook.requests
    assert headers["Idempotency-Key"] == "due_soon:budi:1"
    assert headers["Authorization"] == "Bearer gateway-token"
    payload = json.loads(body)
    budi_notice = [n for n in all_notices() if n.patron_id == city["budi"].id][0]
    assert payload == {"to": "+6281255550101", "message": budi_notice.body, "ref": "due_soon:budi:1"}

    for notice in all_notices():
        assert (notice.status, notice.attempts, notice.last_error) == (NoticeStatus.SENT, 1, "")
        assert notice.sent_at == MONDAY


def test_unconfigured_channel_leaves_the_notice_waiting_until_it_is_configured(
        app: Flask, city: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """No SMTP host: not an attempt and not a failure; once configured, it goes out."""
    queue_due_soon(city["siti"], city["a"].id, "due_soon:siti:wait")
    db.session.commit()
    for minute in (0, 10, 20, 30, 40, 50, 60):  # more runs than the attempt limit
        assert circ_jobs.send_pending(now=MONDAY + timedelta(minutes=minute))["waiting"] == 1
    [notice] = all_notices()
    assert (notice.status, notice.attempts) == (NoticeStatus.PENDING, 0)
    assert "CIRCULATION_SMTP_HOST" in notice.last_error
    server = SmtpServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setitem(app.config, "CIRCULATION_SMTP_HOST", "127.0.0.1")
        monkeypatch.setitem(app.config, "CIRCULATION_SMTP_PORT", server.server_address[1])
        monkeypatch.setitem(app.config, "CIRCULATION_SMTP_STARTTLS", False)
        assert circ_jobs.send_pending(now=MONDAY + timedelta(hours=2))["sent"] == 1
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
    assert len(server.messages) == 1 and all_notices()[0].status == NoticeStatus.SENT


def test_a_member_who_withdrew_consent_after_queueing_is_not_written_to(city: dict[str, Any],
                                                                      smtp: SmtpServer) -> None:
    """The choice of no notices takes effect for notices already waiting."""
    queue_due_soon(city["siti"], city["a"].id, "due_soon:siti:withdrawn")
    city["siti"].notice_channel = "none"
    db.session.commit()
    assert circ_jobs.send_pending(now=MONDAY)["skipped"] == 1
    assert smtp.messages == [] and all_notices()[0].status == NoticeStatus.SKIPPED


def test_failures_are_retried_then_failed_and_staff_can_retry(app: Flask, city: dict[str, Any], hook: HookServer,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A gateway answering 500 costs one attempt per run; at the limit the notice is failed."""
    monkeypatch.setitem(app.config, "CIRCULATION_NOTICE_MAX_ATTEMPTS", 3)
    hook.status = 500
    queue_due_soon(city["budi"], city["a"].id, "due_soon:budi:flaky")
    db.session.commit()
    outcomes = [circ_jobs.send_pending(now=MONDAY + timedelta(minutes=10 * i)) for i in range(5)]
    assert [(o["retry"], o["failed"]) for o in outcomes] == [(1, 0), (1, 0), (0, 1), (0, 0), (0, 0)]
    [notice] = all_notices()
    assert (notice.status, notice.attempts, notice.last_error) == (NoticeStatus.FAILED, 3, "HTTP 500")
    assert len(hook.requests) == 3

    hook.status = 200
    librarian = Actor(label="head.a", role=Role.LIBRARIAN, library_id=city["a"].id)
    assert notices.retry_failed(actor=librarian, library_id=city["a"].id, now=MONDAY) == 1
    db.session.commit()
    assert circ_jobs.send_pending(now=MONDAY + timedelta(hours=1))["sent"] == 1
    assert all_notices()[0].status == NoticeStatus.SENT and len(hook.requests) == 4


def test_worker_killed_mid_send_is_resent_exactly_once_after_15_minutes(city: dict[str, Any],
                                                                        smtp: SmtpServer) -> None:
    """A claim left in 'sending' is not touched for 15 minutes, then resent once with the same Message-ID."""
    notice = queue_due_soon(city["siti"], city["a"].id, "due_soon:siti:crash")
    db.session.commit()
    assert notice is not None
    notice_id = notice.id
    assert circ_jobs.claim(notice_id, now=MONDAY)  # the worker claimed it ... and was killed
    assert not circ_jobs.claim(notice_id, now=MONDAY)  # nobody else can claim it meanwhile

    early = circ_jobs.send_pending(now=MONDAY + timedelta(minutes=14))
    assert (early["reclaimed"], early["sent"], len(smtp.messages)) == (0, 0, 0)
    assert all_notices()[0].status == NoticeStatus.SENDING

    late = circ_jobs.send_pending(now=MONDAY + timedelta(minutes=16))
    assert (late["reclaimed"], late["sent"]) == (1, 1)
    for minute in (26, 36, 46):
        assert circ_jobs.send_pending(now=MONDAY + timedelta(minutes=minute))["sent"] == 0
    assert [m["Message-ID"] for m in smtp.messages] == ["<due_soon.siti.crash@bontangkota.go.id>"]
    [row] = all_notices()
    assert (row.status, row.attempts) == (NoticeStatus.SENT, 2)


def test_two_send_runs_at_once_deliver_each_notice_exactly_once(app: Flask, city: dict[str, Any],
                                                                smtp: SmtpServer) -> None:
    """The claim UPDATE has one winner per notice, whichever run gets there first."""
    for n in range(12):
        queue_due_soon(city["siti"], city["a"].id, f"due_soon:siti:many:{n}")
    db.session.commit()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run() -> None:
        with app.app_context():
            try:
                barrier.wait(10)
                circ_jobs.send_pending(now=MONDAY)
            except BaseException as exc:  # noqa: BLE001 - reported to the test thread below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    ids = sorted(m["Message-ID"] for m in smtp.messages)
    assert len(ids) == 12 and len(set(ids)) == 12
    assert {(n.status, n.attempts) for n in all_notices()} == {(NoticeStatus.SENT, 1)}


def test_webhook_body_escapes_values_and_a_broken_template_is_a_configuration_error() -> None:
    """Placeholders are JSON-escaped and expanded once; a template that is not JSON is not configured."""
    values = {"phone": "+62812", "text": 'Baca "Pesut"\nlalu {key}', "subject": "S", "key": "k:1"}
    body = notify.webhook_body('{"to": "{phone}", "m": "{text}", "k": "{key}"}', values)
    assert json.loads(body) == {"to": "+62812", "m": 'Baca "Pesut"\nlalu {key}', "k": "k:1"}
    message = notify.Message(key="k:1", to="+62812", subject="S", text="t")
    with pytest.raises(notify.NotConfigured):
        notify.send_webhook(message, {"CIRCULATION_WEBHOOK_URL": "http://127.0.0.1:9/x",
                                      "CIRCULATION_WEBHOOK_TEMPLATE": "to={phone}&text={text}"})
    with pytest.raises(notify.NotConfigured):
        notify.send_webhook(message, {"CIRCULATION_WEBHOOK_URL": "file:///etc/passwd",
                                      "CIRCULATION_WEBHOOK_TEMPLATE": "{}"})
    with pytest.raises(notify.NotConfigured):
        notify.deliver("carrier-pigeon", message, {})


def test_another_gateway_plugs_into_the_registry(city: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """A channel registered under a new name is used for notices queued on that channel."""
    delivered: list[notify.Message] = []
    monkeypatch.setitem(notify.SENDERS, "sms", notify.Channel(name="sms", send=lambda m, c: delivered.append(m),
                                                              address_field="phone"))
    notice = queue_due_soon(city["budi"], city["a"].id, "due_soon:budi:sms")
    assert notice is not None
    notice.channel = "sms"
    db.session.commit()
    assert circ_jobs.send_pending(now=MONDAY)["sent"] == 1
    assert [(m.to, m.key) for m in delivered] == [("+6281255550101", "due_soon:budi:sms")]


# --- hold-ready notices at the desk, with and without Redis ---------------------------------------------

def _hold_ready_at_checkin(city: dict[str, Any]) -> int:
    """Budi holds the title Siti has; Siti returns it at A, Budi's pickup library: the hold is ready (its id)."""
    lend(city, "siti", "A-0001")
    hold = holds.place(actor=city["desk_a"], patron=city["budi"], record_id=city["record"].id,
                       pickup_library_id=city["a"].id, now=MONDAY + timedelta(hours=1))
    db.session.commit()
    result = desk.checkin(actor=city["desk_a"], barcode="A-0001", library_id=city["a"].id,
                          now=MONDAY + timedelta(days=1))
    db.session.commit()
    assert result.action == "hold_shelf" and result.hold is not None and result.hold.id == hold.id
    return hold.id


def test_check_in_with_redis_down_queues_the_notice_and_the_send_run_delivers_it_later(
        app: Flask, city: dict[str, Any], hook: HookServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """R15: no Redis, no failure. The notice waits in the outbox; the periodic run sends it."""
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens there
    assert not jobs.redis_ok()
    hold_id = _hold_ready_at_checkin(city)
    [notice] = all_notices()
    assert (notice.kind, notice.dedupe_key, notice.status) == (NoticeKind.HOLD_READY, f"hold_ready:{hold_id}",
                                                               NoticeStatus.PENDING)
    assert TITLE in notice.body and "Budi Santoso" in notice.body and "Api-Api" in notice.body
    assert db.session.scalars(select(JobRecord).where(JobRecord.kind == "circulation.send_notices")).all() == []
    monkeypatch.setitem(app.config, "REDIS_URL", "fakeredis://")
    assert circ_jobs.send_pending(now=MONDAY + timedelta(days=1, minutes=10))["sent"] == 1
    assert [json.loads(body)["to"] for _headers, body in hook.requests] == ["+6281255550101"]


def test_a_broken_queue_never_fails_the_check_in(city: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever goes wrong while asking for a send run, the check-in and its notice are committed."""
    def broken() -> bool:
        raise RuntimeError("queue exploded")

    monkeypatch.setattr(jobs, "redis_ok", broken)
    hold_id = _hold_ready_at_checkin(city)
    assert db.session.get(Hold, hold_id, populate_existing=True).status == HoldStatus.READY
    assert [n.dedupe_key for n in all_notices()] == [f"hold_ready:{hold_id}"]


def test_with_redis_up_the_check_in_asks_for_one_send_run_after_commit(city: dict[str, Any],
                                                                        hook: HookServer) -> None:
    """The notice goes out right away: a send job is queued after the commit and runs in a worker."""
    _hold_ready_at_checkin(city)
    [record] = db.session.scalars(select(JobRecord).where(JobRecord.kind == "circulation.send_notices")).all()
    record_id = record.id
    assert record.args == {} and jobs.queue("notices").job_ids == [record_id]
    jobs.run_burst(("notices",))
    assert len(hook.requests) == 1
    assert db.session.get(JobRecord, record_id).status == JobStatus.FINISHED
    assert all_notices()[0].status == NoticeStatus.SENT


# --- the other circulation jobs --------------------------------------------------------------------------

def test_expire_holds_job_closes_uncollected_holds(city: dict[str, Any]) -> None:
    """The job (run by a worker) expires a hold left on the shelf past its last day."""
    hold_id = _hold_ready_at_checkin(city)
    record_id = jobs.enqueue("circulation.expire_holds", actor=SYSTEM).id
    db.session.commit()
    jobs.run_burst(("default",))
    record = db.session.get(JobRecord, record_id)
    assert record.status == JobStatus.FINISHED and record.result == {"expired": 1}
    assert db.session.get(Hold, hold_id, populate_existing=True).status == HoldStatus.EXPIRED


def test_anonymise_job_cuts_old_returned_loans_unless_history_was_chosen(app: Flask, city: dict[str, Any],
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """After the retention period the patron link goes; opted-in histories and recent returns stay."""
    monkeypatch.setitem(app.config, "CIRCULATION_ANONYMISE_AFTER_DAYS", 30)
    reader = make_patron("Dewi Lestari", city["a"], now=MONDAY, history_opt_in=True)
    db.session.commit()
    city["dewi"] = reader
    old = lend(city, "siti", "A-0001")
    kept = lend(city, "dewi", "A-0002")
    for barcode in ("A-0001", "A-0002"):
        desk.checkin(actor=city["desk_a"], barcode=barcode, library_id=city["a"].id, now=wita(3, 20, 9))
    recent = lend(city, "siti", "A-0001", at=wita(4, 15, 9))
    desk.checkin(actor=city["desk_a"], barcode="A-0001", library_id=city["a"].id, now=wita(4, 16, 9))
    db.session.commit()
    ids = (old.id, kept.id, recent.id)

    result = circ_jobs.anonymise_returned(now=wita(4, 30), after_days=30, actor=SYSTEM)
    assert result == {"anonymised": 1, "kept_history": 1}
    rows = {loan.id: loan for loan in db.session.scalars(
        select(Loan).where(Loan.id.in_(ids)).execution_options(populate_existing=True))}
    assert (rows[old.id].patron_id, rows[old.id].anonymised) == (None, True)
    assert rows[old.id].patron_category == "umum"  # statistics survive
    assert rows[kept.id].patron_id == reader.id and rows[recent.id].patron_id == city["siti"].id
    assert circ_jobs.anonymise_returned(now=wita(4, 30), after_days=30, actor=SYSTEM)["anonymised"] == 0

    record_id = jobs.enqueue("circulation.anonymise_loans", actor=SYSTEM).id  # real clock: months later
    db.session.commit()
    jobs.run_burst(("default",))
    assert db.session.get(JobRecord, record_id).result == {"anonymised": 1, "kept_history": 1, "notice_texts_cleared": 0}
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "loan.anonymise")) == 3


def test_periodic_entries_name_registered_jobs() -> None:
    """The four circulation jobs are scheduled, each under a registered kind."""
    from ils.schedule import SCHEDULE

    planned = {entry.kind: entry.cron for entry in SCHEDULE if entry.kind.startswith("circulation.")}
    assert planned == {"circulation.scan_notices": "15 7 * * *", "circulation.send_notices": "*/10 * * * *",
                       "circulation.expire_holds": "5 0 * * *", "circulation.anonymise_loans": "40 2 * * *"}
    assert set(planned) <= set(jobs.JOBS)
    assert all(jobs.JOBS[kind].queue in jobs.QUEUES for kind in planned)
    assert jobs.JOBS["circulation.send_notices"].queue == "notices"


# --- the staff delivery page -------------------------------------------------------------------------------

@pytest.fixture
def outbox(network: Network) -> dict[str, int]:
    """A sent, a failed and a pending notice at A; one notice at B whose body must never show at A."""
    siti = make_patron("Siti Aminah", network.a, now=MONDAY, email="siti@example.org")
    wati = make_patron("Wati Rahayu", network.b, now=MONDAY, email="wati@example.org")
    made: dict[str, Notice] = {}
    for key, patron, library, status in (("a:sent", siti, network.a, NoticeStatus.SENT),
                                         ("a:failed", siti, network.a, NoticeStatus.FAILED),
                                         ("a:pending", siti, network.a, NoticeStatus.PENDING),
                                         ("b:pending", wati, network.b, NoticeStatus.PENDING)):
        notice = notices.queue(kind=NoticeKind.OVERDUE, patron=patron, library_id=library.id, key=key,
                               context={"lines": [NoticeLine(title=f"Judul {key}", due=MONDAY.date())]}, now=MONDAY,
                               request_send=False)
        assert notice is not None
        notice.status = status
        if status == NoticeStatus.FAILED:
            notice.attempts, notice.last_error = 5, "HTTP 503"
        made[key] = notice
    db.session.commit()
    return {key: notice.id for key, notice in made.items()}


def test_delivery_page_shows_statuses_of_my_library_only(client: FlaskClient, network: Network,
                                                         outbox: dict[str, int]) -> None:
    """A circulation clerk at A sees A's notices with status, attempts and error, never B's body."""
    login(client, "u.circulation")
    page = client.get("/circulation/notices").get_data(as_text=True)
    assert page.count('class="notice-row"') == 3
    for status in ("sent", "failed", "pending"):
        assert f'data-status="{status}"' in page
    assert "HTTP 503" in page and "Judul a:sent" in page
    assert "Judul b:pending" not in page and "Wati" not in page
    failed_only = client.get("/circulation/notices?status=failed").get_data(as_text=True)
    assert failed_only.count('class="notice-row"') == 1 and 'data-status="failed"' in failed_only
    # A value outside the allowlist is ignored, not passed to the query.
    assert client.get("/circulation/notices?status=bogus'--&kind=x").status_code == 200
    # Another library's notices are refused, not silently replaced by mine.
    assert client.get(f"/circulation/notices?library={network.b.id}").status_code == 403
    assert client.post(f"/circulation/notices/retry?library={network.b.id}").status_code == 403


def test_network_role_sees_every_library_and_may_narrow_to_one(client: FlaskClient, network: Network,
                                                               outbox: dict[str, int]) -> None:
    """The DPK sees all notices, or one library's with ?library=."""
    login(client, "u.dpk")
    assert client.get("/circulation/notices").get_data(as_text=True).count('class="notice-row"') == 4
    only_b = client.get(f"/circulation/notices?library={network.b.id}").get_data(as_text=True)
    assert only_b.count('class="notice-row"') == 1 and "Judul b:pending" in only_b


def test_retry_failed_from_the_page(client: FlaskClient, network: Network, outbox: dict[str, int]) -> None:
    """The POST puts A's failed notice back to pending with its attempts reset, and is audited."""
    login(client, "u.circulation")
    response = client.post("/circulation/notices/retry")
    assert response.status_code == 302 and response.headers["Location"].endswith("/circulation/notices")
    notice = db.session.get(Notice, outbox["a:failed"], populate_existing=True)
    assert (notice.status, notice.attempts) == (NoticeStatus.PENDING, 0)
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "notice.retry")) == 1


@pytest.mark.parametrize("role", ["assessor", "cataloguer"])
def test_roles_without_notices_view_are_refused(client: FlaskClient, network: Network, outbox: dict[str, int],
                                                role: str) -> None:
    """Deny by default: no page, no retry."""
    login(client, f"u.{role}")
    assert client.get("/circulation/notices").status_code == 403
    assert client.post("/circulation/notices/retry").status_code == 403
    assert db.session.get(Notice, outbox["a:failed"], populate_existing=True).status == NoticeStatus.FAILED


def test_old_notice_texts_are_cleared_but_the_rows_stay(network: Network) -> None:
    """The nightly privacy job blanks texts of notices done more than CIRCULATION_NOTICE_TEXT_DAYS ago."""
    from circulation.jobs import clear_notice_texts
    from circulation.models import Notice, NoticeKind, NoticeStatus

    now = datetime(2026, 11, 27, 1, 0, tzinfo=timezone.utc)
    old = Notice(dedupe_key="old", kind=NoticeKind.OVERDUE, channel="email", library_id=network.a.id,
                 subject="Terlambat", body="Halo Siti, buku X terlambat", status=NoticeStatus.SENT,
                 created_at=now - timedelta(days=91))
    waiting = Notice(dedupe_key="waiting", kind=NoticeKind.OVERDUE, channel="email", library_id=network.a.id,
                     subject="Terlambat", body="Halo Budi", status=NoticeStatus.PENDING,
                     created_at=now - timedelta(days=120))
    recent = Notice(dedupe_key="recent", kind=NoticeKind.OVERDUE, channel="email", library_id=network.a.id,
                    subject="Terlambat", body="Halo Ani", status=NoticeStatus.SENT, created_at=now - timedelta(days=5))
    db.session.add_all([old, waiting, recent])
    db.session.commit()
    assert clear_notice_texts(now=now, after_days=90) == 1
    db.session.expire_all()
    assert (old.body, old.subject, old.status) == ("", "", NoticeStatus.SENT)
    assert waiting.body == "Halo Budi" and recent.body == "Halo Ani"
