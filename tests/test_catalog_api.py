"""The catalog JSON API: records in MARC-in-JSON and MARCXML, lost updates, validation, items, imports, CSRF."""
from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from catalog import marc
from catalog.build import QuickEntry, build
from catalog.models import ImportBatch, Record, RecordVersion
from catalog.readers import read_xml
from catalog.services import items as item_services, records as record_services
from ils import jobs
from ils.extensions import db
from ils.models import JobRecord
from tests.conftest import dispose, make_app
from tests.factories import PASSWORD, SYSTEM, Network, build_network, count_rows, login

API = "/api/v1/catalog"


def _client(app: Flask, net: Network, role: str = "cataloguer") -> FlaskClient:
    client = app.test_client()
    login(client, net.users[role].username)
    return client


def _marc(title: str, **entry: Any) -> dict[str, Any]:
    return build(QuickEntry(title=title, **entry), org_code="API", today=date(2026, 2, 1))


def _title(data: dict[str, Any]) -> str:
    return next(s["a"] for f in data["fields"] for t, v in f.items() if t == "245"
                for s in v["subfields"] if "a" in s)



def test_create_from_json_and_read_back_in_both_formats(app: Flask, ctx: None, network: Network) -> None:
    """A record posted as MARC-in-JSON comes back as JSON (fields, version, holdings) and as MARCXML."""
    client = _client(app, network)
    response = client.post(f"{API}/records", json={"marc": _marc("Laut Bontang", isbn="9786020331256",
                                                                 authors=["Saleh, Muhammad"], year=2024)})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    record_id = body["id"]
    assert response.headers["Location"].endswith(f"{API}/records/{record_id}")
    assert body["version"] == 1 and body["title"].startswith("Laut Bontang")
    assert body["main_author"] == "Saleh, Muhammad" and body["year"] == 2024
    assert "9786020331256" in body["isbns"] and body["holdings"] == []
    assert {"001": str(record_id)} in body["marc"]["fields"]  # our control number was added

    again = client.get(body["links"]["self"]).get_json()
    assert again["marc"] == body["marc"] and again["version"] == 1

    xml = client.get(f"{API}/records/{record_id}?format=marcxml")
    assert xml.status_code == 200 and xml.mimetype == "application/marcxml+xml"
    assert xml.data.startswith(b"<?xml") and xml.data.count(b"<record") == 1
    assert b'xmlns="http://www.loc.gov/MARC21/slim"' in xml.data
    (read,) = list(read_xml(io.BytesIO(xml.data)))
    assert read.record["fields"] == body["marc"]["fields"]
    by_accept = client.get(f"{API}/records/{record_id}", headers={"Accept": "application/marcxml+xml"})
    assert by_accept.mimetype == "application/marcxml+xml"

    bare = client.post(f"{API}/records", json=_marc("Rekaman Tanpa Bungkus"))  # the record dict itself
    assert bare.status_code == 201 and bare.get_json()["title"].startswith("Rekaman Tanpa Bungkus")


def test_create_from_marcxml(app: Flask, ctx: None, network: Network) -> None:
    """MARCXML (one <record>, with or without a collection) creates a record just the same."""
    client = _client(app, network)
    xml = marc.XML_HEAD + marc.marcxml_record(_marc("Hutan Mangrove")) + marc.XML_TAIL
    response = client.post(f"{API}/records", data=xml, content_type="application/marcxml+xml")
    assert response.status_code == 201, response.get_json()
    record_id = response.get_json()["id"]
    assert db.session.get(Record, record_id).title.startswith("Hutan Mangrove")
    single = marc.marcxml_record(_marc("Pesut Mahakam"), namespace=True)
    assert client.post(f"{API}/records", data=single, content_type="application/xml").status_code == 201

    two = marc.XML_HEAD + marc.marcxml_record(_marc("Satu")) + marc.marcxml_record(_marc("Dua")) + marc.XML_TAIL
    refused = client.post(f"{API}/records", data=two, content_type="application/marcxml+xml")
    assert refused.status_code == 422 and refused.get_json()["status"] == 422
    broken = client.post(f"{API}/records", data=b"<record><leader>", content_type="application/xml")
    assert broken.status_code == 422 and broken.get_json()["issues"][0]["code"] == "read_xml_syntax"
    other = client.post(f"{API}/records", data=b"=LDR  00000nam", content_type="text/plain")
    assert other.status_code == 415 and "error" in other.get_json()
    assert not db.session.scalar(select(func.count()).select_from(Record).where(Record.title.in_(["Satu", "Dua"])))


def test_update_needs_the_version_and_refuses_a_stale_one(app: Flask, ctx: None, network: Network) -> None:
    """If-Match (or "version") protects against lost updates: a stale version is 409 and changes nothing."""
    record_id = network.record_a.id
    client = _client(app, network)
    data = client.get(f"{API}/records/{record_id}").get_json()["marc"]
    data["fields"] = [{"245": {**f["245"], "subfields": [{"a": "Hikayat Pesisir Kota Bontang"}]}}
                      if "245" in f else f for f in data["fields"]]

    missing = client.put(f"{API}/records/{record_id}", json={"marc": data})
    assert missing.status_code == 428
    ok = client.put(f"{API}/records/{record_id}", json={"marc": data}, headers={"If-Match": '"1"'})
    assert ok.status_code == 200, ok.get_json()
    assert ok.get_json()["version"] == 2 and ok.get_json()["title"].startswith("Hikayat Pesisir Kota Bontang")

    versions = count_rows(RecordVersion)
    stale = dict(data, fields=[{"245": {"ind1": "0", "ind2": "0", "subfields": [{"a": "Tulisan Lama"}]}}
                               if "245" in f else f for f in data["fields"]])
    conflict = client.put(f"{API}/records/{record_id}", json={"marc": stale}, headers={"If-Match": "1"})
    assert conflict.status_code == 409 and conflict.get_json()["status"] == 409
    in_body = client.put(f"{API}/records/{record_id}", json={"marc": stale, "version": 1})
    assert in_body.status_code == 409
    xml = client.put(f"{API}/records/{record_id}", data=marc.marcxml_record(stale, namespace=True),
                     content_type="application/marcxml+xml", headers={"If-Match": "1"})
    assert xml.status_code == 409
    disagree = client.put(f"{API}/records/{record_id}", json={"marc": stale, "version": 2},
                          headers={"If-Match": "1"})
    assert disagree.status_code == 422
    db.session.expire_all()
    record = db.session.get(Record, record_id)
    assert record.version == 2 and record.title.startswith("Hikayat Pesisir Kota Bontang")
    assert count_rows(RecordVersion) == versions

    by_xml = client.put(f"{API}/records/{record_id}", data=marc.marcxml_record(stale, namespace=True),
                        content_type="application/marcxml+xml", headers={"If-Match": "2"})
    assert by_xml.status_code == 200 and by_xml.get_json()["version"] == 3
    assert _title(by_xml.get_json()["marc"]) == "Tulisan Lama"


def test_invalid_marc_is_422_with_the_issues(app: Flask, ctx: None, network: Network) -> None:
    """Validation errors list each issue (code, tag, message); nothing is stored."""
    client = _client(app, network)
    records = count_rows(Record)
    no_title = _marc("Tanpa Judul")
    no_title["fields"] = [f for f in no_title["fields"] if "245" not in f] + [{"2-5": "oops"}]
    response = client.post(f"{API}/records", json=no_title)
    assert response.status_code == 422
    body = response.get_json()
    codes = {i["code"] for i in body["issues"]}
    assert {"missing_245", "bad_tag"} <= codes and body["status"] == 422 and body["error"]
    bad_tag = next(i for i in body["issues"] if i["code"] == "bad_tag")
    assert bad_tag["tag"] == "2-5" and "2-5" in bad_tag["message"]
    not_marc = client.post(f"{API}/records", json={"title": "bukan MARC"})
    assert not_marc.status_code == 422 and not_marc.get_json()["issues"][0]["code"] == "read_json"

    record_id = network.record_a.id
    update = client.put(f"{API}/records/{record_id}", json={"marc": no_title, "version": 1})
    assert update.status_code == 422 and "missing_245" in {i["code"] for i in update.get_json()["issues"]}
    assert count_rows(Record) == records
    db.session.expire_all()
    assert db.session.get(Record, record_id).version == 1


def test_tombstones_anonymous_and_missing(app: Flask, ctx: None, network: Network) -> None:
    """A merged record names the survivor in a 404; no session is 401 JSON; unknown ids are 404 JSON."""
    keep, gone = network.record_a.id, network.record_b.id
    record_services.merge_records(keep_id=keep, remove_id=gone, actor=SYSTEM)
    db.session.commit()
    client = _client(app, network)
    response = client.get(f"{API}/records/{gone}")
    assert response.status_code == 404 and response.get_json()["merged_into"] == keep
    assert client.put(f"{API}/records/{gone}", json={"marc": _marc("x"), "version": 1}).status_code == 404
    assert client.get(f"{API}/records/999999").get_json() == {
        "error": client.get(f"{API}/records/999999").get_json()["error"], "status": 404}
    anonymous = app.test_client().get(f"{API}/records")
    assert anonymous.status_code == 401 and anonymous.get_json()["status"] == 401


def test_search_pages(app: Flask, ctx: None, network: Network) -> None:
    client = _client(app, network, "assessor")
    body = client.get(f"{API}/records?q=hikayat").get_json()
    assert body["total"] == 1 and body["page"] == 1 and body["pages"] == 1
    (hit,) = body["items"]
    assert hit["id"] == network.record_a.id and set(hit) >= {"title", "main_author", "year", "isbns",
                                                             "material_type", "links"}
    assert client.get(f"{API}/records?q=hikayat&page=2").get_json()["items"] == []
    assert client.get(f"{API}/records?kind=authority").get_json()["total"] == 0


def test_private_items_of_other_libraries_stay_hidden(app: Flask, ctx: None, network: Network) -> None:
    """A private copy is seen by its own library and network-wide staff only."""
    record_id = network.record_b.id
    hidden = item_services.add_item(record_id=record_id, library_id=network.b.id, actor=SYSTEM,
                                    data=item_services.ItemInput(barcode="B-PRIV", public=False),
                                    today=date(2026, 1, 5))
    db.session.commit()
    hidden_id, public_id = hidden.id, network.item_b.id

    librarian = _client(app, network, "librarian")  # library A
    listed = librarian.get(f"{API}/records/{record_id}/items").get_json()
    assert [i["id"] for i in listed["items"]] == [public_id]
    assert librarian.get(f"{API}/items/{hidden_id}").status_code == 404
    one = librarian.get(f"{API}/items/{public_id}").get_json()
    assert one["barcode"] == "B0001" and one["library"]["code"] == "LIB-B" and one["public"] is True
    assert set(one) >= {"accession_number", "location", "collection", "call_number", "item_type", "status",
                        "lendable_network"}
    assert hidden_id not in [i["id"] for i in librarian.get(f"{API}/records/{record_id}").get_json()["holdings"]]

    admin = _client(app, network, "admin")
    assert {i["id"] for i in admin.get(f"{API}/records/{record_id}/items").get_json()["items"]} == {
        public_id, hidden_id}
    assert admin.get(f"{API}/items/{hidden_id}").status_code == 200
    own = app.test_client()
    login(own, network.target_b.username, PASSWORD)  # a cataloguer of library B
    assert own.get(f"{API}/items/{hidden_id}").get_json()["barcode"] == "B-PRIV"


def test_adding_copies(app: Flask, ctx: None, network: Network) -> None:
    """A copy goes to my library; another library's is refused; network-wide staff name the library."""
    record_id = network.record_b.id
    client = _client(app, network)
    response = client.post(f"{API}/records/{record_id}/items", json={"barcode": "A-API-1", "public": False,
                                                                     "source": "hadiah", "price": 45000})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["library"]["code"] == "LIB-A" and body["public"] is False and body["barcode"] == "A-API-1"
    assert response.headers["Location"].endswith(f"{API}/items/{body['id']}")
    assert client.post(f"{API}/records/{record_id}/items", json={"library_id": network.b.id}).status_code == 403
    assert client.post(f"{API}/records/{record_id}/items", json={"item_type": "kapal"}).status_code == 422
    duplicate = client.post(f"{API}/records/{record_id}/items", json={"barcode": "A-API-1"})
    assert duplicate.status_code == 409
    admin = _client(app, network, "admin")
    assert admin.post(f"{API}/records/{record_id}/items", json={}).status_code == 422  # which library?
    assert admin.post(f"{API}/records/{record_id}/items", json={"library_id": network.b.id}).status_code == 201
    assessor = _client(app, network, "assessor")
    assert assessor.post(f"{API}/records/{record_id}/items", json={}).status_code == 403


def test_import_upload_job_and_report_rows(app: Flask, ctx: None, network: Network) -> None:
    """Upload (202), the queued job runs, the batch and its described rows are read back."""
    other_batch, other_library = network.batch_b.id, network.b.id
    good = marc.iso2709(_marc("Buku Impor API", isbn="9786028519939"))
    data = good + b"00050nam  2200025   4500garbage\x1d"
    client = _client(app, network, "librarian")
    response = client.post(f"{API}/imports", data={"file": (io.BytesIO(data), "api.mrc"), "on_match": "items"},
                           content_type="multipart/form-data")
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    batch_id = body["id"]
    assert body["status"] == "queued" and body["job_id"] and body["library"]["code"] == "LIB-A"
    assert response.headers["Location"].endswith(f"{API}/imports/{batch_id}")

    jobs.run_burst()
    assert db.session.get(JobRecord, body["job_id"]).status.value == "finished"
    done = client.get(f"{API}/imports/{batch_id}").get_json()
    assert done["status"] == "done" and done["counts"]["new"] == 1 and done["counts"]["rejected"] == 1
    assert done["job"]["status"] == "finished"
    rows = client.get(f"{API}/imports/{batch_id}/rows").get_json()
    assert rows["total"] == 2 and [r["outcome"] for r in rows["items"]] == ["new", "rejected"]
    assert rows["items"][0]["record_id"] and rows["items"][0]["title"].startswith("Buku Impor API")
    rejected = client.get(f"{API}/imports/{batch_id}/rows?outcome=rejected").get_json()
    (row,) = rejected["items"]
    assert row["issues"][0]["code"].startswith("read_") and row["issues"][0]["message"]
    listed = client.get(f"{API}/imports").get_json()
    assert batch_id in [b["id"] for b in listed["items"]] and other_batch not in [b["id"] for b in listed["items"]]

    assert client.get(f"{API}/imports/{other_batch}").status_code == 403
    assert client.get(f"{API}/imports/{other_batch}/rows").status_code == 403
    other = client.post(f"{API}/imports", data={"file": (io.BytesIO(good), "b.mrc"), "library_id": other_library},
                        content_type="multipart/form-data")
    assert other.status_code == 403
    no_file = client.post(f"{API}/imports", data={"format": "auto"}, content_type="multipart/form-data")
    assert no_file.status_code == 422
    bad_option = client.post(f"{API}/imports", data={"file": (io.BytesIO(good), "c.mrc"), "format": "pdf"},
                             content_type="multipart/form-data")
    assert bad_option.status_code == 422
    assert count_rows(ImportBatch) == 3  # the network's two and the one above


@pytest.fixture
def csrf_app(app: Flask, session_dir: Path) -> Iterator[Flask]:
    """The same database with CSRF protection on."""
    application = make_app(session_dir, WTF_CSRF_ENABLED=True)
    yield application
    dispose(application)


def test_writes_need_the_csrf_header(csrf_app: Flask) -> None:
    """Without X-CSRFToken a POST or PUT is refused (400 JSON); with the token it works."""
    with csrf_app.app_context():
        net = build_network()
        record_id = net.record_a.id
        records = count_rows(Record)
    client = csrf_app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post("/login", data={"csrf_token": token, "username": "u.cataloguer",
                                       "password": PASSWORD}).status_code == 302

    refused = client.post(f"{API}/records", json=_marc("Tanpa Token"))
    assert refused.status_code == 400 and refused.get_json()["status"] == 400 and refused.get_json()["error"]
    assert client.put(f"{API}/records/{record_id}", json={"marc": _marc("Tanpa Token"), "version": 1}
                      ).status_code == 400
    upload = client.post(f"{API}/imports", data={"file": (io.BytesIO(b"x" * 10), "x.mrc")},
                         content_type="multipart/form-data")
    assert upload.status_code == 400
    wrong = client.post(f"{API}/records", json=_marc("Token Salah"), headers={"X-CSRFToken": "nonsense"})
    assert wrong.status_code == 400

    token = client.get(f"{API}/records").headers["X-CSRFToken"]  # every API answer carries the token
    created = client.post(f"{API}/records", json=_marc("Dengan Token"), headers={"X-CSRFToken": token})
    assert created.status_code == 201, created.get_json()
    data = client.get(f"{API}/records/{record_id}").get_json()["marc"]
    updated = client.put(f"{API}/records/{record_id}", json={"marc": data, "version": 1},
                         headers={"X-CSRFToken": token})
    assert updated.status_code == 200
    with csrf_app.app_context():
        assert count_rows(Record) == records + 1
