"""A worker killed (SIGKILL) in the middle of an import, then resumed: nothing twice, nothing lost.

Runs a real `flask --app ils jobs worker` process on a real Redis (CI's, or the embedded one) and
kills it and its work horse while the batch is in the middle of the file.
"""
from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from catalog import marc
from catalog.build import QuickEntry, build
from catalog.models import BatchStatus, ImportBatch, ImportRow, Item, Record
from catalog.services import imports
from ils import jobs
from ils.authz import Actor
from ils.extensions import db, sqlite_write_intent
from ils.mixins import utcnow
from ils.models import JobRecord, JobStatus
from tests.conftest import REPO
from tests.factories import make_library
from tests.test_real_worker import redis_url  # noqa: F401  (fixture)

RECORDS = 4000


def _file() -> bytes:
    out = io.BytesIO()
    for n in range(RECORDS):
        record = build(QuickEntry(title=f"Catatan Lapangan Nelayan Jilid {n}", authors=[f"Penulis, Nomor {n % 97}"],
                                  year=1990 + n % 30), org_code="T", today=date(2026, 1, 1))
        record["fields"].append({"952": {"ind1": " ", "ind2": " ", "subfields": [{"p": f"KILL{n:05d}"}]}})
        out.write(marc.iso2709(record))
    return out.getvalue()


def _descendants(pid: int) -> list[int]:
    """Child processes, recursively (RQ's work horse runs in a session of its own, so killpg misses it)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _kill_all(pid: int) -> None:
    """SIGKILL a worker and everything it started, as a power cut or the OOM killer would."""
    for target in [pid, *_descendants(pid)]:
        try:
            os.kill(target, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([sys.executable, "-m", "flask", "--app", "ils", "jobs", "worker", "--burst",
                                 "import"], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=out,
                                start_new_session=True)


@pytest.mark.slow
def test_killed_import_worker_resumes_without_duplicates(app: Flask, redis_url: str,  # noqa: F811
                                                         tmp_path: Path) -> None:
    previous = app.config["REDIS_URL"]
    app.config["REDIS_URL"] = redis_url
    env = dict(os.environ, ILS_CONFIG="config.TestingConfig", REDIS_URL=redis_url, CATALOG_IMPORT_CHUNK="50",
               DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               ILS_INSTANCE_PATH=app.instance_path)
    try:
        with app.app_context():
            jobs.queue("import").empty()
            library = make_library("LIB-K")
            actor = Actor.system("test")
            batch = imports.start_import(stream=io.BytesIO(_file()), filename="besar.mrc", library_id=library.id,
                                         actor=actor, max_bytes=None)
            db.session.commit()
            batch_id, first_job = batch.id, batch.job_id
            db.session.remove()
        log = tmp_path / "worker.log"
        worker = _worker(env, log)
        position = 0
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and worker.poll() is None:
            with app.app_context():
                sqlite_write_intent.set(False)  # a reader: never wait behind the worker's write lock
                position = db.session.scalar(select(ImportBatch.position).where(ImportBatch.id == batch_id)) or 0
                db.session.remove()
                sqlite_write_intent.set(True)
            if position >= 100:
                break
            time.sleep(0.05)
        assert worker.poll() is None, "the worker ended before it could be killed: " + log.read_text()[-500:]
        # The file is over CATALOG_IMPORT_HELPER_MIN_BYTES: a helper process reads while the work horse stores.
        assert any(b"catalog.staging" in _cmdline(pid) for pid in _descendants(worker.pid))
        _kill_all(worker.pid)
        worker.wait(timeout=30)
        time.sleep(0.5)  # let the database notice the dropped connections
        with app.app_context():
            batch = db.session.get(ImportBatch, batch_id)
            killed_at = batch.position
            assert 100 <= killed_at < RECORDS and batch.status == BatchStatus.RUNNING, killed_at
            assert db.session.get(JobRecord, first_job).status == JobStatus.STARTED  # its worker is gone
            # What was committed is consistent: one report row and one record per position done.
            assert db.session.scalar(select(func.count()).select_from(ImportRow)) == killed_at
            assert imports.resumable(batch, db.session.get(JobRecord, first_job),
                                     now=utcnow().replace(year=utcnow().year + 1))
            jobs.queue("import").empty()  # the killed job's queue entry is gone with it in real life too
            db.session.get(JobRecord, first_job).status = JobStatus.FAILED  # what RQ's cleanup reports
            imports.resume_import(batch_id=batch_id, actor=actor, now=utcnow())
            db.session.commit()
            db.session.remove()
        done = _worker(env, log)
        assert done.wait(timeout=300) == 0, log.read_text()[-2000:]
        with app.app_context():
            batch = db.session.get(ImportBatch, batch_id)
            assert batch.status == BatchStatus.DONE and batch.position == RECORDS
            assert batch.counts["new"] == RECORDS and batch.counts["items"] == RECORDS
            assert db.session.scalar(select(func.count()).select_from(Record)) == RECORDS
            assert db.session.scalar(select(func.count(func.distinct(Item.barcode)))) == RECORDS
            assert db.session.scalar(select(func.count()).select_from(Item)) == RECORDS
            assert db.session.scalar(select(func.count()).select_from(ImportRow)) == RECORDS
            db.session.remove()
    finally:
        app.config["REDIS_URL"] = previous
