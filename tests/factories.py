"""Plain factory functions for tests."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask.testing import FlaskClient

from ils.authz import Actor
from ils.extensions import db
from ils.mixins import utcnow
from ils.models import JobRecord, JobStatus, Library, LibraryType, Role, StaffUser
from ils.services import staff as staff_services

PASSWORD = "correct horse battery"
SYSTEM = Actor.system("test")


def make_library(code: str, type_: LibraryType = LibraryType.KELURAHAN, **kwargs: object) -> Library:
    """A library row."""
    library = Library(code=code, name=kwargs.pop("name", f"Perpustakaan {code}"), type=type_,
                      opening_hours=kwargs.pop("opening_hours", {"mon": [["08:00", "12:00"]]}), **kwargs)
    db.session.add(library)
    db.session.flush()
    return library


def make_staff(username: str, role: Role, library: Library | None, **kwargs: object) -> StaffUser:
    """A staff account with PASSWORD."""
    return staff_services.create_staff(actor=SYSTEM, password=PASSWORD, data={
        "username": username, "full_name": kwargs.pop("full_name", username.title()), "role": role.value,
        "library_id": library.id if library else None, **kwargs})


def make_job(library: Library | None, status: JobStatus = JobStatus.FAILED) -> JobRecord:
    """A job record (not pushed to any queue)."""
    record = JobRecord(id=f"job-{library.code if library else 'net'}-{status.value}", kind="ils.network_report",
                       queue="reports", args={"library_id": library.id if library else None}, status=status,
                       started_by_label="test", library_id=library.id if library else None, created_at=utcnow())
    db.session.add(record)
    db.session.flush()
    return record


@dataclass
class Network:
    """Own library A and other library B, staff per role, sample objects in each."""

    a: Library
    b: Library
    users: dict[str, StaffUser] = field(default_factory=dict)
    target_a: StaffUser | None = None
    target_b: StaffUser | None = None
    job_a: JobRecord | None = None
    job_b: JobRecord | None = None
    record_a: Any = None  # a catalog record with a copy at A (and one at B for record_b)
    record_b: Any = None
    item_a: Any = None
    item_b: Any = None
    batch_a: Any = None  # finished import batches of A and B
    batch_b: Any = None


def build_network() -> Network:
    """Create and commit the standard two-library network."""
    a = make_library("LIB-A", LibraryType.KECAMATAN)
    b = make_library("LIB-B", LibraryType.SEKOLAH_SD)
    net = Network(a=a, b=b)
    for role in Role:
        library = None if role.network_wide else a
        net.users[role.value] = make_staff(f"u.{role.value}", role, library)
    net.target_a = make_staff("target.a", Role.CATALOGUER, a)
    net.target_b = make_staff("target.b", Role.CATALOGUER, b)
    net.job_a = make_job(a)
    net.job_b = make_job(b)
    net.record_a, net.item_a = make_record("Hikayat Pesisir Bontang", a, barcode="A0001")
    net.record_b, net.item_b = make_record("Mangrove Kalimantan Timur", b, barcode="B0001")
    net.batch_a, net.batch_b = make_batch(a), make_batch(b)
    db.session.commit()
    return net


def make_record(title: str, library: Library | None = None, *, barcode: str = "", isbn: str = "",
                **entry: Any) -> tuple[Any, Any]:
    """A catalog record from the quick form (and one copy at ``library``)."""
    from catalog.build import QuickEntry, build
    from catalog.services import items, records

    marc = build(QuickEntry(title=title, isbn=isbn, **entry), org_code="TEST", today=date(2026, 1, 5))
    record = records.create_record(marc=marc, actor=SYSTEM)
    item = None
    if library is not None:
        item = items.add_item(record_id=record.id, library_id=library.id, data=items.ItemInput(barcode=barcode),
                              actor=SYSTEM, today=date(2026, 1, 5))
    return record, item


def make_batch(library: Library) -> Any:
    """A finished (empty) import batch of a library."""
    from catalog.models import BatchStatus, ImportBatch

    batch = ImportBatch(library_id=library.id, filename="x.mrc", stored_path="/nonexistent", sha256="0" * 64,
                        size=1, format="iso2709", status=BatchStatus.DONE, counts={}, actor_label="test")
    db.session.add(batch)
    db.session.flush()
    return batch


def login(client: FlaskClient, username: str, password: str = PASSWORD) -> None:
    """Log a test client in through the real login form."""
    response = client.post("/login", data={"username": username, "password": password})
    assert response.status_code == 302, response.data[:300]
    assert "/staff/" in response.headers["Location"]

