"""Workflows through the browser and the JSON API: the dashboard and library pages, facts, the
self-assessment page, evidence upload and download, documents with errors at their line, IPLM,
the census exports, and the API refusing a step with the guard's message."""
from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import select

from ils.authz import Actor
from ils.extensions import db
from tests.factories import Network, login
from workflows.models import DocumentKind, Evidence, PopulationFigure
from workflows.services import documents, figures, instances
from workflows.services.reports import CENSUS_COLUMNS
from ils.mixins import utcnow

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
SYSTEM = Actor.system("test")


@pytest.fixture
def run_a(network: Network) -> int:
    """An accreditation run of library A at the NPP step."""
    run = instances.start(actor=SYSTEM, library_id=network.a.id, workflow="akreditasi")
    db.session.commit()
    return run.id


def test_the_dpk_dashboard_lists_every_library_with_its_step(client: FlaskClient, network: Network, run_a: int) -> None:
    """A is in progress at the NPP step (the library acts), B has not started; filters narrow the list."""
    login(client, "u.dpk")
    html = client.get("/workflows/").get_data(as_text=True)
    assert 'data-library="LIB-A"' in html and 'data-library="LIB-B"' in html
    row_a = html.split('data-library="LIB-A"')[1].split("</tr>")[0]
    assert 'data-accreditation="in_progress"' in row_a and f"/workflows/runs/{run_a}" in row_a
    row_b = html.split('data-library="LIB-B"')[1].split("</tr>")[0]
    assert 'data-accreditation="not_started"' in row_b
    assert html.count("<svg") >= 4  # the charts are drawn on the server
    only_schools = client.get("/workflows/?type=sekolah_sd").get_data(as_text=True)
    assert 'data-library="LIB-B"' in only_schools and 'data-library="LIB-A"' not in only_schools


def test_a_librarian_gets_their_own_library_page(client: FlaskClient, network: Network) -> None:
    """The dashboard sends a librarian to the own library; another library's page is forbidden."""
    login(client, "u.librarian")
    response = client.get("/workflows/")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/workflows/libraries/{network.a.id}")
    assert client.get(f"/workflows/libraries/{network.b.id}").status_code == 403


def test_facts_entered_on_the_library_page_close_snp_gaps(client: FlaskClient, network: Network) -> None:
    """A kecamatan library: entering a 60 m² floor area turns that SNP line from unknown to met."""
    login(client, "u.librarian")
    page = client.get(f"/workflows/libraries/{network.a.id}").get_data(as_text=True)
    assert 'data-gap="floor_area"' in page or "data-gap=" in page
    before = {g.code: g.met for g in _gaps(network)}
    response = client.post(f"/workflows/libraries/{network.a.id}/facts", data={"fact_floor_area_m2": "60",
                                                                                "fact_staff_total": "abc"})
    assert response.status_code == 302
    assert figures.facts_of(network.a.id) == {}  # one bad number: nothing is saved
    client.post(f"/workflows/libraries/{network.a.id}/facts", data={"fact_floor_area_m2": "60"})
    after = {g.code: g.met for g in _gaps(network)}
    changed = {code for code in after if after[code] != before[code]}
    assert changed and all(after[code] is True for code in changed)


def _gaps(network: Network) -> list:
    from workflows.services import accreditation
    db.session.expire_all()
    return accreditation.snp_gaps(network.a, today=date.today())


def test_evidence_upload_checks_content_and_download_is_scoped(client: FlaskClient, network: Network,
                                                               run_a: int) -> None:
    """A renamed file is refused; a real PDF is stored by SHA-256 and only A's staff and the DPK get it."""
    login(client, "u.librarian")
    client.post(f"/workflows/runs/{run_a}/evidence",
                data={"slot": "sk_pendirian", "file": (io.BytesIO(b"MZ\x90\x00 not a pdf"), "sk.pdf")})
    assert db.session.scalars(select(Evidence)).all() == []
    client.post(f"/workflows/runs/{run_a}/evidence", data={"slot": "sk_pendirian", "file": (io.BytesIO(PDF), "SK.pdf")})
    [row] = db.session.scalars(select(Evidence)).all()
    assert row.size == len(PDF) and row.content_type == "application/pdf" and row.state == "npp"
    with client.get(f"/workflows/evidence/{row.id}") as download:
        assert download.status_code == 200 and download.data == PDF
        assert "attachment" in download.headers["Content-Disposition"]
        assert "sandbox" in download.headers["Content-Security-Policy"]
    page = client.get(f"/workflows/runs/{run_a}").get_data(as_text=True)
    assert "SK.pdf" in page
    client.post("/logout")
    login(client, "target.b")  # a cataloguer: no workflows permission at all
    assert client.get(f"/workflows/evidence/{row.id}").status_code == 403


def test_a_document_with_a_typo_is_refused_with_its_line(client: FlaskClient, network: Network) -> None:
    """The DPK edits the SNP standards: a misspelt key is refused and named at its line; a good edit saves v2."""
    login(client, "u.dpk")
    text = documents.current(DocumentKind.SNP, "snp").text
    lines = text.splitlines()
    index = next(i for i, line in enumerate(lines) if line.strip().startswith("requirements:"))
    broken = "\n".join(lines[:index] + [lines[index].replace("requirements:", "requirement:")] + lines[index + 1:])
    page = client.post("/workflows/documents/snp/snp", data={"text": broken, "note": "salah ketik"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and f":{index + 1}:" in html and "requirement" in html
    assert documents.versions(DocumentKind.SNP, "snp") == []  # nothing stored yet: still the shipped file
    saved = client.post("/workflows/documents/snp/snp", data={"text": text + "\n# ditinjau 2026\n", "note": "tinjau"})
    assert saved.status_code == 302
    assert [d.version for d in documents.versions(DocumentKind.SNP, "snp")] == [2, 1]


def test_an_instrument_round_trips_through_its_spreadsheet(client: FlaskClient, network: Network) -> None:
    """Download an instrument as XLSX and upload it again: it validates and becomes version 2."""
    from workflows.services import accreditation
    login(client, "u.dpk")
    code = accreditation.instruments()[0][1].code
    stored = documents.stored(documents.current(DocumentKind.INSTRUMENT, code))
    db.session.commit()
    sheet = client.get(f"/workflows/document-versions/{stored.id}.xlsx")
    assert sheet.status_code == 200 and sheet.data[:2] == b"PK"
    response = client.post(f"/workflows/documents/instrument/{code}", data={
        "text": "", "note": "dari XLSX", "upload": (io.BytesIO(sheet.data), "instrumen.xlsx")})
    assert response.status_code == 302
    newest = documents.current(DocumentKind.INSTRUMENT, code)
    assert newest.version == 2
    assert documents.parse(newest) == documents.parse(stored)


def test_iplm_page_and_api_follow_the_population_the_dpk_enters(client: FlaskClient, network: Network) -> None:
    """Without residents the index cannot be computed; with 1,000 residents UPLM 1 is 2 libraries / 1,000."""
    login(client, "u.dpk")
    assert 'data-index=""' in client.get("/workflows/iplm?year=2026").get_data(as_text=True)
    client.post("/workflows/iplm/population", data={"year": "2026", "residents": "1000"})
    assert db.session.get(PopulationFigure, 2026).residents == 1000
    body = client.get("/api/v1/workflows/iplm/2026").get_json()
    assert body["elements"]["1"]["value"] == pytest.approx(2 / 1000)
    assert body["elements"]["2"]["value"] == pytest.approx(2 / 1000)  # one copy at A, one at B
    # Staff is an entered figure: not known until a library enters it, so the index waits for it.
    assert body["elements"]["3"]["value"] is None and body["index"] is None
    figures.set_facts(actor=SYSTEM, library_id=network.a.id, values={"staff_total": "3"})
    db.session.commit()
    body = client.get("/api/v1/workflows/iplm/2026").get_json()
    values = [body["elements"][str(n)]["value"] for n in range(1, 8)]
    assert body["elements"]["3"]["value"] == pytest.approx(3 / 1000)
    assert body["index"] == pytest.approx(sum(values) / 7 * 100)


def test_census_exports_and_city_report(client: FlaskClient, network: Network) -> None:
    """The census CSV has one row per library with its copies; the XLSX opens; the PDF names the year."""
    login(client, "u.dpk")
    figures.set_facts(actor=SYSTEM, library_id=network.b.id, values={"staff_total": "2"})
    db.session.commit()
    text = client.get("/workflows/reports/census-2026.csv").data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == 3
    by_code = {row[0]: row for row in rows[1:]}
    keys = [column.key for column in CENSUS_COLUMNS]
    assert by_code["LIB-A"][keys.index("copies")] == "1" and by_code["LIB-B"][keys.index("staff")] == "2"
    assert by_code["LIB-A"][keys.index("staff")] == ""  # not entered: left empty, not zero
    from openpyxl import load_workbook
    book = load_workbook(io.BytesIO(client.get("/workflows/reports/census-2026.xlsx").data))
    assert book.active.max_row == 4  # header, two libraries, totals
    pdf = PdfReader(io.BytesIO(client.get("/workflows/reports/city-2026.pdf").data))
    assert "2026" in pdf.pages[0].extract_text()
    census = PdfReader(io.BytesIO(client.get("/workflows/reports/census-2026.pdf").data)).pages[0].extract_text()
    assert network.a.name in census.replace("\n", " ") and network.b.name in census.replace("\n", " ")
    city = load_workbook(io.BytesIO(client.get("/workflows/reports/city-2026.xlsx").data))
    assert city.sheetnames[1:] == ["Sensus 2026"]
    summary = {row[0].value: row[1].value for row in city.worksheets[0].iter_rows(min_row=2) if row[0].value}
    assert summary["Eksemplar"] == 2 and summary["IPLM"] == "belum dapat dihitung"


def test_the_api_refuses_a_step_with_the_guard_and_takes_it_when_met(client: FlaskClient, network: Network,
                                                                    run_a: int) -> None:
    """422 with code "guard" while the evidence is missing; 200 and the next step once it is attached."""
    login(client, "u.librarian")
    token = client.get(f"/api/v1/workflows/instances/{run_a}").headers["X-CSRFToken"]
    refused = client.post(f"/api/v1/workflows/instances/{run_a}/actions", headers={"X-CSRFToken": token},
                          json={"transition": "npp_diperoleh", "values": {"npp_number": "6474001"}})
    assert refused.status_code == 422 and refused.get_json()["code"] == "guard"
    for slot in ("sk_pendirian", "bukti_npp"):
        instances.add_evidence(actor=SYSTEM, instance_id=run_a, slot=slot, stream=io.BytesIO(PDF),
                               filename=f"{slot}.pdf")
    db.session.commit()
    done = client.post(f"/api/v1/workflows/instances/{run_a}/actions", headers={"X-CSRFToken": token},
                       json={"transition": "npp_diperoleh", "values": {"npp_number": "6474001"}})
    body = done.get_json()
    assert done.status_code == 200 and body["state"] == "snp" and body["data"]["npp_number"] == "6474001"
    assert [t["kind"] for t in body["timeline"]][-1] in ("notify", "transition")


def test_the_api_creates_goals_and_activities_in_scope(client: FlaskClient, network: Network) -> None:
    """A librarian creates a goal and an activity for A; a goal for the whole city is forbidden."""
    login(client, "u.librarian")
    goal = {"title": "Anggota naik", "indicator": "circulation.active_members", "baseline": 0, "target": 10,
            "baseline_on": "2026-01-01", "deadline": "2026-12-31", "owner": "Kepala"}
    assert client.post("/api/v1/workflows/goals", json={**goal, "library_id": None}).status_code == 403
    made = client.post("/api/v1/workflows/goals", json={**goal, "library_id": network.a.id})
    assert made.status_code == 201 and made.get_json()["progress"]["status"] in ("on_track", "at_risk")
    activity = client.post("/api/v1/workflows/activities", json={
        "held_on": "2026-05-02", "kind": "dongeng", "title": "Dongeng", "participants_male": 2,
        "participants_female": 3, "age_groups": {"anak": 4, "dewasa": 2}})
    assert activity.status_code == 422 and "5" in activity.get_json()["error"]


def test_the_check_command_names_problems_by_line(app: Flask, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`flask workflows check` passes a shipped file and fails a broken one, naming its line and field."""
    from pathlib import Path
    shipped = Path(__file__).resolve().parent.parent / "workflows" / "definitions" / "akreditasi.yaml"
    runner = app.test_cli_runner()
    good = runner.invoke(args=["workflows", "check", "workflow", str(shipped)])
    assert good.exit_code == 0 and "no problems" in good.output
    lines = shipped.read_text(encoding="utf-8").splitlines()
    where = lines.index("start: npp")
    lines[where] = "start: nppp"
    broken = tmp_path / "akreditasi.yaml"
    broken.write_text("\n".join(lines), encoding="utf-8")
    bad = runner.invoke(args=["workflows", "check", "workflow", str(broken)])
    assert bad.exit_code == 1 and f"akreditasi.yaml:{where + 1}: start:" in bad.output


def test_the_dpk_changes_weights_and_bands_in_a_form_and_running_assessments_keep_theirs(
        client: FlaskClient, network: Network) -> None:
    """Weights adding up to 99 are refused with nothing stored; a valid change is version 2, which new
    self-assessments use while one started before keeps scoring on version 1."""
    from workflows.services import accreditation
    login(client, "u.dpk")
    library = network.a
    before = accreditation.create_assessment(library=library, instrument_doc=accreditation.instrument_document_for(library),
                                             instance=None, actor=SYSTEM, now=utcnow())
    db.session.commit()
    instrument = accreditation.instrument_of(before)
    weights = {f"weight_{c.code}": c.weight for c in instrument.components}
    first = instrument.components[0].code
    wrong = {**weights, f"weight_{first}": weights[f"weight_{first}"] - 1, "note": "salah"}
    page = client.post(f"/workflows/documents/instrument/{instrument.code}/numbers", data=wrong, follow_redirects=True)
    alert = page.get_data(as_text=True).split('alert-danger')[1].split("</div>")[0]
    assert "99" in alert and "100" in alert  # "the component weights add up to 99, not 100", in Indonesian
    assert [d.version for d in documents.versions(DocumentKind.INSTRUMENT, instrument.code)] == [1]
    second = instrument.components[1].code
    moved = {**weights, f"weight_{first}": weights[f"weight_{first}"] + 5,
             f"weight_{second}": weights[f"weight_{second}"] - 5, "grade_A": "90", "note": "bobot baru"}
    assert client.post(f"/workflows/documents/instrument/{instrument.code}/numbers", data=moved).status_code == 302
    newest = documents.current(DocumentKind.INSTRUMENT, instrument.code)
    assert newest.version == 2
    changed = documents.parse(newest)
    assert changed.components[0].weight == instrument.components[0].weight + 5 and changed.grades[0].min == 90
    assert accreditation.instrument_of(before) == instrument  # pinned to version 1
    after = accreditation.create_assessment(library=library, instrument_doc=accreditation.instrument_document_for(library),
                                            instance=None, actor=SYSTEM, now=utcnow())
    assert accreditation.instrument_of(after) == changed
