"""Demo network modelled on Kota Bontang, written for this project (idempotent).

Names of the kecamatan and kelurahan are the real ones; libraries, NPPs, addresses, phone
numbers and people are invented for the demo. Later domains add records, patrons and loans
through ``DEMO_LOADERS``.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from ils.authz import Actor
from ils.extensions import db
from ils.models import LibraryType, Role, StaffUser
from ils.services import libraries as library_services
from ils.services import staff as staff_services

DEMO_PASSWORD = "bontang-demo-2026"
# Loaders other domains register: fn(actor) -> None, called after the network exists.
DEMO_LOADERS: list[Callable[[Actor], None]] = []

OFFICE = [["08:00", "16:00"]]
PUBLIC = {"mon": [["08:00", "16:00"]], "tue": [["08:00", "16:00"]], "wed": [["08:00", "16:00"]],
          "thu": [["08:00", "16:00"]], "fri": [["08:00", "11:30"], ["13:30", "16:00"]],
          "sat": [["09:00", "14:00"]], "sun": []}
WEEKDAY_ONLY = {d: OFFICE for d in ("mon", "tue", "wed", "thu")} | {"fri": [["08:00", "11:00"]],
                                                                     "sat": [], "sun": []}
SCHOOL = {d: [["07:30", "13:30"]] for d in ("mon", "tue", "wed", "thu")} | {
    "fri": [["07:30", "11:00"]], "sat": [["07:30", "12:00"]], "sun": []}
KELURAHAN = {d: [["13:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")} | {
    "sat": [["09:00", "12:00"]], "sun": [["09:00", "12:00"]]}


@dataclass(frozen=True)
class DemoLibrary:
    """One library of the demo network."""

    code: str
    name: str
    type: LibraryType
    parent: str | None
    kecamatan: str | None
    kelurahan: str | None
    address: str
    hours: dict[str, Any]
    npp: str | None = None
    opac_public: bool = True


BU, BS, BB = "Bontang Utara", "Bontang Selatan", "Bontang Barat"
NETWORK = [
    DemoLibrary("DPK", "Dinas Perpustakaan dan Kearsipan Kota Bontang", LibraryType.INDUK, None, BU,
                "Bontang Baru", "Jl. Demo Pahlawan No. 1, Bontang", WEEKDAY_ONLY),
    DemoLibrary("PUKB", "Perpustakaan Umum Kota Bontang", LibraryType.UMUM_KOTA, "DPK", BU, "Bontang Baru",
                "Jl. Demo Pahlawan No. 3, Bontang", PUBLIC, npp="6474000D0000001"),
    DemoLibrary("KEC-BU", "Perpustakaan Kecamatan Bontang Utara", LibraryType.KECAMATAN, "DPK", BU,
                "Api-Api", "Kantor Kecamatan Bontang Utara (demo)", WEEKDAY_ONLY),
    DemoLibrary("KEC-BS", "Perpustakaan Kecamatan Bontang Selatan", LibraryType.KECAMATAN, "DPK", BS,
                "Berbas Tengah", "Kantor Kecamatan Bontang Selatan (demo)", WEEKDAY_ONLY),
    DemoLibrary("KEC-BB", "Perpustakaan Kecamatan Bontang Barat", LibraryType.KECAMATAN, "DPK", BB,
                "Belimbing", "Kantor Kecamatan Bontang Barat (demo)", WEEKDAY_ONLY),
    DemoLibrary("KEL-BK", "Perpustakaan Kelurahan Bontang Kuala", LibraryType.KELURAHAN, "KEC-BU", BU,
                "Bontang Kuala", "Balai Kelurahan Bontang Kuala (demo)", KELURAHAN),
    DemoLibrary("KEL-LT", "Perpustakaan Kelurahan Lok Tuan", LibraryType.KELURAHAN, "KEC-BU", BU,
                "Lok Tuan", "Balai Kelurahan Lok Tuan (demo)", KELURAHAN),
    DemoLibrary("KEL-TLI", "Perpustakaan Kelurahan Tanjung Laut Indah", LibraryType.KELURAHAN, "KEC-BS", BS,
                "Tanjung Laut Indah", "Balai Kelurahan Tanjung Laut Indah (demo)", KELURAHAN),
    DemoLibrary("KEL-BL", "Perpustakaan Kelurahan Bontang Lestari", LibraryType.KELURAHAN, "KEC-BS", BS,
                "Bontang Lestari", "Balai Kelurahan Bontang Lestari (demo)", KELURAHAN),
    DemoLibrary("KEL-KN", "Perpustakaan Kelurahan Kanaan", LibraryType.KELURAHAN, "KEC-BB", BB,
                "Kanaan", "Balai Kelurahan Kanaan (demo)", KELURAHAN),
    DemoLibrary("KEL-GT", "Perpustakaan Kelurahan Gunung Telihan", LibraryType.KELURAHAN, "KEC-BB", BB,
                "Gunung Telihan", "Balai Kelurahan Gunung Telihan (demo)", {}),
    DemoLibrary("SDN-TL", "Perpustakaan SD Negeri Tanjung Laut (demo)", LibraryType.SEKOLAH_SD, "DPK", BS,
                "Tanjung Laut", "Jl. Demo Sekolah No. 5, Tanjung Laut", SCHOOL),
    DemoLibrary("SDN-GE", "Perpustakaan SD Negeri Gunung Elai (demo)", LibraryType.SEKOLAH_SD, "DPK", BU,
                "Gunung Elai", "Jl. Demo Sekolah No. 9, Gunung Elai", SCHOOL),
    DemoLibrary("SMPN-BB", "Perpustakaan SMP Negeri Bontang Barat (demo)", LibraryType.SEKOLAH_SMP, "DPK", BB,
                "Belimbing", "Jl. Demo Pendidikan No. 2, Belimbing", SCHOOL),
    DemoLibrary("SMAN-BS", "Perpustakaan SMA Negeri Bontang Selatan (demo)", LibraryType.SEKOLAH_SMA, "DPK",
                BS, "Satimpo", "Jl. Demo Pendidikan No. 7, Satimpo", SCHOOL, npp="6474000E0000002"),
    DemoLibrary("YPK", "Yayasan Pendidikan Khatulistiwa (demo)", LibraryType.INDUK, None, BS, "Berbas Pantai",
                "Jl. Demo Yayasan No. 4, Berbas Pantai", {}),
    DemoLibrary("SMK-YPK", "Perpustakaan SMK Khatulistiwa (demo)", LibraryType.SEKOLAH_SMA, "YPK", BS,
                "Berbas Pantai", "Jl. Demo Yayasan No. 4, Berbas Pantai", SCHOOL),
    DemoLibrary("PT-STB", "Perpustakaan Sekolah Tinggi Teknik Bontang (demo)", LibraryType.PERGURUAN_TINGGI,
                None, BU, "Gunung Elai", "Jl. Demo Kampus No. 1, Gunung Elai",
                {d: [["08:00", "20:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
                | {"sat": [["08:00", "12:00"]], "sun": []}, npp="6474000F0000003"),
    DemoLibrary("KH-PUPUK", "Perpustakaan PT Pupuk Borneo Timur (demo)", LibraryType.KHUSUS, None, BU,
                "Guntung", "Kompleks Industri Demo, Guntung", WEEKDAY_ONLY, opac_public=False),
    DemoLibrary("KH-GAS", "Perpustakaan PT Gas Alam Bontang (demo)", LibraryType.KHUSUS, None, BS,
                "Satimpo", "Kawasan Industri Demo, Satimpo", WEEKDAY_ONLY, opac_public=False),
    DemoLibrary("PB-SETDA", "Pojok Baca Sekretariat Daerah Kota Bontang", LibraryType.POJOK_BACA, "DPK", BU,
                "Bontang Baru", "Kantor Sekretariat Daerah (demo)", WEEKDAY_ONLY),
]

# (username, full name, role, library code or None)
STAFF = [
    ("admin", "Admin Sistem", Role.ADMIN, None),
    ("dpk", "Rina Kusumawati (DPK)", Role.DPK, None),
    ("pukb.kepala", "Hendra Saputra", Role.LIBRARIAN, "PUKB"),
    ("pukb.katalog", "Siti Aminah", Role.CATALOGUER, "PUKB"),
    ("pukb.sirkulasi", "Yusuf Ramadhan", Role.CIRCULATION, "PUKB"),
    ("asesor", "Dewi Lestari", Role.ASSESSOR, "PUKB"),
    ("kecbu.kepala", "Agus Salim", Role.LIBRARIAN, "KEC-BU"),
    ("kelbk.kepala", "Nur Aisyah", Role.LIBRARIAN, "KEL-BK"),
    ("sdntl.guru", "Maria Ulfa", Role.LIBRARIAN, "SDN-TL"),
    ("smanbs.kepala", "Bambang Wijaya", Role.LIBRARIAN, "SMAN-BS"),
    ("smanbs.sirkulasi", "Fitri Handayani", Role.CIRCULATION, "SMAN-BS"),
    ("stb.kepala", "Ir. Made Suarta", Role.LIBRARIAN, "PT-STB"),
    ("stb.katalog", "Lukas Tandiarrang", Role.CATALOGUER, "PT-STB"),
    ("pupuk.kepala", "Rahmat Hidayat", Role.LIBRARIAN, "KH-PUPUK"),
]


def load(actor: Actor | None = None) -> dict[str, int]:
    """Create what is missing of the demo network; returns counts of rows created."""
    actor = actor or Actor.system("system:demo")
    created = {"libraries": 0, "staff": 0}
    codes: dict[str, int] = {}
    for spec in NETWORK:
        existing = library_services.get_by_code(spec.code)
        if existing is None:
            existing = library_services.create_library(actor=actor, data={
                "code": spec.code, "name": spec.name, "type": spec.type.value, "npp": spec.npp,
                "parent_id": codes.get(spec.parent) if spec.parent else None, "kecamatan": spec.kecamatan,
                "kelurahan": spec.kelurahan, "address": spec.address, "opening_hours": spec.hours,
                "opac_public": spec.opac_public,
                "phone": None if spec.code == "KEL-GT" else "0548-000" + str(len(codes)).zfill(3),
                "email": None if spec.code == "KEL-GT" else f"{spec.code.lower()}@bontang.example.org",
            })
            created["libraries"] += 1
        codes[spec.code] = existing.id
    for username, full_name, role, code in STAFF:
        if db.session.scalar(select(StaffUser.id).where(StaffUser.username == username)) is None:
            staff_services.create_staff(actor=actor, password=DEMO_PASSWORD, data={
                "username": username, "full_name": full_name, "role": role.value,
                "library_id": codes[code] if code else None, "locale": "id",
                # Reserved example domain: the workflow e-mails the demo queues can never reach anyone.
                "email": f"{username}@bontang.example.org"})
            created["staff"] += 1
    for loader in DEMO_LOADERS:
        loader(actor)
    db.session.flush()
    return created


def logins() -> list[tuple[str, str, str]]:
    """(username, role label, library code) of the demo accounts, for printing."""
    return [(u, r.label, c or "-") for u, _n, r, c in STAFF]

