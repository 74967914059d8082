"""Library and staff services: validation, scoping, audit."""
from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from ils.errors import Conflict, Forbidden, NotFound, ValidationFailed
from ils.extensions import db
from ils.models import AuditEvent, LibraryType, Role, StaffUser
from ils.services import libraries, staff
from ils.services.staff import actor_for
from tests.factories import PASSWORD, Network, make_staff


def _audit(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_create_library_validates_and_audits(network: Network) -> None:
    """A DPK user creates a library; the audit row names who, what and from where."""
    dpk = actor_for(network.users["dpk"], ip="10.1.2.3")
    lib = libraries.create_library(actor=dpk, data={
        "code": "kel-api", "name": "Perpustakaan Kelurahan Api-Api", "type": "kelurahan",
        "opening_hours": {"mon": [["13:00", "17:00"]]}, "parent_id": network.a.id})
    db.session.commit()
    assert lib.code == "KEL-API" and lib.parent_id == network.a.id and lib.timezone == "Asia/Makassar"
    assert lib.opening_hours["mon"] == [["13:00", "17:00"]] and lib.opening_hours["sun"] == []
    event = _audit("library.create")[-1]
    assert event.actor_label == "u.dpk" and event.ip == "10.1.2.3" and event.object_id == str(lib.id)
    assert event.details["changes"]["code"] == [None, "KEL-API"]


@pytest.mark.parametrize("data, field", [
    ({"code": "x", "name": "N", "type": "kelurahan"}, "code"),
    ({"code": "LIB-A", "name": "N", "type": "kelurahan"}, "code"),
    ({"code": "NEW", "name": "N", "type": "perpustakaan"}, "type"),
    ({"code": "NEW", "name": "N", "type": "kelurahan", "timezone": "Mars/Olympus"}, "timezone"),
    ({"code": "NEW", "name": "N", "type": "kelurahan", "opening_hours": {"mon": [["16:00", "08:00"]]}},
     "opening_hours"),
    ({"code": "NEW", "name": "N", "type": "kelurahan",
      "opening_hours": {"mon": [["08:00", "12:00"], ["11:00", "14:00"]]}}, "opening_hours"),
    ({"code": "NEW", "name": "", "type": "kelurahan"}, "name"),
])
def test_create_library_rejects_bad_input(network: Network, data: dict, field: str) -> None:
    """Bad input names the field; nothing is stored."""
    before = len(libraries.list_libraries(actor=actor_for(network.users["admin"])))
    with pytest.raises((ValidationFailed, Conflict)) as info:
        libraries.create_library(actor=actor_for(network.users["admin"]), data=data)
    db.session.rollback()
    assert info.value.field == field
    assert len(libraries.list_libraries(actor=actor_for(network.users["admin"]))) == before


def test_parent_cycle_is_refused(network: Network) -> None:
    """A library cannot end up as its own ancestor."""
    admin = actor_for(network.users["admin"])
    libraries.update_library(actor=admin, library_id=network.b.id, data={"parent_id": network.a.id})
    with pytest.raises(ValidationFailed):
        libraries.update_library(actor=admin, library_id=network.a.id, data={"parent_id": network.b.id})


def test_librarian_edits_settings_but_not_network_fields(network: Network) -> None:
    """A head librarian changes hours and contact of their library, never its code or type."""
    librarian = actor_for(network.users["librarian"])
    lib = libraries.update_library(actor=librarian, library_id=network.a.id, data={
        "phone": "0548-21234", "code": "HACK", "type": "khusus", "opening_hours": {"sat": [["09:00", "12:00"]]}})
    assert lib.phone == "0548-21234" and lib.code == "LIB-A" and lib.type == LibraryType.KECAMATAN
    assert lib.opening_hours["sat"] == [["09:00", "12:00"]]
    with pytest.raises(Forbidden):
        libraries.update_library(actor=librarian, library_id=network.b.id, data={"phone": "1"})
    with pytest.raises(Forbidden):
        libraries.set_library_active(actor=librarian, library_id=network.a.id, active=False)


def test_list_libraries_is_scoped(network: Network) -> None:
    """Staff of one library list only their library; DPK lists all."""
    assert [lib.code for lib in libraries.list_libraries(actor=actor_for(network.users["cataloguer"]))] == ["LIB-A"]
    assert {lib.code for lib in libraries.list_libraries(actor=actor_for(network.users["dpk"]))} == {"LIB-A", "LIB-B"}
    with pytest.raises(NotFound):
        libraries.get_library(actor=actor_for(network.users["dpk"]), library_id=999999)


def test_deactivated_library_blocks_its_staff_login(network: Network) -> None:
    """Deactivating a library keeps its data but its staff can no longer log in."""
    libraries.set_library_active(actor=actor_for(network.users["dpk"]), library_id=network.a.id, active=False)
    db.session.commit()
    assert staff.authenticate(username="u.librarian", password=PASSWORD, ip=None) is None
    assert _audit("login.failed")[-1].details == {"reason": "inactive"}


def test_staff_scoping_and_role_grants(network: Network) -> None:
    """A librarian manages staff of their own library only and cannot hand out admin or DPK."""
    librarian = actor_for(network.users["librarian"])
    assert {u.username for u in staff.list_staff(actor=librarian)} >= {"u.librarian", "target.a"}
    assert "target.b" not in {u.username for u in staff.list_staff(actor=librarian)}
    with pytest.raises(Forbidden):
        staff.list_staff(actor=librarian, library_id=network.b.id)
    with pytest.raises(Forbidden):
        staff.get_staff(actor=librarian, staff_id=network.target_b.id)
    with pytest.raises(Forbidden):
        staff.get_staff(actor=librarian, staff_id=network.users["dpk"].id)
    with pytest.raises(Forbidden):
        staff.create_staff(actor=librarian, password=PASSWORD, data={
            "username": "evil", "full_name": "Evil", "role": "dpk"})
    created = staff.create_staff(actor=librarian, password=PASSWORD, data={
        "username": "New.Desk", "full_name": "Desk", "role": "circulation", "library_id": network.b.id})
    assert created.username == "new.desk" and created.library_id == network.a.id  # forced to own library
    with pytest.raises(Forbidden):
        staff.update_staff(actor=librarian, staff_id=network.users["librarian"].id, data={"role": "cataloguer"})


def test_role_library_rule(network: Network) -> None:
    """Library roles need a library; admin and DPK accounts are network-wide."""
    admin = actor_for(network.users["admin"])
    with pytest.raises(ValidationFailed) as info:
        staff.create_staff(actor=admin, password=PASSWORD, data={
            "username": "nolib", "full_name": "No Lib", "role": "cataloguer"})
    assert info.value.field == "library_id"
    user = staff.create_staff(actor=admin, password=PASSWORD, data={
        "username": "office", "full_name": "Office", "role": "dpk", "library_id": network.a.id})
    assert user.library_id is None


@pytest.mark.parametrize("password", ["short", "password123", "bontang123", "u.newbie-rules-ok"])
def test_password_policy(network: Network, password: str) -> None:
    """Too short, common, or containing the username: refused with a field error."""
    with pytest.raises(ValidationFailed) as info:
        staff.create_staff(actor=actor_for(network.users["admin"]), password=password, data={
            "username": "u.newbie", "full_name": "N", "role": "cataloguer", "library_id": network.a.id})
    assert info.value.field == "password"


def test_passwords_are_argon2id_and_never_audited(network: Network) -> None:
    """Hashes are argon2id; no audit row carries a password."""
    user = network.users["cataloguer"]
    assert user.password_hash.startswith("$argon2id$")
    staff.set_password(actor=actor_for(network.users["librarian"]), staff_id=user.id, password="a new long secret")
    db.session.commit()
    for event in db.session.scalars(select(AuditEvent)):
        assert "a new long secret" not in str(event.details) and PASSWORD not in str(event.details)


def test_lockout_after_repeated_failures(app: Flask, network: Network) -> None:
    """After ILS_LOCKOUT_THRESHOLD wrong passwords the account locks, even for the right one."""
    for _ in range(app.config["ILS_LOCKOUT_THRESHOLD"]):
        assert staff.authenticate(username="u.cataloguer", password="wrong password!", ip="1.1.1.1") is None
    db.session.commit()
    assert staff.authenticate(username="u.cataloguer", password=PASSWORD, ip="1.1.1.1") is None
    reasons = [e.details["reason"] for e in _audit("login.failed")]
    assert reasons.count("bad_password") == app.config["ILS_LOCKOUT_THRESHOLD"] - 1
    assert reasons[-2:] == ["locked_now", "locked"]
    staff.set_password(actor=actor_for(network.users["librarian"]), staff_id=network.users["cataloguer"].id,
                       password="unlocked at last")
    assert staff.authenticate(username="u.cataloguer", password="unlocked at last", ip=None) is not None


def test_unknown_user_is_audited_without_enumeration(network: Network) -> None:
    """A wrong username and a wrong password give the same answer; both are logged."""
    assert staff.authenticate(username="nobody", password="x" * 12, ip="2.2.2.2") is None
    event = _audit("login.failed")[-1]
    assert event.actor_label == "nobody" and event.ip == "2.2.2.2" and event.details["reason"] == "unknown_user"


def test_session_version_bumps_on_deactivation(network: Network) -> None:
    """Deactivating an account invalidates its sessions; one cannot deactivate oneself."""
    user = network.target_a
    old = user.get_id()
    assert staff.load_session_user(old) is not None
    staff.set_staff_active(actor=actor_for(network.users["librarian"]), staff_id=user.id, active=False)
    assert staff.load_session_user(old) is None
    with pytest.raises(Forbidden):
        staff.set_staff_active(actor=actor_for(network.users["librarian"]),
                               staff_id=network.users["librarian"].id, active=False)


def test_network_role_check_constraint(ctx: Flask) -> None:
    """The database itself refuses a library role without a library."""
    from sqlalchemy.exc import IntegrityError

    db.session.add(StaffUser(username="raw", full_name="Raw", password_hash="x", role=Role.CATALOGUER))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_make_staff_factory_matches_service(network: Network) -> None:
    """The factory goes through the service (audited, hashed)."""
    user = make_staff("x.factory", Role.ASSESSOR, network.b)
    assert user.library_id == network.b.id and user.password_hash.startswith("$argon2id$")


def test_naive_datetimes_are_refused(network: Network) -> None:
    """Datetimes are timezone-aware UTC; a naive one is an error, not a guess (R5)."""
    from datetime import datetime

    from sqlalchemy.exc import StatementError

    user = db.session.get(StaffUser, network.target_a.id)
    user.last_login_at = datetime(2026, 11, 21, 8, 0)
    with pytest.raises(StatementError, match="naive datetime"):
        db.session.flush()
    db.session.rollback()
