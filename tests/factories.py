"""Plain factory functions for tests."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select

from ils.authz import Actor
from ils.extensions import db
from ils.mixins import utcnow
from ils.models import AuditEvent, JobRecord, JobStatus, Library, LibraryType, Role, StaffUser
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
    circulation: dict[str, Any] = field(default_factory=dict)  # "own"/"other" -> CirculationSide (matrix)


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



def make_patron(name: str, library: Library, *, category: str = "umum", **data: Any) -> Any:
    """An active patron registered at ``library`` (card number assigned)."""
    from circulation.services import patrons

    now = data.pop("now", utcnow())
    return patrons.register(actor=SYSTEM, data={"name": name, "category_code": category,
                                                "home_library_id": library.id, **data},
                            now=now, today=now.date(), pin=data.pop("pin", None))


WEEKDAY_HOURS = {day: [["08:00", "16:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat")}


# A 1x1 JPEG (a member photo for the matrix).
TINY_JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c1912130f141d1a1f"
    "1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432ffc0000b080001000101011100ffc4001f000001"
    "0501010101010100000000000000000102030405060708090a0bffc400b5100002010303020403050504040000017d0102030004110512"
    "2131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a25262728292a3435363738393a434445464748"
    "494a535455565758595a636465666768696a737475767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4"
    "b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffda0008010100003f00fb"
    "d3ffd9")


@dataclass
class CirculationSide:
    """One library's circulation objects in the matrix network."""

    patron: Any = None
    loan: Any = None
    fee: Any = None
    hold: Any = None
    free_barcode: str = ""
    loan_barcode: str = ""
    record: Any = None  # a title with an available copy that nobody holds yet
    receipt: str = ""
    returned: Any = None  # a returned loan (return receipts)


def add_circulation(net: Network) -> dict[str, CirculationSide]:
    """Patrons of A and B, each with a loan, a fee and a hold, plus an available copy at each library."""
    from catalog.services import items
    from circulation.models import FeeKind, PatronPhoto
    from circulation.services import desk, fees, holds

    sides = {}
    now = utcnow()
    for side, library, record in (("own", net.a, net.record_a), ("other", net.b, net.record_b)):
        code = library.code
        patron = make_patron(f"Anggota {code}", library, now=now, school_library_id=library.id, school_class="7A")
        db.session.add(PatronPhoto(patron_id=patron.id, content_type="image/jpeg", data=TINY_JPEG))
        for suffix in ("LOAN", "FREE"):
            items.add_item(record_id=record.id, library_id=library.id,
                           data=items.ItemInput(barcode=f"{code}-{suffix}"), actor=SYSTEM, today=now.date())
        desk_actor = Actor(label="matrix", role=Role.LIBRARIAN, library_id=library.id)
        loan = desk.checkout(actor=desk_actor, card_number=patron.card_number, barcode=f"{code}-LOAN",
                             library_id=library.id, now=now).loan
        fee = fees.charge(actor=desk_actor, patron_id=patron.id, library_id=library.id, kind=FeeKind.CARD,
                          amount=5000, description="Kartu pengganti", now=now)
        receipt = fees.pay(actor=desk_actor, patron_id=patron.id, amount=1000, library_id=library.id, now=now)
        waiting, _ = make_record(f"Buku Tunggu {code}", library, barcode=f"{code}-WAIT")
        returned, _ = make_record(f"Buku Kembali {code}", library, barcode=f"{code}-RET")
        back = desk.checkout(actor=desk_actor, card_number=patron.card_number, barcode=f"{code}-RET",
                             library_id=library.id, now=now).loan
        desk.checkin(actor=desk_actor, barcode=f"{code}-RET", library_id=library.id, now=now)
        hold = holds.place(actor=desk_actor, patron=patron, record_id=waiting.id, pickup_library_id=library.id,
                           now=now)
        sides[side] = CirculationSide(patron=patron, loan=loan, fee=fee, hold=hold, free_barcode=f"{code}-FREE",
                                      loan_barcode=f"{code}-LOAN", record=returned, receipt=receipt.number,
                                      returned=back)
    db.session.commit()
    return sides


def count_rows(model: Any, *where: Any) -> int:
    """How many rows of a model (matching ``where``) the database holds."""
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def audit_rows(action: str, object_id: Any | None = None) -> list[AuditEvent]:
    """The audit events of an action (for one object id), oldest first."""
    stmt = select(AuditEvent).where(AuditEvent.action == action)
    if object_id is not None:
        stmt = stmt.where(AuditEvent.object_id == str(object_id))
    return list(db.session.scalars(stmt.order_by(AuditEvent.id)))
