"""What a workflow definition is made of: frozen values built by the loader and read by the runtime."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
import dataclasses
from dataclasses import dataclass
from types import MappingProxyType

from flask_babel import get_locale

# The values of ils.models.Role. The engine may not import ils.models (it stays free of the database
# layer), so the list is repeated here and a test keeps the two equal.
ROLES = frozenset({"admin", "dpk", "librarian", "cataloguer", "circulation", "assessor"})
# Whose turn a step is: someone at the library, the city library office (DPK), or an assessor.
ACTORS = ("library", "dpk", "assessor")
FIELD_TYPES = ("text", "textarea", "integer", "number", "date", "choice", "url")
NUMERIC_TYPES = ("integer", "number")
# on_enter actions the services know how to carry out, with the extra keys each one takes.
ON_ENTER_ACTIONS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "notify": ("to",),
    "start_assessment": (),
    "compute_snp": (),
    "schedule_reminders": (),
    "record_result": (),  # store the accreditation grade and certificate the data now holds
})
GUARD_KINDS = ("fields", "checklist", "evidence", "at_least", "at_most", "one_of")

# A number in a definition: written literally, or as "$name" / "-$name" naming one of its params.
Amount = int | float | str


@dataclass(frozen=True)
class Text:
    """A bilingual text from a definition: Indonesian (``id``) and English (``en``)."""

    id: str
    en: str

    def get(self, language: str) -> str:
        """The text in ``language`` ("id" or anything else for English)."""
        return self.id if language == "id" else self.en

    def __str__(self) -> str:
        # Inside a request the user's locale decides; outside (logs, CLI) English, like the msgids.
        locale = get_locale()
        return self.get(locale.language if locale is not None else "en")


@dataclass(frozen=True)
class Choice:
    """One allowed value of a choice field and its label."""

    value: str
    label: Text


@dataclass(frozen=True)
class Field:
    """A piece of data collected in a step."""

    name: str
    type: str
    label: Text
    required: bool = False
    choices: tuple[Choice, ...] = ()
    help: Text | None = None


@dataclass(frozen=True)
class Task:
    """A checklist task of a step (ticked off by the library)."""

    id: str
    label: Text


@dataclass(frozen=True)
class EvidenceSlot:
    """A place for a file that proves something (the services attach the files)."""

    id: str
    label: Text
    required: bool = False


@dataclass(frozen=True)
class Due:
    """When a step is due: entering it (or the start, or a date field) plus years and days."""

    days: Amount = 0
    years: Amount = 0
    after: str = "entered"  # or "start"
    field: str | None = None


@dataclass(frozen=True)
class OnEnter:
    """Something the services do when a state is entered, emitted as an event of kind ``do``."""

    do: str
    to: str | None = None


@dataclass(frozen=True)
class Guard:
    """A condition a transition needs.

    ``fields``: ``names`` are present (None: the source state's required fields).
    ``checklist``: ``names`` are done (None: all tasks). ``evidence``: ``names`` have a file
    (None: the required slots). ``at_least``/``at_most``: the number ``value`` in the data is at
    least/most ``limit``. ``one_of``: the choice field ``value`` holds one of ``names``.
    """

    kind: str
    names: tuple[str, ...] | None = None
    value: str | None = None
    limit: Amount | None = None


@dataclass(frozen=True)
class State:
    """One step of a workflow."""

    name: str
    title: Text
    actor: str | None = None
    roles: frozenset[str] = frozenset()
    help: Text | None = None
    due: Due | None = None
    reminders: tuple[int, ...] = ()
    fields: tuple[Field, ...] = ()
    checklist: tuple[Task, ...] = ()
    evidence: tuple[EvidenceSlot, ...] = ()
    on_enter: tuple[OnEnter, ...] = ()
    final: bool = False

    def field(self, name: str) -> Field | None:
        """The field called ``name`` in this step, if any."""
        return next((f for f in self.fields if f.name == name), None)


@dataclass(frozen=True)
class Transition:
    """A way from one or more states to another, taken by someone with one of ``roles``."""

    name: str
    sources: tuple[str, ...]
    to: str
    title: Text
    roles: frozenset[str]
    comment: str = "optional"  # or "required"
    guards: tuple[Guard, ...] = ()


@dataclass(frozen=True)
class Definition:
    """A loaded, validated workflow definition of one version."""

    key: str
    version: int
    title: Text
    start: str
    states: Mapping[str, State]
    transitions: tuple[Transition, ...]
    description: Text | None = None
    params: Mapping[str, int | float] = dataclasses.field(default_factory=lambda: MappingProxyType({}))
    values: Mapping[str, Text] = dataclasses.field(default_factory=lambda: MappingProxyType({}))

    def transitions_from(self, state: str) -> list[Transition]:
        """The transitions out of ``state``, in file order."""
        return [t for t in self.transitions if state in t.sources]

    def field(self, name: str) -> Field | None:
        """The field called ``name`` in any state."""
        return next((f for s in self.states.values() for f in s.fields if f.name == name), None)

    def label_of(self, value: str) -> Text:
        """A human label for a data value: a field's label, a declared value's, or the bare name."""
        found = self.field(value)
        if found is not None:
            return found.label
        return self.values.get(value) or Text(value, value)

    def amount(self, amount: Amount) -> int | float:
        """A literal number, or the param a "$name"/"-$name" reference names."""
        if not isinstance(amount, str):
            return amount
        sign = -1 if amount.startswith("-") else 1
        return sign * self.params[amount.lstrip("-").removeprefix("$")]


class Definitions:
    """Definitions by key and version, so each running instance gets the version it started with."""

    def __init__(self, definitions: Iterable[Definition] = ()) -> None:
        self._by_key: dict[tuple[str, int], Definition] = {}
        for definition in definitions:
            self.add(definition)

    def add(self, definition: Definition) -> None:
        """Register one version; registering the same key and version twice is an error."""
        slot = (definition.key, definition.version)
        if slot in self._by_key:
            raise ValueError(f"{definition.key} version {definition.version} is already registered")
        self._by_key[slot] = definition

    def get(self, key: str, version: int) -> Definition:
        """The definition a running instance pinned (KeyError when it is not registered)."""
        return self._by_key[(key, version)]

    def latest(self, key: str) -> Definition:
        """The highest version of ``key``, which new instances start with."""
        versions = [d for (k, _v), d in self._by_key.items() if k == key]
        if not versions:
            raise KeyError(key)
        return max(versions, key=lambda d: d.version)
