"""What the services hand the engine (an instance as it is, an action) and what they get back."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from workflows.engine.model import Guard, State, Text, Transition


@dataclass(frozen=True)
class InstanceView:
    """A running instance as the services read it: pinned definition, state, data, progress.

    ``checklist_done`` and ``evidence`` belong to the current state: the services start both empty
    when a state is entered. Datetimes are aware and UTC.
    """

    key: str
    version: int
    state: str
    started_at: datetime
    entered_at: datetime
    data: Mapping[str, Any] = field(default_factory=dict)
    checklist_done: frozenset[str] = frozenset()
    evidence: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Action:
    """Someone takes a transition, with the values of the step's fields and perhaps a comment.

    ``actor_is_network`` is True when the actor acts for the whole network (DPK office, admin, an
    assessor without a library) rather than as staff of the instance's library.
    """

    transition: str
    role: str
    actor_is_network: bool = False
    values: Mapping[str, Any] = field(default_factory=dict)
    comment: str | None = None


@dataclass(frozen=True)
class Event:
    """Something the services carry out or record: ``left``, ``entered``, ``due_set``, an on_enter action..."""

    kind: str
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """A transition (or the start) succeeded: the new state, the new data, the events in order."""

    state: str
    data: Mapping[str, Any]
    events: tuple[Event, ...]
    due_at: datetime | None

    def kinds(self) -> list[str]:
        """The kinds of the events, in order (handy for services and tests)."""
        return [event.kind for event in self.events]

    def event(self, kind: str) -> Event | None:
        """The first event of ``kind``, if any."""
        return next((event for event in self.events if event.kind == kind), None)


@dataclass(frozen=True)
class Refusal:
    """Why a transition cannot be taken now, in words for the person who tried.

    Codes: unknown_transition, wrong_state, role, comment_required, invalid_value, guard.
    ``problems`` lists (field, message) for invalid values; ``guard`` is the guard that failed.
    """

    code: str
    message: Any  # a lazy translated string; str() renders it in the current locale
    transition: Transition | None = None
    guard: Guard | None = None
    problems: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class NextStep:
    """What happens next in an instance: whose turn, by when, and what is still missing."""

    state: State
    due_at: datetime | None
    overdue: bool
    transition: Transition | None = None  # the first transition whose guards fail, if any
    missing: tuple[Refusal, ...] = ()  # every failing guard of that transition
    ready: tuple[Transition, ...] = ()  # transitions whose guards pass now

    @property
    def title(self) -> Text:
        """The current step's title."""
        return self.state.title

    @property
    def actor(self) -> str | None:
        """Whose turn it is: library, dpk or assessor (None in a final state)."""
        return self.state.actor

    @property
    def roles(self) -> frozenset[str]:
        """The ILS roles that act in this step."""
        return self.state.roles


class ValuesRejected(ValueError):
    """Values given to start() are not valid; ``problems`` lists (field, message)."""

    def __init__(self, problems: Iterable[tuple[str, Any]]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(f"{name}: {message}" for name, message in self.problems))


class DefinitionMismatch(ValueError):
    """An instance was given a definition other than the one it pinned, or is in a state it lacks."""


class Listing:
    """A lazily rendered list of labels, so messages render in the locale of the moment."""

    def __init__(self, items: Iterable[Any], separator: str = ", ") -> None:
        self.items = list(items)
        self.separator = separator

    def __str__(self) -> str:
        return self.separator.join(str(item) for item in self.items)


class Filled:
    """A translated template filled in when rendered, so the whole message follows the locale of the moment."""

    def __init__(self, template: Any, **variables: Any) -> None:
        self.template = template
        self.variables = variables

    def __str__(self) -> str:
        return str(self.template) % self.variables


def number(value: float | int) -> str:
    """58.3 -> "58.3", 60.0 -> "60" (numbers in messages without a stray ".0")."""
    return str(int(value)) if float(value).is_integer() else str(value)
