"""The pure state machine: given a definition, an instance and an action, the new state and events.

Nothing here reads the clock, the database or the request: services pass ``now`` and the instance,
then persist the outcome, audit it and act on its events (notify, schedule reminders, start an
assessment) after commit.
"""
from __future__ import annotations

import calendar
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l

from workflows.engine.guards import failing_guards
from workflows.engine.instance import (Action, DefinitionMismatch, Event, InstanceView, Listing, NextStep, Outcome,
                                       Refusal, ValuesRejected)
from workflows.engine.model import Definition, Transition
from workflows.engine.values import as_date, merge, validate_values

# Roles that only ever act for the whole network; a library-scoped account carrying one is refused.
NETWORK_ROLES = frozenset({"admin", "dpk"})


def start(definition: Definition, now: datetime, values: Mapping[str, Any] | None = None) -> Outcome:
    """Enter the start state at ``now`` (ValuesRejected when ``values`` do not fit its fields)."""
    cleaned, problems = validate_values(definition, definition.start, values or {})
    if problems:
        raise ValuesRejected(problems)
    return _enter(definition, definition.start, merge({}, cleaned), [], started_at=now, now=now,
                  came_from=None, transition=None)


def apply(definition: Definition, view: InstanceView, action: Action, now: datetime) -> Outcome | Refusal:
    """Take ``action`` on the instance ``view`` at ``now``: an Outcome, or a Refusal saying why not."""
    _check_pinned(definition, view)
    named = [t for t in definition.transitions if t.name == action.transition]
    if not named:
        return Refusal("unknown_transition", _l("This workflow has no action called %(name)s", name=action.transition))
    transition = next((t for t in named if view.state in t.sources), None)
    if transition is None:
        return Refusal("wrong_state", _l("“%(transition)s” cannot be done at the step “%(state)s”",
                                         transition=named[0].title, state=definition.states[view.state].title),
                       transition=named[0])
    refusal = _role_refusal(transition, action.role, action.actor_is_network)
    if refusal is not None:
        return refusal
    comment = (action.comment or "").strip() or None
    if transition.comment == "required" and comment is None:
        return Refusal("comment_required", _l("Please write a comment for “%(transition)s”",
                                              transition=transition.title), transition=transition)
    cleaned, problems = validate_values(definition, view.state, action.values)
    if problems:
        message = problems[0][1] if len(problems) == 1 else Listing([m for _f, m in problems], "; ")
        return Refusal("invalid_value", message, transition=transition, problems=tuple(problems))
    data = merge(view.data, cleaned)
    failing = failing_guards(definition, transition, view, data)
    if failing:
        return failing[0]
    left = Event("left", {"state": view.state, "transition": transition.name, "role": action.role,
                          "by_network": action.actor_is_network, "comment": comment})
    return _enter(definition, transition.to, data, [left], started_at=view.started_at, now=now,
                  came_from=view.state, transition=transition.name)


def available(definition: Definition, view: InstanceView, role: str, actor_is_network: bool
              ) -> list[tuple[Transition, Refusal | None]]:
    """Every transition out of the current state, each with the reason it cannot be taken (or None)."""
    _check_pinned(definition, view)
    found: list[tuple[Transition, Refusal | None]] = []
    for transition in definition.transitions_from(view.state):
        refusal = _role_refusal(transition, role, actor_is_network)
        if refusal is None:
            refusal = next(iter(failing_guards(definition, transition, view, view.data)), None)
        found.append((transition, refusal))
    return found


def next_step(definition: Definition, view: InstanceView, now: datetime) -> NextStep:
    """Whose turn it is, by when, and what is missing before the first blocked transition can go."""
    _check_pinned(definition, view)
    state = definition.states[view.state]
    due = due_at(definition, view.state, view.started_at, view.entered_at, view.data)
    blocked, missing, ready = None, (), []
    for transition in definition.transitions_from(view.state):
        failing = failing_guards(definition, transition, view, view.data)
        if not failing:
            ready.append(transition)
        elif blocked is None:
            blocked, missing = transition, tuple(failing)
    return NextStep(state=state, due_at=due, overdue=due is not None and now > due, transition=blocked,
                    missing=missing, ready=tuple(ready))


def due_at(definition: Definition, state: str, started_at: datetime, entered_at: datetime,
           data: Mapping[str, Any]) -> datetime | None:
    """When ``state`` is due, or None (no due rule, or the date field it counts from is empty).

    A date field holds a date of the library's local calendar; it counts as midnight UTC of that
    date, so "certificate date + 5 years" lands on the same calendar date whatever the timezone.
    """
    due = definition.states[state].due
    if due is None:
        return None
    if due.field is not None:
        day = as_date(data.get(due.field))
        if day is None:
            return None
        base = datetime(day.year, day.month, day.day, tzinfo=UTC)
    else:
        base = started_at if due.after == "start" else entered_at
    return _add_years(base, int(definition.amount(due.years))) + timedelta(days=definition.amount(due.days))


def _add_years(moment: datetime, years: int) -> datetime:
    """Same month and day ``years`` later; 29 February becomes 28 February in a common year."""
    year = moment.year + years
    return moment.replace(year=year, day=min(moment.day, calendar.monthrange(year, moment.month)[1]))


def _enter(definition: Definition, name: str, data: dict[str, Any], events: list[Event], *, started_at: datetime,
           now: datetime, came_from: str | None, transition: str | None) -> Outcome:
    """Enter state ``name`` at ``now``: entered, due_set, reminders, each on_enter action, completed."""
    state = definition.states[name]
    due = due_at(definition, name, started_at, now, data)
    # A reminder that would already be past is dropped rather than sent at once.
    reminders = sorted(due - timedelta(days=days) for days in state.reminders) if due is not None else []
    events += [Event("entered", {"state": name, "from": came_from, "transition": transition}),
               Event("due_set", {"state": name, "due_at": due}),
               Event("reminders", {"state": name, "at": [at for at in reminders if at > now]})]
    events += [Event(item.do, {"state": name, **({"to": item.to} if item.to else {})}) for item in state.on_enter]
    if state.final:
        events.append(Event("completed", {"state": name}))
    return Outcome(state=name, data=data, events=tuple(events), due_at=due)


def _role_refusal(transition: Transition, role: str, actor_is_network: bool) -> Refusal | None:
    """A refusal when ``role`` may not take ``transition`` (None when it may)."""
    if role in transition.roles and (role not in NETWORK_ROLES or actor_is_network):
        return None
    return Refusal("role", _l("Your role may not do “%(transition)s”", transition=transition.title),
                   transition=transition)


def _check_pinned(definition: Definition, view: InstanceView) -> None:
    """An instance runs on the definition version it started with, in one of its states."""
    if (view.key, view.version) != (definition.key, definition.version):
        raise DefinitionMismatch(f"instance of {view.key} v{view.version} given definition "
                                 f"{definition.key} v{definition.version}")
    if view.state not in definition.states:
        raise DefinitionMismatch(f"{definition.key} v{definition.version} has no state '{view.state}'")
