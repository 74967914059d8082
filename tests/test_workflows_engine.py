"""The pure workflow engine: loading and validating definitions, guards, due dates, events, versions.

Plain values only (no app, no database). Outside a request messages render in English, which is
what the assertions read; one test renders the bilingual labels in Indonesian.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_babel import Babel, force_locale

from ils.models import Role
from workflows import engine
from workflows.engine import Action, DefinitionMismatch, Definitions, InstanceView, Outcome, Refusal
from workflows.yamlsource import DataFileError, Problem

DEFINITIONS = Path(__file__).resolve().parent.parent / "workflows" / "definitions"
NOW = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)

# Line numbers matter: the validation tests below name them. Line 1 is "key: mini".
MINI = """\
key: mini
version: 1
title: {id: Mini, en: Mini}
params: {wait_days: 10, pass_score: 60, valid_years: 2}
values:
  score_total: {id: Skor, en: Score}
start: draft
states:
  draft:
    title: {id: Draf, en: Draft}
    actor: library
    roles: [librarian]
    due: {days: $wait_days}
    reminders: [3, 1]
    fields:
      - {name: npp_number, type: text, label: {id: Nomor NPP, en: NPP number}, required: true}
      - {name: visit_date, type: date, label: {id: Tanggal kunjungan, en: Visit date}}
      - {name: staff, type: integer, label: {id: Jumlah staf, en: Staff}}
      - {name: grade, type: choice, label: {id: Peringkat, en: Grade}, choices: [A, B, C]}
    checklist:
      - {id: account, label: {id: Akun dibuat, en: Account created}}
      - {id: data, label: {id: Data diisi, en: Data entered}}
    evidence:
      - {id: decree, label: {id: SK pendirian, en: Founding decree}, required: true}
      - {id: photo, label: {id: Foto, en: Photo}}
    on_enter: [{do: notify, to: dpk}]
  review:
    title: {id: Tinjauan, en: Review}
    actor: dpk
    roles: [dpk]
    due: {field: visit_date, years: $valid_years, days: -30}
    fields:
      - {name: site, type: url, label: {id: Situs, en: Website}}
      - {name: rating, type: number, label: {id: Nilai, en: Rating}}
  done:
    title: {id: Selesai, en: Done}
    final: true
transitions:
  - name: by_fields
    from: draft
    to: review
    title: {id: Isian, en: Fields}
    roles: [librarian]
    guards:
      - {fields: [npp_number, staff]}
  - name: by_checklist
    from: draft
    to: review
    title: {id: Daftar periksa, en: Checklist}
    roles: [librarian]
    guards:
      - {checklist: all}
  - name: by_evidence
    from: draft
    to: review
    title: {id: Bukti, en: Evidence}
    roles: [librarian]
    guards:
      - {evidence: required}
  - name: by_score
    from: draft
    to: review
    title: {id: Skor, en: Score}
    roles: [librarian]
    guards:
      - {at_least: {value: score_total, min: $pass_score}}
  - name: by_staff
    from: draft
    to: review
    title: {id: Staf, en: Staff}
    roles: [librarian]
    guards:
      - {at_most: {value: staff, max: 5}}
  - name: by_grade
    from: draft
    to: review
    title: {id: Peringkat, en: Grade}
    roles: [librarian]
    guards:
      - {one_of: {value: grade, values: [A, B]}}
  - name: send_back
    from: review
    to: draft
    title: {id: Kembalikan, en: Send back}
    roles: [dpk]
    comment: required
  - name: approve
    from: review
    to: done
    title: {id: Setujui, en: Approve}
    roles: [dpk]
"""


def mini(text: str = MINI) -> engine.Definition:
    """The small test definition (or a variant of its text)."""
    return engine.load_definition(text, "mini.yaml")


def view(definition: engine.Definition, state: str = "draft", *, data: dict[str, Any] | None = None,
         done: tuple[str, ...] = (), evidence: tuple[str, ...] = (), started_at: datetime = NOW,
         entered_at: datetime = NOW) -> InstanceView:
    """An instance of ``definition`` as services would pass it."""
    return InstanceView(key=definition.key, version=definition.version, state=state, data=data or {},
                        checklist_done=frozenset(done), evidence=frozenset(evidence),
                        started_at=started_at, entered_at=entered_at)


def act(name: str, role: str = "librarian", **kwargs: Any) -> Action:
    """An action; dpk and admin act for the network, as they always do in the ILS."""
    return Action(transition=name, role=role, actor_is_network=role in ("dpk", "admin"), **kwargs)


def refused(result: Outcome | Refusal, code: str) -> str:
    """The message of a refusal with ``code`` (fails the test on anything else)."""
    assert isinstance(result, Refusal), result
    assert result.code == code, (result.code, str(result.message))
    return str(result.message)


# -- guards ---------------------------------------------------------------------------------------

def test_fields_guard_names_the_missing_field_and_counts_values_sent_with_the_action() -> None:
    d = mini()
    assert refused(engine.apply(d, view(d, data={"staff": 3}), act("by_fields"), NOW), "guard") \
        == "NPP number is required"
    assert refused(engine.apply(d, view(d), act("by_fields"), NOW), "guard") \
        == "2 required fields are empty: NPP number, Staff"
    # Values submitted with the action are merged before the guards run.
    outcome = engine.apply(d, view(d, data={"staff": 3}), act("by_fields", values={"npp_number": " 6474 "}), NOW)
    assert isinstance(outcome, Outcome) and outcome.state == "review"
    assert outcome.data == {"staff": 3, "npp_number": "6474"}


def test_fields_guard_fails_when_the_action_clears_the_field() -> None:
    d = mini()
    result = engine.apply(d, view(d, data={"npp_number": "1", "staff": 2}),
                          act("by_fields", values={"npp_number": ""}), NOW)
    assert refused(result, "guard") == "NPP number is required"


def test_checklist_guard_lists_the_tasks_not_done() -> None:
    d = mini()
    assert refused(engine.apply(d, view(d), act("by_checklist"), NOW), "guard") \
        == "2 checklist tasks are not done: Account created, Data entered"
    assert refused(engine.apply(d, view(d, done=("account",)), act("by_checklist"), NOW), "guard") \
        == "A checklist task is not done: Data entered"
    assert isinstance(engine.apply(d, view(d, done=("account", "data")), act("by_checklist"), NOW), Outcome)


def test_evidence_guard_needs_the_required_slots_only() -> None:
    d = mini()
    result = engine.apply(d, view(d, evidence=("photo",)), act("by_evidence"), NOW)
    assert refused(result, "guard") == "An evidence file is missing: Founding decree"
    assert isinstance(result, Refusal) and result.guard == engine.Guard("evidence")
    assert isinstance(engine.apply(d, view(d, evidence=("decree",)), act("by_evidence"), NOW), Outcome)


def test_at_least_guard_reads_a_service_value_against_a_param() -> None:
    d = mini()
    assert refused(engine.apply(d, view(d), act("by_score"), NOW), "guard") == "Score has no value yet"
    assert refused(engine.apply(d, view(d, data={"score_total": 58.3}), act("by_score"), NOW), "guard") \
        == "Score 58.3 is below the required 60"
    assert isinstance(engine.apply(d, view(d, data={"score_total": 60}), act("by_score"), NOW), Outcome)


def test_at_most_guard() -> None:
    d = mini()
    assert refused(engine.apply(d, view(d, data={"staff": 6}), act("by_staff"), NOW), "guard") \
        == "Staff is 6; at most 5 is allowed"
    assert isinstance(engine.apply(d, view(d, data={"staff": 5}), act("by_staff"), NOW), Outcome)


def test_one_of_guard_names_the_choice_labels() -> None:
    d = mini()
    assert refused(engine.apply(d, view(d), act("by_grade"), NOW), "guard") \
        == "Grade has no value yet; it must be one of: A, B"
    assert refused(engine.apply(d, view(d), act("by_grade", values={"grade": "C"}), NOW), "guard") \
        == "Grade is C; this step needs one of: A, B"
    assert isinstance(engine.apply(d, view(d), act("by_grade", values={"grade": "B"}), NOW), Outcome)


# -- other refusals -------------------------------------------------------------------------------

def test_unknown_transition_and_wrong_state() -> None:
    d = mini()
    assert refused(engine.apply(d, view(d), act("fly"), NOW), "unknown_transition") \
        == "This workflow has no action called fly"
    assert refused(engine.apply(d, view(d), act("approve", "dpk"), NOW), "wrong_state") \
        == "“Approve” cannot be done at the step “Draft”"


def test_role_refusal() -> None:
    d = mini()
    assert refused(engine.apply(d, view(d, "review"), act("approve", "librarian"), NOW), "role") \
        == "Your role may not do “Approve”"
    # The network roles only count for an actor who acts for the network.
    local_dpk = Action("approve", "dpk", actor_is_network=False)
    refused(engine.apply(d, view(d, "review"), local_dpk, NOW), "role")
    assert isinstance(engine.apply(d, view(d, "review"), act("approve", "dpk"), NOW), Outcome)


def test_comment_required() -> None:
    d = mini()
    for comment in (None, "   "):
        assert refused(engine.apply(d, view(d, "review"), act("send_back", "dpk", comment=comment), NOW),
                       "comment_required") == "Please write a comment for “Send back”"
    outcome = engine.apply(d, view(d, "review"), act("send_back", "dpk", comment=" Lengkapi SK "), NOW)
    assert isinstance(outcome, Outcome) and outcome.state == "draft"
    assert outcome.events[0] == engine.Event("left", {"state": "review", "transition": "send_back", "role": "dpk",
                                                      "by_network": True, "comment": "Lengkapi SK"})


@pytest.mark.parametrize(("field", "raw", "message"), [
    ("staff", "3.5", "Staff must be a whole number"),
    ("staff", True, "Staff must be a whole number"),
    ("visit_date", "31-02-2024", "Visit date must be a date (YYYY-MM-DD or DD-MM-YYYY)"),
    ("visit_date", "2024/01/05", "Visit date must be a date (YYYY-MM-DD or DD-MM-YYYY)"),
    ("grade", "D", "Grade must be one of: A, B, C"),
    ("npp_number", 12, "NPP number must be text"),
    ("colour", "red", "This step has no field called colour"),
])
def test_invalid_values_are_refused(field: str, raw: Any, message: str) -> None:
    d = mini()
    result = engine.apply(d, view(d), act("by_staff", values={field: raw}), NOW)
    assert refused(result, "invalid_value") == message
    assert isinstance(result, Refusal) and [(f, str(m)) for f, m in result.problems] == [(field, message)]


@pytest.mark.parametrize(("field", "raw", "message"), [
    ("site", "ftp://example.org", "Website must be a web address starting with http:// or https://"),
    ("site", "http://", "Website must be a web address starting with http:// or https://"),
    ("rating", "abc", "Rating must be a number"),
    ("rating", float("nan"), "Rating must be a number"),
])
def test_invalid_values_of_the_review_step(field: str, raw: Any, message: str) -> None:
    d = mini()
    cleaned, problems = engine.validate_values(d, "review", {field: raw})
    assert cleaned == {} and [(f, str(m)) for f, m in problems] == [(field, message)]


def test_values_are_converted_to_clean_json_values() -> None:
    d = mini()
    cleaned, problems = engine.validate_values(d, "draft", {
        "staff": " 7 ", "visit_date": "05-01-2024", "grade": "A", "npp_number": "  x  "})
    assert problems == []
    assert cleaned == {"staff": 7, "visit_date": "2024-01-05", "grade": "A", "npp_number": "x"}
    cleaned, problems = engine.validate_values(d, "review", {"rating": "58,3", "site": "https://perpus.example/a b"})
    assert cleaned == {"rating": 58.3} and [f for f, _m in problems] == ["site"]
    cleaned, _ = engine.validate_values(d, "draft", {"visit_date": "2024-02-29", "staff": ""})
    assert cleaned == {"visit_date": "2024-02-29", "staff": None}


def test_several_invalid_values_are_all_reported() -> None:
    d = mini()
    result = engine.apply(d, view(d), act("by_staff", values={"staff": "x", "grade": "Z"}), NOW)
    assert refused(result, "invalid_value") == "Staff must be a whole number; Grade must be one of: A, B, C"


# -- due dates, reminders and events ---------------------------------------------------------------

def test_start_enters_the_start_state_with_its_events() -> None:
    d = mini()
    outcome = engine.start(d, NOW, {"npp_number": "6474"})
    due = datetime(2024, 3, 11, 8, 0, tzinfo=UTC)  # entered + $wait_days (10)
    assert outcome.state == "draft" and outcome.data == {"npp_number": "6474"} and outcome.due_at == due
    assert outcome.events == (
        engine.Event("entered", {"state": "draft", "from": None, "transition": None}),
        engine.Event("due_set", {"state": "draft", "due_at": due}),
        engine.Event("reminders", {"state": "draft", "at": [datetime(2024, 3, 8, 8, 0, tzinfo=UTC),
                                                             datetime(2024, 3, 10, 8, 0, tzinfo=UTC)]}),
        engine.Event("notify", {"state": "draft", "to": "dpk"}),
    )
    with pytest.raises(engine.ValuesRejected, match="staff"):
        engine.start(d, NOW, {"staff": "many"})


def test_due_relative_to_a_date_field_with_years_from_a_param() -> None:
    d = mini()
    # visit_date 2024-02-29 (midnight UTC) + $valid_years (2) -> 2026-02-28, then -30 days -> 2026-01-29.
    assert engine.due_at(d, "review", NOW, NOW, {"visit_date": "2024-02-29"}) == datetime(2026, 1, 29, tzinfo=UTC)
    assert engine.due_at(d, "review", NOW, NOW, {}) is None
    assert engine.due_at(d, "done", NOW, NOW, {}) is None


def test_due_after_the_start_of_the_instance() -> None:
    d = mini(MINI.replace("due: {days: $wait_days}", "due: {days: 90, after: start}"))
    started = datetime(2024, 1, 10, 2, 30, tzinfo=UTC)
    assert engine.due_at(d, "draft", started, NOW, {}) == datetime(2024, 4, 9, 2, 30, tzinfo=UTC)
    assert engine.due_at(mini(), "draft", started, NOW, {}) == datetime(2024, 3, 11, 8, 0, tzinfo=UTC)


def test_reminders_already_past_are_dropped() -> None:
    d = mini()
    later = NOW + timedelta(days=4)  # send back at day 4: due day 14, reminders day 11 and day 13
    outcome = engine.apply(d, view(d, "review"), act("send_back", "dpk", comment="x"), later)
    assert isinstance(outcome, Outcome)
    assert outcome.event("reminders") == engine.Event("reminders", {
        "state": "draft", "at": [datetime(2024, 3, 12, 8, 0, tzinfo=UTC), datetime(2024, 3, 14, 8, 0, tzinfo=UTC)]})
    text = MINI.replace("reminders: [3, 1]", "reminders: [30, 1]")
    outcome = engine.start(mini(text), NOW)
    assert outcome.event("reminders") == engine.Event("reminders", {
        "state": "draft", "at": [datetime(2024, 3, 10, 8, 0, tzinfo=UTC)]})


def test_entering_a_final_state_completes_the_instance() -> None:
    d = mini()
    outcome = engine.apply(d, view(d, "review", data={"visit_date": "2024-01-01"}), act("approve", "dpk"), NOW)
    assert isinstance(outcome, Outcome)
    assert outcome.kinds() == ["left", "entered", "due_set", "reminders", "completed"]
    assert outcome.event("entered") == engine.Event("entered", {"state": "done", "from": "review",
                                                                "transition": "approve"})
    assert outcome.event("due_set") == engine.Event("due_set", {"state": "done", "due_at": None})
    assert outcome.event("completed") == engine.Event("completed", {"state": "done"})


# -- what the UI shows ------------------------------------------------------------------------------

def test_available_lists_every_next_action_with_its_reason() -> None:
    d = mini()
    found = engine.available(d, view(d, data={"staff": 9}, done=("account", "data")), "librarian", False)
    reasons = {t.name: (None if r is None else str(r.message)) for t, r in found}
    assert reasons == {
        "by_fields": "NPP number is required",
        "by_checklist": None,
        "by_evidence": "An evidence file is missing: Founding decree",
        "by_score": "Score has no value yet",
        "by_staff": "Staff is 9; at most 5 is allowed",
        "by_grade": "Grade has no value yet; it must be one of: A, B",
    }
    as_dpk = engine.available(d, view(d), "dpk", True)
    assert {r.code for _t, r in as_dpk if r is not None} == {"role"} and len(as_dpk) == 6


def test_next_step_names_whose_turn_the_due_date_and_what_is_missing() -> None:
    text = MINI.replace("      - {fields: [npp_number, staff]}", "      - {fields: [npp_number, staff]}\n"
                        "      - {checklist: all}")
    d = mini(text)
    step = engine.next_step(d, view(d, done=("account",), evidence=("decree",)), NOW + timedelta(days=11))
    assert str(step.title) == "Draft" and step.actor == "library" and step.roles == frozenset({"librarian"})
    assert step.due_at == datetime(2024, 3, 11, 8, 0, tzinfo=UTC) and step.overdue
    assert step.transition is not None and step.transition.name == "by_fields"
    assert [str(r.message) for r in step.missing] == ["2 required fields are empty: NPP number, Staff",
                                                      "A checklist task is not done: Data entered"]
    # by_staff waits for a staff figure: an absent number fails at_most as well as at_least.
    assert [t.name for t in step.ready] == ["by_evidence"]
    on_time = engine.next_step(d, view(d), NOW + timedelta(days=10))
    assert not on_time.overdue
    final = engine.next_step(d, view(d, "done"), NOW)
    assert final.actor is None and final.due_at is None and final.transition is None and final.missing == ()


def test_labels_follow_the_locale_of_the_request() -> None:
    app = Flask(__name__)
    Babel(app)
    d = mini()
    message = refused(engine.apply(d, view(d, data={"staff": 1}), act("by_fields"), NOW), "guard")
    assert message == "NPP number is required"
    result = engine.apply(d, view(d, data={"staff": 1}), act("by_fields"), NOW)
    assert isinstance(result, Refusal)
    with app.test_request_context(), force_locale("id"):
        assert "Nomor NPP" in str(result.message)
    with app.test_request_context(), force_locale("en"):
        assert str(result.message) == "NPP number is required"


# -- versions -------------------------------------------------------------------------------------

def test_each_instance_runs_on_the_version_it_pinned() -> None:
    v1 = mini()
    v2 = mini(MINI.replace("version: 1", "version: 2").replace("  review:", "  tinjauan:")
              .replace("to: review", "to: tinjauan").replace("from: review", "from: tinjauan"))
    registry = Definitions([v1, v2])
    assert registry.latest("mini") is v2 and registry.get("mini", 1) is v1
    old = view(v1, "review")
    outcome = engine.apply(registry.get(old.key, old.version), old, act("approve", "dpk"), NOW)
    assert isinstance(outcome, Outcome) and outcome.state == "done"
    with pytest.raises(DefinitionMismatch):
        engine.apply(v2, old, act("approve", "dpk"), NOW)
    with pytest.raises(DefinitionMismatch):
        engine.next_step(v1, view(v2, "tinjauan"), NOW)
    with pytest.raises(ValueError, match="already registered"):
        registry.add(v1)
    new = engine.apply(v2, view(v2, "tinjauan"), act("approve", "dpk"), NOW)
    assert isinstance(new, Outcome) and new.state == "done"


def test_roles_are_the_ils_roles() -> None:
    assert engine.ROLES == {role.value for role in Role}


# -- invalid definitions --------------------------------------------------------------------------

def problems_of(text: str) -> list[Problem]:
    """The problems loading ``text`` reports (fails the test when it loads)."""
    with pytest.raises(DataFileError) as caught:
        engine.load_definition(text, "mini.yaml")
    assert caught.value.source == "mini.yaml"
    return caught.value.problems


ORPHAN = "  orphan:\n    title: {id: Yatim, en: Orphan}\n    final: true\n  done:"


@pytest.mark.parametrize(("old", "new", "line", "field", "message"), [
    ("start: draft\n", "", 1, "start", "this key is required"),
    ("    guards:\n      - {checklist: all}", "    gaurds:\n      - {checklist: all}", 51,
     "transitions[1].gaurds", "unknown key 'gaurds'; did you mean 'guards'?"),
    ("version: 1", "version: one", 2, "version", "must be a whole number, not the text 'one'"),
    ("version: 1", "version: 0", 2, "version", "must be at least 1"),
    ("key: mini", "key: Mini Workflow", 1, "key", "'Mini Workflow' must be lower-case letters, digits, '_' and '-'"),
    ("title: {id: Mini, en: Mini}", "title: {id: Mini}", 3, "title.en", "this key is required"),
    ("start: draft", "start: drafts", 7, "start", "unknown state 'drafts'; states are: draft, review, done"),
    ("    from: review\n    to: done", "    from: reviews\n    to: done", 88, "transitions[7].from",
     "unknown state 'reviews'; states are: draft, review, done"),
    ("    to: done", "    to: finished", 89, "transitions[7].to",
     "unknown state 'finished'; states are: draft, review, done"),
    ("    roles: [dpk]\n    comment", "    roles: [dpk, boss]\n    comment", 85, "transitions[6].roles[1]",
     "unknown role 'boss'; roles are: admin, assessor, cataloguer, circulation, dpk, librarian"),
    ("  - name: by_checklist", "  - name: by_fields", 46, "transitions[1].name",
     "'by_fields' is already a transition from 'draft' (transitions[0])"),
    ("{fields: [npp_number, staff]}", "{fields: [npp_number, stafff]}", 45, "transitions[0].guards[0].fields[1]",
     "unknown field 'stafff'"),
    ("{id: data, label", "{id: account, label", 22, "states.draft.checklist[1].id",
     "the id 'account' appears twice in this state"),
    ("{id: photo, label", "{id: decree, label", 25, "states.draft.evidence[1].id",
     "the id 'decree' appears twice in this state"),
    ("due: {days: $wait_days}", "due: {days: $wait}", 13, "states.draft.due.days",
     "unknown param '$wait'; params are: wait_days, pass_score, valid_years"),
    (", choices: [A, B, C]}", "}", 19, "states.draft.fields[3].choices", "a choice field needs a list of choices"),
    ("  done:", ORPHAN, 35, "states.orphan", "this state cannot be reached from the start state 'draft'"),
    ("    title: {id: Selesai, en: Done}\n    final: true",
     "    title: {id: Selesai, en: Done}\n    actor: dpk\n    roles: [dpk]", 35, "states.done",
     "no transition leaves this state; add one or mark it final: true"),
    ("    from: review\n    to: draft", "    from: [review, done]\n    to: draft", 82, "transitions[6].from[1]",
     "'done' is a final state; no transition may leave it"),
    ("{do: notify, to: dpk}", "{do: notifiy, to: dpk}", 26, "states.draft.on_enter[0].do",
     "'notifiy' is not one of: notify, start_assessment, compute_snp, schedule_reminders, record_result"),
    ("due: {field: visit_date", "due: {field: npp_number", 31, "states.review.due.field",
     "the field 'npp_number' is of type text, not date"),
    ("    due: {days: $wait_days}\n", "", 13, "states.draft.reminders", "reminders need a due date (add 'due')"),
    ("{name: site, type: url", "{name: staff, type: url", 33, "states.review.fields[0].name",
     "the field 'staff' is already defined in state 'draft' (field names are shared by the whole workflow)"),
    ("{value: score_total, min", "{value: score_totl, min", 66, "transitions[3].guards[0].at_least.value",
     "unknown value 'score_totl': name a number field or declare it under values"),
    ("values: [A, B]}", "values: [A, E]}", 80, "transitions[5].guards[0].one_of.values[1]",
     "'E' is not a choice of 'grade' (A, B, C)"),
    ("{evidence: required}", "{evidence: [decree, video]}", 59, "transitions[2].guards[0].evidence[1]",
     "state 'draft' has no evidence item 'video'"),
    ("type: integer", "type: int", 18, "states.draft.fields[2].type",
     "'int' is not one of: text, textarea, integer, number, date, choice, url"),
    ("    reminders: [3, 1]", "    reminders: [3, 3]", 14, "states.draft.reminders[1]", "3 days appears twice"),
    ("      - {checklist: all}", "      - {checklist: all, evidence: required}", 52, "transitions[1].guards[0]",
     "a guard has exactly one of: fields, checklist, evidence, at_least, at_most, one_of"),
    ("  done:\n    title: {id: Selesai, en: Done}\n    final: true", "  done: selesai", 35, "states.done",
     "must be a mapping (key: value), not the text 'selesai'"),
    ("    from: review\n    to: done", "    from: 5\n    to: done", 88, "transitions[7].from",
     "must be a state name or a list of state names, not the number 5"),
    ("    comment: required", "    comment: maybe", 86, "transitions[6].comment", "'maybe' is not one of: optional, required"),
    ("min: $pass_score", "min: many", 66, "transitions[3].guards[0].at_least.min",
     "must be a number or a '$param' reference, not the text 'many'"),
    ("    comment: required", "    comment: required\n    guards:\n      - {fields: required}", 88,
     "transitions[6].guards[0].fields", "state 'review' has no required fields"),
    ("version: 1\n", "version: 1\nversion: 2\n", 3, "version", "this key appears twice"),
])
def test_each_validation_rule_names_line_and_field(old: str, new: str, line: int, field: str, message: str) -> None:
    assert old in MINI
    assert problems_of(MINI.replace(old, new, 1)) == [Problem(line, field, message)]


def test_several_problems_are_reported_at_once_in_line_order() -> None:
    text = (MINI.replace("version: 1", "version: -2").replace("    actor: dpk\n    roles: [dpk]\n    due",
                                                              "    actor: boss\n    roles: [dpk]\n    due")
            .replace("    to: finished", "").replace("    to: done", "    to: finished"))
    problems = problems_of(text)
    assert [(p.line, p.field) for p in problems] == [
        (2, "version"), (29, "states.review.actor"), (89, "transitions[7].to")]
    assert str(problems_of(text)[0].render("mini.yaml")) == "mini.yaml:2: version: must be at least 1"


def test_yaml_syntax_error_names_its_line() -> None:
    text = MINI.replace("    roles: [librarian]\n    due", "    roles: [librarian\n    due", 1)
    problems = problems_of(text)
    assert len(problems) == 1 and problems[0].line == 13 and problems[0].message.startswith("YAML syntax")


def test_a_file_that_is_not_a_mapping() -> None:
    assert problems_of("- just\n- a list\n") == [Problem(1, "", "must be a mapping (key: value), not a list")]


# -- the shipped definitions ----------------------------------------------------------------------

@pytest.mark.parametrize("name", ["akreditasi", "tpbis"])
def test_shipped_definitions_load_and_every_state_is_reachable(name: str) -> None:
    definition = engine.load_definition((DEFINITIONS / f"{name}.yaml").read_bytes(), f"{name}.yaml")
    assert definition.key == name and definition.version == 1
    reached, todo = {definition.start}, [definition.start]
    while todo:
        for transition in definition.transitions_from(todo.pop()):
            if transition.to not in reached:
                reached.add(transition.to)
                todo.append(transition.to)
    assert reached == set(definition.states)
    for state in definition.states.values():
        assert state.title.id and state.title.en and (state.final or state.help is not None)


def akreditasi() -> engine.Definition:
    """The shipped accreditation workflow."""
    return engine.load_definition((DEFINITIONS / "akreditasi.yaml").read_bytes(), "akreditasi.yaml")


class Walk:
    """An akreditasi instance kept the way services would keep it, one action at a time."""

    def __init__(self, definition: engine.Definition, now: datetime) -> None:
        self.definition = definition
        outcome = engine.start(definition, now)
        self.started_at = now
        self.state, self.data, self.entered_at = outcome.state, dict(outcome.data), now
        self.done: set[str] = set()
        self.evidence: set[str] = set()
        self.outcomes = [outcome]

    def view(self) -> InstanceView:
        """The instance as it stands."""
        return InstanceView(key=self.definition.key, version=self.definition.version, state=self.state,
                            data=dict(self.data), checklist_done=frozenset(self.done),
                            evidence=frozenset(self.evidence), started_at=self.started_at,
                            entered_at=self.entered_at)

    def tick_all(self) -> None:
        """Tick off every checklist task of the current state."""
        state = self.definition.states[self.state]
        self.done = {t.id for t in state.checklist}

    def take(self, name: str, role: str, now: datetime, **kwargs: Any) -> Outcome:
        """Take a transition that must succeed, and keep its outcome as services would."""
        result = engine.apply(self.definition, self.view(), act(name, role, **kwargs), now)
        assert isinstance(result, Outcome), str(getattr(result, "message", result))
        self.state, self.data, self.entered_at = result.state, dict(result.data), now
        self.done, self.evidence = set(), set()  # progress belongs to the state that was left
        self.outcomes.append(result)
        return result

    def refusal(self, name: str, role: str, now: datetime, **kwargs: Any) -> str:
        """The message of a transition that a guard must refuse."""
        return refused(engine.apply(self.definition, self.view(), act(name, role, **kwargs), now), "guard")


def test_walk_akreditasi_to_accredited_and_back_to_reaccreditation() -> None:
    day = datetime(2024, 1, 8, 1, 0, tzinfo=UTC)
    walk = Walk(akreditasi(), day)
    assert walk.state == "npp" and walk.outcomes[0].due_at == day + timedelta(days=60)
    assert walk.refusal("npp_diperoleh", "librarian", day) == "NPP number is required"
    walk.evidence = {"sk_pendirian", "bukti_npp"}
    first = walk.take("npp_diperoleh", "librarian", day, values={"npp_number": "6474011D1000001"})
    assert first.kinds() == ["left", "entered", "due_set", "reminders", "compute_snp", "schedule_reminders"]

    walk.tick_all()
    walk.data["snp_gaps_open"] = 2  # written by the SNP service
    assert walk.refusal("snp_terpenuhi", "librarian", day) == "Number of open SNP gaps is 2; at most 0 is allowed"
    walk.data["snp_gaps_open"] = 0
    assert walk.take("snp_terpenuhi", "librarian", day).event("start_assessment") is not None

    walk.tick_all()
    walk.data["assessment_total"] = 58.3  # written by the assessment service
    assert walk.refusal("ajukan_ke_dpk", "librarian", day, values={"sipapi_account": "perpus@bontang.example"}) \
        == "Self-assessment score 58.3 is below the required 60"
    walk.data["assessment_total"] = 72.5
    walk.take("ajukan_ke_dpk", "librarian", day, values={"sipapi_account": "perpus@bontang.example"})
    assert walk.state == "tinjauan_dpk"
    walk.take("kembalikan", "dpk", day, comment="Bukti fisik koleksi belum lengkap")
    assert walk.state == "swanilai"
    walk.tick_all()
    walk.take("ajukan_ke_dpk", "librarian", day)
    walk.tick_all()
    walk.take("setujui", "dpk", day)

    walk.evidence = {"bukti_pengajuan"}
    walk.take("sudah_diajukan", "librarian", day, values={"submission_date": "15-01-2024"})
    walk.take("perbaiki_berkas", "dpk", day, comment="Foto gedung kurang jelas")
    assert walk.state == "pengajuan"
    walk.evidence = {"bukti_pengajuan"}
    walk.take("sudah_diajukan", "librarian", day, values={"submission_date": "2024-02-01"})
    walk.take("lolos_verifikasi", "dpk", day, values={"verification_date": "2024-04-02"})
    walk.take("visitasi_selesai", "librarian", day, values={"visit_date": "2024-05-20",
                                                            "assessor_names": "Dra. Siti, M. Rahman"})
    assert walk.state == "hasil"
    assert walk.refusal("terakreditasi", "dpk", day, values={"grade": "tidak_terakreditasi"}) \
        == "Accreditation grade is Not accredited; this step needs one of: A (very good), B (good), C (fair)"
    walk.evidence = {"sertifikat"}
    accredited = walk.take("terakreditasi", "dpk", day, values={
        "grade": "B", "final_score": "84,6", "certificate_number": "123/LAP/2024", "certificate_date": "01-07-2024"})
    # certificate 2024-07-01 + $valid_years (5) = 2029-07-01, minus 180 days = 2029-01-02 (midnight UTC).
    assert accredited.due_at == datetime(2029, 1, 2, tzinfo=UTC)
    assert accredited.event("reminders") == engine.Event("reminders", {"state": "terakreditasi", "at": [
        datetime(2028, 12, 3, tzinfo=UTC), datetime(2028, 12, 26, tzinfo=UTC)]})
    assert [e.payload.get("to") for e in accredited.events if e.kind == "notify"] == ["library", "dpk"]
    assert accredited.kinds()[4:] == ["record_result", "notify", "notify", "schedule_reminders"]
    assert "completed" not in accredited.kinds()
    assert walk.data["grade"] == "B" and walk.data["final_score"] == 84.6

    later = datetime(2029, 1, 3, tzinfo=UTC)
    assert engine.next_step(walk.definition, walk.view(), later).overdue
    again = walk.take("mulai_reakreditasi", "librarian", later)
    assert walk.state == "snp" and again.due_at == later + timedelta(days=180)
    assert again.event("entered") == engine.Event("entered", {"state": "snp", "from": "terakreditasi",
                                                              "transition": "mulai_reakreditasi"})


def test_akreditasi_not_accredited_goes_back_to_self_assessment_with_a_comment() -> None:
    d = akreditasi()
    at_result = view(d, "hasil", data={"grade": "tidak_terakreditasi"})
    assert refused(engine.apply(d, at_result, act("belum_terakreditasi", "dpk"), NOW), "comment_required")
    outcome = engine.apply(d, at_result, act("belum_terakreditasi", "dpk", comment="Pendampingan DPK"), NOW)
    assert isinstance(outcome, Outcome) and outcome.state == "swanilai"
    assert refused(engine.apply(d, view(d, "hasil", data={"grade": "A"}),
                                act("belum_terakreditasi", "dpk", comment="x"), NOW), "guard")


def test_akreditasi_dpk_may_waive_open_snp_gaps_with_a_comment() -> None:
    d = akreditasi()
    gaps = view(d, "snp", data={"snp_gaps_open": 3})
    refused(engine.apply(d, gaps, act("dispensasi_snp", "librarian", comment="x"), NOW), "role")
    refused(engine.apply(d, gaps, act("dispensasi_snp", "dpk"), NOW), "comment_required")
    outcome = engine.apply(d, gaps, act("dispensasi_snp", "dpk", comment="Gedung baru selesai Juni"), NOW)
    assert isinstance(outcome, Outcome) and outcome.state == "swanilai"


def test_tpbis_needs_enough_community_activities() -> None:
    d = engine.load_definition((DEFINITIONS / "tpbis.yaml").read_bytes(), "tpbis.yaml")
    activities = view(d, "pelibatan_masyarakat", data={"activities_count": 11, "activities_summary": "Kelas menjahit"})
    assert refused(engine.apply(d, activities, act("kegiatan_cukup"), NOW), "guard") \
        == "Number of community engagement activities recorded 11 is below the required 12"
    enough = view(d, "pelibatan_masyarakat", data={"activities_count": 12, "activities_summary": "Kelas menjahit"})
    outcome = engine.apply(d, enough, act("kegiatan_cukup"), NOW)
    assert isinstance(outcome, Outcome) and outcome.state == "advokasi_mitra"
    assert outcome.due_at == NOW + timedelta(days=90)
