"""Cross-reference checks of a definition: names that must exist, ids that must be unique, the graph.

They run after the reader has built the values, and find each problem's line through the paths
the reader recorded (``transitions[3].to`` -> line 57).
"""
from __future__ import annotations

from collections.abc import Mapping

from workflows.engine.model import NUMERIC_TYPES, Amount, Definition, Guard, State, Transition
from workflows.yamlsource import Problem


class _Checks:
    """Collects the problems of one definition."""

    def __init__(self, definition: Definition, lines: Mapping[str, int], broken: set[str]) -> None:
        self.definition = definition
        self.lines = lines
        self.broken = broken
        self.problems: list[Problem] = []

    def fail(self, path: str, message: str) -> None:
        """Record a problem at the line of ``path`` (or of its nearest recorded parent)."""
        probe = path
        while probe and probe not in self.lines:
            cut = max(probe.rfind("."), probe.rfind("["))
            probe = probe[:cut] if cut > 0 else ""
        self.problems.append(Problem(self.lines.get(probe, 1), path, message))

    def state_name(self, name: str, path: str) -> bool:
        """True if ``name`` is a state; a problem otherwise."""
        if name in self.definition.states:
            return True
        known = ", ".join(self.definition.states) or "none"
        self.fail(path, f"unknown state '{name}'; states are: {known}")
        return False

    def amount(self, amount: Amount | None, path: str, whole: bool) -> None:
        """A "$param" reference names a param (a whole number where days or years are meant)."""
        if not isinstance(amount, str):
            return
        name = amount.lstrip("-").removeprefix("$")
        params = self.definition.params
        if name not in params:
            self.fail(path, f"unknown param '${name}'; params are: {', '.join(params) or 'none'}")
        elif whole and not isinstance(params[name], int):
            self.fail(path, f"the param '${name}' must be a whole number here")

    # -- states -----------------------------------------------------------------------------------
    def states(self) -> None:
        """Fields unique in the definition, ids unique in a state, due dates that can be computed."""
        first_definition: dict[str, str] = {}
        for name, state in self.definition.states.items():
            path = f"states.{name}"
            for index, field in enumerate(state.fields):
                here = f"{path}.fields[{index}].name"
                if not field.name:
                    continue
                if field.name in first_definition:
                    self.fail(here, f"the field '{field.name}' is already defined in state "
                              f"'{first_definition[field.name]}' (field names are shared by the whole workflow)")
                else:
                    first_definition[field.name] = name
                if field.name in self.definition.values:
                    self.fail(here, f"'{field.name}' is also declared under values; use one name for one thing")
            for part, ids in (("checklist", [t.id for t in state.checklist]),
                              ("evidence", [e.id for e in state.evidence])):
                for index, item_id in enumerate(ids):
                    if item_id and item_id in ids[:index]:
                        self.fail(f"{path}.{part}[{index}].id", f"the id '{item_id}' appears twice in this state")
            for index, action in enumerate(state.on_enter):
                if action.do == "schedule_reminders" and not state.reminders:
                    self.fail(f"{path}.on_enter[{index}].do", "schedule_reminders needs a reminders list in this state")
            self.due(state, path)

    def due(self, state: State, path: str) -> None:
        """A due date names a date field and params that exist."""
        if state.due is None:
            return
        self.amount(state.due.days, f"{path}.due.days", whole=True)
        self.amount(state.due.years, f"{path}.due.years", whole=True)
        if state.due.field is None:
            return
        field = self.definition.field(state.due.field)
        if field is None:
            self.fail(f"{path}.due.field", f"unknown field '{state.due.field}'")
        elif field.type and field.type != "date":
            self.fail(f"{path}.due.field", f"the field '{field.name}' is of type {field.type}, not date")

    # -- transitions ------------------------------------------------------------------------------
    def transitions(self) -> None:
        """Known states at both ends, no way out of a final state, one name per source state."""
        states = self.definition.states
        if self.definition.start:
            self.state_name(self.definition.start, "start")
        taken: dict[tuple[str, str], int] = {}
        for index, transition in enumerate(self.definition.transitions):
            path = f"transitions[{index}]"
            single = len(transition.sources) == 1 and f"{path}.from[0]" not in self.lines
            for position, source in enumerate(transition.sources):
                here = f"{path}.from" if single else f"{path}.from[{position}]"
                if not self.state_name(source, here):
                    continue
                if states[source].final and source not in self.broken:
                    self.fail(here, f"'{source}' is a final state; no transition may leave it")
                if transition.name and (source, transition.name) in taken:
                    self.fail(f"{path}.name", f"'{transition.name}' is already a transition from '{source}' "
                              f"(transitions[{taken[source, transition.name]}])")
                taken.setdefault((source, transition.name), index)
            if transition.to:
                self.state_name(transition.to, f"{path}.to")
            for number, guard in enumerate(transition.guards):
                self.guard(transition, guard, f"{path}.guards[{number}].{guard.kind}")

    def guard(self, transition: Transition, guard: Guard, path: str) -> None:
        """A guard names things that exist where the transition starts."""
        sources = [self.definition.states[s] for s in transition.sources if s in self.definition.states]
        if guard.kind in ("at_least", "at_most"):
            limit = "min" if guard.kind == "at_least" else "max"
            self.amount(guard.limit, f"{path}.{limit}", whole=False)
            if guard.value is None:
                return
            field = self.definition.field(guard.value)
            if field is None and guard.value not in self.definition.values:
                self.fail(f"{path}.value", f"unknown value '{guard.value}': name a number field or "
                          "declare it under values")
            elif field is not None and field.type and field.type not in NUMERIC_TYPES:
                self.fail(f"{path}.value", f"the field '{field.name}' is of type {field.type}, not a number")
        elif guard.kind == "one_of":
            self.one_of(guard, path)
        elif guard.kind == "fields":
            if guard.names is None:
                for state in sources:
                    if not any(f.required for f in state.fields):
                        self.fail(path, f"state '{state.name}' has no required fields")
            for position, name in enumerate(guard.names or ()):
                if self.definition.field(name) is None:
                    self.fail(f"{path}[{position}]", f"unknown field '{name}'")
        else:
            self.items(guard, sources, path)

    def one_of(self, guard: Guard, path: str) -> None:
        """A one_of guard names a choice field and some of its choices."""
        if guard.value is None:
            return
        field = self.definition.field(guard.value)
        if field is None or field.type != "choice":
            self.fail(f"{path}.value", f"'{guard.value}' is not a choice field")
            return
        choices = [c.value for c in field.choices]
        if not choices:
            return  # the field itself is reported as a choice field without choices
        if not guard.names:
            self.fail(f"{path}.values", "name at least one choice")
        for position, value in enumerate(guard.names or ()):
            if value not in choices:
                self.fail(f"{path}.values[{position}]", f"'{value}' is not a choice of '{field.name}' "
                          f"({', '.join(choices)})")

    def items(self, guard: Guard, sources: list[State], path: str) -> None:
        """Checklist and evidence guards name tasks or slots of every source state."""
        for state in sources:
            if guard.kind == "checklist":
                ids = [t.id for t in state.checklist]
            else:
                ids = [e.id for e in state.evidence if e.required or guard.names is not None]
            if guard.names is None and not ids:
                what = "checklist" if guard.kind == "checklist" else "required evidence"
                self.fail(path, f"state '{state.name}' has no {what}")
            for position, name in enumerate(guard.names or ()):
                if name not in ids:
                    self.fail(f"{path}[{position}]", f"state '{state.name}' has no {guard.kind} item '{name}'")

    # -- the graph --------------------------------------------------------------------------------
    def graph(self) -> None:
        """Every state is reachable from the start, and every state that is not final has a way out."""
        definition = self.definition
        for name, state in definition.states.items():
            if not state.final and name not in self.broken and not definition.transitions_from(name):
                self.fail(f"states.{name}", "no transition leaves this state; add one or mark it final: true")
        ends = {s for t in definition.transitions for s in (*t.sources, t.to)}
        complete = all(t.sources and t.to for t in definition.transitions) and ends <= set(definition.states)
        if definition.start not in definition.states or not complete:
            return  # with a misspelt or missing end the graph is not what was meant; that comes first
        reached, todo = {definition.start}, [definition.start]
        while todo:
            for transition in definition.transitions_from(todo.pop()):
                if transition.to in definition.states and transition.to not in reached:
                    reached.add(transition.to)
                    todo.append(transition.to)
        for name in definition.states:
            if name not in reached:
                self.fail(f"states.{name}", f"this state cannot be reached from the start state '{definition.start}'")


def cross_check(definition: Definition, lines: Mapping[str, int], broken: set[str] = frozenset()) -> list[Problem]:
    """Every cross-reference problem of ``definition``; ``lines`` maps field paths to lines.

    ``broken`` names states whose body could not be read (already reported): they get no graph checks.
    """
    checks = _Checks(definition, lines, set(broken))
    checks.states()
    checks.transitions()
    checks.graph()
    return checks.problems
