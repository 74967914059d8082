"""Reading a definition file: YAML with line numbers becomes a Definition, or every problem is listed.

The reader checks the shape of each part (keys, types, names) and builds the frozen values with
placeholders where a part is broken, so that the cross-reference checks (workflows.engine.checks)
still run and one pass reports everything a DPK admin has to fix.
"""
from __future__ import annotations

from types import MappingProxyType
from typing import Any

from workflows.engine.checks import cross_check
from workflows.engine.model import (ACTORS, FIELD_TYPES, GUARD_KINDS, ON_ENTER_ACTIONS, Choice, Definition, Due,
                                    EvidenceSlot, Field, Guard, OnEnter, State, Task, Text, Transition)
from workflows.engine.reading import NAME, NO_TEXT, SLUG, Reader, describe, join
from workflows.yamlsource import DataFileError, Located, LocatedList, load

TOP_KEYS = ("key", "version", "title", "start", "states", "transitions"), ("description", "params", "values")
STATE_KEYS = ("title",), ("help", "actor", "roles", "due", "reminders", "fields", "checklist", "evidence",
                         "on_enter", "final")
FIELD_KEYS = ("name", "type", "label"), ("required", "choices", "help")
TRANSITION_KEYS = ("name", "from", "to", "title", "roles"), ("comment", "guards")


def load_definition(text: str | bytes, source: str) -> Definition:
    """Parse and validate a definition file; DataFileError lists every problem with line and field."""
    reader = _DefinitionReader()
    definition = reader.definition(load(text, source))
    problems = reader.problems
    if definition is not None:
        problems += cross_check(definition, reader.lines, reader.broken_states)
    if problems:
        raise DataFileError(source, sorted(problems, key=lambda p: p.line))
    assert definition is not None  # a missing definition always comes with a problem
    return definition


class _DefinitionReader(Reader):
    """Reads the parts of a definition, with placeholders where a part is broken."""

    def __init__(self) -> None:
        super().__init__()
        # States whose body is not a mapping: the graph checks leave them alone.
        self.broken_states: set[str] = set()

    def definition(self, data: Any) -> Definition | None:
        """The whole file."""
        top = self.mapping(data, getattr(data, "line", 1), "", TOP_KEYS)
        if top is None:
            return None
        params = self.params(top)
        # Numbers the services write into the data (e.g. assessment_total), named for messages.
        values = {}
        if "values" in top:
            declared = self.mapping(top["values"], top.line_of("values"), "values")
            for name in declared or ():
                values[name] = self.text(declared, name, "values") or NO_TEXT
        return Definition(
            key=self.string(top, "key", "", SLUG) or "", version=self.integer(top, "version", "", 1) or 0,
            title=self.text(top, "title", "") or NO_TEXT, description=self.text(top, "description", ""),
            start=self.string(top, "start", "") or "", params=MappingProxyType(params),
            values=MappingProxyType(values), states=MappingProxyType(self.states(top)),
            transitions=tuple(self.transition(item, line, here)
                              for _i, item, line, here in self.items(top, "transitions", "")))

    def params(self, top: Located) -> dict[str, int | float]:
        """Numbers services and the DPK may tune, referred to as "$name"."""
        if "params" not in top:
            return {}
        node = self.mapping(top["params"], top.line_of("params"), "params")
        params: dict[str, int | float] = {}
        for name in node or ():
            value = node[name]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self.fail(node.line_of(name), join("params", name), f"must be a number, not {describe(value)}")
            else:
                params[name] = value
        return params

    def states(self, top: Located) -> dict[str, State]:
        """Every state, by name."""
        node = top.get("states")
        if node is None:
            return {}
        node = self.mapping(node, top.line_of("states"), "states")
        if node is None:
            return {}
        if not node:
            self.fail(node.line, "states", "a workflow needs at least one state")
        states = {}
        for name in node:
            states[name] = self.state(name, node[name], node.line_of(name), join("states", name))
        return states

    def state(self, name: str, value: Any, line: int, path: str) -> State:
        """One state (a placeholder keeps its name known when its body is broken)."""
        node = self.mapping(value, line, path, STATE_KEYS)
        if node is None:
            self.broken_states.add(name)
            return State(name=name, title=NO_TEXT)
        final = self.boolean(node, "final", path)
        actor = self.string(node, "actor", path, choices=ACTORS)
        roles = self.roles(node, "roles", path)
        if not final and "actor" not in node:
            self.fail(node.line, join(path, "actor"), "a state that is not final needs an actor "
                      f"({', '.join(ACTORS)})")
        if not final and not roles and "roles" not in node:
            self.fail(node.line, join(path, "roles"), "a state that is not final needs the roles that act in it")
        due = self.due(node, path)
        reminders = self.reminders(node, path)
        if reminders and due is None:
            self.fail(node.line_of("reminders"), join(path, "reminders"), "reminders need a due date (add 'due')")
        return State(
            name=name, title=self.text(node, "title", path) or NO_TEXT, help=self.text(node, "help", path),
            actor=actor, roles=roles, due=due, reminders=reminders, final=final,
            fields=tuple(self.field(item, ln, here) for _i, item, ln, here in self.items(node, "fields", path)),
            checklist=tuple(self.task(item, ln, here) for _i, item, ln, here in self.items(node, "checklist", path)),
            evidence=tuple(self.slot(item, ln, here) for _i, item, ln, here in self.items(node, "evidence", path)),
            on_enter=tuple(self.on_enter(item, ln, here) for _i, item, ln, here in self.items(node, "on_enter", path)))

    def due(self, state: Located, path: str) -> Due | None:
        """When the state is due."""
        if "due" not in state:
            return None
        here = join(path, "due")
        node = self.mapping(state["due"], state.line_of("due"), here, ((), ("days", "years", "after", "field")))
        if node is None:
            return None
        if "days" not in node and "years" not in node:
            self.fail(node.line, here, "give days, years or both")
        if "after" in node and "field" in node:
            self.fail(node.line_of("field"), join(here, "field"), "use either 'after' or 'field', not both")
        return Due(days=self.amount(node, "days", here, whole=True) or 0,
                   years=self.amount(node, "years", here, whole=True) or 0,
                   after=self.string(node, "after", here, choices=("entered", "start")) or "entered",
                   field=self.string(node, "field", here))

    def reminders(self, state: Located, path: str) -> tuple[int, ...]:
        """Days before the due date on which to remind (positive, each once)."""
        days: list[int] = []
        for _index, item, line, here in self.items(state, "reminders", path):
            if isinstance(item, bool) or not isinstance(item, int) or item < 1:
                self.fail(line, here, f"must be a number of days (1 or more), not {describe(item)}")
            elif item in days:
                self.fail(line, here, f"{item} days appears twice")
            else:
                days.append(item)
        return tuple(sorted(days, reverse=True))

    def field(self, value: Any, line: int, path: str) -> Field:
        """One data field of a state."""
        node = self.mapping(value, line, path, FIELD_KEYS)
        if node is None:
            return Field(name="", type="text", label=NO_TEXT)
        kind = self.string(node, "type", path, choices=FIELD_TYPES) or ""  # "": reported, not checked again
        choices = []
        for _index, item, item_line, here in self.items(node, "choices", path):
            choice = self.choice(item, item_line, here)
            if choice is not None and any(c.value == choice.value for c in choices):
                self.fail(item_line, here, f"the choice '{choice.value}' appears twice")
            elif choice is not None:
                choices.append(choice)
        if kind == "choice" and "choices" not in node:
            self.fail(node.line, join(path, "choices"), "a choice field needs a list of choices")
        elif kind != "choice" and "choices" in node:
            self.fail(node.line_of("choices"), join(path, "choices"), "only a field of type choice has choices")
        return Field(name=self.string(node, "name", path, NAME) or "", type=kind,
                     label=self.text(node, "label", path) or NO_TEXT, required=self.boolean(node, "required", path),
                     choices=tuple(choices), help=self.text(node, "help", path))

    def choice(self, value: Any, line: int, path: str) -> Choice | None:
        """A choice: a plain value (its own label) or {value, label}."""
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            return Choice(str(value), Text(str(value), str(value)))
        node = self.mapping(value, line, path, (("value", "label"), ()))
        if node is None or "value" not in node:
            return None
        raw = node["value"]
        if isinstance(raw, bool) or not isinstance(raw, (str, int)):
            self.fail(node.line_of("value"), join(path, "value"), f"must be a text, not {describe(raw)}")
            return None
        return Choice(str(raw), self.text(node, "label", path) or NO_TEXT)

    def task(self, value: Any, line: int, path: str) -> Task:
        """One checklist task."""
        node = self.mapping(value, line, path, (("id", "label"), ()))
        if node is None:
            return Task("", NO_TEXT)
        return Task(self.string(node, "id", path, NAME) or "", self.text(node, "label", path) or NO_TEXT)

    def slot(self, value: Any, line: int, path: str) -> EvidenceSlot:
        """One evidence slot."""
        node = self.mapping(value, line, path, (("id", "label"), ("required",)))
        if node is None:
            return EvidenceSlot("", NO_TEXT)
        return EvidenceSlot(self.string(node, "id", path, NAME) or "", self.text(node, "label", path) or NO_TEXT,
                            self.boolean(node, "required", path))

    def on_enter(self, value: Any, line: int, path: str) -> OnEnter:
        """One action on entering a state."""
        do = value.get("do") if isinstance(value, Located) else None
        # An unknown action is reported once, without also complaining about the keys it came with.
        extra = ON_ENTER_ACTIONS[do] if do in ON_ENTER_ACTIONS else tuple({k for a in ON_ENTER_ACTIONS.values()
                                                                           for k in a})
        required = ("do",) + (("to",) if do == "notify" else ())
        node = self.mapping(value, line, path, (required, extra))
        if node is None:
            return OnEnter("")
        action = self.string(node, "do", path, choices=tuple(ON_ENTER_ACTIONS)) or ""
        return OnEnter(action, self.string(node, "to", path, choices=ACTORS))

    def transition(self, value: Any, line: int, path: str) -> Transition:
        """One transition."""
        node = self.mapping(value, line, path, TRANSITION_KEYS)
        if node is None:
            return Transition(name="", sources=(), to="", title=NO_TEXT, roles=frozenset())
        return Transition(
            name=self.string(node, "name", path, SLUG) or "", sources=self.sources(node, path),
            to=self.string(node, "to", path) or "", title=self.text(node, "title", path) or NO_TEXT,
            roles=self.roles(node, "roles", path),
            comment=self.string(node, "comment", path, choices=("optional", "required")) or "optional",
            guards=tuple(g for _i, item, ln, here in self.items(node, "guards", path)
                         if (g := self.guard(item, ln, here)) is not None))

    def sources(self, node: Located, path: str) -> tuple[str, ...]:
        """The state (or list of states) a transition starts from."""
        value = node.get("from")
        if isinstance(value, str):
            return (value,)
        if value is not None and not isinstance(value, LocatedList):
            self.fail(node.line_of("from"), join(path, "from"),
                      f"must be a state name or a list of state names, not {describe(value)}")
            return ()
        sources = []
        for _index, item, line, here in self.items(node, "from", path):
            if isinstance(item, str):
                sources.append(item)
            else:
                self.fail(line, here, f"must be a state name, not {describe(item)}")
        if "from" in node and not sources and isinstance(node["from"], LocatedList):
            self.fail(node.line_of("from"), join(path, "from"), "name at least one state")
        return tuple(sources)

    def guard(self, value: Any, line: int, path: str) -> Guard | None:
        """One guard: a mapping with exactly one of the guard kinds as its key."""
        node = self.mapping(value, line, path, ((), GUARD_KINDS))
        if node is None:
            return None
        kinds = [k for k in node if k in GUARD_KINDS]  # other keys are reported as unknown
        if len(kinds) != 1:
            if len(kinds) > 1 or not node:
                self.fail(line, path, f"a guard has exactly one of: {', '.join(GUARD_KINDS)}")
            return None
        kind = kinds[0]
        here, body, body_line = join(path, kind), node[kind], node.line_of(kind)
        if kind == "one_of":
            spec = self.mapping(body, body_line, here, (("value", "values"), ()))
            if spec is None:
                return None
            allowed = []
            for _index, item, item_line, item_path in self.items(spec, "values", here):
                if isinstance(item, (str, int)) and not isinstance(item, bool):
                    allowed.append(str(item))
                else:
                    self.fail(item_line, item_path, f"must be a choice value, not {describe(item)}")
            return Guard(kind, value=self.string(spec, "value", here, NAME), names=tuple(allowed))
        if kind in ("at_least", "at_most"):
            limit = "min" if kind == "at_least" else "max"
            spec = self.mapping(body, body_line, here, (("value", limit), ()))
            if spec is None:
                return None
            return Guard(kind, value=self.string(spec, "value", here, NAME),
                         limit=self.amount(spec, limit, here, whole=False))
        keyword = {"fields": "required", "checklist": "all", "evidence": "required"}[kind]
        if body == keyword:
            return Guard(kind)
        if not isinstance(body, LocatedList) or not body or not all(isinstance(i, str) for i in body):
            self.fail(body_line, here, f"must be '{keyword}' or a list of names, not {describe(body)}")
            return None
        for index in range(len(body)):
            self.lines[join(here, index)] = body.line_of(index)
        return Guard(kind, names=tuple(body))
