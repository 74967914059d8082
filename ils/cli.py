"""Command line: `flask --app ils users|libraries|jobs|demo|serve`.

CLI commands act as the system actor ``cli:<os user>`` and are audited like staff changes.
"""
from __future__ import annotations

import getpass
import os
import signal
import subprocess
import sys
import time
from typing import Any

import click
from flask import Flask, current_app
from redis.exceptions import RedisError
from flask.cli import AppGroup, with_appcontext

from ils import demo, jobs
from ils.authz import Actor
from ils.errors import IlsError
from ils.extensions import db
from ils.models import JobRecord, JobStatus, LibraryType, Role, StaffUser
from ils.schedule import SCHEDULE
from ils.services import jobs as job_services
from ils.services import libraries as library_services
from ils.services import staff as staff_services

users_cli = AppGroup("users", help="Manage staff accounts.")
libraries_cli = AppGroup("libraries", help="Manage the libraries of the network.")
jobs_cli = AppGroup("jobs", help="Background workers, the cron scheduler and job records.")


def _actor() -> Actor:
    return Actor.system(f"cli:{getpass.getuser()}")


def _run(call: Any) -> Any:
    """Run a service call, commit, and turn its errors into a clean CLI error."""
    try:
        result = call()
    except IlsError as exc:
        db.session.rollback()
        raise click.ClickException(f"{exc.field + ': ' if exc.field else ''}{exc.message}") from None
    db.session.commit()
    return result


def _library_id(code: str | None) -> int | None:
    if not code:
        return None
    library = library_services.get_by_code(code)
    if library is None:
        raise click.ClickException(f"No library with code {code}.")
    return library.id


def _user(username: str) -> StaffUser:
    user = db.session.scalar(db.select(StaffUser).where(StaffUser.username == username.lower()))
    if user is None:
        raise click.ClickException(f"No staff account {username}.")
    return user


# --- users ------------------------------------------------------------------------------------

@users_cli.command("create-admin")
@click.option("--username", prompt=True, help="Login name (small letters, digits, . - _).")
@click.option("--full-name", prompt=True, help="The person's name.")
@click.password_option(help="At least 10 characters; asked for twice when not given.")
def create_admin(username: str, full_name: str, password: str) -> None:
    """Create a system administrator (the first account of a new installation)."""
    user = _run(lambda: staff_services.create_staff(actor=_actor(), password=password, data={
        "username": username, "full_name": full_name, "role": Role.ADMIN.value}))
    click.echo(f"Administrator {user.username} created.")


@users_cli.command("create")
@click.option("--username", required=True)
@click.option("--full-name", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--library", "library_code", help="Library code; required except for admin and dpk.")
@click.option("--locale", default="id", type=click.Choice(["id", "en"]), show_default=True)
@click.password_option()
def create_user(username: str, full_name: str, role: str, library_code: str | None, locale: str,
                password: str) -> None:
    """Create a staff account."""
    user = _run(lambda: staff_services.create_staff(actor=_actor(), password=password, data={
        "username": username, "full_name": full_name, "role": role,
        "library_id": _library_id(library_code), "locale": locale}))
    click.echo(f"Account {user.username} ({user.role.value}) created.")


@users_cli.command("list")
@click.option("--library", "library_code", help="Only this library's staff.")
def list_users(library_code: str | None) -> None:
    """List staff accounts."""
    for user in staff_services.list_staff(actor=_actor(), library_id=_library_id(library_code)):
        library = user.library.code if user.library else "-"
        state = "active" if user.active else "inactive"
        click.echo(f"{user.username:24} {user.role.value:12} {library:10} {state}")


@users_cli.command("deactivate")
@click.argument("username")
def deactivate_user(username: str) -> None:
    """Deactivate an account (its sessions end at once)."""
    user = _user(username)
    _run(lambda: staff_services.set_staff_active(actor=_actor(), staff_id=user.id, active=False))
    click.echo(f"{user.username} deactivated.")


@users_cli.command("set-password")
@click.argument("username")
@click.password_option()
def set_password(username: str, password: str) -> None:
    """Set a new password for an account (also unlocks it)."""
    user = _user(username)
    _run(lambda: staff_services.set_password(actor=_actor(), staff_id=user.id, password=password))
    click.echo(f"Password of {user.username} changed.")


# --- libraries --------------------------------------------------------------------------------

LIBRARY_OPTIONS = [
    click.option("--name"), click.option("--npp"), click.option("--parent", "parent_code"),
    click.option("--kecamatan"), click.option("--kelurahan"), click.option("--address"),
    click.option("--phone"), click.option("--email"), click.option("--timezone"),
    click.option("--opac-public/--opac-hidden", default=None),
]


def _library_options(fn: Any) -> Any:
    for option in reversed(LIBRARY_OPTIONS):
        fn = option(fn)
    return fn


def _library_data(values: dict[str, Any]) -> dict[str, Any]:
    data = {k: v for k, v in values.items() if v is not None and k != "parent_code"}
    if values.get("parent_code"):
        data["parent_id"] = _library_id(values["parent_code"])
    return data


@libraries_cli.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include inactive libraries.")
def list_libraries(show_all: bool) -> None:
    """List libraries: code, type, name."""
    for lib in library_services.list_libraries(actor=_actor(), include_inactive=show_all):
        click.echo(f"{lib.code:10} {lib.type.value:17} {lib.name}{'' if lib.active else '  (inactive)'}")


@libraries_cli.command("create")
@click.option("--code", required=True)
@click.option("--type", "type_", required=True, type=click.Choice([t.value for t in LibraryType]))
@_library_options
def create_library(code: str, type_: str, **values: Any) -> None:
    """Create a library."""
    if not values.get("name"):
        raise click.ClickException("--name is required.")
    data = _library_data(values) | {"code": code, "type": type_}
    lib = _run(lambda: library_services.create_library(actor=_actor(), data=data))
    click.echo(f"Library {lib.code} created (id {lib.id}).")


@libraries_cli.command("update")
@click.argument("code")
@click.option("--type", "type_", type=click.Choice([t.value for t in LibraryType]))
@_library_options
def update_library(code: str, type_: str | None, **values: Any) -> None:
    """Change fields of a library given by its code."""
    data = _library_data(values) | ({"type": type_} if type_ else {})
    lib_id = _library_id(code)
    lib = _run(lambda: library_services.update_library(actor=_actor(), library_id=lib_id, data=data))
    click.echo(f"Library {lib.code} updated.")


@libraries_cli.command("deactivate")
@click.argument("code")
def deactivate_library(code: str) -> None:
    """Deactivate a library (data kept; its staff can no longer log in)."""
    lib_id = _library_id(code)
    _run(lambda: library_services.set_library_active(actor=_actor(), library_id=lib_id, active=False))
    click.echo(f"Library {code} deactivated.")


@libraries_cli.command("activate")
@click.argument("code")
def activate_library(code: str) -> None:
    """Reactivate a library."""
    lib_id = _library_id(code)
    _run(lambda: library_services.set_library_active(actor=_actor(), library_id=lib_id, active=True))
    click.echo(f"Library {code} activated.")


# --- jobs -------------------------------------------------------------------------------------

@jobs_cli.command("worker")
@click.argument("queues", nargs=-1, type=click.Choice(jobs.QUEUES))
@click.option("--burst", is_flag=True, help="Exit when the queues are empty.")
@click.option("--simple", is_flag=True, help="Run jobs in this process instead of a forked child.")
def worker(queues: tuple[str, ...], burst: bool, simple: bool) -> None:
    """Start an RQ worker on QUEUES (default: all). Give `search` to exactly one worker."""
    try:
        jobs.run_worker(queues or jobs.QUEUES, burst=burst, simple=simple)
    except RedisError as exc:
        raise click.ClickException(f"Redis is not reachable: {exc}") from None


@jobs_cli.command("cron")
@click.option("--for-seconds", type=float, default=None, help="Stop after this long (for tests).")
def cron(for_seconds: float | None) -> None:
    """Enqueue the periodic jobs listed in ils/schedule.py when their time comes."""
    for entry in SCHEDULE:
        click.echo(f"{entry.cron:14} {entry.kind}  ({entry.description})")
    try:
        jobs.cron_loop(SCHEDULE, stop_after=for_seconds)
    except KeyboardInterrupt:
        click.echo("cron scheduler stopped")


@jobs_cli.command("list")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
def list_jobs(limit: int) -> None:
    """Show the newest job records."""
    records, _total = job_services.list_jobs(actor=_actor(), page_size=limit)
    for rec in records:
        click.echo(f"{rec.created_at:%Y-%m-%d %H:%M} {rec.status.value:9} {rec.progress:3}% {rec.kind} {rec.id}")


@jobs_cli.command("run")
@click.argument("kind", type=click.Choice(sorted(jobs.JOBS)))
def run_kind(kind: str) -> None:
    """Enqueue a job that takes no arguments (e.g. ils.network_report)."""
    record_id = _run(lambda: jobs.enqueue(kind, actor=_actor())).id
    db.session.expire_all()
    record = db.session.get(JobRecord, record_id)
    if record is None or record.status == JobStatus.FAILED:
        raise click.ClickException(f"{kind} could not be queued: {record.error if record else 'record lost'}")
    click.echo(f"Enqueued {record.kind} as {record.id}.")


# --- demo and serve ---------------------------------------------------------------------------

@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Load the demo network (Kota Bontang model); safe to run again."""
    if not current_app.config.get("ILS_ALLOW_DEMO"):
        raise click.ClickException("Demo data is disabled in this configuration (production).")
    created = _run(lambda: demo.load(_actor()))
    click.echo(f"Demo network ready ({created['libraries']} libraries and {created['staff']} "
               "accounts created now).")
    click.echo(f"Demo logins (password for all: {demo.DEMO_PASSWORD}):")
    for username, role, code in demo.logins():
        click.echo(f"  {username:18} {role} [{code}]")


def _spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, env=env)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option("--web-workers", default=2, show_default=True, help="gunicorn worker processes.")
@click.option("--job-workers", default=1, show_default=True, help="RQ worker processes.")
@with_appcontext
def serve(host: str, port: int, web_workers: int, job_workers: int) -> None:
    """Run the web app, RQ workers and the cron scheduler together (embedded Redis if none)."""
    env = dict(os.environ)
    children: list[subprocess.Popen[bytes]] = []
    url = current_app.config.get("REDIS_URL")
    if not url or url.startswith("fakeredis"):
        proc, url = jobs.start_embedded_redis(current_app.instance_path)
        children.append(proc)
        click.echo(f"Embedded Redis on {url}")
    env["REDIS_URL"] = url
    flask = [sys.executable, "-m", "flask", "--app", "ils"]
    # Only the first worker takes the search queue: Whoosh allows one index writer.
    children.append(_spawn(flask + ["jobs", "worker"], env))
    others = [q for q in jobs.QUEUES if q != "search"]
    children.extend(_spawn(flask + ["jobs", "worker", *others], env) for _ in range(job_workers - 1))
    children.append(_spawn(flask + ["jobs", "cron"], env))
    children.append(_spawn([sys.executable, "-m", "gunicorn", "-w", str(web_workers), "-b", f"{host}:{port}",
                            "--access-logfile", "-", "ils:create_app()"], env))
    click.echo(f"Serving on http://{host}:{port}  (Ctrl-C stops everything)")
    stopping = False

    def _stop(*_args: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    try:
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.5)
    except KeyboardInterrupt:  # Ctrl-C reaches every child too; this is an orderly stop
        stopping = True
    for child in reversed(children):
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
    failed = [c.args for c in children if c.returncode not in (0, -signal.SIGTERM, None)]
    if failed and not stopping:
        raise click.ClickException(f"a process stopped unexpectedly: {failed[0]}")


def init_app(app: Flask) -> None:
    """Attach the command groups to the app."""
    for command in (users_cli, libraries_cli, jobs_cli, demo_command, serve):
        app.cli.add_command(command)
