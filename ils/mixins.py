"""Model mixins shared by every domain."""
from __future__ import annotations

import enum
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import DateTime, Enum, ForeignKey, Select, TypeDecorator
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

if TYPE_CHECKING:
    from ils.models import Library


MAX_ID = 2**31 - 1  # the largest id a database integer column holds


def utcnow() -> datetime:
    """Timezone-aware current time in UTC."""
    return datetime.now(timezone.utc)


def enum_column(enum_cls: type[enum.Enum], name: str, length: int = 20) -> Enum:
    """A VARCHAR + CHECK enum column type storing the members' values (same on SQLite and PostgreSQL)."""
    return Enum(enum_cls, name=name, native_enum=False, create_constraint=True, length=length,
                values_callable=lambda members: [member.value for member in members])


class UTCDateTime(TypeDecorator):
    """A datetime stored in UTC that always comes back timezone-aware.

    SQLite has no timezone type, so values are normalised to UTC on the way in and tagged as
    UTC on the way out; naive datetimes are refused (R5: no guessing what a naive time meant).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        """Refuse naive datetimes; convert aware ones to UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC datetimes")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        """Return an aware UTC datetime."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class TimestampMixin:
    """created_at / updated_at in UTC."""

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )


class LibraryScopedMixin:
    """A row owned by one library; list queries go through ``for_library``."""

    @declared_attr
    def library_id(cls) -> Mapped[int]:  # noqa: N805 - SQLAlchemy declared_attr signature
        """The owning library."""
        return mapped_column(ForeignKey("library.id"), index=True, nullable=False)

    @classmethod
    def for_library(cls, stmt: Select, library: "Library | int") -> Select:
        """Restrict a select to rows of one library."""
        library_id = library if isinstance(library, int) else library.id
        return stmt.where(cls.library_id == library_id)  # type: ignore[attr-defined]
