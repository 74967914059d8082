"""Background jobs: enqueue after commit, progress mirrored in JobRecord, failure and retry, cron."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from ils import jobs
from ils.services import jobs as job_services
from ils.authz import Actor
from ils.errors import Forbidden, PolicyViolation, ValidationFailed
from ils.extensions import db
from ils.mixins import utcnow
from ils.models import AuditEvent, JobRecord, JobStatus
from ils.schedule import SCHEDULE, Periodic
from ils.services.staff import actor_for
from tests.factories import Network, login

CALLS: list[dict[str, Any]] = []


@jobs.register_job("test.flaky", queue="default")
def flaky(ctx: jobs.JobContext, fail: bool | str = False) -> dict[str, Any]:
    """A test job that reports progress and fails on request (fail="policy": with our own error)."""
    ctx.progress(50, "half")
    CALLS.append({"record": ctx.record_id, "fail": fail})
    if fail == "policy":
        raise PolicyViolation("Kuota cetak kartu habis.")
    if fail:
        raise RuntimeError("disk full while writing Budi Santoso's card")
    return {"ok": True}


def _queued(name: str = "default") -> list[str]:
    return jobs.queue(name).job_ids


def test_enqueue_pushes_only_after_commit(ctx: Flask) -> None:
    """Nothing reaches Redis before the commit; a rollback drops the job entirely."""
    record = jobs.enqueue("test.flaky", actor=Actor.system())
    assert _queued() == []
    db.session.rollback()
    assert _queued() == [] and db.session.get(JobRecord, record.id) is None
    record = jobs.enqueue("test.flaky", actor=Actor.system())
    db.session.commit()
    assert _queued() == [record.id]


def test_job_runs_and_mirrors_progress_and_result(ctx: Flask) -> None:
    """A worker run marks the record started, then finished at 100 % with the result."""
    record_id = jobs.enqueue("test.flaky", actor=Actor.system()).id
    db.session.commit()
    jobs.run_burst()
    record = db.session.get(JobRecord, record_id)
    assert record.status == JobStatus.FINISHED and record.progress == 100 and record.result == {"ok": True}
    assert record.message == "half" and record.started_at <= record.ended_at
    assert record.ended_at.tzinfo is not None


def test_failed_job_keeps_error_and_can_be_retried(ctx: Flask, network: Network) -> None:
    """A failing job is FAILED with its error; retry makes a linked new record that runs again."""
    CALLS.clear()
    cataloguer, librarian = actor_for(network.users["cataloguer"]), actor_for(network.users["librarian"])
    record_id = jobs.enqueue("test.flaky", actor=Actor.system(), library_id=network.a.id, args={"fail": True}).id
    db.session.commit()
    jobs.run_burst()  # ends the session, like a real worker: keep plain values only
    failed = db.session.get(JobRecord, record_id)
    # progress() is a committed checkpoint: the record shows how far the job got before failing.
    assert failed.status == JobStatus.FAILED and failed.progress == 50
    # Raw exception text may carry data; staff see only the kind of error.
    assert "RuntimeError" in failed.error and "Budi" not in failed.error
    with pytest.raises(Forbidden):
        job_services.retry(actor=cataloguer, job_id=record_id)
    new = job_services.retry(actor=librarian, job_id=record_id)
    db.session.commit()
    assert new.retry_of_id == record_id and new.args == {"fail": True}
    with pytest.raises(PolicyViolation):
        job_services.retry(actor=librarian, job_id=new.id)
    assert len(CALLS) == 1


def test_our_own_errors_are_shown_to_staff(ctx: Flask) -> None:
    """An IlsError's message (written for librarians) is kept as the job's error."""
    record_id = jobs.enqueue("test.flaky", actor=Actor.system(), args={"fail": "policy"}).id
    db.session.commit()
    jobs.run_burst()
    assert db.session.get(JobRecord, record_id).error == "Kuota cetak kartu habis."


def test_running_a_finished_job_twice_is_a_no_op(ctx: Flask) -> None:
    """Jobs can run twice: a finished record is not executed again."""
    CALLS.clear()
    record_id = jobs.enqueue("test.flaky", actor=Actor.system()).id
    db.session.commit()
    jobs.run_job(record_id)
    jobs.run_job(record_id)
    assert len(CALLS) == 1


def test_job_arguments_must_be_ids(ctx: Flask) -> None:
    """No objects or long text (personal data) in job arguments."""
    with pytest.raises(ValidationFailed):
        jobs.enqueue("test.flaky", actor=Actor.system(), args={"patron": {"name": "Budi", "nik": "6474"}})
    with pytest.raises(ValidationFailed):
        jobs.enqueue("test.flaky", actor=Actor.system(), args={"note": "x" * 100})
    for personal in ("Budi Santoso", "6474012345678901", 6474012345678901, "0812-5555-1234"):
        with pytest.raises(ValidationFailed):
            jobs.enqueue("test.flaky", actor=Actor.system(), args={"who": personal})
    assert jobs.enqueue("test.flaky", actor=Actor.system(), args={"library_id": 7, "code": "KEL-BK"}).args


def test_redis_outage_marks_the_job_failed(ctx: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """If the queue is down at commit, the record says so (and can be retried later)."""
    import redis

    def down(*_args: Any, **_kwargs: Any) -> None:
        raise redis.exceptions.ConnectionError("down")

    monkeypatch.setattr(jobs, "connection", down)
    record_id = jobs.enqueue("test.flaky", actor=Actor.system()).id
    db.session.commit()
    record = db.session.get(JobRecord, record_id)
    db.session.refresh(record)
    assert record.status == JobStatus.FAILED and record.error


def test_network_report_from_the_ui(client: FlaskClient, network: Network) -> None:
    """A librarian starts the report; it covers only their library; the page shows progress."""
    library_a, other_job = network.a.id, network.job_b.id
    login(client, "u.librarian")
    response = client.post("/jobs/network-report")
    job_id = response.headers["Location"].rsplit("/", 1)[1]
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert 'class="job-progress"' in page and 'data-done="false"' in page
    jobs.run_burst()
    status = client.get(f"/jobs/status.json?id={job_id}&id={other_job}").get_json()
    assert [j["id"] for j in status["jobs"]] == [job_id]  # the other library's job is filtered out
    assert status["jobs"][0]["status"] == "finished" and status["jobs"][0]["progress"] == 100
    record = db.session.get(JobRecord, job_id)
    assert [row["code"] for row in record.result["libraries"]] == ["LIB-A"]
    assert record.started_by_label == "u.librarian" and record.library_id == library_a
    started = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "job.start"))
    assert started.object_id == job_id and started.actor_label == "u.librarian"
    assert "LIB-A" in client.get(f"/jobs/{job_id}").get_data(as_text=True)


def test_jobs_list_is_scoped(client: FlaskClient, network: Network) -> None:
    """Staff see their library's jobs only."""
    login(client, "u.cataloguer")
    page = client.get("/jobs/").get_data(as_text=True)
    assert network.job_a.id in page and network.job_b.id not in page


def test_purge_removes_old_records_only(ctx: Flask) -> None:
    """The periodic purge deletes finished/failed records past retention and keeps the rest."""
    old = utcnow() - timedelta(days=ctx.config["ILS_JOB_RECORD_RETENTION_DAYS"] + 1)
    for ident, status, created in (("old-done", JobStatus.FINISHED, old), ("old-queued", JobStatus.QUEUED, old),
                                   ("new-done", JobStatus.FINISHED, utcnow())):
        db.session.add(JobRecord(id=ident, kind="test.flaky", queue="default", args={}, status=status,
                                 started_by_label="t", created_at=created))
    db.session.commit()
    record_id = jobs.enqueue("ils.purge_job_records", actor=Actor.system()).id
    db.session.commit()
    jobs.run_burst()
    remaining = set(db.session.scalars(select(JobRecord.id)))
    assert remaining == {"old-queued", "new-done", record_id}
    assert db.session.get(JobRecord, record_id).result["removed"] == 1


def test_cron_due_entries_in_wita() -> None:
    """'0 1 * * *' fires at 01:00 Asia/Makassar, i.e. 17:00 UTC the day before."""
    entry = Periodic("x", "0 1 * * *", "test")
    last = datetime(2026, 11, 20, 16, 59, 30, tzinfo=timezone.utc)
    assert jobs.due_entries([entry], last, last + timedelta(seconds=20)) == []
    due = jobs.due_entries([entry], last, last + timedelta(seconds=40))
    assert len(due) == 1 and due[0][1].astimezone(timezone.utc) == datetime(2026, 11, 20, 17, 0, tzinfo=timezone.utc)


def test_periodic_enqueue_is_idempotent(ctx: Flask) -> None:
    """Two schedulers (or a restart) enqueue a periodic run once."""
    entry = SCHEDULE[0]
    fire_at = datetime(2026, 11, 21, 1, 0, tzinfo=timezone.utc)
    assert jobs.enqueue_periodic(entry, fire_at) is not None
    assert jobs.enqueue_periodic(entry, fire_at) is None
    assert len(_queued("reports")) == 1
    assert {e.kind for e in SCHEDULE} <= set(jobs.JOBS)


def test_scheduler_start_catches_up_jobs_marked_at_start(ctx: Flask) -> None:
    """The outbox job runs once when the scheduler starts (pending changes reach search without waiting)."""
    entries = [Periodic("catalog.index_changes", "7 * * * *", "catch up", at_start=True),
               Periodic("ils.network_report", "0 1 * * *", "nightly")]
    assert jobs.cron_loop(entries, stop_after=0) == 1
    kinds = [r.kind for r in db.session.scalars(select(JobRecord))]
    assert kinds == ["catalog.index_changes"]
    assert [e.kind for e in SCHEDULE if e.at_start] == ["catalog.index_changes"]


def test_without_redis_url_the_embedded_socket_is_used(ctx: Flask, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """CLI commands beside `serve` find its embedded Redis; with none, a clear error."""
    monkeypatch.setitem(ctx.config, "REDIS_URL", None)
    monkeypatch.setattr(ctx, "instance_path", str(tmp_path))
    import redis

    with pytest.raises(redis.exceptions.RedisError, match="REDIS_URL is not set"):
        jobs.connection()
    proc, url = jobs.start_embedded_redis(str(tmp_path))
    try:
        assert jobs.connection().ping() and url.endswith("redis.sock")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
