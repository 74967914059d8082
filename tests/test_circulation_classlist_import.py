"""School class lists through the import job: registration, consent, re-import next year, problems, cards."""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from openpyxl import Workbook
from pypdf import PdfReader
from sqlalchemy import func, select

from circulation.models import Patron, PatronConsent, PatronStatus
from circulation.services import classlists
from circulation.services import patrons as patron_services
from ils import jobs
from ils.authz import Actor
from ils.errors import Forbidden, ValidationFailed
from ils.extensions import db
from ils.models import AuditEvent, JobRecord, JobStatus, Library, LibraryType, Role
from ils.services.staff import actor_for
from tests.factories import Network, make_library, make_staff
from tests.test_circulation_patrons import NOW, TODAY, login_en

CLASS_7A = ("Nama,NIS,Kelas,Tanggal Lahir,Jenis Kelamin\n"
            "Andi Saputra,2301,7A,12/03/2014,L\n"
            "Rina Wati,2302,7A,2014-04-30,P\n"
            ",2303,7A,,L\n"             # no name: reported, left out
            "Dewi Lestari,2302,7A,,P\n"  # NIS repeated: reported, left out
            "Yusuf Maulana,2304,7A,31/02/2014,X\n")  # bad date and gender: kept, both reported


def xlsx(rows: list[list[Any]]) -> bytes:
    """An XLSX workbook with these rows on its first sheet."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@dataclass(frozen=True)
class School:
    """A school library as plain values (the in-process worker ends the test's session)."""

    id: int
    name: str


@pytest.fixture
def school(network: Network) -> School:
    """Library B of the network: a primary school (SD) library."""
    assert network.b.type == LibraryType.SEKOLAH_SD
    return School(network.b.id, network.b.name)


@pytest.fixture
def head(network: Network, school: School) -> Actor:
    """The school's head librarian."""
    user = make_staff("head.sd", Role.LIBRARIAN, db.session.get(Library, school.id))
    db.session.commit()
    return actor_for(user)


def run(actor: Actor, library_id: int, data: bytes, filename: str, *, consent: bool) -> dict[str, Any]:
    """Upload, commit, run the job in this process; the finished job's record (the worker ends the session)."""
    record_id = classlists.start_import(actor=actor, library_id=library_id, stream=io.BytesIO(data),
                                        filename=filename, consent_collected=consent, now=NOW).id
    db.session.commit()
    jobs.run_burst()
    record = db.session.get(JobRecord, record_id)
    return {"status": record.status, "result": record.result, "error": record.error, "args": record.args,
            "id": record_id}


def pupils(library_id: int) -> dict[str, Patron]:
    """The school's members by NIS."""
    return {p.nis: p for p in db.session.scalars(select(Patron).where(Patron.school_library_id == library_id))}


def uploads() -> list[Path]:
    """Class lists still waiting in the instance folder."""
    return sorted(classlists.upload_dir().iterdir())


def test_csv_import_registers_pupils_with_the_schools_consent(head: Actor, school: School) -> None:
    """Consent forms ticked: active cards in pelajar_sd at the school, consent by channel "import", problems listed."""
    job = run(head, school.id, CLASS_7A.encode(), "7a.csv", consent=True)
    assert job["status"] == JobStatus.FINISHED, job["error"]
    result = job["result"]
    assert (result["created"], result["pending"], result["updated"]) == (3, 0, 0)
    assert sorted((p["line"], p["field"]) for p in result["problems"]) == [
        (4, "name"), (5, "nis"), (6, "birth_date"), (6, "gender")]
    assert result["problem_count"] == 4
    found = pupils(school.id)
    assert sorted(found) == ["2301", "2302", "2304"]
    andi = found["2301"]
    assert (andi.name, andi.category_code, andi.home_library_id, andi.school_class) == (
        "Andi Saputra", "pelajar_sd", school.id, "7A")
    assert andi.institution == school.name and andi.import_key == f"school:{school.id}:2301"
    assert andi.birth_date == date(2014, 3, 12) and andi.gender == "L"
    assert andi.status == PatronStatus.ACTIVE and andi.guardian_consent_at is not None
    consent = db.session.scalar(select(PatronConsent).where(PatronConsent.patron_id == andi.id))
    assert (consent.purpose, consent.granted, consent.channel, consent.witness) == ("guardian", True, "import",
                                                                                    "head.sd")
    assert found["2304"].birth_date is None and found["2304"].gender == ""
    # The job carried ids only, and the upload is gone once imported.
    assert set(job["args"]) == {"library_id", "upload", "consent"}
    assert classlists.UPLOAD_NAME.match(job["args"]["upload"]) and uploads() == []
    creators = set(db.session.scalars(select(AuditEvent.actor_label).where(AuditEvent.action == "patron.create")))
    assert creators == {"head.sd"}


def test_without_consent_forms_the_cards_wait(head: Actor, school: School) -> None:
    """Consent not ticked: minors (and pupils of unknown age) are registered PENDING, without a consent row."""
    job = run(head, school.id, CLASS_7A.encode(), "7a.csv", consent=False)
    assert (job["result"]["created"], job["result"]["pending"]) == (0, 3)
    found = pupils(school.id)
    assert {p.status for p in found.values()} == {PatronStatus.PENDING}
    assert db.session.scalar(select(func.count()).select_from(PatronConsent)) == 0


def test_adults_in_a_senior_secondary_school_need_no_guardian(network: Network) -> None:
    """An SMA pupil of 19 is active without any consent form; the younger one waits; category pelajar_sma."""
    sma = make_library("SMAN-1", LibraryType.SEKOLAH_SMA)
    head = actor_for(make_staff("head.sma", Role.LIBRARIAN, sma))
    db.session.commit()
    sma_id = sma.id
    data = "Nama;NIS;Kelas;Tanggal Lahir\nFajar Nugroho;9001;XII IPA 1;01-01-2000\nLina Marlina;9002;X IPS 2;01-01-2015\n"
    job = run(head, sma_id, data.encode(), "kelas.csv", consent=False)
    assert (job["result"]["created"], job["result"]["pending"]) == (1, 1)
    found = pupils(sma_id)
    assert found["9001"].status == PatronStatus.ACTIVE and found["9001"].category_code == "pelajar_sma"
    assert found["9002"].status == PatronStatus.PENDING


def test_xlsx_reimport_next_year_moves_pupils_instead_of_duplicating(head: Actor, school: School) -> None:
    """Next year's XLSX: same NIS, new class: updated; a new pupil added; consent now ticked activates the waiting."""
    run(head, school.id, CLASS_7A.encode(), "7a.csv", consent=False)
    first_ids = {nis: p.id for nis, p in pupils(school.id).items()}
    rows: list[list[Any]] = [["DAFTAR SISWA KELAS 8A"], ["No", "Nama Siswa", "NIS", "Rombel", "Tgl Lahir", "JK"],
            [1, "Andi Saputra", 2301, "8A", date(2014, 3, 12), "L"],
            [2, "Rina Wati", 2302, "8A", date(2014, 4, 30), "P"],
            [3, "Yusuf Maulana", 2304, "8A", None, None],
            [4, "Putri Ayu", 2305, "8A", date(2014, 9, 9), "P"]]
    job = run(head, school.id, xlsx(rows), "kelas-8a.xlsx", consent=True)
    assert job["status"] == JobStatus.FINISHED, job["error"]
    result = job["result"]
    assert (result["created"], result["activated"], result["problem_count"]) == (1, 3, 0)
    found = pupils(school.id)
    assert len(found) == 4 and {nis: found[nis].id for nis in first_ids} == first_ids
    assert {p.school_class for p in found.values()} == {"8A"}
    assert {p.status for p in found.values()} == {PatronStatus.ACTIVE}
    channels = set(db.session.scalars(select(PatronConsent.channel)))
    assert channels == {"import"}
    # The same list once more changes nothing.
    again = run(head, school.id, xlsx(rows), "kelas-8a.xlsx", consent=True)["result"]
    assert (again["created"], again["updated"], again["activated"], again["unchanged"]) == (0, 0, 0, 4)


def test_a_pupil_registered_at_the_desk_is_adopted(head: Actor, school: School) -> None:
    """A pupil already registered with the school and NIS gets the import key, not a second card."""
    earlier = patron_services.register(actor=head, data={
        "name": "Andi Saputra", "category_code": "pelajar_sd", "school_library_id": school.id, "nis": "2301",
        "birth_date": date(2014, 3, 12), "guardian_name": "Hasan Basri"}, now=NOW, today=TODAY, guardian_consent=True)
    db.session.commit()
    earlier_id = earlier.id
    job = run(head, school.id, CLASS_7A.encode(), "7a.csv", consent=True)
    assert job["result"]["updated"] == 1 and job["result"]["created"] == 2
    andi = pupils(school.id)["2301"]
    assert andi.id == earlier_id and andi.import_key == f"school:{school.id}:2301"
    assert andi.guardian_name == "Hasan Basri" and andi.school_class == "7A"


def test_uploads_that_cannot_be_imported(network: Network, head: Actor, school: School) -> None:
    """Only school libraries, only the own school, CSV/XLSX only, not empty; nothing is queued."""
    with pytest.raises(ValidationFailed) as caught:
        classlists.start_import(actor=actor_for(network.users["admin"]), library_id=network.a.id,
                                stream=io.BytesIO(CLASS_7A.encode()), filename="7a.csv", consent_collected=True,
                                now=NOW)
    assert caught.value.field == "library_id"
    with pytest.raises(Forbidden):
        classlists.start_import(actor=actor_for(network.users["librarian"]), library_id=school.id,
                                stream=io.BytesIO(CLASS_7A.encode()), filename="7a.csv", consent_collected=True,
                                now=NOW)
    for data, name in ((b"old excel", "7a.xls"), (b"", "7a.csv"), (b"%PDF-1.4", "7a.pdf"),
                       (b"x" * (classlists.MAX_BYTES + 1), "big.csv")):
        with pytest.raises(ValidationFailed) as caught:
            classlists.start_import(actor=head, library_id=school.id, stream=io.BytesIO(data), filename=name,
                                    consent_collected=False, now=NOW)
        assert caught.value.field == "file", name
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(JobRecord).where(
        JobRecord.kind == classlists.JOB_KIND)) == 0
    assert uploads() == []


def test_an_unreadable_list_fails_the_job_with_a_message(head: Actor, school: School) -> None:
    """No NIS column: the job fails with the reader's message, nobody is registered, the file is removed."""
    job = run(head, school.id, b"Nama,Kelas\nAndi Saputra,7A\n", "7a.csv", consent=True)
    assert job["status"] == JobStatus.FAILED and "NIS" in job["error"]
    assert pupils(school.id) == {} and uploads() == []


# --- screens ------------------------------------------------------------------------------------

def test_import_screen(client: FlaskClient, head: Actor, school: School) -> None:
    """Upload from the page, follow the job link, see the counts and the problems, and the class's card link."""
    login_en(client, "head.sd")
    page = client.get("/circulation/patrons/import").get_data(as_text=True)
    assert "consent" in page
    response = client.post("/circulation/patrons/import",
                           data={"file": (io.BytesIO(CLASS_7A.encode()), "7a.csv"), "consent": "y"})
    assert response.status_code == 302 and "/circulation/patrons/import?job=" in response.headers["Location"]
    jobs.run_burst()
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "3 registered" in page and "4 problem(s)" in page
    assert f"/circulation/patrons/cards.pdf?school={school.id}&amp;class=7A" in page


def test_import_screen_refuses_a_non_school_library(client: FlaskClient, network: Network) -> None:
    """A district library's head librarian is told that class lists are for school libraries."""
    login_en(client, "u.librarian")
    response = client.post("/circulation/patrons/import",
                           data={"file": (io.BytesIO(CLASS_7A.encode()), "7a.csv")}, follow_redirects=True)
    assert response.status_code == 200 and "school libraries" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(JobRecord).where(
        JobRecord.kind == classlists.JOB_KIND)) == 0


def test_class_cards_pdf(client: FlaskClient, network: Network, head: Actor, school: School) -> None:
    """All of class 7A on one sheet, in name order; other libraries get 403; an empty class is 404."""
    run(head, school.id, CLASS_7A.encode(), "7a.csv", consent=True)
    login_en(client, "head.sd")
    response = client.get(f"/circulation/patrons/cards.pdf?school={school.id}&class=7A")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = PdfReader(io.BytesIO(response.data)).pages[0].extract_text()
    assert text.index("Andi Saputra") < text.index("Rina Wati") < text.index("Yusuf Maulana")
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "patron.card_print"))
    assert event.details["class"] == "7A" and len(event.details["patrons"]) == 3
    assert client.get(f"/circulation/patrons/cards.pdf?school={school.id}&class=9Z").status_code == 404
    other = client.application.test_client()
    login_en(other, "u.librarian")
    assert other.get(f"/circulation/patrons/cards.pdf?school={school.id}&class=7A").status_code == 403
