"""Demo circulation for the Bontang-like network: members, loans (some overdue), holds, fees, visits and
in-library use.

Everything is invented for the demo (names are common Indonesian names drawn at random). It runs
after the catalog demo and is idempotent: it does nothing once demo members exist.
"""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import func, select

from catalog.models import Item, ItemStatus, ItemType
from circulation.models import (CirculationRule, CirculationSettings, InHouseUse, LibraryClosure, Patron,
                                PatronStatus, SipAccount, Visit)
from circulation.services import desk, fees, holds, patrons
from circulation.services.common import CheckFailed
from ils.authz import Actor
from ils.errors import IlsError
from ils.extensions import db
from ils.models import Library, Role
from ils.passwords import hash_password

LABEL = "system:demo"
DEMO_PIN = "246810"  # the OPAC PIN of every demo member (the README names the first card)
KIOSK_LOGIN, KIOSK_PASSWORD = "kiosk-pukb", "kiosk-demo-2026"
FIRST = ["Siti", "Muhammad", "Nur", "Ahmad", "Dewi", "Rizky", "Putri", "Andi", "Fitri", "Budi", "Ayu", "Dimas",
         "Rina", "Agus", "Wulan", "Fajar", "Indah", "Yusuf", "Lestari", "Hendra", "Aisyah", "Rahmat", "Nabila",
         "Arif", "Kartika", "Bayu", "Maya", "Irfan", "Sari", "Daeng"]
LAST = ["Rahmawati", "Hidayat", "Saputra", "Lestari", "Pratama", "Wijaya", "Kurniawan", "Handayani", "Nugroho",
        "Sulistyo", "Ramadhan", "Anggraini", "Syahputra", "Utami", "Gunawan", "Purnama", "Setiawan", "Hasanah",
        "Tandiarrang", "Mappanyukki"]
KELURAHAN = ["Bontang Baru", "Api-Api", "Gunung Elai", "Lok Tuan", "Guntung", "Belimbing", "Bontang Kuala",
             "Tanjung Laut", "Tanjung Laut Indah", "Satimpo", "Berbas Tengah", "Berbas Pantai", "Bontang Lestari",
             "Kanaan", "Gunung Telihan"]
# (library code, category, how many); pupils and children are minors with a guardian's consent.
MEMBERS = [("PUKB", "umum", 40), ("PUKB", "anak", 12), ("PUKB", "mahasiswa", 10), ("PUKB", "guru", 8),
           ("KEC-BU", "umum", 10), ("KEC-BS", "umum", 10), ("KEC-BB", "umum", 8), ("KEL-BK", "umum", 6),
           ("KEL-LT", "umum", 6), ("KEL-TLI", "anak", 6), ("KEL-BL", "umum", 5), ("KEL-KN", "umum", 5),
           ("SDN-TL", "pelajar_sd", 20), ("SDN-GE", "pelajar_sd", 12), ("SMPN-BB", "pelajar_smp", 18),
           ("SMAN-BS", "pelajar_sma", 18), ("SMK-YPK", "pelajar_sma", 10), ("PT-STB", "mahasiswa", 15),
           ("KH-PUPUK", "pegawai", 10), ("KH-GAS", "pegawai", 6)]
AGES = {"anak": (6, 11), "pelajar_sd": (7, 12), "pelajar_smp": (12, 15), "pelajar_sma": (15, 18),
        "mahasiswa": (18, 24), "guru": (26, 58), "umum": (19, 66), "pegawai": (23, 55)}
GUEST_KINDS = ["anak", "pelajar", "mahasiswa", "umum"]
PURPOSES = ["membaca", "meminjam", "belajar", "internet", "kegiatan"]


def _utc(day: date, hour: int = 2) -> datetime:
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=timezone.utc)


def _member(rng: random.Random, library: Library, category: str, today: date, actor: Actor, pin_hash: str) -> Patron:
    low, high = AGES[category]
    born = today - timedelta(days=rng.randint(low * 365 + 30, high * 365 + 300))
    name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    joined = _utc(today - timedelta(days=rng.randint(30, 700)))
    on = joined.date()
    minor = on.year - born.year - ((on.month, on.day) < (born.month, born.day)) < 18
    data = {"name": name, "category_code": category, "home_library_id": library.id, "birth_date": born,
            "gender": rng.choice("LP"), "kelurahan": rng.choice(KELURAHAN), "kecamatan": library.kecamatan or "",
            "phone": f"08{rng.randint(11, 59)}{rng.randint(10000000, 99999999)}", "whatsapp": rng.random() < 0.8,
            "email": f"{name.lower().replace(' ', '.')}{rng.randint(1, 99)}@contoh.id" if rng.random() < 0.6 else "",
            "history_opt_in": rng.random() < 0.3}
    if category.startswith("pelajar"):
        data.update({"institution": library.name, "school_library_id": library.id,
                     "nis": str(rng.randint(10000, 99999)), "school_class": f"{rng.randint(1, 9)}{rng.choice('ABC')}"})
    if minor:
        data.update({"guardian_name": f"{rng.choice(FIRST)} {name.split()[-1]}",
                     "guardian_phone": f"0813{rng.randint(10000000, 99999999)}"})
    patron = patrons.register(actor=actor, data=data, now=joined, today=joined.date(), guardian_consent=minor)
    patron.pin_hash = pin_hash  # one argon2 hash for all: hashing 235 PINs would take most of a minute
    return patron


def _settings_and_rules(codes: dict[str, Library]) -> None:
    for library in codes.values():
        if db.session.get(CirculationSettings, library.id) is None:
            db.session.add(CirculationSettings(library_id=library.id, floating=library.code.startswith("KEL-"),
                                               pickup_point=not library.code.startswith(("PB-", "DPK", "YPK"))))
    school_rows = [("SDN-TL", "pelajar_sd"), ("SDN-GE", "pelajar_sd"), ("SMPN-BB", "pelajar_smp")]
    for code, category in school_rows:
        if code in codes:
            db.session.add(CirculationRule(library_id=codes[code].id, category_code=category, item_type="*",
                                           loan_days=3, max_loans_library=2, max_loans_city=4, renewals=1,
                                           renewal_days=3, fine_per_day=0, fine_cap=0, other_libraries=False,
                                           note="Siswa meminjam 3 hari, tanpa denda"))
    if "PT-STB" in codes:
        db.session.add(CirculationRule(library_id=codes["PT-STB"].id, category_code="mahasiswa", item_type="*",
                                       loan_days=14, max_loans_library=5, max_loans_city=10, renewals=2,
                                       renewal_days=14, fine_per_day=1000, fine_cap=50000,
                                       note="Mahasiswa STTB: 14 hari"))
        db.session.add(CirculationRule(library_id=codes["PT-STB"].id, category_code="*", item_type="referensi",
                                       loanable=True, loan_hours=3, max_loans_library=1, max_loans_city=1,
                                       renewals=0, fine_per_day=2000, fine_cap=20000, holds_allowed=False,
                                       other_libraries=False, note="Referensi: pinjam 3 jam untuk fotokopi"))
    for year in (2025, 2026, 2027):
        # HUT Kota Bontang, 12 October: every library closes.
        db.session.add(LibraryClosure(library_id=None, on_date=date(year, 10, 12), closed=True,
                                      reason="HUT Kota Bontang"))
    if "PUKB" in codes:  # the city library opens on the cuti bersama after Idul Fitri 2026
        db.session.add(LibraryClosure(library_id=codes["PUKB"].id, on_date=date(2026, 3, 24), closed=False,
                                      reason="Layanan tetap buka saat cuti bersama"))
    db.session.flush()


def load(actor: Actor) -> None:
    """Create demo members, loans, holds, fees, visits and a kiosk account (once)."""
    if db.session.scalar(select(func.count()).select_from(Patron)):
        return
    system = Actor.system(LABEL)
    rng = random.Random(6474)
    codes = {lib.code: lib for lib in db.session.scalars(select(Library))}
    _settings_and_rules(codes)
    today = date.today()
    members: list[Patron] = []
    pin_hash = hash_password(DEMO_PIN)
    for code, category, count in MEMBERS:
        library = codes.get(code)
        if library is None:
            continue
        for _ in range(count):
            members.append(_member(rng, library, category, today, system, pin_hash))
    db.session.flush()
    _special_members(members, today, system)
    _loans(rng, members, today)
    _visits(rng, codes, today)
    if "PUKB" in codes and db.session.scalar(select(SipAccount.id).where(SipAccount.login == KIOSK_LOGIN)) is None:
        db.session.add(SipAccount(login=KIOSK_LOGIN, password_hash=hash_password(KIOSK_PASSWORD),
                                  library_id=codes["PUKB"].id, label="Mesin pinjam mandiri lobi"))
    db.session.flush()


def _special_members(members: list[Patron], today: date, actor: Actor) -> None:
    now = _utc(today)
    blocked = members[5]
    patrons.set_block(actor=actor, patron_id=blocked.id, blocked=True, reason="Kartu dilaporkan hilang", now=now)
    members[6].expiry_date = today - timedelta(days=20)
    for patron in members[-3:]:
        patron.status = PatronStatus.PENDING
        patron.self_registered = True
        patron.approved_at = None


def _desk(library_id: int) -> Actor:
    return Actor(label="demo.petugas", role=Role.LIBRARIAN, library_id=library_id)


def _loans(rng: random.Random, members: list[Patron], today: date) -> None:
    items = list(db.session.scalars(select(Item).where(Item.status == ItemStatus.AVAILABLE,
                                                       Item.item_type != ItemType.REFERENSI).order_by(Item.id)))
    by_library: dict[int, list[Item]] = {}
    for item in items:
        by_library.setdefault(item.library_id, []).append(item)
    active = [p for p in members if p.status == PatronStatus.ACTIVE and not p.expired(today)]
    # Returned loans over the last months (some late: fines, some of them paid), then current ones.
    for days_ago in range(120, 0, -3):
        start = _utc(today - timedelta(days=days_ago))
        for patron in rng.sample(active, k=min(4 if days_ago > 21 else 12, len(active))):
            shelf = by_library.get(patron.home_library_id) or by_library.get(rng.choice(list(by_library)), [])
            free = [i for i in shelf if i.status == ItemStatus.AVAILABLE]
            if not free:
                continue
            item = rng.choice(free)
            loan = _try(lambda: desk.checkout(actor=_desk(item.library_id), card_number=patron.card_number,
                                              barcode=item.barcode, library_id=item.library_id, now=start).loan)
            if loan is None:
                continue
            back = start + timedelta(days=rng.choice([3, 6, 9, 12, 20, 30]))
            # Most recent loans are still out (due soon); a few older ones are overdue; the rest came
            # back, some late, at the latest yesterday.
            if days_ago <= 21 and rng.random() < (0.7 if days_ago <= 7 else 0.2):
                continue
            back = min(back, _utc(today - timedelta(days=1)))
            result = _try(lambda: desk.checkin(actor=_desk(item.library_id), barcode=item.barcode,
                                               library_id=item.library_id, now=back))
            if result is not None and result.fee is not None and rng.random() < 0.6:
                _try(lambda: fees.pay(actor=_desk(item.library_id), patron_id=patron.id,
                                      amount=result.fee.amount, library_id=item.library_id, now=back))
    # Holds: members wait for copies that are out; one copy is checked in and lands on the shelf.
    out = list(db.session.scalars(select(Item).where(Item.status == ItemStatus.ON_LOAN).order_by(Item.id).limit(12)))
    for n, item in enumerate(out):
        # The first hold is picked up where the copy lives, so its check-in puts it on the hold shelf.
        local = [p for p in active if p.home_library_id == item.library_id] if n == 0 else []
        patron = rng.choice(local or active)
        _try(lambda: holds.place(actor=_desk(item.library_id), patron=patron, record_id=item.record_id,
                                 pickup_library_id=patron.home_library_id, now=_utc(today - timedelta(days=2))))
    if out:
        _try(lambda: desk.checkin(actor=_desk(out[0].library_id), barcode=out[0].barcode,
                                  library_id=out[0].library_id, now=_utc(today, 1)))


def _try(call):  # noqa: ANN001, ANN202 - a demo step that a rule may refuse; the demo goes on without it
    try:
        with db.session.begin_nested():
            return call()
    except (CheckFailed, IlsError):
        return None


def _visits(rng: random.Random, codes: dict[str, Library], today: date) -> None:
    rows = []
    visit_days = (today - date(today.year - 1, 1, 1)).days + 1
    for library in codes.values():
        if library.code in ("DPK", "YPK"):
            continue
        busy = 40 if library.code == "PUKB" else 12 if library.code.startswith(("KEC", "SMA", "SMP", "PT")) else 6
        shelf = db.session.scalars(select(Item.id).where(Item.library_id == library.id).order_by(Item.id).limit(40)).all()
        # Back to 1 January of last year, so the DPK dashboard can set this year against last year;
        # visits grow by about half over the period (the story: transformation brings people in).
        for days_ago in range(1, visit_days):
            day = today - timedelta(days=days_ago)
            if not (library.opening_hours or {}).get(("mon", "tue", "wed", "thu", "fri", "sat", "sun")[day.weekday()]):
                continue
            at = _utc(day, 3)
            level = busy * (0.65 + 0.35 * (1 - days_ago / visit_days))
            for member, category in ((True, "umum"), (True, "pelajar_smp"), (False, rng.choice(GUEST_KINDS))):
                size = max(0, int(rng.gauss(level / 3, level / 8)))
                if size:
                    rows.append(Visit(library_id=library.id, at=at, local_date=day, member=member, category=category,
                                      purpose=rng.choice(PURPOSES), gender=rng.choice("LP"), group_size=size))
            read_here = max(0, int(rng.gauss(level / 4, level / 10)))  # baca di tempat: books left on the tables
            if read_here and shelf:
                rows.append(InHouseUse(library_id=library.id, item_id=rng.choice(shelf), at=at, local_date=day,
                                       count=read_here))
    db.session.add_all(rows)
    db.session.flush()
