"""The workflow engine: versioned YAML definitions and a pure state machine (house style habit 8).

It imports the standard library, PyYAML through workflows.yamlsource and flask_babel (messages
and the locale of bilingual texts) and nothing else: no database, request, mail or jobs. Services
pass an InstanceView and an Action and persist the Outcome, or show the Refusal.

- model: the frozen parts of a Definition; Definitions holds several versions side by side.
- loader, checks: reading a file and reporting every problem with its line and field path.
- values: cleaning what people type; guards: guard checks with plain messages.
- instance: what goes in and out; runtime: start, apply, available, next_step, due_at.
"""
from __future__ import annotations

from workflows.engine.instance import (Action, DefinitionMismatch, Event, InstanceView, NextStep, Outcome, Refusal,
                                       ValuesRejected)
from workflows.engine.loader import load_definition
from workflows.engine.model import (ACTORS, FIELD_TYPES, ROLES, Choice, Definition, Definitions, Due, EvidenceSlot,
                                    Field, Guard, OnEnter, State, Task, Text, Transition)
from workflows.engine.runtime import apply, available, due_at, next_step, start
from workflows.engine.values import validate_values

__all__ = [
    "ACTORS", "FIELD_TYPES", "ROLES", "Action", "Choice", "Definition", "DefinitionMismatch", "Definitions", "Due",
    "Event", "EvidenceSlot", "Field", "Guard", "InstanceView", "NextStep", "OnEnter", "Outcome", "Refusal", "State",
    "Task", "Text", "Transition", "ValuesRejected", "apply", "available", "due_at", "load_definition", "next_step",
    "start", "validate_values",
]
