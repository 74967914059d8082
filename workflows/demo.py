"""Demo workflows for the Bontang-like network, written for this project (idempotent).

Libraries stand at varied stages of accreditation (one accredited A, one whose certificate runs out
soon, one expired, others at the NPP, SNP, self-assessment, DPK review and visitation steps), two
kelurahan run the TPBIS programme, libraries have entered their facts, activities fill the last
fifteen months, and the city carries example goals after its 2019 and 2025 coordination meetings.
Every figure, name and number here is invented for the demo.
"""
from __future__ import annotations

import io
import random
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, select

from ils.authz import Actor
from ils.extensions import db
from ils.models import Library, Role
from workflows.models import Goal, Instance
from workflows.services import accreditation, activities, documents, figures, goals, instances, iplm

LABEL = "system:demo"
DPK = Actor(label="dpk", role=Role.DPK)

# Facts each library entered: (floor m², staff, trained staff, collection budget Rp, rombel, students,
# residents served). None: not entered (the SNP page asks for it).
FACTS: dict[str, tuple[Any, ...]] = {
    "PUKB": (850, 14, 9, 350_000_000, None, None, 188_000),
    "KEC-BU": (96, 3, 2, 25_000_000, None, None, 74_000),
    "KEC-BS": (72, 2, 1, 20_000_000, None, None, 69_000),
    "KEC-BB": (60, 2, 0, 15_000_000, None, None, 45_000),
    "KEL-BK": (48, 2, 1, 6_000_000, None, None, 9_500),
    "KEL-LT": (56, 1, 0, None, None, None, 16_000),
    "KEL-TLI": (64, 2, 2, 8_000_000, None, None, 21_000),
    "KEL-BL": (40, 1, 0, None, None, None, 13_000),
    "KEL-KN": (None, 1, 0, None, None, None, 11_000),
    "SDN-TL": (84, 2, 1, 12_000_000, 12, 380, None),
    "SDN-GE": (56, 1, 0, 7_000_000, 6, 190, None),
    "SMPN-BB": (112, 2, 1, 15_000_000, 15, 470, None),
    "SMAN-BS": (168, 3, 2, 30_000_000, 18, 620, None),
    "SMK-YPK": (112, 2, 1, 18_000_000, 12, 400, None),
    "PT-STB": (420, 6, 4, 150_000_000, None, 2_100, None),
    "KH-PUPUK": (90, 2, 1, 40_000_000, None, 800, None),
    "KH-GAS": (60, 1, 1, 25_000_000, None, 650, None),
}
FACT_KEYS = ("floor_area_m2", "staff_total", "staff_trained", "budget_collection_rp", "rombel", "students",
             "population_served")
POPULATION = {  # demo estimates, not BPS figures
    2024: {"residents": 183_000, "pupils": 37_500, "students": 4_300, "employees": 8_700},
    2025: {"residents": 186_000, "pupils": 38_200, "students": 4_500, "employees": 8_900},
    2026: {"residents": 188_000, "pupils": 38_900, "students": 4_700, "employees": 9_100},
}


def _utc(day: date, hour: int = 2) -> datetime:
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=timezone.utc)


def _librarian(library: Library) -> Actor:
    return Actor(label=f"kepala.{library.code.lower()}", role=Role.LIBRARIAN, library_id=library.id)


def _evidence_pdf() -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4)
    page.setFont("Helvetica", 14)
    page.drawString(72, 760, "Dokumen contoh untuk demo SIPUS Bontang")
    page.setFont("Helvetica", 10)
    page.drawString(72, 740, "Bukti fisik sungguhan diunggah oleh perpustakaan.")
    page.save()
    return buffer.getvalue()


def load(actor: Actor) -> None:
    """Create the demo's workflows, facts, activities, population and goals (once)."""
    if db.session.scalar(select(func.count()).select_from(Instance)):
        return
    documents.ensure_shipped()
    codes = {lib.code: lib for lib in db.session.scalars(select(Library))}
    today = date.today()
    rng = random.Random(2019)
    for year, values in POPULATION.items():
        iplm.set_population(actor=DPK, year=year, values=values, source="Perkiraan untuk demo (bukan angka BPS)")
    for code, values in FACTS.items():
        if code in codes:
            entered = {key: str(value) for key, value in zip(FACT_KEYS, values) if value is not None}
            figures.set_facts(actor=_librarian(codes[code]), library_id=codes[code].id, values=entered)
    _activities(rng, codes, today)
    pdf = _evidence_pdf()
    _accreditations(codes, today, pdf, rng)
    _tpbis(codes, today, pdf)
    _goals(codes, today)
    db.session.flush()


# --- activities -----------------------------------------------------------------------------------

TITLES = {
    "literasi": "Kelas literasi membaca", "dongeng": "Dongeng akhir pekan", "bedah_buku": "Bedah buku penulis lokal",
    "pelatihan": "Pelatihan olahan hasil laut", "lomba": "Lomba bercerita", "pameran": "Pameran buku",
    "sosialisasi": "Sosialisasi layanan perpustakaan", "kunjungan": "Kunjungan kelas",
}
PARTNERS = [{"name": "PT Pupuk Borneo Timur (demo)", "kind": "csr"}, {"name": "PT Gas Alam Bontang (demo)", "kind": "csr"},
            {"name": "Komunitas Baca Pesisir (demo)", "kind": "komunitas"}, {"name": "SD Negeri Tanjung Laut (demo)",
                                                                              "kind": "sekolah"}]


def _activities(rng: random.Random, codes: dict[str, Library], today: date) -> None:
    busy = {"PUKB": 30, "KEL-BK": 14, "KEL-TLI": 14, "KEC-BU": 8, "SDN-TL": 8, "SMAN-BS": 6, "PT-STB": 5, "KEC-BS": 4}
    for code, count in busy.items():
        library = codes.get(code)
        if library is None:
            continue
        for n in range(count):
            held = today - timedelta(days=rng.randint(1, 450))
            kind = rng.choice(list(TITLES))
            tpbis = code in ("KEL-BK", "KEL-TLI") and kind in ("pelatihan", "literasi", "dongeng")
            male, female = rng.randint(4, 25), rng.randint(6, 35)
            children = rng.randint(0, male + female)
            activities.record_activity(actor=_librarian(library), library_id=library.id, today=today,
                                       data=activities.ActivityInput(
                held_on=held, kind=kind, title=f"{TITLES[kind]} #{n + 1}", tpbis=tpbis, participants_male=male,
                participants_female=female, age_groups={"anak": children, "dewasa": male + female - children},
                partners=[rng.choice(PARTNERS)] if tpbis or rng.random() < 0.3 else [],
                outcomes="Peserta aktif; kegiatan akan diulang bulan depan." if rng.random() < 0.5 else ""))


# --- accreditation ----------------------------------------------------------------------------------

def _complete(run: Instance, actor: Actor, at: datetime, pdf: bytes) -> dict[str, Any]:
    """Tick the step's tasks, attach its files, and return plausible values for its required fields."""
    state = instances.definition_of(run).states[run.state]
    for task in state.checklist:
        instances.set_task(actor=actor, instance_id=run.id, task=task.id, done=True, now=at)
    for slot in state.evidence:
        instances.add_evidence(actor=actor, instance_id=run.id, slot=slot.id, stream=io.BytesIO(pdf),
                               filename=f"{slot.id}.pdf", now=at)
    typed = {"text": "tercatat", "textarea": "Sudah dilaksanakan sesuai rencana.", "integer": 12, "number": 3.5,
             "date": at.date().isoformat(), "url": "https://bontangkota.go.id"}
    return {f.name: (f.choices[0].value if f.type == "choice" else typed[f.type]) for f in state.fields if f.required}


def _answer_to(run: Instance, target: float, actor: Actor, at: datetime, rng: random.Random) -> None:
    """Answer the run's self-assessment so that it scores about ``target``."""
    assessment = accreditation.latest_assessment(run)
    assert assessment is not None
    indicators = accreditation.instrument_of(assessment).indicators
    mean = max(1.0, min(5.0, target / 20))
    low, share_high = int(mean), mean - int(mean)
    letters = "edcba"
    answers = {}
    for ind in indicators:
        points = low + (1 if rng.random() < share_high else 0)
        answers[ind.code] = letters[max(1, min(5, points)) - 1]
    accreditation.answer(actor=actor, assessment_id=assessment.id, answers=answers, now=at)


# Each plan: (library code, days ago the run started, steps, self-assessment target)
# A step: (transition, "library" or "dpk", extra values, comment, days after the previous step)
ACCREDITED = [("npp_diperoleh", "library", {"npp_number": "6474000D0000001"}, None, 20),
              ("dispensasi_snp", "dpk", {}, "Luas dan koleksi sudah di atas SNP; data tenaga menyusul.", 30),
              ("ajukan_ke_dpk", "library", {"sipapi_account": "perpus@bontang.example.org"}, None, 45),
              ("setujui", "dpk", {}, None, 7), ("sudah_diajukan", "library", {}, None, 10),
              ("lolos_verifikasi", "dpk", {}, None, 40), ("visitasi_selesai", "dpk", {}, None, 30)]


def _run(library: Library, started: date, steps: list[tuple[str, str, dict[str, Any], str | None, int]],
         pdf: bytes, rng: random.Random, target: float | None, workflow: str = "akreditasi") -> Instance:
    librarian = _librarian(library)
    at = _utc(started)
    run = instances.start(actor=librarian, library_id=library.id, workflow=workflow, now=at)
    for transition, who, extra, comment, gap in steps:
        at += timedelta(days=gap)
        actor = DPK if who == "dpk" else librarian
        values = _complete(run, actor, at, pdf)
        values.update(extra)
        if transition == "ajukan_ke_dpk" and target is not None:
            _answer_to(run, target, librarian, at, rng)
        instances.act(actor=actor, instance_id=run.id, transition=transition, values=values, comment=comment, now=at)
    return run


def _accreditations(codes: dict[str, Library], today: date, pdf: bytes, rng: random.Random) -> None:
    def plan(code: str) -> Library | None:
        return codes.get(code)

    if (lib := plan("PUKB")) is not None:  # accredited A two years ago
        started = today - timedelta(days=900)
        certified = started + timedelta(days=190)
        _run(lib, started, ACCREDITED + [("terakreditasi", "dpk", {
            "grade": "A", "final_score": 92.4, "certificate_number": "0123/AKR/PU/2024",
            "certificate_date": certified.isoformat()}, None, 8)], pdf, rng, 93)
    if (lib := plan("SMAN-BS")) is not None:  # grade B whose certificate runs out in about four months
        started = today - timedelta(days=5 * 365 - 120 + 200)
        certified = today - timedelta(days=5 * 365 - 120)
        _run(lib, started, ACCREDITED + [("terakreditasi", "dpk", {
            "grade": "B", "final_score": 81.7, "certificate_number": "0456/AKR/SK/2021",
            "certificate_date": certified.isoformat()}, None, 8)], pdf, rng, 82)
    if (lib := plan("KH-PUPUK")) is not None:  # grade C that expired last year, not renewed yet
        started = today - timedelta(days=6 * 365)
        run = _run(lib, started, ACCREDITED + [("terakreditasi", "dpk", {
            "grade": "C", "final_score": 66.0, "certificate_number": "0789/AKR/KH/2020",
            "certificate_date": (started + timedelta(days=200)).isoformat()}, None, 8)], pdf, rng, 67)
        instances.close_run(actor=DPK, instance_id=run.id, now=_utc(today - timedelta(days=200)),
                            reason="Perusahaan menunda program perpustakaan; dilanjutkan bila sudah siap.")
    if (lib := plan("PT-STB")) is not None:  # at the visitation, assessors coming next week
        _run(lib, today - timedelta(days=175), ACCREDITED[:6], pdf, rng, 88)
    if (lib := plan("KEC-BU")) is not None:  # self-assessment sent to the DPK, waiting for its review
        _run(lib, today - timedelta(days=130), ACCREDITED[:3], pdf, rng, 74)
    if (lib := plan("SDN-TL")) is not None:  # answering the self-assessment (score still below 60)
        run = _run(lib, today - timedelta(days=70), ACCREDITED[:2], pdf, rng, None)
        _answer_to(run, 52, _librarian(lib), _utc(today - timedelta(days=3)), rng)
    if (lib := plan("KEL-BK")) is not None:  # at the SNP step with gaps to close
        _run(lib, today - timedelta(days=40), ACCREDITED[:1], pdf, rng, None)
    if (lib := plan("KEL-LT")) is not None:  # started, NPP not obtained yet (overdue)
        instances.start(actor=_librarian(lib), library_id=lib.id, workflow="akreditasi",
                        now=_utc(today - timedelta(days=75)))
    db.session.flush()


TPBIS = [("tetapkan_lokasi", "dpk", {"decree_number": "188.45/123/DPK/2025"}, None, 10),
         ("sosialisasi_selesai", "library", {"socialisation_participants": 64}, None, 30),
         ("bimtek_selesai", "dpk", {"staff_trained": 2}, None, 40),
         ("mulai_kegiatan", "library", {"pic_name": "Nur Aisyah"}, None, 20)]


def _tpbis(codes: dict[str, Library], today: date, pdf: bytes) -> None:
    rng = random.Random(7)
    for code, steps in (("KEL-BK", TPBIS), ("KEL-TLI", TPBIS[:2])):
        if code in codes:
            _run(codes[code], today - timedelta(days=300), steps, pdf, rng, None, workflow="tpbis")


# --- goals ------------------------------------------------------------------------------------------

# Example goals after the city's 2019 coordination meeting ("Transformasi layanan perpustakaan guna
# mendukung Bontang smart city") and the 2025 one (transformation, staff development, accreditation).
# Titles and targets are written for the demo.
RAKOR_2019 = "Rakor Pengembangan Perpustakaan 2019 (contoh)"
RAKOR_2025 = "Rakor Perpustakaan 2025 (contoh)"
GOALS: list[tuple[str, str, str, str, float, str]] = [
    # (title, indicator, period, theme, target factor or absolute, source)
    ("Setiap pelajar memegang kartu perpustakaan kota", "circulation.pupil_members", "level", "keanggotaan", 2.0,
     RAKOR_2019),
    ("Kunjungan perpustakaan naik setiap tahun", "circulation.visits", "year", "transformasi", 1.25, RAKOR_2019),
    ("Peminjaman buku naik", "circulation.loans", "year", "transformasi", 1.5, RAKOR_2019),
    ("Anggota aktif bertambah", "circulation.active_members", "level", "keanggotaan", 1.6, RAKOR_2019),
    ("Koleksi bertambah: judul di seluruh jaringan", "catalog.titles", "level", "koleksi", 1.3, RAKOR_2019),
    ("Eksemplar per penduduk mendekati standar", "workflows.titles_per_resident", "level", "koleksi", 2.0, RAKOR_2019),
    ("Kegiatan literasi dan inklusi sosial rutin", "workflows.activities", "year", "literasi", 1.4, RAKOR_2019),
    ("Masyarakat terlibat dalam kegiatan perpustakaan", "workflows.participants", "year", "literasi", 1.4,
     RAKOR_2019),
    ("Pojok baca dan perpustakaan perusahaan bergabung dalam jaringan", "manual", "level", "transformasi", 12,
     RAKOR_2019),
    ("Sekolah mengalokasikan 5% anggaran operasional untuk perpustakaan", "manual", "level", "lainnya", 100,
     RAKOR_2019),
    ("Tenaga perpustakaan terlatih (diklat/bimtek)", "workflows.trained_staff", "level", "sdm", 1.5, RAKOR_2025),
    ("Perpustakaan terakreditasi", "manual", "level", "akreditasi", 8, RAKOR_2025),
    ("Perpustakaan bertransformasi berbasis inklusi sosial (TPBIS)", "manual", "level", "transformasi", 5, RAKOR_2025),
]
MANUAL_HISTORY = {  # (baseline, entries by months ago)
    "Pojok baca dan perpustakaan perusahaan bergabung dalam jaringan": (3, [(12, 4), (6, 5), (1, 6)]),
    "Sekolah mengalokasikan 5% anggaran operasional untuk perpustakaan": (35, [(12, 40), (6, 48), (1, 52)]),
    "Perpustakaan terakreditasi": (1, [(12, 2), (6, 3), (1, 3)]),
    "Perpustakaan bertransformasi berbasis inklusi sosial (TPBIS)": (0, [(9, 1), (3, 2)]),
}


def _goals(codes: dict[str, Library], today: date) -> None:
    from ils import metrics

    if db.session.scalar(select(func.count()).select_from(Goal)):
        return
    baseline_on = today - timedelta(days=365)
    deadline = date(today.year + 1, 12, 31)
    for title, indicator, period, theme, target, source in GOALS:
        if indicator == "manual":
            baseline = float(MANUAL_HISTORY[title][0])
            goal_target = float(target)
        else:
            # "year" goals follow the last twelve months, so a year ago gives a whole year to compare with.
            start = baseline_on - timedelta(days=364) if period == "year" else None
            baseline = round(metrics.value(indicator, start=start, end=baseline_on), 4)
            goal_target = round(max(baseline, 1.0) * target, 4 if baseline < 10 else 0)
        goal = goals.create_goal(actor=DPK, library_id=None, data=goals.GoalInput(
            title=title, indicator=indicator, baseline=baseline, baseline_on=baseline_on, target=goal_target,
            deadline=deadline, owner="Bidang Pembinaan Perpustakaan, DPK", period="rolling" if period == "year"
            else period, theme=theme, source=source))
        for months_ago, value in MANUAL_HISTORY.get(title, (0, []))[1]:
            goals.record_value(actor=DPK, goal_id=goal.id, value=value, taken_on=today - timedelta(days=30 * months_ago))
    if "PUKB" in codes:  # one library goal of the city library
        library = codes["PUKB"]
        goals.create_goal(actor=_librarian(library), library_id=library.id, data=goals.GoalInput(
            title="Kunjungan harian Perpustakaan Umum Kota naik 30%", indicator="circulation.visits",
            baseline=round(metrics.value("circulation.visits", library_id=library.id,
                                         start=baseline_on - timedelta(days=364), end=baseline_on)),
            baseline_on=baseline_on, target=round(1.3 * metrics.value(
                "circulation.visits", library_id=library.id, start=baseline_on - timedelta(days=364),
                end=baseline_on)), deadline=deadline, owner="Kepala Perpustakaan Umum Kota", period="rolling",
            theme="transformasi", source="Rencana kerja perpustakaan"))
    # A year of nightly figures, one a fortnight, so each goal has a history on first run.
    for weeks_ago in range(52, -1, -2):
        goals.snapshot_all(today=today - timedelta(weeks=weeks_ago))
