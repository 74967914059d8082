"""Accreditation: self-assessments against the pinned instrument (prefilled from live figures),
SNP gap analysis, and the grades Perpusnas awards.

An assessment can be answered while its workflow is at the self-assessment step (the step whose
definition opens it with ``start_assessment``); when the library moves on, the answers lock, and
they open again if the DPK sends the assessment back. An assessment without a workflow (a practice
run) is always open.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ils import audit
from ils.authz import Actor
from ils.errors import Conflict, NotFound, ValidationFailed
from ils.extensions import db
from ils.mixins import utcnow
from ils.models import Library
from workflows import engine
from workflows.instruments import Instrument, NoInstrument, Score, instrument_for, prefill, score
from workflows.models import (AccreditationResult, Answer, Assessment, AssessmentStatus, DocumentKind, Instance,
                              WfDocument)
from workflows.services import documents
from workflows.services.access import require_library
from workflows.services.figures import library_figures
from workflows.snp import Gap, gap_analysis, standard_for

SYSTEM_PREFILL = "data ILS"


def _today(library: Library, now: datetime) -> date:
    from zoneinfo import ZoneInfo
    return now.astimezone(ZoneInfo(library.timezone or "Asia/Makassar")).date()


# --- instruments ----------------------------------------------------------------------------------

def instruments() -> list[tuple[WfDocument, Instrument]]:
    """The current version of every instrument document, parsed."""
    return [(doc, documents.parse(doc)) for doc in documents.current_all(DocumentKind.INSTRUMENT)]


def newest_version() -> str:
    """The newest instrument generation stored ("2022" before "2018")."""
    return max((inst.version for _doc, inst in instruments()), default="")


def instrument_document_for(library: Library, version: str | None = None) -> WfDocument:
    """The instrument document of ``version`` (default: the newest) for the library's type."""
    pairs = instruments()
    version = version or newest_version()
    try:
        chosen = instrument_for([inst for _d, inst in pairs], library.type.value, version)
    except NoInstrument:
        raise NotFound(_l("No accreditation instrument of version %(version)s covers this kind of library.",
                          version=version)) from None
    return next(doc for doc, inst in pairs if inst is chosen)


def instrument_of(assessment: Assessment) -> Instrument:
    """The instrument version an assessment is pinned to."""
    return documents.parse(assessment.instrument)


# --- self-assessment ------------------------------------------------------------------------------

def _assessment_state(definition: engine.Definition) -> set[str]:
    return {name for name, state in definition.states.items()
            if any(item.do == "start_assessment" for item in state.on_enter)}


def assessment_states(instance: Instance) -> set[str]:
    """The states of a run's definition that open the self-assessment."""
    return _assessment_state(documents.parse(instance.definition))


def editable(assessment: Assessment) -> bool:
    """True while the library may change the answers."""
    if assessment.instance_id is None:
        return assessment.status in (AssessmentStatus.DRAFT, AssessmentStatus.RETURNED)
    instance = db.session.get(Instance, assessment.instance_id)
    if instance is None or instance.closed_at is not None:
        return False
    return instance.state in _assessment_state(documents.parse(instance.definition))


def latest_assessment(instance: Instance) -> Assessment | None:
    """The newest assessment of a workflow run."""
    return db.session.scalar(select(Assessment).where(Assessment.instance_id == instance.id)
                             .order_by(Assessment.id.desc()).limit(1))


def create_assessment(*, library: Library, instrument_doc: WfDocument, instance: Instance | None, actor: Actor,
                      now: datetime) -> Assessment:
    """A new assessment with the live figures' suggestions filled in (the library can change each)."""
    instrument_doc = documents.stored(instrument_doc)
    assessment = Assessment(library_id=library.id, instrument_id=instrument_doc.id,
                            instance_id=instance.id if instance else None, status=AssessmentStatus.DRAFT,
                            started_at=now)
    db.session.add(assessment)
    db.session.flush()
    inst: Instrument = documents.parse(instrument_doc)
    figures = library_figures(library, today=_today(library, now))
    for code, suggestion in prefill(inst, figures).items():
        db.session.add(Answer(assessment_id=assessment.id, indicator=code, option=suggestion.option,
                              prefill_option=suggestion.option, prefill_figure=suggestion.figure,
                              prefill_value=suggestion.value, answered_by=SYSTEM_PREFILL, answered_at=now))
    db.session.flush()
    rescore(assessment)
    return assessment


def ensure_assessment(instance: Instance, *, actor: Actor, now: datetime) -> Assessment:
    """Open (or re-open) the self-assessment of a workflow run entering its self-assessment step."""
    assessment = latest_assessment(instance)
    library = db.session.get(Library, instance.library_id)
    assert library is not None
    if assessment is None:
        assessment = create_assessment(library=library, instrument_doc=instrument_document_for(library),
                                       instance=instance, actor=actor, now=now)
    elif assessment.status in (AssessmentStatus.SUBMITTED, AssessmentStatus.APPROVED):
        assessment.status = AssessmentStatus.RETURNED
    _publish(assessment, instance)
    return assessment


def left_assessment_step(instance: Instance, *, now: datetime) -> None:
    """The run moved on from the self-assessment step: lock the answers as submitted."""
    assessment = latest_assessment(instance)
    if assessment is not None and assessment.status in (AssessmentStatus.DRAFT, AssessmentStatus.RETURNED):
        assessment.status = AssessmentStatus.SUBMITTED
        assessment.submitted_at = now


def answers_of(assessment: Assessment) -> dict[str, Answer]:
    """The answer rows of an assessment by indicator code."""
    return {a.indicator: a for a in db.session.scalars(select(Answer).where(Answer.assessment_id == assessment.id))}


def rescore(assessment: Assessment) -> Score:
    """Score the current answers and keep the total, grade and counts on the assessment."""
    result = score(instrument_of(assessment), {code: a.option for code, a in answers_of(assessment).items()
                                               if a.option})
    assessment.total = round(result.total, 4)
    assessment.grade = result.grade.grade if result.grade else ""
    assessment.answered, assessment.indicators = result.answered, result.indicators
    return result


def _publish(assessment: Assessment, instance: Instance | None) -> None:
    from workflows.services.instances import set_value
    if instance is not None:
        set_value(instance, "assessment_total", round(assessment.total, 2))


def get_assessment(*, actor: Actor, assessment_id: int) -> Assessment:
    """One assessment the actor may see (assessors read every library's when network-wide)."""
    assessment = db.session.get(Assessment, assessment_id)
    if assessment is None:
        raise NotFound()
    require_library(actor, "workflows.view", assessment.library_id)
    return assessment


def answer(*, actor: Actor, assessment_id: int, answers: dict[str, str | None], notes: dict[str, str] | None = None,
           now: datetime | None = None) -> Score:
    """Store the library's answers (a letter a-e per indicator, None clears one) and rescore."""
    now = now or utcnow()
    assessment = get_assessment(actor=actor, assessment_id=assessment_id)
    require_library(actor, "workflows.act", assessment.library_id)
    if not editable(assessment):
        raise Conflict(_l("This self-assessment has been submitted; it can be changed only if the DPK sends it back."))
    inst = instrument_of(assessment)
    known = {ind.code: ind for ind in inst.indicators}
    letters = {opt.letter for ind in inst.indicators for opt in ind.options}
    rows = answers_of(assessment)
    changed = 0
    for code, letter in answers.items():
        if code not in known:
            raise ValidationFailed(_l("Unknown indicator %(code)s.", code=code), field=code)
        letter = (letter or "").strip().lower() or None
        if letter is not None and letter not in letters:
            raise ValidationFailed(_l("Choose one of the options a to e."), field=code)
        row = rows.get(code)
        note = (notes or {}).get(code)
        if row is None:
            if letter is None and not note:
                continue
            row = Answer(assessment_id=assessment.id, indicator=code)
            db.session.add(row)
        if row.option != letter or (note is not None and note.strip() != (row.note or "")):
            row.option = letter
            if note is not None:
                row.note = note.strip()[:4000] or None
            row.answered_by, row.answered_at = actor.label, now
            changed += 1
    db.session.flush()
    result = rescore(assessment)
    instance = db.session.get(Instance, assessment.instance_id) if assessment.instance_id else None
    _publish(assessment, instance)
    if changed:
        audit.record(actor, "workflows.assessment_answered", object_type="wf_assessment", object_id=assessment.id,
                     library_id=assessment.library_id, details={"changed": changed,
                                                                "total": round(result.total, 2)}, now=now)
    db.session.flush()
    return result


def refresh_prefill(*, actor: Actor, assessment_id: int, now: datetime | None = None) -> int:
    """Recompute the live figures' suggestions; answers still equal to the old suggestion follow it."""
    now = now or utcnow()
    assessment = get_assessment(actor=actor, assessment_id=assessment_id)
    require_library(actor, "workflows.act", assessment.library_id)
    if not editable(assessment):
        raise Conflict(_l("This self-assessment has been submitted; it can be changed only if the DPK sends it back."))
    library = db.session.get(Library, assessment.library_id)
    assert library is not None
    suggestions = prefill(instrument_of(assessment), library_figures(library, today=_today(library, now)))
    rows = answers_of(assessment)
    moved = 0
    for code, suggestion in suggestions.items():
        row = rows.get(code)
        if row is None:
            row = Answer(assessment_id=assessment.id, indicator=code)
            db.session.add(row)
        followed = row.option is None or row.option == row.prefill_option
        row.prefill_option, row.prefill_figure, row.prefill_value = (suggestion.option, suggestion.figure,
                                                                     suggestion.value)
        if followed and row.option != suggestion.option:
            row.option, row.answered_by, row.answered_at = suggestion.option, SYSTEM_PREFILL, now
            moved += 1
    db.session.flush()
    rescore(assessment)
    instance = db.session.get(Instance, assessment.instance_id) if assessment.instance_id else None
    _publish(assessment, instance)
    return moved


# --- SNP ----------------------------------------------------------------------------------------

def snp_gaps(library: Library, *, today: date, figures: dict[str, float | None] | None = None) -> list[Gap]:
    """The library's SNP gap analysis with today's figures (empty when its type has no standard)."""
    standards = documents.parse(documents.current(DocumentKind.SNP, DocumentKind.SNP.value))
    try:
        standard = standard_for(standards, library.type.value)
    except KeyError:
        return []
    return gap_analysis(standard, figures if figures is not None else library_figures(library, today=today))


def open_gaps(gaps: list[Gap]) -> int:
    """Requirements not met yet, unknown ones included (a figure still to enter is a gap too)."""
    return sum(1 for gap in gaps if gap.met is not True)


def refresh_snp(instance: Instance, *, now: datetime) -> list[Gap]:
    """Recompute the SNP gaps of a run's library and publish the count for the guards."""
    from workflows.services.instances import set_value
    library = db.session.get(Library, instance.library_id)
    assert library is not None
    gaps = snp_gaps(library, today=_today(library, now))
    set_value(instance, "snp_gaps_open", open_gaps(gaps))
    return gaps


def live_values(instance: Instance, *, now: datetime, gaps: list[Gap] | None = None) -> dict[str, Any]:
    """The values services compute for a run's guards, as they stand now (nothing is written).

    ``snp_gaps_open`` at a step that computes the SNP gaps, ``assessment_total`` at the
    self-assessment step, ``activities_count`` (TPBIS activities since the run started) wherever
    the definition declares it.
    """
    definition = documents.parse(instance.definition)
    actions = {item.do for item in definition.states[instance.state].on_enter}
    library = db.session.get(Library, instance.library_id)
    assert library is not None
    out: dict[str, Any] = {}
    if "compute_snp" in actions:
        out["snp_gaps_open"] = open_gaps(gaps if gaps is not None else snp_gaps(library, today=_today(library, now)))
    if "start_assessment" in actions:
        assessment = latest_assessment(instance)
        if assessment is not None:
            answers = {code: a.option for code, a in answers_of(assessment).items() if a.option}
            out["assessment_total"] = round(score(instrument_of(assessment), answers).total, 2)
    if "activities_count" in definition.values:
        from workflows.models import Activity
        out["activities_count"] = db.session.scalar(
            select(func.count(Activity.id)).where(Activity.library_id == instance.library_id, Activity.tpbis.is_(True),
                                                  Activity.held_on >= instance.started_at.date())) or 0
    return out


def refresh_live(instance: Instance, *, now: datetime) -> None:
    """Store the computed values of the current step before a guard reads them."""
    from workflows.services.instances import set_value
    for key, value in live_values(instance, now=now).items():
        set_value(instance, key, value)


# --- results ------------------------------------------------------------------------------------

def record_result(instance: Instance, *, actor: Actor, now: datetime) -> AccreditationResult | None:
    """Store the grade a run's data holds (grade, final_score, certificate number and date)."""
    data = instance.data or {}
    grade = str(data.get("grade") or "")
    certified = data.get("certificate_date")
    if not grade or certified is None:
        return None
    certified_on = certified if isinstance(certified, date) else date.fromisoformat(str(certified))
    definition = documents.parse(instance.definition)
    years = int(definition.params.get("valid_years", 5))
    try:
        valid_until = certified_on.replace(year=certified_on.year + years)
    except ValueError:  # 29 February
        valid_until = certified_on.replace(year=certified_on.year + years, day=28)
    assessment = latest_assessment(instance)
    version = instrument_of(assessment).version if assessment is not None else ""
    score_value = data.get("final_score")
    result = AccreditationResult(
        library_id=instance.library_id, instance_id=instance.id, grade="" if grade not in ("A", "B", "C") else grade,
        score=float(score_value) if score_value not in (None, "") else None, instrument_version=version,
        certificate_number=str(data.get("certificate_number") or "") or None, certified_on=certified_on,
        valid_until=valid_until, recorded_at=now, recorded_by=actor.label)
    db.session.add(result)
    db.session.flush()
    audit.record(actor, "workflows.accreditation_result", object_type="wf_accreditation", object_id=result.id,
                 library_id=instance.library_id, details={"grade": result.grade,
                                                          "certified_on": certified_on.isoformat()}, now=now)
    return result


def current_result(library_id: int, *, today: date) -> AccreditationResult | None:
    """The library's newest accreditation result (expired ones included; check valid_until)."""
    return db.session.scalar(select(AccreditationResult).where(AccreditationResult.library_id == library_id)
                             .order_by(AccreditationResult.certified_on.desc(), AccreditationResult.id.desc())
                             .limit(1))


def results_of(library_id: int) -> list[AccreditationResult]:
    """Every result a library received, newest first."""
    return list(db.session.scalars(select(AccreditationResult).where(AccreditationResult.library_id == library_id)
                                   .order_by(AccreditationResult.certified_on.desc())))


def describe_answers(assessment: Assessment) -> dict[str, Any]:
    """Answers, suggestions and score for screens and the API."""
    result = rescore(assessment)
    return {"score": result, "answers": answers_of(assessment), "instrument": instrument_of(assessment)}


def attach_evidence(*, actor: Actor, assessment: Assessment, indicator: str, stream: Any, filename: str,
                    now: datetime | None = None) -> Any:
    """Attach evidence to one indicator of an assessment the library may still change."""
    from workflows.services import evidence as evidence_files
    require_library(actor, "workflows.act", assessment.library_id)
    if not editable(assessment):
        raise Conflict(_l("This self-assessment has been submitted; it can be changed only if the DPK sends it back."))
    if indicator not in {ind.code for ind in instrument_of(assessment).indicators}:
        raise ValidationFailed(_l("Unknown indicator %(code)s.", code=indicator), field="file")
    return evidence_files.attach(actor=actor, library_id=assessment.library_id, stream=stream, filename=filename,
                                 assessment_id=assessment.id, indicator=indicator, now=now)


def evidence_of(assessment: Assessment) -> dict[str, list[Any]]:
    """Evidence files of an assessment by indicator code."""
    from workflows.models import Evidence
    files: dict[str, list[Any]] = {}
    for row in db.session.scalars(select(Evidence).where(Evidence.assessment_id == assessment.id).order_by(Evidence.id)):
        files.setdefault(row.indicator or "", []).append(row)
    return files
