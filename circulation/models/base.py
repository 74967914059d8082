"""Column helpers shared by the circulation tables."""
from __future__ import annotations

import enum

from sqlalchemy import Enum


def _values(enum_cls: type[enum.Enum]) -> list[str]:
    return [member.value for member in enum_cls]


def enum_column(enum_cls: type[enum.Enum], name: str, length: int = 20) -> Enum:
    """A VARCHAR + CHECK enum storing the members' values (same on SQLite and PostgreSQL)."""
    return Enum(enum_cls, name=name, native_enum=False, create_constraint=True, length=length,
                values_callable=_values)
