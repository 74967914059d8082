"""CLI commands and the demo network."""
from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select

from ils import demo
from ils.extensions import db
from ils.models import AuditEvent, Library, LibraryType, Role, StaffUser


def test_demo_network_is_bontang_shaped_and_idempotent(app: Flask) -> None:
    """DPK, city library, three kecamatan, kelurahan, schools, campus, companies, reading corner."""
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    assert "bontang-demo-2026" in first.output and "pukb.kepala" in first.output
    with app.app_context():
        types = dict(db.session.execute(select(Library.type, func.count()).group_by(Library.type)).all())
        kecamatan = set(db.session.scalars(select(Library.kecamatan).where(Library.type == LibraryType.KECAMATAN)))
        roles = set(db.session.scalars(select(StaffUser.role)))
        counts = (db.session.scalar(select(func.count()).select_from(Library)),
                  db.session.scalar(select(func.count()).select_from(StaffUser)))
    assert kecamatan == {"Bontang Utara", "Bontang Selatan", "Bontang Barat"}
    assert types[LibraryType.KELURAHAN] >= 4 and types[LibraryType.KHUSUS] == 2
    assert {LibraryType.UMUM_KOTA, LibraryType.SEKOLAH_SD, LibraryType.SEKOLAH_SMP, LibraryType.SEKOLAH_SMA,
            LibraryType.PERGURUAN_TINGGI, LibraryType.POJOK_BACA, LibraryType.INDUK} <= set(types)
    assert roles == set(Role)
    with app.app_context():
        _demo_workflows_tell_a_story()
        _demo_circulation_is_lived_in()
    second = runner.invoke(args=["demo"])
    assert second.exit_code == 0 and "(0 libraries and 0 accounts created now)" in second.output
    with app.app_context():
        assert (db.session.scalar(select(func.count()).select_from(Library)),
                db.session.scalar(select(func.count()).select_from(StaffUser))) == counts


def _demo_workflows_tell_a_story() -> None:
    """The DPK dashboard on first run: every accreditation status, a step waiting for the DPK, an overdue
    one, goals with a year of history in more than one state, activities and an IPLM index."""
    from ils.authz import Actor
    from ils.mixins import utcnow
    from ils.services.libraries import library_today
    from workflows.models import Activity, Goal, GoalSnapshot
    from workflows.services import dashboard, goals, iplm

    today, now = library_today(None), utcnow()
    rows = dashboard.library_rows(actor=Actor(label="dpk", role=Role.DPK), today=today, now=now)
    assert {r.status for r in rows} == {"accredited", "expiring", "expired", "in_progress", "not_started"}
    assert any(r.step is not None and r.step.state.actor == "dpk" for r in rows)
    assert any(r.step is not None and r.step.overdue for r in rows)
    assert {r.instance.state for r in rows if r.instance} >= {"npp", "snp", "swanilai", "tinjauan_dpk", "visitasi"}
    city_goals = db.session.scalars(select(Goal).where(Goal.library_id.is_(None))).all()
    assert len(city_goals) >= 13
    assert len({goals.progress_of(g, today).status for g in city_goals}) >= 3
    snapshots = db.session.scalar(select(func.count()).select_from(GoalSnapshot))
    assert snapshots >= 20 * len(city_goals) // 2
    assert db.session.scalar(select(func.count()).select_from(Activity)) >= 50
    assert iplm.compute(today.year, today=today).index is not None
    # The steps waiting for someone were e-mailed to them (queued: the demo has no SMTP server).
    from ils.models import StaffMessage
    topics = set(db.session.scalars(select(StaffMessage.topic)))
    assert "workflows.step" in topics


def _demo_circulation_is_lived_in() -> None:
    """Members in several libraries (minors with their guardian's consent among them), loans out with some overdue,
    holds waiting and on the shelf, fees, visitor counts and in-library use: what the desk, the OPAC
    account and the statistics show on first run. The demo skips a step a rule refuses; these counts
    catch a rule change that would empty it."""
    from circulation.models import Fee, Hold, HoldStatus, InHouseUse, Loan, Patron, PatronStatus, Visit
    from ils.mixins import utcnow

    def count(stmt) -> int:  # noqa: ANN001 - a select of count()
        return int(db.session.scalar(stmt) or 0)

    active = select(func.count()).select_from(Patron).where(Patron.status == PatronStatus.ACTIVE)
    assert count(active) >= 100
    assert count(select(func.count(func.distinct(Patron.home_library_id)))) >= 5
    assert count(select(func.count()).select_from(Patron).where(Patron.guardian_consent_at.is_not(None))) >= 1
    out = select(func.count()).select_from(Loan).where(Loan.returned_at.is_(None))
    assert count(out) >= 10 and count(out.where(Loan.due_at < utcnow())) >= 3
    assert count(select(func.count()).select_from(Loan).where(Loan.returned_at.is_not(None))) >= 10
    holds = dict(db.session.execute(select(Hold.status, func.count()).group_by(Hold.status)).all())
    assert holds.get(HoldStatus.WAITING, 0) >= 2 and holds.get(HoldStatus.READY, 0) >= 1
    assert count(select(func.count()).select_from(Fee)) >= 5
    assert count(select(func.count(func.distinct(Visit.library_id)))) >= 5
    assert count(select(func.count()).select_from(Visit)) >= 1000
    assert count(select(func.count()).select_from(InHouseUse)) >= 1


def test_demo_logins_match_accounts() -> None:
    """Every printed demo login is a real account definition."""
    assert [u for u, _r, _c in demo.logins()] == [s[0] for s in demo.STAFF]


def test_cli_manages_libraries_and_users(app: Flask) -> None:
    """create-admin, libraries create/update/deactivate, users create/list: audited as the CLI."""
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create-admin", "--username", "root.admin", "--full-name", "Root"],
                           input="a very long secret\na very long secret\n")
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["libraries", "create", "--code", "KEL-SA", "--type", "kelurahan",
                                 "--name", "Perpustakaan Kelurahan Satimpo", "--kecamatan", "Bontang Selatan"])
    assert result.exit_code == 0, result.output
    bad = runner.invoke(args=["libraries", "create", "--code", "KEL-SA", "--type", "kelurahan", "--name", "Dup"])
    assert bad.exit_code != 0 and "code" in bad.output
    assert runner.invoke(args=["libraries", "update", "KEL-SA", "--phone", "0548-1"]).exit_code == 0
    result = runner.invoke(args=["users", "create", "--username", "sa.kepala", "--full-name", "Kepala",
                                 "--role", "librarian", "--library", "KEL-SA"],
                           input="another long secret\nanother long secret\n")
    assert result.exit_code == 0, result.output
    assert "sa.kepala" in runner.invoke(args=["users", "list", "--library", "KEL-SA"]).output
    assert runner.invoke(args=["libraries", "deactivate", "KEL-SA"]).exit_code == 0
    assert "(inactive)" in runner.invoke(args=["libraries", "list", "--all"]).output
    with app.app_context():
        actions = list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.actor_label.startswith("cli:"))))
        lib = db.session.scalar(select(Library).where(Library.code == "KEL-SA"))
        assert lib.phone == "0548-1" and not lib.active
    assert actions == ["staff.create", "library.create", "library.update", "staff.create", "library.deactivate"]


def test_demo_is_refused_in_production_like_config(app: Flask) -> None:
    """No default accounts in production: the demo command refuses when demo data is disabled."""
    app.config["ILS_ALLOW_DEMO"] = False
    try:
        result = app.test_cli_runner().invoke(args=["demo"])
    finally:
        app.config["ILS_ALLOW_DEMO"] = True
    assert result.exit_code != 0 and "disabled" in result.output


def test_jobs_run_reports_an_unreachable_queue(app: Flask) -> None:
    """`jobs run` fails loudly (non-zero) when the job could not be queued."""
    previous = app.config["REDIS_URL"]
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    try:
        result = app.test_cli_runner().invoke(args=["jobs", "run", "ils.network_report"])
    finally:
        app.config["REDIS_URL"] = previous
    assert result.exit_code != 0 and "could not be queued" in result.output
