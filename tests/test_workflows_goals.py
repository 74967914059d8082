"""Goals and activities: progress judged by hand-computed figures, the nightly history, manual
figures, activity counts feeding the metrics, library facts, and who may do what."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select

from ils import metrics
from ils.authz import Actor
from ils.errors import Forbidden, ValidationFailed
from ils.extensions import db
from ils.models import AuditEvent, Role
from tests.factories import Network
from workflows.goals import progress
from workflows.models import Activity, GoalSnapshot
from workflows.services import activities, figures, goals

NOW = datetime(2026, 6, 1, 2, 0, tzinfo=timezone.utc)
DPK = Actor(label="dpk", role=Role.DPK)


def librarian(library_id: int) -> Actor:
    """A head librarian of one library."""
    return Actor(label=f"librarian.{library_id}", role=Role.LIBRARIAN, library_id=library_id)


# --- the pure judgement ---------------------------------------------------------------------------------

def test_progress_halfway_through_time_and_halfway_to_target_is_on_track() -> None:
    """Baseline 100 on 1 Jan, target 200 on 31 Dec 2026 (364 days); on 2 Jul (182 days) a figure of 150
    is share 0.5 against an expected 182/364 = 0.5."""
    p = progress(baseline=100, target=200, baseline_on=date(2026, 1, 1), deadline=date(2026, 12, 31),
                 value=150, today=date(2026, 7, 2))
    assert (p.share, p.expected, p.status) == (0.5, 0.5, "on_track")


def test_progress_more_than_the_margin_behind_is_at_risk_and_within_it_on_track() -> None:
    """Expected 0.5: share 0.41 is 0.09 behind (on track with margin 0.1), 0.39 is 0.11 behind (at risk)."""
    kwargs = dict(baseline=0, target=100, baseline_on=date(2026, 1, 1), deadline=date(2026, 12, 31),
                  today=date(2026, 7, 2))
    assert progress(value=41, **kwargs).status == "on_track"
    assert progress(value=39, **kwargs).status == "at_risk"
    assert progress(value=39, margin=0.2, **kwargs).status == "on_track"


def test_progress_reached_late_no_data_and_a_goal_to_reduce() -> None:
    """Reaching the target is done even after the deadline; short of it after the deadline is late;
    a goal from 40 down to 20 at 30 is halfway."""
    kwargs = dict(baseline_on=date(2026, 1, 1), deadline=date(2026, 3, 1))
    assert progress(baseline=10, target=20, value=20, today=date(2026, 5, 1), **kwargs).status == "done"
    assert progress(baseline=10, target=20, value=19, today=date(2026, 5, 1), **kwargs).status == "late"
    assert progress(baseline=10, target=20, value=None, today=date(2026, 2, 1), **kwargs).status == "no_data"
    down = progress(baseline=40, target=20, value=30, today=date(2026, 1, 31), **kwargs)
    assert down.share == 0.5 and down.expected == 30 / 59 and down.status == "on_track"


# --- goals --------------------------------------------------------------------------------------------

def goal_input(**changes: object) -> goals.GoalInput:
    """A city goal on active members, 0 -> 10 during 2026."""
    data = dict(title="Anggota aktif", indicator="circulation.active_members", baseline=0.0,
                baseline_on=date(2026, 1, 1), target=10.0, deadline=date(2026, 12, 31), owner="Bidang Layanan",
                period="level", theme="keanggotaan")
    data.update(changes)
    return goals.GoalInput(**data)  # type: ignore[arg-type]


def test_city_goals_belong_to_the_dpk_and_library_goals_to_their_library(network: Network) -> None:
    """A librarian cannot create a city goal or one for another library; the DPK can create both."""
    with pytest.raises(Forbidden):
        goals.create_goal(actor=librarian(network.a.id), library_id=None, data=goal_input())
    with pytest.raises(Forbidden):
        goals.create_goal(actor=librarian(network.a.id), library_id=network.b.id, data=goal_input())
    own = goals.create_goal(actor=librarian(network.a.id), library_id=network.a.id, data=goal_input())
    city = goals.create_goal(actor=DPK, library_id=None, data=goal_input(title="Kota"))
    db.session.commit()
    seen_by_b = goals.list_goals(actor=librarian(network.b.id))
    assert [g.id for g in seen_by_b] == [city.id]
    assert {g.id for g in goals.list_goals(actor=DPK)} == {own.id, city.id}
    with pytest.raises(Forbidden):
        goals.get_goal(actor=librarian(network.b.id), goal_id=own.id)
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert "workflows.goal_created" in actions


@pytest.mark.parametrize(("changes", "field"), [
    ({"title": "  "}, "title"), ({"indicator": "catalog.nothing"}, "indicator"), ({"period": "week"}, "period"),
    ({"deadline": date(2025, 12, 31)}, "deadline"), ({"owner": ""}, "owner"), ({"at_risk_margin": 1.5}, "at_risk_margin"),
])
def test_a_goal_with_bad_fields_is_refused_on_the_field(network: Network, changes: dict[str, object],
                                                        field: str) -> None:
    """Each bad field gives a ValidationFailed naming that field."""
    with pytest.raises(ValidationFailed) as caught:
        goals.create_goal(actor=DPK, library_id=None, data=goal_input(**changes))
    assert caught.value.field == field


def test_the_nightly_snapshot_records_the_metric_once_per_day(network: Network) -> None:
    """The figure comes from the metrics registry; a rerun the same day replaces the row."""
    goal = goals.create_goal(actor=DPK, library_id=network.a.id, data=goal_input(indicator="catalog.copies"))
    manual = goals.create_goal(actor=DPK, library_id=None, data=goal_input(indicator="manual", title="TGM"))
    db.session.commit()
    expected = metrics.value("catalog.copies", library_id=network.a.id, end=date(2026, 6, 1))
    assert expected == 1.0  # the network's one copy at A
    assert goals.snapshot_all(today=date(2026, 6, 1), now=NOW) == 1
    assert goals.snapshot_all(today=date(2026, 6, 1), now=NOW) == 1
    db.session.commit()
    rows = db.session.scalars(select(GoalSnapshot)).all()
    assert [(r.goal_id, r.taken_on, r.value, r.source) for r in rows] == [(goal.id, date(2026, 6, 1), 1.0, "metric")]
    p = goals.progress_of(goal, date(2026, 6, 1))
    assert p.value == 1.0 and p.share == 0.1
    assert goals.progress_of(manual, date(2026, 6, 1)).status == "no_data"


def test_manual_goals_take_typed_figures_and_metric_goals_refuse_them(network: Network) -> None:
    """A manual goal's figure is the latest entered on or before the day."""
    manual = goals.create_goal(actor=DPK, library_id=None, data=goal_input(indicator="manual", title="TGM",
                                                                            baseline=50, target=60))
    metric = goals.create_goal(actor=DPK, library_id=None, data=goal_input())
    goals.record_value(actor=DPK, goal_id=manual.id, value=55, taken_on=date(2026, 3, 1))
    goals.record_value(actor=DPK, goal_id=manual.id, value=57, taken_on=date(2026, 5, 1))
    db.session.commit()
    assert goals.figure_on(manual, date(2026, 4, 1)) == 55
    assert goals.figure_on(manual, date(2026, 6, 1)) == 57
    assert goals.progress_of(manual, date(2026, 6, 1)).share == pytest.approx(0.7)
    with pytest.raises(ValidationFailed):
        goals.record_value(actor=DPK, goal_id=metric.id, value=1, taken_on=date(2026, 5, 1))


# --- activities ---------------------------------------------------------------------------------------

def activity(**changes: object) -> activities.ActivityInput:
    """A storytelling morning with 12 participants."""
    data = dict(held_on=date(2026, 5, 20), kind="dongeng", title="Dongeng pagi", participants_male=5,
                participants_female=7, age_groups={"anak": 10, "dewasa": 2},
                partners=[{"name": "PT Pupuk Kaltim", "kind": "csr"}, {"name": "", "kind": "lainnya"}])
    data.update(changes)
    return activities.ActivityInput(**data)  # type: ignore[arg-type]


def test_activities_count_for_the_participant_metrics(network: Network) -> None:
    """Two activities at A and one at B: the metrics add participants per library and for the city."""
    actor = librarian(network.a.id)
    first = activities.record_activity(actor=actor, library_id=network.a.id, data=activity(), today=date(2026, 6, 1))
    activities.record_activity(actor=actor, library_id=network.a.id, today=date(2026, 6, 1),
                               data=activity(held_on=date(2025, 12, 1), participants_male=1, participants_female=0,
                                             age_groups={}))
    activities.record_activity(actor=librarian(network.b.id), library_id=network.b.id, today=date(2026, 6, 1),
                               data=activity(participants_male=0, participants_female=3, age_groups={"lansia": 3}))
    db.session.commit()
    assert first.partners == [{"name": "PT Pupuk Kaltim", "kind": "csr"}]
    assert metrics.value("workflows.participants", library_id=network.a.id) == 13
    assert metrics.value("workflows.participants", start=date(2026, 1, 1), end=date(2026, 12, 31)) == 15
    assert metrics.value("workflows.activities", library_id=network.a.id, start=date(2026, 1, 1)) == 1
    assert figures.activity_totals(None, None, None) == (3, 16)


@pytest.mark.parametrize(("changes", "field"), [
    ({"kind": "pesta"}, "kind"), ({"title": " "}, "title"), ({"held_on": date(2026, 6, 2)}, "held_on"),
    ({"participants_male": -1}, "participants_male"), ({"age_groups": {"anak": 11}}, "age_groups"),
    ({"age_groups": {"bayi": 12}}, "age_groups"), ({"partners": [{"name": "X", "kind": "partai"}]}, "partners"),
])
def test_bad_activity_fields_are_refused(network: Network, changes: dict[str, object], field: str) -> None:
    """Future dates, negative counts, age groups not adding up, unknown kinds: refused on the field."""
    with pytest.raises(ValidationFailed) as caught:
        activities.record_activity(actor=librarian(network.a.id), library_id=network.a.id,
                                   data=activity(**changes), today=date(2026, 6, 1))
    assert caught.value.field == field
    assert db.session.scalars(select(Activity)).all() == []


def test_activities_are_scoped_to_the_library(network: Network) -> None:
    """Desk staff of A record for A only; B's librarian neither sees nor edits A's activities."""
    desk_a = Actor(label="desk.a", role=Role.CIRCULATION, library_id=network.a.id)
    made = activities.record_activity(actor=desk_a, library_id=network.a.id, data=activity(), today=date(2026, 6, 1))
    with pytest.raises(Forbidden):
        activities.record_activity(actor=desk_a, library_id=network.b.id, data=activity(), today=date(2026, 6, 1))
    db.session.commit()
    other = librarian(network.b.id)
    assert activities.list_activities(actor=other) == []
    with pytest.raises(Forbidden):
        activities.update_activity(actor=other, activity_id=made.id, data=activity(title="x"), today=date(2026, 6, 1))
    assert [a.id for a in activities.list_activities(actor=DPK)] == [made.id]


# --- facts and figures --------------------------------------------------------------------------------

def test_facts_accept_indonesian_numbers_and_blank_removes_one(network: Network) -> None:
    """'1.250' people is 1250, '56,5' m² is 56.5; a blank removes the fact; each change is audited."""
    actor = librarian(network.a.id)
    changed = figures.set_facts(actor=actor, library_id=network.a.id,
                                values={"students": "1.250", "floor_area_m2": "56,5", "staff_total": "2"})
    assert changed == ["floor_area_m2", "staff_total", "students"]
    assert figures.facts_of(network.a.id) == {"students": 1250.0, "floor_area_m2": 56.5, "staff_total": 2.0}
    assert figures.set_facts(actor=actor, library_id=network.a.id, values={"students": ""}) == ["students"]
    assert "students" not in figures.facts_of(network.a.id)
    with pytest.raises(ValidationFailed):
        figures.set_facts(actor=actor, library_id=network.a.id, values={"staff_total": "2,5"})
    with pytest.raises(ValidationFailed):
        figures.set_facts(actor=actor, library_id=network.a.id, values={"staff_total": "-1"})
    with pytest.raises(ValidationFailed):
        figures.set_facts(actor=actor, library_id=network.a.id, values={"nik": "1"})
    with pytest.raises(Forbidden):
        figures.set_facts(actor=actor, library_id=network.b.id, values={"staff_total": "2"})
    audits = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "workflows.facts_updated")).all()
    assert len(audits) == 2


def test_library_figures_read_live_data_and_entered_facts(network: Network) -> None:
    """Opening hours Mon-Fri 08:00-14:00 give 5 days and 6 hours a day; one copy of one title at A."""
    network.a.opening_hours = {day: [["08:00", "14:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
    figures.set_facts(actor=DPK, library_id=network.a.id, values={"floor_area_m2": "60"})
    db.session.commit()
    values = figures.library_figures(network.a, today=date(2026, 6, 1))
    assert values["library.open_days_per_week"] == 5.0
    assert values["library.open_hours_per_day"] == 6.0
    assert values["catalog.titles"] == 1.0 and values["catalog.copies"] == 1.0
    assert values["circulation.visits_per_open_day"] == 0.0
    assert values["fact.floor_area_m2"] == 60.0 and values["fact.staff_total"] is None
