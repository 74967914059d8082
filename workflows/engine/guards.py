"""Checking a transition's guards against an instance, with a plain message for each that fails."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import lazy_gettext as _l

from workflows.engine.instance import Filled, InstanceView, Listing, Refusal, number
from workflows.engine.model import Definition, Guard, State, Text, Transition


def failing_guards(definition: Definition, transition: Transition, view: InstanceView,
                   data: Mapping[str, Any]) -> list[Refusal]:
    """A refusal for every guard of ``transition`` that ``data`` and the view's progress fail."""
    source = definition.states[view.state]
    refusals = []
    for guard in transition.guards:
        message = _failure(definition, source, guard, view, data)
        if message is not None:
            refusals.append(Refusal("guard", message, transition=transition, guard=guard))
    return refusals


# What is missing when one thing is, and when several are; filled in when the message is rendered.
MISSING = {
    "fields": (_l("%(item)s is required"), _l("%(count)s required fields are empty: %(items)s")),
    "checklist": (_l("A checklist task is not done: %(item)s"),
                  _l("%(count)s checklist tasks are not done: %(items)s")),
    "evidence": (_l("An evidence file is missing: %(item)s"), _l("%(count)s evidence files are missing: %(items)s")),
}


def _failure(definition: Definition, source: State, guard: Guard, view: InstanceView,
             data: Mapping[str, Any]) -> Any:
    """The message for a failing guard, None when it passes."""
    if guard.kind in MISSING:
        labels = _missing(definition, source, guard, view, data)
        if not labels:
            return None
        one, several = MISSING[guard.kind]
        return Filled(one, item=labels[0]) if len(labels) == 1 else \
            Filled(several, count=len(labels), items=Listing(labels))
    if guard.kind == "one_of":
        return _one_of(definition, guard, data)
    return _limit(definition, guard, data)


def _missing(definition: Definition, source: State, guard: Guard, view: InstanceView,
             data: Mapping[str, Any]) -> list[Text]:
    """The labels of the fields, tasks or evidence slots a fields/checklist/evidence guard misses."""
    if guard.kind == "fields":
        names = guard.names if guard.names is not None else tuple(f.name for f in source.fields if f.required)
        return [definition.label_of(n) for n in names if data.get(n) in (None, "", [], {})]
    if guard.kind == "checklist":
        return [t.label for t in source.checklist
                if (guard.names is None or t.id in guard.names) and t.id not in view.checklist_done]
    return [e.label for e in source.evidence
            if (e.required if guard.names is None else e.id in guard.names) and e.id not in view.evidence]


def _limit(definition: Definition, guard: Guard, data: Mapping[str, Any]) -> Any:
    """at_least / at_most: the number in the data against the limit."""
    assert guard.value is not None and guard.limit is not None  # the loader guarantees both
    label = definition.label_of(guard.value)
    value = data.get(guard.value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return _l("%(label)s has no value yet", label=label)
    limit = definition.amount(guard.limit)
    if guard.kind == "at_least" and value < limit:
        return _l("%(label)s %(value)s is below the required %(min)s", label=label, value=number(value),
                  min=number(limit))
    if guard.kind == "at_most" and value > limit:
        return _l("%(label)s is %(value)s; at most %(max)s is allowed", label=label, value=number(value),
                  max=number(limit))
    return None


def _one_of(definition: Definition, guard: Guard, data: Mapping[str, Any]) -> Any:
    """one_of: the choice field holds one of the allowed values."""
    field = definition.field(guard.value or "")
    assert field is not None and guard.names is not None  # the loader guarantees a choice field
    labels = {choice.value: choice.label for choice in field.choices}
    value = data.get(field.name)
    if value in guard.names:
        return None
    allowed = Listing(labels[name] for name in guard.names)
    if value in (None, ""):
        return _l("%(label)s has no value yet; it must be one of: %(allowed)s", label=field.label, allowed=allowed)
    return _l("%(label)s is %(value)s; this step needs one of: %(allowed)s", label=field.label,
              value=labels.get(value, value), allowed=allowed)
