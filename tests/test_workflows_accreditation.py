"""The accreditation workflow end to end through the services: guards naming what is missing,
tasks, evidence, the SNP gaps and self-assessment figures the guards read, the DPK review sending
an assessment back, the result with its validity, reminders, version pinning and scoping."""
from __future__ import annotations

import io
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select

from ils.authz import Actor
from ils.errors import Conflict, Forbidden
from ils.extensions import db
from ils.models import AuditEvent, Role
from tests.factories import Network
from workflows.models import AccreditationResult, AssessmentStatus, DocumentKind, Instance, InstanceEvent
from workflows.services import accreditation, documents, instances
from workflows.services.instances import StepRefused

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)  # Monday 2 March 2026, 09:00 WITA
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
DPK = Actor(label="dpk", role=Role.DPK)


def librarian(library_id: int) -> Actor:
    """The head librarian of a library."""
    return Actor(label=f"librarian.{library_id}", role=Role.LIBRARIAN, library_id=library_id)


def fill_step(run: Instance, actor: Actor, at: datetime, values: dict[str, Any] | None = None) -> dict[str, Any]:
    """Tick every task and attach a PDF to every evidence slot of the current step; return
    plausible values for its required fields (overridden by ``values``)."""
    state = instances.definition_of(run).states[run.state]
    for task in state.checklist:
        instances.set_task(actor=actor, instance_id=run.id, task=task.id, done=True, now=at)
    for slot in state.evidence:
        instances.add_evidence(actor=actor, instance_id=run.id, slot=slot.id, stream=io.BytesIO(PDF),
                                   filename=f"{slot.id}.pdf", now=at)
    typed = {"text": "isi", "textarea": "catatan", "integer": 1, "number": 1, "date": "2026-03-02",
             "url": "https://example.org"}
    filled = {f.name: (f.choices[0].value if f.type == "choice" else typed[f.type]) for f in state.fields if f.required}
    filled.update(values or {})
    return filled


@pytest.fixture
def run(network: Network) -> Instance:
    """An accreditation run for library A (a kecamatan library), started by its librarian."""
    instance = instances.start(actor=librarian(network.a.id), library_id=network.a.id, workflow="akreditasi", now=NOW)
    db.session.commit()
    return instance


def test_a_started_run_is_at_the_npp_step_with_its_due_date_and_reminders(network: Network, run: Instance) -> None:
    """NPP step: due 60 days after entering, reminders 14 and 3 days before; timeline and audit rows."""
    assert run.state == "npp" and run.definition.version == 1
    assert run.due_at == NOW + timedelta(days=60)
    assert run.reminders == [(NOW + timedelta(days=46)).isoformat(), (NOW + timedelta(days=57)).isoformat()]
    kinds = [e.kind for e in instances.timeline(run)]
    assert kinds[0] == "started" and "notify" in kinds
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.action == "workflows.started"))
    with pytest.raises(Conflict):
        instances.start(actor=librarian(network.a.id), library_id=network.a.id, workflow="akreditasi", now=NOW)


def test_a_step_is_refused_with_the_missing_field_named_and_nothing_changes(network: Network, run: Instance) -> None:
    """Without the NPP number the transition is refused; the message names the field; the run stays."""
    with pytest.raises(StepRefused) as refused:
        instances.act(actor=librarian(network.a.id), instance_id=run.id, transition="npp_diperoleh", now=NOW)
    assert refused.value.refusal.code == "guard"
    assert "NPP" in refused.value.message
    db.session.rollback()
    assert db.session.get(Instance, run.id).state == "npp"


def test_roles_and_library_scope(network: Network, run: Instance) -> None:
    """B's librarian cannot see A's run; an assessor sees it but cannot act; the DPK may act."""
    with pytest.raises(Forbidden):
        instances.get_instance(actor=librarian(network.b.id), instance_id=run.id)
    assessor = Actor(label="asesor", role=Role.ASSESSOR, library_id=network.a.id)
    assert instances.get_instance(actor=assessor, instance_id=run.id).id == run.id
    with pytest.raises(Forbidden):
        instances.add_comment(actor=assessor, instance_id=run.id, comment="boleh?")
    wide = Actor(label="asesor.provinsi", role=Role.ASSESSOR, library_id=None)
    assert instances.get_instance(actor=wide, instance_id=run.id).id == run.id
    assert instances.add_comment(actor=DPK, instance_id=run.id, comment="Semangat!").comment == "Semangat!"


def test_a_stale_form_is_refused(network: Network, run: Instance) -> None:
    """An action carrying an old revision (someone else acted meanwhile) is a Conflict."""
    old = run.revision
    instances.set_task(actor=librarian(network.a.id), instance_id=run.id, task="akun_pendataan", done=True, now=NOW)
    with pytest.raises(Conflict):
        instances.act(actor=librarian(network.a.id), instance_id=run.id, transition="npp_diperoleh",
                      values={"npp_number": "6474001"}, revision=old, now=NOW)


def test_the_whole_accreditation_from_npp_to_the_certificate(network: Network, run: Instance) -> None:
    """Walk every step: SNP gaps block until the DPK waives them, the self-assessment score gates the
    DPK review, the DPK sends it back once, and the result stores the grade valid for five years."""
    lib, at = librarian(network.a.id), NOW

    def step(actor: Actor, transition: str, values: dict[str, Any] | None = None, comment: str | None = None) -> None:
        nonlocal at
        at += timedelta(days=1)
        current = db.session.get(Instance, run.id)
        filled = fill_step(current, actor, at, values)
        instances.act(actor=actor, instance_id=run.id, transition=transition, values=filled, comment=comment, now=at)
        db.session.commit()

    step(lib, "npp_diperoleh", {"npp_number": "6474011D0000001"})
    assert run.state == "snp"
    # A kecamatan library with one title and no facts entered has open SNP gaps.
    assert run.data["snp_gaps_open"] > 0
    with pytest.raises(StepRefused) as refused:
        step(lib, "snp_terpenuhi")
    assert refused.value.refusal.code == "guard"
    db.session.rollback()
    with pytest.raises(StepRefused) as no_comment:
        step(DPK, "dispensasi_snp")
    assert no_comment.value.refusal.code == "comment_required"
    db.session.rollback()
    step(DPK, "dispensasi_snp", comment="Koleksi sedang diadakan melalui APBD 2026")
    assert run.state == "swanilai"

    assessment = accreditation.latest_assessment(run)
    assert assessment is not None and assessment.status is AssessmentStatus.DRAFT
    instrument = accreditation.instrument_of(assessment)
    assert network.a.type.value in instrument.library_types and instrument.version == "2022"
    # Everything answered "e" scores 1 of 5 per indicator: 20 points, below the 60 the guard wants.
    accreditation.answer(actor=lib, assessment_id=assessment.id, answers={i.code: "e" for i in instrument.indicators},
                         now=at)
    db.session.commit()
    assert assessment.total == pytest.approx(20.0) and run.data["assessment_total"] == 20.0
    with pytest.raises(StepRefused) as low:
        step(lib, "ajukan_ke_dpk")
    assert "60" in low.value.message
    db.session.rollback()
    result = accreditation.answer(actor=lib, assessment_id=assessment.id,
                                  answers={i.code: "a" for i in instrument.indicators}, now=at)
    db.session.commit()
    assert result.total == pytest.approx(100.0) and result.grade is not None and result.grade.grade == "A"
    step(lib, "ajukan_ke_dpk")
    assert run.state == "tinjauan_dpk" and assessment.status is AssessmentStatus.SUBMITTED
    with pytest.raises(Conflict):
        accreditation.answer(actor=lib, assessment_id=assessment.id, answers={instrument.indicators[0].code: "b"})
    db.session.rollback()
    step(DPK, "kembalikan", comment="Lengkapi bukti fisik indikator layanan")
    assert run.state == "swanilai" and assessment.status is AssessmentStatus.RETURNED
    assert accreditation.editable(assessment)
    step(lib, "ajukan_ke_dpk")
    step(DPK, "setujui")
    step(lib, "sudah_diajukan")
    step(DPK, "lolos_verifikasi")
    step(lib, "visitasi_selesai")
    assert run.state == "hasil"
    step(DPK, "terakreditasi", {"grade": "A", "final_score": 92.5, "certificate_number": "123/AKR/2026",
                                "certificate_date": "2026-04-01"})
    assert run.state == "terakreditasi" and run.closed_at is None
    [stored] = db.session.scalars(select(AccreditationResult)).all()
    assert (stored.grade, stored.score, stored.certified_on, stored.valid_until, stored.instrument_version) == (
        "A", 92.5, date(2026, 4, 1), date(2031, 4, 1), "2022")
    # The accredited step falls due 180 days before the certificate expires: the re-accreditation reminder.
    assert run.due_at == datetime(2031, 4, 1, tzinfo=timezone.utc) - timedelta(days=180)
    step(lib, "mulai_reakreditasi")
    assert run.state == "snp"
    transitions = [e.transition for e in instances.timeline(run) if e.kind == "transition"]
    assert transitions[:3] == ["npp_diperoleh", "dispensasi_snp", "ajukan_ke_dpk"]
    assert transitions.count("ajukan_ke_dpk") == 2 and transitions[-1] == "mulai_reakreditasi"


def test_reminders_are_written_once_when_due(network: Network, run: Instance) -> None:
    """The job posts the 14-days-before reminder on day 46, not again on a rerun, and the 3-day one later."""
    assert instances.send_reminders(now=NOW + timedelta(days=45)) == 0
    assert instances.send_reminders(now=NOW + timedelta(days=46, hours=1)) == 1
    assert instances.send_reminders(now=NOW + timedelta(days=46, hours=2)) == 0
    assert instances.send_reminders(now=NOW + timedelta(days=58)) == 1
    db.session.commit()
    kinds = db.session.scalars(select(InstanceEvent.kind).where(InstanceEvent.instance_id == run.id)).all()
    assert kinds.count("reminder") == 2 and run.reminders == []


def test_a_running_instance_keeps_its_definition_version(network: Network, run: Instance) -> None:
    """The DPK saves version 2 (a longer NPP deadline); A's run stays on v1, a new run for B uses v2."""
    current = documents.current(DocumentKind.WORKFLOW, "akreditasi")
    text = current.text.replace("version: 1\n", "version: 2\n", 1).replace("due: {days: 60}", "due: {days: 90}", 1)
    documents.save_version(actor=DPK, kind=DocumentKind.WORKFLOW, code="akreditasi", text=text, note="NPP 90 hari")
    db.session.commit()
    other = instances.start(actor=librarian(network.b.id), library_id=network.b.id, workflow="akreditasi", now=NOW)
    db.session.commit()
    assert (run.definition.version, other.definition.version) == (1, 2)
    assert other.due_at == NOW + timedelta(days=90) and run.due_at == NOW + timedelta(days=60)
    filled = fill_step(run, librarian(network.a.id), NOW, {"npp_number": "6474-1"})
    instances.act(actor=librarian(network.a.id), instance_id=run.id, transition="npp_diperoleh", values=filled, now=NOW)
    assert run.state == "snp" and run.definition.version == 1


def test_saving_a_definition_that_does_not_raise_the_version_or_is_invalid_is_refused(network: Network) -> None:
    """Same version: refused with the version to use; a typo'd state: refused with line and field."""
    from ils.errors import ValidationFailed
    current = documents.current(DocumentKind.WORKFLOW, "akreditasi")
    with pytest.raises(ValidationFailed) as same:
        documents.save_version(actor=DPK, kind=DocumentKind.WORKFLOW, code="akreditasi",
                               text=current.text.replace("due: {days: 60}", "due: {days: 61}", 1))
    assert "2" in same.value.message
    broken = current.text.replace("version: 1\n", "version: 2\n", 1).replace("    to: snp\n", "    to: spn\n", 1)
    with pytest.raises(ValidationFailed) as bad:
        documents.save_version(actor=DPK, kind=DocumentKind.WORKFLOW, code="akreditasi", text=broken)
    line = broken.splitlines().index("    to: spn") + 1
    assert f":{line}:" in bad.value.message and "spn" in bad.value.message
    with pytest.raises(Forbidden):
        documents.save_version(actor=librarian(network.a.id), kind=DocumentKind.WORKFLOW, code="akreditasi",
                               text=current.text)


def test_tpbis_community_stage_counts_the_librarys_tpbis_activities(network: Network) -> None:
    """Moving on from community engagement needs 12 TPBIS activities since the run started; other
    activities, and those of another library, do not count."""
    from workflows.services import activities

    lib = librarian(network.a.id)
    at = NOW
    run = instances.start(actor=DPK, library_id=network.a.id, workflow="tpbis", now=at)
    for transition, actor in (("tetapkan_lokasi", DPK), ("sosialisasi_selesai", lib), ("bimtek_selesai", DPK),
                              ("mulai_kegiatan", lib)):
        at += timedelta(days=1)
        instances.act(actor=actor, instance_id=run.id, transition=transition, values=fill_step(run, actor, at), now=at)
    assert run.state == "pelibatan_masyarakat"

    def record(library_id: int, tpbis: bool, held: date) -> None:
        actor = librarian(library_id)
        activities.record_activity(actor=actor, library_id=library_id, today=date(2026, 12, 31),
                                   data=activities.ActivityInput(held_on=held, kind="pelatihan", title="Pelatihan",
                                                                 tpbis=tpbis, participants_male=3,
                                                                 participants_female=4))

    for day in range(11):
        record(network.a.id, True, date(2026, 3, 10) + timedelta(days=day))
    record(network.a.id, False, date(2026, 3, 25))      # not a TPBIS activity
    record(network.a.id, True, date(2026, 2, 1))        # before the run started
    record(network.b.id, True, date(2026, 3, 26))       # another library's
    values = fill_step(run, lib, at)
    db.session.commit()
    with pytest.raises(StepRefused) as refused:
        instances.act(actor=lib, instance_id=run.id, transition="kegiatan_cukup", values=values, now=at)
    assert "11" in refused.value.message and "12" in refused.value.message
    db.session.rollback()
    record(network.a.id, True, date(2026, 3, 27))
    instances.act(actor=lib, instance_id=run.id, transition="kegiatan_cukup", values=values, now=at)
    assert run.state == "advokasi_mitra" and run.data["activities_count"] == 12


def test_steps_waiting_for_someone_show_on_their_home_page(network: Network, run: Instance) -> None:
    """The NPP step is the library's: A's librarian is told (overdue after 60 days); the DPK is not."""
    from workflows.services.instances import waiting_for

    [item] = waiting_for(librarian(network.a.id), NOW + timedelta(days=1))
    assert item.level == "info" and "1" in item.text
    [late] = waiting_for(librarian(network.a.id), NOW + timedelta(days=61))
    assert late.level == "warning"
    assert waiting_for(DPK, NOW) == [] and waiting_for(librarian(network.b.id), NOW) == []


def test_the_self_assessment_is_prefilled_from_live_figures(network: Network) -> None:
    """Library A (kecamatan, 2022 instrument): open Mon-Fri 08:00-15:00 gives 7 hours a day ("b" from 7) and
    5 days ("b" from 5); 90 m² entered gives "c" (84 to under 112); its one title gives "e". Each suggestion
    keeps the figure it came from, and the library can still choose another answer."""
    from workflows.services import figures

    network.a.opening_hours = {day: [["08:00", "15:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
    figures.set_facts(actor=DPK, library_id=network.a.id, values={"floor_area_m2": "90"})
    run = instances.start(actor=librarian(network.a.id), library_id=network.a.id, workflow="akreditasi", now=NOW)
    filled = fill_step(run, librarian(network.a.id), NOW, {"npp_number": "1"})
    instances.act(actor=librarian(network.a.id), instance_id=run.id, transition="npp_diperoleh", values=filled, now=NOW)
    filled = fill_step(run, DPK, NOW)
    instances.act(actor=DPK, instance_id=run.id, transition="dispensasi_snp", values=filled, comment="uji", now=NOW)
    assessment = accreditation.latest_assessment(run)
    assert assessment is not None and accreditation.instrument_of(assessment).code == "kecamatan-2022"
    answers = accreditation.answers_of(assessment)
    got = {code: (answers[code].option, answers[code].prefill_figure, answers[code].prefill_value)
           for code in ("3.2.1", "3.2.2", "2.1.1", "1.1.1")}
    assert got == {"3.2.1": ("b", "library.open_hours_per_day", 7.0),
                   "3.2.2": ("b", "library.open_days_per_week", 5.0),
                   "2.1.1": ("c", "fact.floor_area_m2", 90.0),
                   "1.1.1": ("e", "catalog.titles", 1.0)}
    accreditation.answer(actor=librarian(network.a.id), assessment_id=assessment.id, answers={"3.2.1": "a"})
    refreshed = accreditation.answers_of(assessment)["3.2.1"]
    assert (refreshed.option, refreshed.prefill_option) == ("a", "b")


def test_accreditation_status_on_the_dashboard() -> None:
    """Valid beyond the notice period: accredited; inside it: expiring; past it: expired, or in progress
    once a new run has left the accredited step; no grade and no run: not started."""
    from workflows.services.dashboard import status_of

    today = date(2026, 6, 1)
    result = AccreditationResult(grade="B", certified_on=date(2021, 9, 1), valid_until=date(2026, 9, 1))
    assert status_of(result, None, today, 90) == "accredited"      # 92 days left
    assert status_of(result, None, today, 92) == "expiring"        # exactly at the notice
    expired = AccreditationResult(grade="B", certified_on=date(2021, 5, 1), valid_until=date(2026, 5, 1))
    at_accredited, at_snp = Instance(state="terakreditasi"), Instance(state="snp")
    assert status_of(expired, at_accredited, today, 180) == "expired"
    assert status_of(expired, at_snp, today, 180) == "in_progress"
    assert status_of(None, None, today, 180) == "not_started" and status_of(None, at_snp, today, 180) == "in_progress"
    failed = AccreditationResult(grade="", certified_on=date(2026, 1, 1), valid_until=None)
    assert status_of(failed, None, today, 180) == "not_started"
